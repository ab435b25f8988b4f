"""user ids are never reused on SQLite

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 17:00:00

The batch migrations 0002-0004 rebuilt the SQLite `users` table without AUTOINCREMENT, so SQLite
handed a deleted account's id (when it was the highest) to the next sign-up, and the deleted
account's old sessions and remember-me cookies ("<id>:<auth version>") signed in as the newcomer.
This rebuilds the table with AUTOINCREMENT. PostgreSQL never reuses sequence values: no-op there.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('users', recreate='always', table_kwargs={'sqlite_autoincrement': True}):
            pass


def downgrade():
    pass
