"""people: profiles, avatars, friendships, blocks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 11:41:24.818525

"""
from alembic import op
import sqlalchemy as sa

# The bundled avatars: app/static/avatars/<slug>.svg.
AVATARS = [
    "Fox", "Owl", "Cat", "Dog", "Panda", "Koala", "Penguin", "Frog", "Lion", "Bear",
    "Rabbit", "Tiger", "Whale", "Octopus", "Bee", "Unicorn", "Robot", "Alien", "Cactus", "Planet",
]


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    avatars = op.create_table('avatars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_avatars')),
    sa.UniqueConstraint('slug', name=op.f('uq_avatars_slug'))
    )
    op.bulk_insert(avatars, [{"slug": name.lower(), "name": name} for name in AVATARS])
    op.create_table('blocks',
    sa.Column('blocker_id', sa.Integer(), nullable=False),
    sa.Column('blocked_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('blocker_id <> blocked_id', name=op.f('ck_blocks_not_self')),
    sa.ForeignKeyConstraint(['blocked_id'], ['users.id'], name=op.f('fk_blocks_blocked_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['blocker_id'], ['users.id'], name=op.f('fk_blocks_blocker_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('blocker_id', 'blocked_id', name=op.f('pk_blocks'))
    )
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index('ix_blocks_blocked_id', ['blocked_id'], unique=False)

    op.create_table('friendships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_low_id', sa.Integer(), nullable=False),
    sa.Column('user_high_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'accepted')", name=op.f('ck_friendships_known_status')),
    sa.CheckConstraint('requester_id = user_low_id OR requester_id = user_high_id', name=op.f('ck_friendships_requester_in_pair')),
    sa.CheckConstraint('user_low_id < user_high_id', name=op.f('ck_friendships_ordered_pair')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_friendships_requester_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_high_id'], ['users.id'], name=op.f('fk_friendships_user_high_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_low_id'], ['users.id'], name=op.f('fk_friendships_user_low_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_friendships')),
    sa.UniqueConstraint('user_low_id', 'user_high_id', name=op.f('uq_friendships_user_low_id_user_high_id'))
    )
    with op.batch_alter_table('friendships', schema=None) as batch_op:
        batch_op.create_index('ix_friendships_user_high_id', ['user_high_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_name_key', sa.String(length=50).with_variant(sa.String(length=50, collation='C'), 'postgresql'), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('last_name_key', sa.String(length=50).with_variant(sa.String(length=50, collation='C'), 'postgresql'), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('bio', sa.String(length=280), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('avatar_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('avatar_upload', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('message_policy', sa.String(length=16), nullable=False, server_default='everyone'))
        batch_op.create_check_constraint(op.f('ck_users_known_message_policy'), "message_policy IN ('everyone', 'friends')")
        batch_op.create_index(batch_op.f('ix_users_first_name_key'), ['first_name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_last_name_key'), ['last_name_key'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_avatar_id_avatars'), 'avatars', ['avatar_id'], ['id'], ondelete='SET NULL')

    # Fill the search keys of existing accounts the way the model does (Python's casefold).
    connection = op.get_bind()
    users = sa.table('users', sa.column('id'), sa.column('first_name'), sa.column('last_name'),
                     sa.column('first_name_key'), sa.column('last_name_key'))
    for user_id, first, last in connection.execute(sa.select(users.c.id, users.c.first_name, users.c.last_name)):
        connection.execute(users.update().where(users.c.id == user_id).values(
            first_name_key=(first or '').strip().casefold()[:50], last_name_key=(last or '').strip().casefold()[:50]))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_avatar_id_avatars'), type_='foreignkey')
        batch_op.drop_constraint(op.f('ck_users_known_message_policy'), type_='check')
        batch_op.drop_index(batch_op.f('ix_users_last_name_key'))
        batch_op.drop_index(batch_op.f('ix_users_first_name_key'))
        batch_op.drop_column('message_policy')
        batch_op.drop_column('avatar_upload')
        batch_op.drop_column('avatar_id')
        batch_op.drop_column('bio')
        batch_op.drop_column('last_name_key')
        batch_op.drop_column('first_name_key')

    with op.batch_alter_table('friendships', schema=None) as batch_op:
        batch_op.drop_index('ix_friendships_user_high_id')

    op.drop_table('friendships')
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index('ix_blocks_blocked_id')

    op.drop_table('blocks')
    op.drop_table('avatars')
