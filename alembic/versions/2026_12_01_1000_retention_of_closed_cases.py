"""retention of closed cases: policies, runs, the record of each case acted on, history purge permits

retention_policy holds every version of the period (days) and action (purge or anonymise) per
process key and scope (an Ambito or «regione»); retention_run each dry run or application with
its counts; case_retention one row per case acted on, with the head of its history chain at
that moment (no foreign key: it outlives a purged case); history_purge_permit the one
controlled exception to the append-only history. The delete trigger of history_event is
replaced: a row may go only while an open permit names its case (on PostgreSQL, a permit of
the same transaction). UPDATE stays refused. case_retention is append-only; permits are never
deleted and change only once, when consumed.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None

HISTORY_APPEND_ONLY = "history_event is append-only"
RECORD_APPEND_ONLY = "case_retention is append-only"
PERMIT_KEPT = "history_purge_permit rows are kept and change only once, when consumed"


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _guard_history_with_permits() -> None:
    if _postgres():
        # Same function name as migration 0001: its trigger (BEFORE UPDATE OR DELETE) now calls this.
        op.execute(
            "CREATE OR REPLACE FUNCTION history_event_append_only() RETURNS trigger AS $$ BEGIN "
            "IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM history_purge_permit p "
            "WHERE p.instance_id = OLD.instance_id AND p.consumed_at IS NULL AND p.txid = txid_current()) "
            "THEN RETURN OLD; END IF; "
            f"RAISE EXCEPTION '{HISTORY_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS history_event_no_delete")
        op.execute(
            "CREATE TRIGGER history_event_no_delete BEFORE DELETE ON history_event "
            "WHEN NOT EXISTS (SELECT 1 FROM history_purge_permit p "
            "WHERE p.instance_id = OLD.instance_id AND p.consumed_at IS NULL) "
            f"BEGIN SELECT RAISE(ABORT, '{HISTORY_APPEND_ONLY}'); END"
        )


def _guard_history_plain() -> None:
    """Migration 0001's guard: no exception at all."""
    if _postgres():
        op.execute(
            "CREATE OR REPLACE FUNCTION history_event_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{HISTORY_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS history_event_no_delete")
        op.execute(
            "CREATE TRIGGER history_event_no_delete BEFORE DELETE ON history_event "
            f"BEGIN SELECT RAISE(ABORT, '{HISTORY_APPEND_ONLY}'); END"
        )


def _guard_records() -> None:
    if _postgres():
        op.execute(
            "CREATE FUNCTION case_retention_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{RECORD_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER case_retention_append_only BEFORE UPDATE OR DELETE ON case_retention "
            "FOR EACH ROW EXECUTE FUNCTION case_retention_append_only()"
        )
        op.execute(
            "CREATE FUNCTION history_purge_permit_kept() RETURNS trigger AS $$ BEGIN "
            "IF TG_OP = 'UPDATE' AND OLD.consumed_at IS NULL AND NEW.consumed_at IS NOT NULL "
            "AND NEW.instance_id = OLD.instance_id AND NEW.run_id = OLD.run_id "
            "AND NEW.granted_at = OLD.granted_at AND NEW.granted_by = OLD.granted_by "
            "AND NEW.txid IS NOT DISTINCT FROM OLD.txid THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{PERMIT_KEPT}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER history_purge_permit_kept BEFORE UPDATE OR DELETE ON history_purge_permit "
            "FOR EACH ROW EXECUTE FUNCTION history_purge_permit_kept()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER case_retention_no_{action.lower()} BEFORE {action} ON case_retention "
                f"BEGIN SELECT RAISE(ABORT, '{RECORD_APPEND_ONLY}'); END"
            )
        op.execute(
            "CREATE TRIGGER history_purge_permit_no_delete BEFORE DELETE ON history_purge_permit "
            f"BEGIN SELECT RAISE(ABORT, '{PERMIT_KEPT}'); END"
        )
        op.execute(
            "CREATE TRIGGER history_purge_permit_no_update BEFORE UPDATE ON history_purge_permit "
            "WHEN NOT (OLD.consumed_at IS NULL AND NEW.consumed_at IS NOT NULL "
            "AND NEW.instance_id = OLD.instance_id AND NEW.run_id = OLD.run_id "
            "AND NEW.granted_at = OLD.granted_at AND NEW.granted_by = OLD.granted_by "
            "AND NEW.txid IS OLD.txid) "
            f"BEGIN SELECT RAISE(ABORT, '{PERMIT_KEPT}'); END"
        )


