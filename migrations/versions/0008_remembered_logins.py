"""remembered logins: one row per "keep me signed in" login, so logging out ends its cookie

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:53:51

Remember-me cookies made before this revision name no row and stop working (their holders sign in
again once); sessions stay signed in.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('remembered_logins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_remembered_logins_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remembered_logins')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_remembered_logins_token_hash'))
    )
    with op.batch_alter_table('remembered_logins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remembered_logins_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('remembered_logins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remembered_logins_user_id'))

    op.drop_table('remembered_logins')
