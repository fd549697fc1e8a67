"""What running migrations records and reports, as plain data (pure, no I/O).

- :data:`MIGRATIONS_COLLECTION`: the collection of the target database where applied
  migrations are recorded (and where the lock lives while a process runs them);
- :class:`MigrationError` (and :class:`MigrationLockError`): a failure naming the
  migration, the operation, the collection, the index and the server's error;
- :class:`MigrationStatus`, :class:`Drift`: what ``status`` and ``check`` report;
- :func:`format_command`: a server command as ``--dry-run`` prints it;
  :func:`redact`: a connection string fit to print.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from driver.bson import json_util
from odm.migrations.plan import describe

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_LOCK_TTL",
    "MIGRATIONS_COLLECTION",
    "Drift",
    "MigrationError",
    "MigrationLockError",
    "MigrationStatus",
    "format_command",
    "operation_target",
    "redact",
]

#: Seconds a second process waits for the migration lock, and seconds after which a
#: lock not renewed (after each operation) is stale and may be taken over.
DEFAULT_LOCK_TIMEOUT = 60.0
DEFAULT_LOCK_TTL = 600.0

#: The collection, in the target database, that records applied migrations and the lock.
MIGRATIONS_COLLECTION = "feldspar_migrations"


class MigrationError(Exception):
    """A migration could not run: names the migration, the operation, the collection and
    the index, and the server's error (``code``, ``server_message``) when there is one,
    then ``hint``, what to do about it, when the runner knows.
    Operations before the failing one stay recorded; the next ``apply`` resumes."""

    def __init__(
        self,
        message: str,
        *,
        migration: str | None = None,
        operation: Mapping[str, Any] | None = None,
        code: int | None = None,
        server_message: str | None = None,
        hint: str | None = None,
    ) -> None:
        collection, index = operation_target(operation) if operation else (None, None)
        parts = [message]
        if migration:
            parts.insert(0, f"migration {migration}:")
        if operation:
            parts.append(f"({describe(operation)})")
        if code is not None or server_message:
            parts.append(f"server error {code}: {server_message}")
        if hint:
            parts.append(f"-- {hint}")
        super().__init__(" ".join(parts))
        self.migration = migration
        self.operation = dict(operation) if operation else None
        self.collection = collection
        self.index = index
        self.code = code
        self.server_message = server_message
        self.hint = hint


class MigrationLockError(MigrationError):
    """Another process holds the migration lock (named in the message) past the wait."""


def operation_target(operation: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(collection, index name)`` an operation works on (for messages)."""
    kind = operation.get("op")
    if kind == "rename_collection":
        return f"{operation.get('from')} -> {operation.get('to')}", None
    collection = operation.get("collection")
    if kind in ("create_index", "drop_index"):
        index = operation.get("index")
        return collection, index.get("name") if isinstance(index, Mapping) else None
    if kind == "modify_index":
        return collection, operation.get("name")
    if kind == "rename_index":
        old, new = operation.get("from"), operation.get("to")
        names = [item.get("name") if isinstance(item, Mapping) else None for item in (old, new)]
        return collection, f"{names[0]} -> {names[1]}"
    return collection, None


def format_command(database: str, command: Mapping[str, Any]) -> str:
    """``shop: {"createIndexes": "users", ...}``: the database, then the command as
    Relaxed Extended JSON, keys in the order sent."""
    text = json_util.dumps(command, json_options=json_util.RELAXED_JSON_OPTIONS)
    return f"{database}: {text}"


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***``, fit to print. The user
    information is everything between ``://`` (any case) and the LAST ``@`` (a
    mistyped password may hold an unescaped ``/``, ``@`` or ``?``): the user name is
    kept when it is plain, otherwise the whole user information is hidden."""
    scheme = _SCHEME.match(uri)
    start = scheme.end() if scheme else 0
    at = uri.rfind("@", start)
    if at < 0:
        return uri
    userinfo = uri[start:at]
    user, colon, _ = userinfo.partition(":")
    if not colon and "@" not in userinfo:
        return uri  # a user name, no password
    if colon and user and not set(user) & set("/?#[]@"):
        hidden = f"{user}:***"
    else:
        hidden = "***"
    return f"{uri[:start]}{hidden}{uri[at:]}"


# ------------------------------------------------------------------ reports


@dataclass(frozen=True)
class MigrationStatus:
    """One migration as ``status`` sees it: ``state`` is ``applied``, ``pending``,
    ``changed`` (applied, but the file's checksum differs from the recorded one),
    ``partial`` (an apply stopped inside it: the next apply finishes it),
    ``rolling back`` (a rollback stopped inside it) or ``no file`` (recorded, file gone)."""

    number: int
    name: str
    state: str
    applied_at: Any = None
    done: int | None = None

    def __str__(self) -> str:
        when = f" at {self.applied_at:%Y-%m-%d %H:%M:%S} UTC" if self.applied_at else ""
        progress = f" ({self.done} operations done)" if self.done is not None else ""
        return f"{self.number:04d}_{self.name}: {self.state}{when}{progress}"


@dataclass(frozen=True)
class Drift:
    """What ``check`` found: ``differences``, one readable line per index that is
    missing, unexpected or different on the live database, and ``pending``, the
    migrations not (completely) applied."""

    differences: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()

    @property
    def is_clean(self) -> bool:
        return not self.pending and not self.differences

    def lines(self) -> list[str]:
        """Readable lines (empty when clean)."""
        return [f"pending migration: {label}" for label in self.pending] + list(self.differences)
