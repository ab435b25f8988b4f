"""messages: the body as its fragment shows it (formatted, sanitised HTML)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:00:00

`body_html` holds app.services.formatting.render_message(body, mentions), made when a message is
stored or edited, so a read never renders Markdown. The messages stored before this are rendered
here, in batches of BATCH by id, with the mentions recorded for them (a tombstone's is ""); a
row that somehow stays NULL is rendered on read (app.serializers). The column is added without a
table rebuild, which on SQLite would drop the search index's triggers (see 0010).
"""
from alembic import op
import sqlalchemy as sa

from app.services.formatting import render_message


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BATCH = 500


def upgrade():
    op.add_column('messages', sa.Column('body_html', sa.Text(), nullable=True))

    connection = op.get_bind()
    messages = sa.table('messages', sa.column('id'), sa.column('body'), sa.column('body_html'))
    mentions = sa.table('mentions', sa.column('message_id'), sa.column('user_id'))
    users = sa.table('users', sa.column('id'), sa.column('username'))
    store = messages.update().where(messages.c.id == sa.bindparam('message_id')).values(
        body_html=sa.bindparam('html'))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(messages.c.id, messages.c.body).where(messages.c.id > last_id)
            .order_by(messages.c.id).limit(BATCH)).all()
        if not rows:
            break
        last_id = rows[-1].id
        named = {}
        ids = [row.id for row in rows if row.body and '@' in row.body]
        if ids:
            found = connection.execute(
                sa.select(mentions.c.message_id, users.c.id, users.c.username)
                .join(users, users.c.id == mentions.c.user_id)
                .where(mentions.c.message_id.in_(ids)))
            for message_id, user_id, username in found:
                named.setdefault(message_id, []).append({'id': user_id, 'username': username})
        connection.execute(store, [
            {'message_id': row.id, 'html': render_message(row.body, named.get(row.id))} for row in rows])


def downgrade():
    op.drop_column('messages', 'body_html')