def _drop_record_guards() -> None:
    if _postgres():
        op.execute("DROP TRIGGER IF EXISTS history_purge_permit_kept ON history_purge_permit")
        op.execute("DROP FUNCTION IF EXISTS history_purge_permit_kept()")
        op.execute("DROP TRIGGER IF EXISTS case_retention_append_only ON case_retention")
        op.execute("DROP FUNCTION IF EXISTS case_retention_append_only()")
    else:
        for name in (
            "history_purge_permit_no_update",
            "history_purge_permit_no_delete",
            "case_retention_no_update",
            "case_retention_no_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    op.create_table('retention_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('automatic', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('set_by', sa.String(length=100), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['ambito_code'], ['ambito.code'], name=op.f('fk_retention_policy_ambito_code_ambito')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_policy')),
    sa.UniqueConstraint('process_key', 'scope', 'version', name=op.f('uq_retention_policy_process_key_scope_version'))
    )
    op.create_index('ix_retention_policy_current', 'retention_policy', ['superseded_at', 'process_key'], unique=False)
    op.create_table('retention_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_digest', sa.String(length=64), nullable=True),
    sa.Column('due', sa.Integer(), nullable=False),
    sa.Column('anonymised', sa.Integer(), nullable=False),
    sa.Column('purged', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('detail_json', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_run'))
    )
    op.create_index(op.f('ix_retention_run_started_at'), 'retention_run', ['started_at'], unique=False)
    op.create_table('case_retention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('case_code', sa.String(length=64), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_event_seq', sa.Integer(), nullable=False),
    sa.Column('last_event_hash', sa.String(length=64), nullable=False),
    sa.Column('events_removed', sa.Integer(), nullable=False),
    sa.Column('rows_removed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['retention_policy.id'], name=op.f('fk_case_retention_policy_id_retention_policy')),
    sa.ForeignKeyConstraint(['run_id'], ['retention_run.id'], name=op.f('fk_case_retention_run_id_retention_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_retention'))
    )
    op.create_index(op.f('ix_case_retention_ambito_code'), 'case_retention', ['ambito_code'], unique=False)
    op.create_index(op.f('ix_case_retention_case_code'), 'case_retention', ['case_code'], unique=False)
    op.create_index(op.f('ix_case_retention_instance_id'), 'case_retention', ['instance_id'], unique=False)
    op.create_index(op.f('ix_case_retention_run_id'), 'case_retention', ['run_id'], unique=False)
    op.create_table('history_purge_permit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('txid', sa.BigInteger(), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by', sa.String(length=100), nullable=False),
    sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['retention_run.id'], name=op.f('fk_history_purge_permit_run_id_retention_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_purge_permit'))
    )
    op.create_index(op.f('ix_history_purge_permit_instance_id'), 'history_purge_permit', ['instance_id'], unique=False)
    _guard_records()
    _guard_history_with_permits()


def downgrade() -> None:
    # The plain guard first: its SQLite trigger must not name a table that is about to go.
    _guard_history_plain()
    _drop_record_guards()
    op.drop_index(op.f('ix_history_purge_permit_instance_id'), table_name='history_purge_permit')
    op.drop_table('history_purge_permit')
    op.drop_index(op.f('ix_case_retention_run_id'), table_name='case_retention')
    op.drop_index(op.f('ix_case_retention_instance_id'), table_name='case_retention')
    op.drop_index(op.f('ix_case_retention_case_code'), table_name='case_retention')
    op.drop_index(op.f('ix_case_retention_ambito_code'), table_name='case_retention')
    op.drop_table('case_retention')
    op.drop_index(op.f('ix_retention_run_started_at'), table_name='retention_run')
    op.drop_table('retention_run')
    op.drop_index('ix_retention_policy_current', table_name='retention_policy')
    op.drop_table('retention_policy')
