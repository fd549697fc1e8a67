"""Running index migrations against a database: apply, roll back, status, check.

:class:`AsyncMigrator` reads a directory of migration files (``NNNN_<name>.py``, each
with ``OPERATIONS``, ``STATE`` and ``upgrade(ctx)``/``downgrade(ctx)``) and runs them in
one database::

    async with AsyncMigrator("mongodb://127.0.0.1:27017", "migrations", database="shop") as m:
        await m.apply()                 # every pending migration, in order
        await m.rollback(to=2)          # back to just after 0002
        for entry in await m.status():
            print(entry)
        drift = await m.check()         # live indexes vs the last file's STATE
        assert drift.is_clean, drift.lines()

Records. The collection ``feldspar_migrations`` of the target database holds one
document per applied migration (``_id`` and ``number``, ``name``, ``checksum`` (sha256 of
the file), ``applied_at``, ``state``, ``done``: the operations completed) and, while a
process runs migrations, the lock (``_id: "lock"``, with the owner's id, host, pid and
an expiry). A migration is recorded ``state: "applying"`` before its first operation and
its ``done`` count moves after each one, so a process killed in the middle leaves a
record the next :meth:`~AsyncMigrator.apply` resumes from; every operation is safe to
repeat (an index that exists already, one already dropped, an option already set, a
collection already renamed are all fine).

The lock. Taking it is one atomic insert of the lock document; a second process waits
(``lock_timeout``, default 60 s), then fails with :class:`MigrationLockError` naming the
holder. The holder renews its expiry (``lock_ttl``, default 600 s) after each operation;
a lock past its expiry, or held by a process on this host that no longer exists, is
stale and is taken over (atomically: only if the holder has not changed meanwhile).

``ctx.run(operations)`` in a migration's ``upgrade``/``downgrade`` queues the operations;
they run, with progress recorded, when the function returns. A manual migration may use
``ctx.database`` (the driver database) for anything else; that code runs again when an
interrupted migration resumes, so write it to be safe to repeat, and skip it when
``ctx.dry_run`` is true. ``upgrade`` may also be ``async def`` for the async runner.
"""

from __future__ import annotations

import inspect  # unasync: remove
import os
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from driver import AsyncMongoClient
from driver._backends.asyncio import monotonic, sleep
from driver.errors import DuplicateKeyError, OperationFailure, PyMongoError
from driver.uri import parse_uri
from odm._async.engine import AsyncEngine
from odm.index import IndexSpec, _differences
from odm.migrations.files import (
    Migration,
    latest_state,
    load_migrations,
    render,
    slugify,
)
from odm.migrations.plan import commands, describe, expand, plan
from odm.migrations.records import (
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_LOCK_TTL,
    MIGRATIONS_COLLECTION,
    Drift,
    MigrationError,
    MigrationLockError,
    MigrationStatus,
    format_command,
)
from odm.migrations.state import (
    State,
    normalize_state,
    state_differences,
    state_from_database,
    state_from_models,
)

__all__ = ["AsyncMigrator", "MigrationContext"]

