"""names without invisible characters; keys of what names look like

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:00:00

Names and titles stored before this kept bidi controls and zero-width characters (a name could be
"\u200b", or reverse what follows it). This cleans them with the rule new names follow
(app.names.strip_invisible): a name with nothing visible left becomes empty (the username
shows instead), a group or room title "Group". It also adds `name_skeleton` and `username_skeleton`
(app.names.skeleton_key), indexed, so a new display name is checked against lookalikes
without reading every user. The columns are added without a table rebuild, which on SQLite would drop
AUTOINCREMENT (see 0005).
"""
from alembic import op
import sqlalchemy as sa

from app.models.user import display_name_of, name_key
from app.names import is_visible, skeleton_key, strip_invisible


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _clean(name):
    name = strip_invisible(name)
    return name if is_visible(name) else ''


def upgrade():
    op.add_column('users', sa.Column('name_skeleton', sa.String(length=32), nullable=False, server_default=''))
    op.add_column('users', sa.Column('username_skeleton', sa.String(length=32), nullable=False, server_default=''))
    op.create_index(op.f('ix_users_name_skeleton'), 'users', ['name_skeleton'], unique=False)
    op.create_index(op.f('ix_users_username_skeleton'), 'users', ['username_skeleton'], unique=False)

    connection = op.get_bind()
    users = sa.table('users', sa.column('id'), sa.column('username'), sa.column('first_name'),
                     sa.column('last_name'), sa.column('first_name_key'), sa.column('last_name_key'),
                     sa.column('name_skeleton'), sa.column('username_skeleton'))
    rows = connection.execute(sa.select(users.c.id, users.c.username, users.c.first_name, users.c.last_name)).all()
    for user_id, username, first, last in rows:
        first, last = _clean(first), _clean(last)
        connection.execute(users.update().where(users.c.id == user_id).values(
            first_name=first, last_name=last, first_name_key=name_key(first), last_name_key=name_key(last),
            name_skeleton=skeleton_key(display_name_of(first, last, username)),
            username_skeleton=skeleton_key(username)))

    conversations = sa.table('conversations', sa.column('id'), sa.column('kind'), sa.column('title'))
    titled = connection.execute(
        sa.select(conversations.c.id, conversations.c.title).where(conversations.c.kind != 'direct')).all()
    for conversation_id, title in titled:
        clean = _clean(title) or 'Group'
        if clean != title:
            connection.execute(conversations.update().where(conversations.c.id == conversation_id).values(title=clean))


def downgrade():
    op.drop_index(op.f('ix_users_username_skeleton'), table_name='users')
    op.drop_index(op.f('ix_users_name_skeleton'), table_name='users')
    op.drop_column('users', 'username_skeleton')
    op.drop_column('users', 'name_skeleton')
