"""studio: process drafts

A process being edited in the studio, per scope (an Ambito code, or «regione» for the
regional base) and process key, with its files (BPMN, DMN, JSON forms) as they were last
saved; a revision number refuses a save made on an older revision.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 03:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('process_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=True),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('main_file', sa.String(length=300), nullable=False),
    sa.Column('base_definition_id', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['ambito_code'], ['ambito.code'], name=op.f('fk_process_draft_ambito_code_ambito')),
    sa.ForeignKeyConstraint(['base_definition_id'], ['process_definition.id'], name=op.f('fk_process_draft_base_definition_id_process_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_draft')),
    sa.UniqueConstraint('scope', 'process_key', name=op.f('uq_process_draft_scope_process_key'))
    )
    op.create_table('process_draft_file',
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['process_draft.id'], name=op.f('fk_process_draft_file_draft_id_process_draft'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('draft_id', 'name', name=op.f('pk_process_draft_file'))
    )


def downgrade() -> None:
    op.drop_table('process_draft_file')
    op.drop_table('process_draft')