LOCK_ID = "lock"
_POLL_FIRST, _POLL_MAX = 0.05, 1.0
# Test hooks (environment), for the tests of killed and concurrent runs only:
# "exit-after-op:K" ends the process (os._exit(70)) right after the K-th operation of a
# run is recorded; "hold-lock:PATH" makes the lock holder touch PATH.locked and wait (up
# to 60 s) for PATH.go to exist before it runs anything.
_TEST_HOOK = "FELDSPAR_MIGRATIONS_TEST_HOOK"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _process_gone(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class MigrationContext:
    """What ``upgrade(ctx)``/``downgrade(ctx)`` get: the ``database`` (the driver's),
    ``client``, ``dry_run``, ``migration`` (its label) and :meth:`run`."""

    def __init__(self, database: Any, migration: str, dry_run: bool) -> None:
        self.database = database
        self.client = database.client
        self.migration = migration
        self.dry_run = dry_run
        self.queued: list[dict[str, Any]] = []

    def run(self, operations: Iterable[Mapping[str, Any]]) -> None:
        """Queue ``operations`` (plain dicts, as in ``OPERATIONS``); they run in order
        after the migration function returns, each recorded as it completes."""
        if isinstance(operations, (Mapping, str, bytes)):
            raise TypeError("ctx.run takes a list of operations")
        for operation in operations:
            try:
                describe(operation)  # a known operation, or ValueError
            except (ValueError, KeyError, TypeError) as exc:
                raise MigrationError(f"bad operation: {exc}", migration=self.migration) from exc
            self.queued.append(dict(operation))


class AsyncMigrator:
    """Runs the migration files of ``directory`` in one database.

    ``target``: an engine (its client and database are used), a driver client, or a
    connection string (a client is made and closed by :meth:`close`). ``database``:
    the database name (default, the engine's or the one in the connection string).
    ``log``: called with each progress line (default: nothing is printed).
    """

    def __init__(
        self,
        target: AsyncEngine | AsyncMongoClient | str,
        directory: Path | str = "migrations",
        *,
        database: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        log: Any = None,
    ) -> None:
        self._owns_client = False
        name: str | None
        if isinstance(target, AsyncEngine):
            name = database or target.database.name
        elif isinstance(target, AsyncMongoClient):
            name = database or target.options.database
        elif isinstance(target, str):
            name = database or parse_uri(target).database  # checked before a client exists
        else:
            raise TypeError(
                f"target must be an engine, a client or a connection string, not {type(target).__name__}"
            )
        if not name:
            raise MigrationError("no database: pass database=... or put one in the URI")
        if isinstance(target, AsyncEngine):
            client = target.client
        elif isinstance(target, AsyncMongoClient):
            client = target
        else:
            client = AsyncMongoClient(target)
            self._owns_client = True
        self.client = client
        self.database = client.get_database(name)
        self.directory = Path(directory)
        self.lock_timeout = float(lock_timeout)
        self.lock_ttl = float(lock_ttl)
        self._log = log
        self._records = self.database.get_collection(MIGRATIONS_COLLECTION)
        self._owner = uuid.uuid4().hex
        self._host = socket.gethostname()

    def __repr__(self) -> str:
        return f"AsyncMigrator(database={self.database.name!r}, directory={str(self.directory)!r})"

    async def close(self) -> None:
        """Close the client if the migrator made it."""
        if self._owns_client:
            await self.client.close()

    async def __aenter__(self) -> AsyncMigrator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _say(self, line: str) -> None:
        if self._log is not None:
            self._log(line)

    # -- reading

    def migrations(self) -> list[Migration]:
        """The migration files of the directory, by number (MigrationFileError when one
        is malformed or the numbering has a gap)."""
        return load_migrations(self.directory)

    async def records(self) -> dict[int, dict[str, Any]]:
        """The recorded migrations by number (applied, or stopped in the middle)."""
        found: dict[int, dict[str, Any]] = {}
        async for record in self._records.find({"number": {"$exists": True}}):
            found[int(record["number"])] = dict(record)
        return found

    async def status(self) -> list[MigrationStatus]:
        """Every migration, file or record, with its state (see :class:`MigrationStatus`)."""
        files = {migration.number: migration for migration in self.migrations()}
        records = await self.records()
        result = []
        for number in sorted({*files, *records}):
            migration, record = files.get(number), records.get(number)
            name = migration.name if migration else str(record.get("name") if record else "")
            if record is None:
                state, when, done = "pending", None, None
            else:
                when, done = _aware(record.get("applied_at")), None
                state = {"applying": "partial", "rolling back": "rolling back"}.get(
                    str(record.get("state")), "applied"
                )
                if state != "applied":
                    done = int(record.get("done", 0))
                elif migration is None:
                    state = "no file"
                elif record.get("checksum") != migration.checksum:
                    state = "changed"
            result.append(MigrationStatus(number, name, state, when, done))
        return result

    async def live_state(self) -> State:
        """The database's indexes as a state (``_id_``, ``system.*`` and the records
        collection left out)."""
        cursor = await self.database.list_collections()
        names = [info["name"] async for info in cursor if info.get("type", "collection") == "collection"]
        listings = {}
        for collection in sorted(names):  # views have no indexes (listIndexes refuses them)
            if collection == MIGRATIONS_COLLECTION or collection.startswith("system."):
                continue
            cursor = await self.database.get_collection(collection).list_indexes()
            listings[collection] = [dict(document) async for document in cursor]
        return state_from_database(listings)

    async def _indexes(self, collection: str) -> dict[str, IndexSpec]:
        cursor = await self.database.get_collection(collection).list_indexes()
        specs = [IndexSpec.from_index_document(dict(document)) async for document in cursor]
        return {spec.name: spec for spec in specs}

    async def check(
        self, expected: Mapping[str, Any] | Iterable[type[BaseModel]] | None = None
    ) -> Drift:
        """Compare the live indexes with ``expected``: a state, models (their declared
        indexes), or by default the ``STATE`` of the last migration file. Migrations
        not applied (or stopped half-way) count as drift too."""
        entries = await self.status()
        pending = tuple(
            f"{entry.number:04d}_{entry.name}"
            for entry in entries
            if entry.state in ("pending", "partial", "rolling back")
        )
        changed = tuple(
            f"migration {entry.number:04d}_{entry.name} was edited after it was applied "
            "(its checksum differs from the record)"
            for entry in entries
            if entry.state in ("changed", "no file")
        )
        if expected is None:
            wanted = latest_state(self.migrations())
        elif isinstance(expected, Mapping):
            wanted = normalize_state(expected)
        else:
            wanted = state_from_models(expected)
        live = await self.live_state()
        return Drift(changed + tuple(state_differences(wanted, live)), pending)

    # -- applying

    async def apply(self, to: int | None = None, *, dry_run: bool = False) -> list[str]:
        """Apply the pending migrations up to number ``to`` (default: all), finishing
        first any that an earlier run left in the middle; the labels applied. With
        ``dry_run`` the commands are logged, nothing is sent and nothing recorded."""
        migrations = self.migrations()
        if to is not None and not 0 <= to <= len(migrations):
            raise ValueError(f"no migration {to:04d} (the last is {len(migrations):04d})")
        target = len(migrations) if to is None else to
        if dry_run:
            return await self._apply(migrations, target, dry_run=True)
        async with _Lock(self, "apply"):
            return await self._apply(migrations, target, dry_run=False)

    async def _apply(self, migrations: list[Migration], target: int, *, dry_run: bool) -> list[str]:
        records = await self.records()
        for record in records.values():
            if record.get("state") == "rolling back":
                raise MigrationError(
                    "a rollback stopped in the middle of this migration: run rollback again first",
                    migration=f"{int(record['number']):04d}_{record.get('name')}",
                )
        _check_names(records, migrations)
        applied = [n for n, record in records.items() if record.get("state") == "applied"]
        if max(applied, default=0) > target:
            raise MigrationError(
                f"migration {max(applied):04d} is applied, beyond {target:04d}: use rollback"
            )
        todo = [m for m in migrations[:target] if m.number not in applied]
        if not todo:
            self._say(
                f"nothing to apply: {len(applied)} migration(s) applied to database "
                f"{self.database.name}"
            )
            return []
        verb = "would apply" if dry_run else "applying"
        self._say(f"{verb} {len(todo)} migration(s) to database {self.database.name}")
        done = []
        for migration in todo:
            found = records.get(migration.number)
            start = int(found.get("done", 0)) if found else 0
            await self._run(migration, "upgrade", start, dry_run=dry_run)
            done.append(migration.label)
        return done

    async def rollback(self, to: int = 0, *, dry_run: bool = False) -> list[str]:
        """Roll back the recorded migrations numbered above ``to`` (0: all), last first;
        the labels rolled back."""
        if to < 0:
            raise ValueError(f"the migration to roll back to is 0 or more, not {to}")
        migrations = {migration.number: migration for migration in self.migrations()}
        if dry_run:
            return await self._rollback(migrations, to, dry_run=True)
        async with _Lock(self, "rollback"):
            return await self._rollback(migrations, to, dry_run=False)

    async def _rollback(self, migrations: dict[int, Migration], to: int, *, dry_run: bool) -> list[str]:
        records = await self.records()
        todo = sorted((n for n in records if n > to), reverse=True)
        if not todo:
            self._say(f"nothing to roll back to {to:04d} in database {self.database.name}")
            return []
        verb = "would roll back" if dry_run else "rolling back"
        self._say(f"{verb} {len(todo)} migration(s) in database {self.database.name}")
        done = []
        for number in todo:
            record = records[number]
            migration = migrations.get(number)
            if migration is None:
                raise MigrationError(
                    f"migration {number:04d}_{record.get('name')} is recorded but its file is gone"
                )
            if record.get("state") == "applying":
                self._say(f"{migration.label}: its apply stopped half-way; rolling back all of it")
            start = int(record.get("done", 0)) if record.get("state") == "rolling back" else 0
            await self._run(migration, "downgrade", start, dry_run=dry_run)
            done.append(migration.label)
        return done

    async def _run(self, migration: Migration, direction: str, start: int, *, dry_run: bool) -> None:
        label = migration.label
        ctx = MigrationContext(self.database, label, dry_run)
        function = migration.upgrade if direction == "upgrade" else migration.downgrade
        try:
            result = function(ctx)  # unasync: sync=function(ctx)
            if inspect.isawaitable(result):  # unasync: remove
                await result  # unasync: remove
        except MigrationError:
            raise
        except Exception as exc:
            raise MigrationError(
                f"{direction}() raised {type(exc).__name__}: {exc}", migration=label
            ) from exc
        operations = ctx.queued
        if start:
            self._say(f"{label}: resuming {direction} at operation {start + 1} of {len(operations)}")
        else:
            self._say(f"{label}: {direction}, {len(operations)} operation(s)")
        if not dry_run:
            state = "applying" if direction == "upgrade" else "rolling back"
            await self._mark(migration, state, start)
        for index in range(start, len(operations)):
            operation = operations[index]
            self._say(f"  [{index + 1}/{len(operations)}] {describe(operation)}")
            if dry_run:
                for database, command in commands(operation, self.database.name):
                    self._say(f"    {format_command(database, command)}")
                continue
            try:
                await self._execute(operation)
            except MigrationError as exc:
                raise MigrationError(
                    f"operation {index + 1} of {len(operations)} failed ({index} done and "
                    f"recorded; the next run resumes here): {exc.server_message or exc}",
                    migration=label, operation=operation, code=exc.code,
                    server_message=exc.server_message, hint=exc.hint,
                ) from exc
            await self._records.update_one({"_id": migration.number}, {"$set": {"done": index + 1}})
            await _Lock.renew(self)
            _hook_after_op(index + 1)
        if dry_run:
            return
        if direction == "upgrade":
            await self._records.update_one(
                {"_id": migration.number},
                {"$set": {"state": "applied", "applied_at": _now(), "checksum": migration.checksum,
                          "done": len(operations)}},
            )
            self._say(f"{label}: applied")
        else:
            await self._records.delete_one({"_id": migration.number})
            self._say(f"{label}: rolled back")

    async def _mark(self, migration: Migration, state: str, start: int) -> None:
        await self._records.update_one(
            {"_id": migration.number},
            {"$set": {"number": migration.number, "name": migration.name, "state": state,
                      "done": start, "checksum": migration.checksum, "started_at": _now()}},
            upsert=True,
        )

    # -- operations

    async def _execute(self, operation: Mapping[str, Any]) -> None:
        """Run one operation, each of its steps safe to repeat."""
        steps = expand(operation)
        if operation["op"] == "rename_index":
            indexes = await self._indexes(operation["collection"])
            if operation["from"]["name"] not in indexes and operation["to"]["name"] in indexes:
                # An earlier, interrupted run built the new index: only what comes after
                # it is left (dropping the bridge), never the bridge built again.
                built = next(
                    position for position, step in enumerate(steps)
                    if step["op"] == "create_index" and step["index"]["name"] == operation["to"]["name"]
                )
                steps = steps[built + 1:]
        for step in steps:
            for database, command in commands(step, self.database.name):
                await self._send(database, command, step)
            if step["op"] == "modify_index":
                await self._verify(step)

    async def _send(self, database: str, command: dict[str, Any], step: Mapping[str, Any]) -> None:
        try:
            await self.client.get_database(database).command(command)
        except OperationFailure as exc:
            if await self._already(command, exc.code):
                return
            message = exc.details.get("errmsg") if exc.details else None
            hint = None
            if "renameCollection" in command and exc.code == 48:  # NamespaceExists
                hint = (
                    f"collection {step['to']} exists already, and a rename never replaces "
                    "a collection (dropTarget: false: no data is lost). If this is not a "
                    "collection rename, edit the migration (index operations instead of "
                    f"rename_collection); if it is, move or drop the existing {step['to']} "
                    "yourself (after saving any data it holds), then apply again"
                )
            raise MigrationError(
                str(message or exc), operation=step, code=exc.code,
                server_message=str(message or exc), hint=hint,
            ) from exc
        except PyMongoError as exc:
            raise MigrationError(f"{type(exc).__name__}: {exc}", operation=step) from exc

    async def _already(self, command: Mapping[str, Any], code: int | None) -> bool:
        """True when a failed command failed because its work is done already."""
        if "dropIndexes" in command:
            return code in (26, 27)  # NamespaceNotFound, IndexNotFound
        if "renameCollection" in command:
            # The source is gone: renamed by an earlier run (or never created).
            return code == 26
        if "createIndexes" in command and code in (85, 86):
            wanted = IndexSpec.from_index_document(command["indexes"][0])
            existing = (await self._indexes(str(command["createIndexes"]))).get(wanted.name)
            return existing is not None and not (
                set(_differences(wanted, existing)) - {"prepareUnique"}
            )
        return False

    async def _verify(self, step: Mapping[str, Any]) -> None:
        # A server may accept collMod and leave an option as it was: say so.
        spec = (await self._indexes(step["collection"])).get(step["name"])
        if spec is None:
            raise MigrationError("the index is gone", operation=step)
        for option, value in step["options"].items():
            if not _same_flag(spec.options.get(option), value):
                raise MigrationError(
                    f"the server accepted collMod but {option} is "
                    f"{spec.options.get(option)!r}, not {value!r}",
                    operation=step,
                )

    # -- init

    async def init_from_db(self, name: str = "initial") -> Path:
        """Write ``0001_<name>.py`` creating the live database's indexes, and record it
        as applied (the database has them). Only into a directory with no migrations."""
        if self.migrations():
            raise MigrationError(
                f"{self.directory} has migrations already: init --from-db starts an empty one"
            )
        async with _Lock(self, "init"):
            if await self.records():
                raise MigrationError(
                    f"database {self.database.name} has migrations recorded already "
                    f"({MIGRATIONS_COLLECTION}): init --from-db starts a new history"
                )
            state = await self.live_state()
            operations = plan({}, state)
            label = slugify(name)
            text = render(1, label, operations, state)
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"0001_{label}.py"
            with open(path, "x", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            migration = self.migrations()[0]
            await self._mark(migration, "applying", len(operations))
            await self._records.update_one(
                {"_id": 1}, {"$set": {"state": "applied", "applied_at": _now()}}
            )
        self._say(f"wrote {path} ({len(operations)} operation(s)); recorded as applied")
        return path


def _check_names(records: Mapping[int, Mapping[str, Any]], migrations: list[Migration]) -> None:
    # Records and files match by number; a different name under one number means two
    # histories met (two branches each wrote the same number): never skip either.
    for migration in migrations:
        record = records.get(migration.number)
        if record is not None and record.get("name") != migration.name:
            raise MigrationError(
                f"database has {migration.number:04d}_{record.get('name')} recorded, but the "
                f"file {migration.number:04d} is {migration.label}: roll the database back "
                f"below {migration.number:04d} (with the files it was applied from), or "
                "renumber your migration, then apply"
            )


def _same_flag(current: Any, wanted: Any) -> bool:
    if wanted is None or isinstance(wanted, bool):  # None: absent, false
        return bool(current) == bool(wanted)
    return bool(current == wanted)


def _hook_after_op(count: int) -> None:
    hook = os.environ.get(_TEST_HOOK, "")
    if hook.startswith("exit-after-op:") and count == int(hook.split(":", 1)[1]):
        os._exit(70)


class _Lock:
    """The migration lock (see the module docstring), as ``async with``."""

    def __init__(self, migrator: AsyncMigrator, command: str) -> None:
        self.migrator = migrator
        self.command = command

    def _document(self) -> dict[str, Any]:
        now = _now()
        return {
            "owner": self.migrator._owner,
            "host": self.migrator._host,
            "pid": os.getpid(),
            "command": self.command,
            "acquired_at": now,
            "expires_at": now + timedelta(seconds=self.migrator.lock_ttl),
        }

    async def __aenter__(self) -> _Lock:
        migrator = self.migrator
        records = migrator._records
        deadline = monotonic() + migrator.lock_timeout
        pause, told = _POLL_FIRST, False
        while True:
            try:
                await records.insert_one({"_id": LOCK_ID, **self._document()})
                break
            except DuplicateKeyError:
                pass
            holder = await records.find_one({"_id": LOCK_ID})
            if holder is None:
                continue
            if self._stale(holder):
                taken = await records.update_one(
                    {"_id": LOCK_ID, "owner": holder.get("owner")}, {"$set": self._document()}
                )
                if taken.matched_count:
                    migrator._say(f"took over a stale lock: {_holder(holder)}")
                    break
                continue
            if monotonic() >= deadline:
                raise MigrationLockError(
                    f"another process holds the migration lock of database "
                    f"{migrator.database.name} ({_holder(holder)}); waited "
                    f"{migrator.lock_timeout:g}s"
                )
            if not told:
                migrator._say(f"waiting for the migration lock: {_holder(holder)}")
                told = True
            await sleep(min(pause, max(0.0, deadline - monotonic())))
            pause = min(pause * 2, _POLL_MAX)
        _hook_holding()
        return self

    def _stale(self, holder: Mapping[str, Any]) -> bool:
        expires = _aware(holder.get("expires_at"))
        if expires is None or expires <= _now():
            return True
        return holder.get("host") == self.migrator._host and _process_gone(holder.get("pid"))

    async def __aexit__(self, *exc: object) -> None:
        await self.migrator._records.delete_one({"_id": LOCK_ID, "owner": self.migrator._owner})

    @staticmethod
    async def renew(migrator: AsyncMigrator) -> None:
        expires = _now() + timedelta(seconds=migrator.lock_ttl)
        result = await migrator._records.update_one(
            {"_id": LOCK_ID, "owner": migrator._owner}, {"$set": {"expires_at": expires}}
        )
        if not result.matched_count:
            raise MigrationLockError(
                "lost the migration lock (it expired and another process took it): stopped; "
                "raise lock_ttl if one operation takes longer"
            )


def _holder(holder: Mapping[str, Any]) -> str:
    expires = _aware(holder.get("expires_at"))
    until = f", expires {expires:%Y-%m-%d %H:%M:%S} UTC" if expires else ""
    return (
        f"{holder.get('command', '?')} by pid {holder.get('pid')} on {holder.get('host')}"
        f"{until}"
    )


def _hook_holding() -> None:
    hook = os.environ.get(_TEST_HOOK, "")
    if not hook.startswith("hold-lock:"):
        return
    path = Path(hook.split(":", 1)[1])
    Path(f"{path}.locked").touch()
    go, deadline = Path(f"{path}.go"), monotonic() + 60.0
    while not go.exists() and monotonic() < deadline:
        time.sleep(0.02)
