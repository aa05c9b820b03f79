"""studio: migration jobs

Moving the running cases of a process in one scope (an Ambito, or «regione») onto the
version a new case gets, in batches: the job (who, when, target, state, number of cases)
and one row per case (from and to version and manifest, outcome, message).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('migration_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=True),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('target_definition_id', sa.Integer(), nullable=False),
    sa.Column('target_version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('undo_requested_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['ambito_code'], ['ambito.code'], name=op.f('fk_migration_job_ambito_code_ambito')),
    sa.ForeignKeyConstraint(['target_definition_id'], ['process_definition.id'], name=op.f('fk_migration_job_target_definition_id_process_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migration_job'))
    )
    op.create_index(op.f('ix_migration_job_process_key'), 'migration_job', ['process_key'], unique=False)
    op.create_table('migration_job_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('case_code', sa.String(length=64), nullable=False),
    sa.Column('from_definition_id', sa.Integer(), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=False),
    sa.Column('to_definition_id', sa.Integer(), nullable=False),
    sa.Column('to_version', sa.Integer(), nullable=False),
    sa.Column('from_manifest_json', sa.Text(), nullable=False),
    sa.Column('to_manifest_json', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['from_definition_id'], ['process_definition.id'], name=op.f('fk_migration_job_case_from_definition_id_process_definition')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_migration_job_case_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['job_id'], ['migration_job.id'], name=op.f('fk_migration_job_case_job_id_migration_job'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_definition_id'], ['process_definition.id'], name=op.f('fk_migration_job_case_to_definition_id_process_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migration_job_case')),
    sa.UniqueConstraint('job_id', 'instance_id', name=op.f('uq_migration_job_case_job_id_instance_id'))
    )
    op.create_index('ix_migration_job_case_job_id_status', 'migration_job_case', ['job_id', 'status'], unique=False)
    op.create_index(op.f('ix_migration_job_case_instance_id'), 'migration_job_case', ['instance_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_migration_job_case_instance_id'), table_name='migration_job_case')
    op.drop_index('ix_migration_job_case_job_id_status', table_name='migration_job_case')
    op.drop_table('migration_job_case')
    op.drop_index(op.f('ix_migration_job_process_key'), table_name='migration_job')
    op.drop_table('migration_job')
