"""The command line: ``python -m odm.migrations COMMAND [options]``.

Commands:

- ``make --models app.models [--name NAME]``: write the next migration file from the
  models' declared indexes (no database needed; nothing written when nothing changed);
  ``make --manual --name NAME`` writes an empty template to fill in by hand.
- ``apply [--to N] [--dry-run]``: apply the pending migrations (up to number N),
  finishing first one an interrupted run left half-way; ``--dry-run`` prints the exact
  server commands and changes nothing.
- ``rollback --to N [--dry-run]``: roll back the applied migrations above N (0: all).
- ``status``: each migration, applied (when), pending, partial, or changed since it was
  applied (its file's checksum differs from the recorded one).
- ``check [--models app.models]``: compare the live indexes with the last migration's
  state (or with the models' declarations) and list pending migrations; exits 1 on any
  difference: a gate for CI and deploys.
- ``init --from-db [--name NAME]``: write ``0001_<name>.py`` from the live database's
  indexes into an empty migrations directory and record it as applied.

Common options: ``--uri`` (default: the ``MONGODB_URI`` environment variable),
``--database`` (default: the one in the URI), ``--dir`` (default ``migrations``),
``--lock-timeout`` (seconds to wait for another process's migration lock, default 60),
``--lock-ttl`` (seconds after which a lock not renewed is stale, default 600: longer
than the slowest single index build).

Exit codes:

- 0: done (``check``: the database matches);
- 1: ``check`` found drift or pending migrations;
- 2: usage error or bad input (arguments, models, migration files, no URI);
- 3: a migration or the database failed (the message names the migration, the
  collection, the index and the server's error; what ran before stays recorded);
- 4: another process holds the migration lock (named) and the wait timed out.

Output is plain text, one line per step, fit for a terminal and a CI log; connection
strings are printed with their password replaced by ``***``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from odm.migrations.records import DEFAULT_LOCK_TTL

__all__ = ["EXIT_DRIFT", "EXIT_FAILED", "EXIT_LOCKED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_LOCKED = 4

_EPILOG = """exit codes:
  0  done (check: the database matches)
  1  check: drift or pending migrations
  2  usage error or bad input (arguments, models, migration files, no URI)
  3  a migration or the database failed
  4  another process holds the migration lock and the wait timed out
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m odm.migrations",
        description="Generate, apply, roll back and check index migrations.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str, database: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=text, description=text, epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--dir", default="migrations", help="migrations directory (default: migrations)")
        if database:
            sub.add_argument("--uri", default=None, help="connection string (default: $MONGODB_URI)")
            sub.add_argument("--database", default=None, help="database (default: the URI's)")
            sub.add_argument("--lock-timeout", type=float, default=60.0, metavar="SECONDS",
                             help="wait this long for another process's lock (default 60)")
            sub.add_argument("--lock-ttl", type=float, default=DEFAULT_LOCK_TTL, metavar="SECONDS",
                             help="a lock not renewed for this long is stale (default "
                             f"{DEFAULT_LOCK_TTL:g}); renewed after each operation, so make it "
                             "longer than your slowest index build")
        return sub

    make = command("make", "write the next migration file from the models", database=False)
    make.add_argument("--models", help="models: module[:Class], comma-separated")
    make.add_argument("--name", help="the migration's name (default: from its operations)")
    make.add_argument("--manual", action="store_true", help="write an empty template to fill in")

    apply = command("apply", "apply pending migrations")
    apply.add_argument("--to", type=int, default=None, help="apply up to this number")
    apply.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")

    rollback = command("rollback", "roll back applied migrations")
    rollback.add_argument("--to", type=int, required=True, help="roll back to this number (0: all)")
    rollback.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")

    command("status", "list migrations: applied, pending, partial, changed")

    check = command("check", "compare the live indexes with the expected ones (exit 1 on drift)")
    check.add_argument("--models", help="compare with these models instead of the last migration")

    init = command("init", "write an initial migration from a live database")
    init.add_argument("--from-db", action="store_true", required=True,
                      help="read the indexes of the live database")
    init.add_argument("--name", default="initial", help="the migration's name (default: initial)")
    return parser


