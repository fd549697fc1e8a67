"""Index migrations: generated, reviewed, applied, rolled back and checked.

The indexes the models declare are compared with the state the last migration file
recorded (:mod:`odm.migrations.plan`, pure); the difference is written as a new file
``migrations/NNNN_<name>.py`` holding plain data operations and the resulting state
(:mod:`odm.migrations.files`). Generation needs no database.

    >>> from odm.migrations import plan, invert
    >>> ops = plan({}, {"users": [{"name": "email_1", "keys": [["email", 1]], "options": {}}]})
    >>> [op["op"] for op in ops], [op["op"] for op in invert(ops)]
    (['create_index'], ['drop_index'])

Importing this package needs no server and starts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from odm.migrations.files import (
    Migration,
    MigrationFileError,
    checksum,
    latest_state,
    load_migrations,
    make,
    make_manual,
    render,
    render_manual,
)
from odm.migrations.models import load_models
from odm.migrations.plan import (
    BRIDGE_KEY,
    Operation,
    apply_operations,
    commands,
    describe,
    expand,
    invert,
    plan,
)
from odm.migrations.records import MigrationError, MigrationLockError
from odm.migrations.state import (
    State,
    decode,
    encode,
    state_differences,
    state_from_database,
    state_from_models,
    states_equal,
)

__all__ = [
    "BRIDGE_KEY",
    "AsyncMigrator",
    "Migration",
    "MigrationError",
    "MigrationFileError",
    "MigrationLockError",
    "Migrator",
    "Operation",
    "State",
    "apply_operations",
    "checksum",
    "commands",
    "decode",
    "describe",
    "encode",
    "expand",
    "invert",
    "latest_state",
    "load_migrations",
    "load_models",
    "make",
    "make_manual",
    "plan",
    "render",
    "render_manual",
    "state_differences",
    "state_from_database",
    "state_from_models",
    "states_equal",
]

if TYPE_CHECKING:
    from odm.migrations.runner import AsyncMigrator, Migrator


def __getattr__(name: str) -> Any:
    # The runners import this package's modules (and the engines): loaded on first use,
    # so that importing either side first works.
    if name in ("AsyncMigrator", "Migrator"):
        from odm.migrations import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'odm.migrations' has no attribute {name!r}")
