"""attachments: indexes for the purge of uploads never sent and for the daily upload budget

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00

(uploader_id, created_at) replaces the index on uploader_id alone, which it covers.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_attachments_uploader_id_created_at', 'attachments', ['uploader_id', 'created_at'], unique=False)
    op.create_index('ix_attachments_created_at', 'attachments', ['created_at'], unique=False)
    op.drop_index('ix_attachments_uploader_id', table_name='attachments')


def downgrade():
    op.create_index('ix_attachments_uploader_id', 'attachments', ['uploader_id'], unique=False)
    op.drop_index('ix_attachments_created_at', table_name='attachments')
    op.drop_index('ix_attachments_uploader_id_created_at', table_name='attachments')
