"""link previews: one card per URL, and the message's link to its card

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:40:00

`link_previews` holds the card of one URL (keyed by the URL's SHA-256), fetched in the background;
`messages.link_preview_id` points at the card of the message's first link, SET NULL if it goes, with
an index for finding the messages a fetched card updates. On SQLite the foreign key needs a rebuild
of `messages`, which drops the full-text index's triggers (made by 0006): they are made again after
it, both ways.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
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
    op.create_table(
        'link_previews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url_hash', sa.String(length=64), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.String(length=300), nullable=False),
        sa.Column('site_name', sa.String(length=100), nullable=False),
        sa.Column('image', sa.LargeBinary(), nullable=True),
        sa.Column('image_hash', sa.String(length=32), nullable=True),
        sa.Column('image_width', sa.Integer(), nullable=True),
        sa.Column('image_height', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'ready', 'failed')", name=op.f('ck_link_previews_known_status')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_previews')),
        sa.UniqueConstraint('url_hash', name=op.f('uq_link_previews_url_hash')),
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_preview_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_messages_link_preview_id'), ['link_preview_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_messages_link_preview_id_link_previews'), 'link_previews',
                                    ['link_preview_id'], ['id'], ondelete='SET NULL')
    _restore_sqlite_search_triggers()


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_messages_link_preview_id_link_previews'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_messages_link_preview_id'))
        batch_op.drop_column('link_preview_id')
    _restore_sqlite_search_triggers()
    op.drop_table('link_previews')
