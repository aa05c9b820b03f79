"""case data and task texts

Revision ID: 0004
Revises: 0003_web
Create Date: 2026-11-22 06:28:21.071271
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003_web'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instructions', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('documentation', sa.Text(), nullable=True))

    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_data_json', sa.Text(), server_default='{}', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_column('case_data_json')

    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('documentation')
        batch_op.drop_column('instructions')

