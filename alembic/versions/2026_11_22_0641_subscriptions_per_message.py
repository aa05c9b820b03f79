"""subscriptions per message

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:41:31.794451
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_message_subscription_instance_id_task_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_message_subscription_instance_id_task_id_message_name'), ['instance_id', 'task_id', 'message_name'])



def downgrade() -> None:
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_message_subscription_instance_id_task_id_message_name'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_message_subscription_instance_id_task_id'), ['instance_id', 'task_id'])

