"""Migration 0002: backfill_emails (manual).

Write what ``upgrade`` does and how ``downgrade`` undoes it. ``ctx.database`` is
the target database (a driver ``Database``); ``ctx.run(operations)`` runs planned
operations (see odm.migrations.plan). Make each step safe to run twice: a migration
interrupted half-way is run again from the start.
"""

NUMBER = 2
NAME = 'backfill_emails'

OPERATIONS: list[dict] = []

STATE = {
    'users': [{'keys': [['email', 1]], 'name': 'email_1', 'options': {'unique': True}}],
}


def upgrade(ctx):
    pass


def downgrade(ctx):
    pass
