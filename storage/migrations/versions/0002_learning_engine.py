"""learning engine: review cards, stats, motivation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:23:18.262777
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_card',
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('course_slug', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('concept_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('fsrs_state', sa.JSON(), nullable=False),
    sa.Column('due', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learner.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('learner_id', 'item_id')
    )
    with op.batch_alter_table('review_card', schema=None) as batch_op:
        batch_op.create_index('ix_review_card_due', ['learner_id', 'due'], unique=False)

    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stats', sa.JSON(), nullable=False, server_default='{}'))

    with op.batch_alter_table('learner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('motivation', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('fsrs_parameters', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('fsrs_fit_reviews', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('learner', schema=None) as batch_op:
        batch_op.drop_column('fsrs_fit_reviews')
        batch_op.drop_column('fsrs_parameters')
        batch_op.drop_column('motivation')

    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_column('stats')

    with op.batch_alter_table('review_card', schema=None) as batch_op:
        batch_op.drop_index('ix_review_card_due')

    op.drop_table('review_card')
