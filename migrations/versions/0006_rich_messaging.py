"""rich messaging: edits, tombstones, replies, attachments, reactions, mentions, member settings, search

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 19:30:00

The full-text index is per engine and outside the models (see app.models.chat.outside_the_models):
SQLite gets an FTS5 table over messages.body kept in step by triggers; PostgreSQL a generated
tsvector column with a GIN index. A later batch rebuild of `messages` on SQLite drops its triggers:
such a migration must create them again (create_sqlite_search_index below).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SQLITE_SEARCH_INDEX = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO messages_fts(rowid, body) SELECT id, body FROM messages",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
)
POSTGRES_SEARCH_INDEX = (
    "ALTER TABLE messages ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED",
    "CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)",
)


def create_sqlite_search_index():
    for statement in SQLITE_SEARCH_INDEX:
        op.execute(statement)


def upgrade():
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('uploader_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('thumbnail', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('image', 'file')", name=op.f('ck_attachments_known_kind')),
    sa.CheckConstraint('size >= 0', name=op.f('ck_attachments_size_not_negative')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_attachments_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_attachments_uploader_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    op.create_index('ix_attachments_conversation_id', 'attachments', ['conversation_id'], unique=False)
    op.create_index('ix_attachments_uploader_id', 'attachments', ['uploader_id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reply_to_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('attachment_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_messages_attachment_id'), ['attachment_id'])
        batch_op.create_foreign_key(batch_op.f('fk_messages_reply_to_id_messages'), 'messages', ['reply_to_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_messages_attachment_id_attachments'), 'attachments', ['attachment_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('muted', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('pinned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('reactions',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('emoji', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_reactions_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reactions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'user_id', 'emoji', name=op.f('pk_reactions'))
    )
    op.create_table('mentions',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_mentions_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_mentions_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mentions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'user_id', name=op.f('pk_mentions'))
    )
    op.create_index('ix_mentions_user_id_conversation_id_seq', 'mentions', ['user_id', 'conversation_id', 'seq'], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        create_sqlite_search_index()
    else:
        for statement in POSTGRES_SEARCH_INDEX:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in ("messages_fts_update", "messages_fts_delete", "messages_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_search_vector")
        op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")

    op.drop_index('ix_mentions_user_id_conversation_id_seq', table_name='mentions')
    op.drop_table('mentions')
    op.drop_table('reactions')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
        batch_op.drop_column('pinned_at')
        batch_op.drop_column('muted')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_messages_attachment_id_attachments'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_messages_reply_to_id_messages'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_messages_attachment_id'), type_='unique')
        batch_op.drop_column('attachment_id')
        batch_op.drop_column('reply_to_id')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('edited_at')

    op.drop_index('ix_attachments_uploader_id', table_name='attachments')
    op.drop_index('ix_attachments_conversation_id', table_name='attachments')
    op.drop_table('attachments')
