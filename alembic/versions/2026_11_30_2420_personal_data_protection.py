"""personal data protection: person keys, blind index, consent, message origin

Identity fields become encrypted at rest with a per-person data key (wrapped by a
master key from the settings, column `process_instance.data_key`); the case index
loses its plaintext alias (`alias`, `alias_key`) for a sealed one and a blind index
(`case_search_token`); consents get their table; messages remember the case that
threw them. Data written before this revision is encrypted by
`inlav keys encrypt-existing` (it needs the keys, which a migration must not read).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 24:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('identity_erased_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_fields_json', sa.Text(), server_default='[]', nullable=False))
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_instance_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_message_origin_instance_id_process_instance'),
            'process_instance',
            ['origin_instance_id'],
            ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_index(batch_op.f('ix_message_origin_instance_id'), ['origin_instance_id'], unique=False)
    with op.batch_alter_table('case_index', schema=None) as batch_op:
        batch_op.drop_index('ix_case_index_ambito_code_alias_key')
        batch_op.drop_column('alias')
        batch_op.drop_column('alias_key')
        batch_op.add_column(sa.Column('alias_sealed', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_index_ambito_code'), ['ambito_code'], unique=False)

    op.create_table(
        'case_search_token',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ['instance_id'],
            ['process_instance.id'],
            name=op.f('fk_case_search_token_instance_id_process_instance'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('instance_id', 'token', name=op.f('pk_case_search_token')),
    )
    with op.batch_alter_table('case_search_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_search_token_token'), ['token'], unique=False)

    op.create_table(
        'consent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_by', sa.String(length=100), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['instance_id'], ['process_instance.id'], name=op.f('fk_consent_instance_id_process_instance'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consent')),
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_instance_id'))
    op.drop_table('consent')
    with op.batch_alter_table('case_search_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_search_token_token'))
    op.drop_table('case_search_token')
    # The sealed alias cannot be opened here (no keys in a migration): the plaintext columns
    # come back empty and each case refills them at its next step.
    with op.batch_alter_table('case_index', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_index_ambito_code'))
        batch_op.drop_column('alias_sealed')
        batch_op.add_column(sa.Column('alias', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('alias_key', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_case_index_ambito_code_alias_key', ['ambito_code', 'alias_key'], unique=False)
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_origin_instance_id'))
        batch_op.drop_constraint(batch_op.f('fk_message_origin_instance_id_process_instance'), type_='foreignkey')
        batch_op.drop_column('origin_instance_id')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_column('personal_fields_json')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_column('identity_erased_at')
        batch_op.drop_column('data_key')
