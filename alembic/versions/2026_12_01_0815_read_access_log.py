"""read-access log: who viewed which case, when, what and through which channel

One row per view of a case's personal data (case file page, API read, personal-data export,
history exports, the auditor's instance page, CLI `instances show`/`history`). Append-only
like history_event and operation_log: triggers refuse UPDATE and DELETE. No foreign key to
process_instance: the record of who read a case outlives the case (retention may purge it).

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-01 08:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None

APPEND_ONLY = "read_log is append-only"


def _create_append_only_guard() -> None:
    """Rows can be inserted, never changed or removed (a read log one could edit proves nothing)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION read_log_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER read_log_append_only BEFORE UPDATE OR DELETE ON read_log "
            "FOR EACH ROW EXECUTE FUNCTION read_log_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER read_log_no_{action.lower()} BEFORE {action} ON read_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def _drop_append_only_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS read_log_append_only ON read_log")
        op.execute("DROP FUNCTION IF EXISTS read_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS read_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS read_log_no_delete")


def upgrade() -> None:
    op.create_table('read_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('case_code', sa.String(length=64), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=False),
    sa.Column('what', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_read_log'))
    )
    with op.batch_alter_table('read_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_read_log_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_read_log_ambito_code'), ['ambito_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_read_log_case_code'), ['case_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_read_log_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_read_log_what'), ['what'], unique=False)
    _create_append_only_guard()


def downgrade() -> None:
    _drop_append_only_guard()
    with op.batch_alter_table('read_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_read_log_what'))
        batch_op.drop_index(batch_op.f('ix_read_log_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_read_log_case_code'))
        batch_op.drop_index(batch_op.f('ix_read_log_ambito_code'))
        batch_op.drop_index(batch_op.f('ix_read_log_actor'))
    op.drop_table('read_log')
