"""studio: the revision that last wrote each file of a draft

A draft's diagram and its forms are edited in different pages: a save is refused only when
someone wrote the same file after the editor opened the draft, not when another file of the
draft was saved meanwhile. Existing files count as written at revision 0.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_draft_file') as batch:
        batch.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('process_draft_file') as batch:
        batch.drop_column('revision')
