"""messages: forwards (a flag, and whose words a forward carries)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 10:00:00

`forwarded` marks a message as a forward; `forwarded_from_user_id` names the author of the words it
carries, SET NULL when that account is deleted (the forward then says "Forwarded from Deleted user").
A CHECK keeps the author for forwards only. No index: nothing reads messages by that column but an
account's deletion. On SQLite the foreign key and the CHECK need a rebuild of `messages`, which
drops the full-text index's triggers (made by 0006): they are made again after it, both ways.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# The triggers of 0006's SQLite search index, as 0006 made them.
SQLITE_SEARCH_TRIGGERS = (
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
)


def _restore_sqlite_search_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for name in ("messages_fts_update", "messages_fts_delete", "messages_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in SQLITE_SEARCH_TRIGGERS:
            op.execute(statement)


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forwarded', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('forwarded_from_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_messages_forwarded_from_user_id_users'), 'users',
                                    ['forwarded_from_user_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(batch_op.f('ck_messages_forwarded_from_a_forward'),
                                         sa.text('forwarded OR forwarded_from_user_id IS NULL'))
    _restore_sqlite_search_triggers()


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_messages_forwarded_from_a_forward'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_messages_forwarded_from_user_id_users'), type_='foreignkey')
        batch_op.drop_column('forwarded_from_user_id')
        batch_op.drop_column('forwarded')
    _restore_sqlite_search_triggers()
