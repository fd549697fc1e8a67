"""Running migrations from code: :class:`Migrator` (sync) and :class:`AsyncMigrator`.

    from odm.migrations.runner import Migrator

    with Migrator("mongodb://127.0.0.1:27017", "migrations", database="shop", log=print) as m:
        m.apply()
        drift = m.check()
        assert drift.is_clean, drift.lines()

See :mod:`odm._async.migrate` for records, the lock and resuming, and
:mod:`odm.migrations.cli` for the command line.
"""

from __future__ import annotations

from odm._async.migrate import AsyncMigrator
from odm._sync.migrate import MigrationContext, Migrator
from odm.migrations.records import (
    MIGRATIONS_COLLECTION,
    Drift,
    MigrationError,
    MigrationLockError,
    MigrationStatus,
)

__all__ = [
    "MIGRATIONS_COLLECTION",
    "AsyncMigrator",
    "Drift",
    "MigrationContext",
    "MigrationError",
    "MigrationLockError",
    "MigrationStatus",
    "Migrator",
]
