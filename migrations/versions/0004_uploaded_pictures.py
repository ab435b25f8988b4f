"""uploaded pictures in the database (they were files in AVATAR_FOLDER)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 14:19:55.302783

Workers on several hosts share the database, not a folder, so uploaded pictures move into it. The
upgrade reads each picture in use from the old folder (AVATAR_FOLDER, default instance/avatars);
an account whose file is missing falls back to its initials. The downgrade writes them back.
"""
import os
from datetime import datetime, timezone
from pathlib import Path

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _old_folder() -> Path:
    from flask import current_app

    return Path(os.environ.get("AVATAR_FOLDER") or Path(current_app.instance_path) / "avatars")


def upgrade():
    pictures = op.create_table('uploaded_pictures',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_uploaded_pictures'))
    )
    connection = op.get_bind()
    users = sa.table('users', sa.column('avatar_upload', sa.String))
    names = connection.execute(sa.select(users.c.avatar_upload).where(users.c.avatar_upload.isnot(None)).distinct())
    for (name,) in list(names):
        path = _old_folder() / name
        if path.is_file():
            connection.execute(
                pictures.insert().values(name=name, data=path.read_bytes(), created_at=datetime.now(timezone.utc))
            )
        else:
            connection.execute(users.update().where(users.c.avatar_upload == name).values(avatar_upload=None))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_users_avatar_upload_uploaded_pictures'), 'uploaded_pictures', ['avatar_upload'], ['name'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_avatar_upload_uploaded_pictures'), type_='foreignkey')
    pictures = sa.table('uploaded_pictures', sa.column('name', sa.String), sa.column('data', sa.LargeBinary))
    folder = _old_folder()
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in op.get_bind().execute(sa.select(pictures.c.name, pictures.c.data)):
        (folder / name).write_bytes(data)
    op.drop_table('uploaded_pictures')
