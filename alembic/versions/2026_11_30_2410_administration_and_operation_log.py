"""administration and operation log

Settings (global values and each PUA's annual targets), partner contacts, a flag that
makes a user choose a new password at next login, and the operation log of
administrative acts: append-only like history_event (triggers refuse UPDATE and DELETE).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 24:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

APPEND_ONLY = "operation_log is append-only"


def _create_append_only_guard() -> None:
    """Log rows can be inserted, never changed or removed (the hash chain relies on it)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION operation_log_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER operation_log_append_only BEFORE UPDATE OR DELETE ON operation_log "
            "FOR EACH ROW EXECUTE FUNCTION operation_log_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER operation_log_no_{action.lower()} BEFORE {action} ON operation_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def _drop_append_only_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS operation_log_append_only ON operation_log")
        op.execute("DROP FUNCTION IF EXISTS operation_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS operation_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS operation_log_no_delete")


def upgrade() -> None:
    op.create_table('app_setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value_json', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_app_setting'))
    )
    op.create_table('operation_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('target_kind', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=100), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=True),
    sa.Column('before_json', sa.Text(), nullable=True),
    sa.Column('after_json', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operation_log')),
    sa.UniqueConstraint('seq', name=op.f('uq_operation_log_seq'))
    )
    with op.batch_alter_table('operation_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operation_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_operation_log_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_operation_log_ambito_code'), ['ambito_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_operation_log_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index('ix_operation_log_target_kind_target_id', ['target_kind', 'target_id'], unique=False)
    _create_append_only_guard()

    op.create_table('annual_target',
    sa.Column('ambito_code', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('intercepted_min', sa.Integer(), nullable=False),
    sa.Column('intercepted_max', sa.Integer(), nullable=False),
    sa.Column('taken_min', sa.Integer(), nullable=False),
    sa.Column('taken_max', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['ambito_code'], ['ambito.code'], name=op.f('fk_annual_target_ambito_code_ambito')),
    sa.PrimaryKeyConstraint('ambito_code', 'year', name=op.f('pk_annual_target'))
    )
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_person', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('notes', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('partner', schema=None) as batch_op:
        batch_op.drop_column('notes')
        batch_op.drop_column('address')
        batch_op.drop_column('contact_person')

    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')

    op.drop_table('annual_target')
    _drop_append_only_guard()
    with op.batch_alter_table('operation_log', schema=None) as batch_op:
        batch_op.drop_index('ix_operation_log_target_kind_target_id')
        batch_op.drop_index(batch_op.f('ix_operation_log_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_operation_log_ambito_code'))
        batch_op.drop_index(batch_op.f('ix_operation_log_actor'))
        batch_op.drop_index(batch_op.f('ix_operation_log_action'))

    op.drop_table('operation_log')
    op.drop_table('app_setting')