class _Usage(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code."""
    from odm.migrations.files import MigrationFileError
    from odm.migrations.records import MigrationError, MigrationLockError

    args = _parser().parse_args(argv)
    try:
        if args.command == "make":
            return _make(args)
        return _with_database(args)
    except _Usage as exc:
        _error(str(exc))
        return EXIT_USAGE
    except MigrationFileError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except MigrationLockError as exc:
        _error(str(exc))
        return EXIT_LOCKED
    except MigrationError as exc:
        _error(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _error("interrupted: the next apply resumes where this one stopped")
        return EXIT_FAILED


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def _say(line: str) -> None:
    print(line, flush=True)


def _models(spec: str | None) -> list[Any]:
    from odm.migrations.models import load_models

    if not spec:
        raise _Usage("--models is required (a module, or module:Class, comma-separated)")
    sys.path.insert(0, os.getcwd())  # `app.models` from the project's directory
    try:
        return load_models(spec)
    except (ValueError, TypeError) as exc:
        raise _Usage(str(exc)) from exc


def _make(args: argparse.Namespace) -> int:
    from odm.migrations.files import make, make_manual

    if args.manual:
        if not args.name:
            raise _Usage("make --manual needs --name")
        path = make_manual(args.dir, args.name)
        _say(f"wrote {path} (manual: fill in upgrade and downgrade)")
        return EXIT_OK
    models = _models(args.models)
    try:
        written = make(models, args.dir, args.name)
    except ValueError as exc:
        raise _Usage(str(exc)) from exc
    if written is None:
        _say("no index changes: nothing written")
    else:
        _say(f"wrote {written}")
    return EXIT_OK


def _with_database(args: argparse.Namespace) -> int:
    from driver.errors import PyMongoError
    from odm.migrations.records import MigrationError, redact
    from odm.migrations.runner import Migrator

    uri = args.uri or os.environ.get("MONGODB_URI")
    if not uri:
        raise _Usage("no connection string: pass --uri or set MONGODB_URI")
    if args.lock_timeout < 0:
        raise _Usage("--lock-timeout must be 0 or more")
    if args.lock_ttl <= 0:
        raise _Usage("--lock-ttl must be more than 0")
    try:
        migrator = Migrator(uri, args.dir, database=args.database,
                            lock_timeout=args.lock_timeout, lock_ttl=args.lock_ttl, log=_say)
    except MigrationError as exc:
        raise _Usage(str(exc)) from exc
    except (PyMongoError, ValueError) as exc:
        raise _Usage(f"bad connection string {redact(uri)}: {exc}") from exc
    try:
        with migrator:
            return _run(args, migrator)
    except ValueError as exc:
        raise _Usage(str(exc)) from exc
    except PyMongoError as exc:
        raise MigrationError(f"database {migrator.database.name}: {type(exc).__name__}: {exc}") from exc


def _run(args: argparse.Namespace, migrator: Any) -> int:
    if args.command == "apply":
        migrator.apply(args.to, dry_run=args.dry_run)
    elif args.command == "rollback":
        migrator.rollback(args.to, dry_run=args.dry_run)
    elif args.command == "status":
        entries = migrator.status()
        if not entries:
            _say(f"no migrations in {args.dir}")
        for entry in entries:
            _say(str(entry))
    elif args.command == "check":
        expected = _models(args.models) if args.models else None
        drift = migrator.check(expected)
        if not drift.is_clean:
            for line in drift.lines():
                _say(line)
            _say(f"drift: {len(drift.lines())} difference(s) in database {migrator.database.name}")
            return EXIT_DRIFT
        _say(f"ok: database {migrator.database.name} has the expected indexes")
    elif args.command == "init":
        migrator.init_from_db(args.name)
    return EXIT_OK
