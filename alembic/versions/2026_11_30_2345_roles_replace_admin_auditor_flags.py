"""roles replace the admin and auditor flags

The administrator and the auditor become roles of the permission matrix
(`amministratore`, `revisore`, held regionally) instead of two columns of app_user.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 23:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

FLAGS = (("is_admin", "amministratore"), ("is_auditor", "revisore"))


def upgrade() -> None:
    for column, role in FLAGS:
        op.execute(
            sa.text(
                f"INSERT INTO user_role (user_id, role, ambito_code) "  # noqa: S608 - constants only
                f"SELECT id, '{role}', NULL FROM app_user WHERE {column}"
            )
        )
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('is_admin')
        batch_op.drop_column('is_auditor')


def downgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('is_auditor', sa.Boolean(), nullable=False, server_default=sa.false()))
    for column, role in FLAGS:
        op.execute(
            sa.text(
                f"UPDATE app_user SET {column} = TRUE WHERE id IN "  # noqa: S608 - constants only
                f"(SELECT user_id FROM user_role WHERE role = '{role}' AND ambito_code IS NULL)"
            )
        )
        op.execute(sa.text(f"DELETE FROM user_role WHERE role = '{role}'"))  # noqa: S608
