"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 05:54:24.842892
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY = "history_event is append-only"


def _create_append_only_guard() -> None:
    """History rows can be inserted, never changed or removed (the hash chain relies on it)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION history_event_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER history_event_append_only BEFORE UPDATE OR DELETE ON history_event "
            "FOR EACH ROW EXECUTE FUNCTION history_event_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER history_event_no_{action.lower()} BEFORE {action} ON history_event "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def _drop_append_only_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS history_event_append_only ON history_event")
        op.execute("DROP FUNCTION IF EXISTS history_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS history_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS history_event_no_delete")


def upgrade() -> None:
    op.create_table('ambito',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_ambito'))
    )
    op.create_table('definition_file',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_definition_file'))
    )
    op.create_table('bundle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ambito_code'], ['ambito.code'], name=op.f('fk_bundle_ambito_code_ambito')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bundle'))
    )
    with op.batch_alter_table('bundle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bundle_ambito_code'), ['ambito_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_bundle_content_hash'), ['content_hash'], unique=False)

    op.create_table('bundle_file',
    sa.Column('bundle_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['bundle_id'], ['bundle.id'], name=op.f('fk_bundle_file_bundle_id_bundle')),
    sa.ForeignKeyConstraint(['sha256'], ['definition_file.sha256'], name=op.f('fk_bundle_file_sha256_definition_file')),
    sa.PrimaryKeyConstraint('bundle_id', 'name', name=op.f('pk_bundle_file'))
    )
    op.create_table('process_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bundle_id', sa.Integer(), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=True),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('calls_json', sa.Text(), nullable=False),
    sa.Column('start_messages_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ambito_code'], ['ambito.code'], name=op.f('fk_process_definition_ambito_code_ambito')),
    sa.ForeignKeyConstraint(['bundle_id'], ['bundle.id'], name=op.f('fk_process_definition_bundle_id_bundle')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_definition'))
    )
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_definition_bundle_id'), ['bundle_id'], unique=False)
        batch_op.create_index('ix_process_definition_scope_key', ['process_key', 'ambito_code', 'version'], unique=False)

    op.create_table('process_instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_code', sa.String(length=64), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('manifest_json', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('lock_owner', sa.String(length=64), nullable=True),
    sa.Column('lock_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('workflow_json', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('error_task_id', sa.String(length=36), nullable=True),
    sa.Column('live_task_count', sa.Integer(), nullable=False),
    sa.Column('archived_task_count', sa.Integer(), nullable=False),
    sa.Column('last_event_seq', sa.Integer(), nullable=False),
    sa.Column('last_event_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['ambito_code'], ['ambito.code'], name=op.f('fk_process_instance_ambito_code_ambito')),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], name=op.f('fk_process_instance_definition_id_process_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_instance')),
    sa.UniqueConstraint('case_code', name=op.f('uq_process_instance_case_code'))
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_process_instance_ambito_code_status', ['ambito_code', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_process_key'), ['process_key'], unique=False)

    op.create_table('history_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('task_name', sa.String(length=200), nullable=True),
    sa.Column('task_title', sa.String(length=300), nullable=True),
    sa.Column('lane', sa.String(length=64), nullable=True),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('data_diff_json', sa.Text(), nullable=True),
    sa.Column('detail_json', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], name=op.f('fk_history_event_definition_id_process_definition')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_history_event_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_event')),
    sa.UniqueConstraint('instance_id', 'seq', name=op.f('uq_history_event_instance_id_seq'))
    )
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_event_task_id'), ['task_id'], unique=False)

    _create_append_only_guard()

    op.create_table('human_task',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('case_code', sa.String(length=64), nullable=False),
    sa.Column('ambito_code', sa.String(length=32), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('task_name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('lane', sa.String(length=64), nullable=True),
    sa.Column('form', sa.String(length=300), nullable=True),
    sa.Column('ui_form', sa.String(length=300), nullable=True),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ambito_code'], ['ambito.code'], name=op.f('fk_human_task_ambito_code_ambito')),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], name=op.f('fk_human_task_definition_id_process_definition')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_human_task_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', name=op.f('pk_human_task'))
    )
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_ambito_code_lane', ['ambito_code', 'lane'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_task_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_task_case_code'), ['case_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_task_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_task_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_task_process_key'), ['process_key'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('correlation_key', sa.String(length=300), nullable=True),
    sa.Column('ambito_code', sa.String(length=32), nullable=True),
    sa.Column('payload_json', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ambito_code'], ['ambito.code'], name=op.f('fk_message_ambito_code_ambito')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_message_instance_id_process_instance'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message'))
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_name_key', ['name', 'correlation_key'], unique=False)
        batch_op.create_index('ix_message_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('message_subscription',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('message_name', sa.String(length=200), nullable=False),
    sa.Column('correlation_key', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_message_subscription_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_subscription')),
    sa.UniqueConstraint('instance_id', 'task_id', name=op.f('uq_message_subscription_instance_id_task_id'))
    )
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.create_index('ix_message_subscription_name_key', ['message_name', 'correlation_key'], unique=False)

    op.create_table('subprocess_state',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('subprocess_id', sa.String(length=36), nullable=False),
    sa.Column('spec_name', sa.String(length=200), nullable=False),
    sa.Column('attrs_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_subprocess_state_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'subprocess_id', name=op.f('pk_subprocess_state'))
    )
    op.create_table('task_archive',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('workflow_id', sa.String(length=36), nullable=False),
    sa.Column('spec_name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('last_state_change', sa.Float(), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_task_archive_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'task_id', name=op.f('pk_task_archive'))
    )
    op.create_table('task_data',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('data_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_task_data_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'hash', name=op.f('pk_task_data'))
    )
    op.create_table('task_state',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('workflow_id', sa.String(length=36), nullable=False),
    sa.Column('spec_name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('row_json', sa.Text(), nullable=False),
    sa.Column('data_hash', sa.String(length=64), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_task_state_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'task_id', name=op.f('pk_task_state'))
    )
    op.create_table('timer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('task_name', sa.String(length=200), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_by', sa.String(length=64), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_timer_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timer')),
    sa.UniqueConstraint('instance_id', 'task_id', name=op.f('uq_timer_instance_id_task_id'))
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timer_due_at'), ['due_at'], unique=False)



def downgrade() -> None:
    _drop_append_only_guard()
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timer_due_at'))

    op.drop_table('timer')
    op.drop_table('task_state')
    op.drop_table('task_data')
    op.drop_table('task_archive')
    op.drop_table('subprocess_state')
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_message_subscription_name_key')

    op.drop_table('message_subscription')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_status_created_at')
        batch_op.drop_index('ix_message_name_key')

    op.drop_table('message')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_human_task_process_key'))
        batch_op.drop_index(batch_op.f('ix_human_task_instance_id'))
        batch_op.drop_index(batch_op.f('ix_human_task_due_at'))
        batch_op.drop_index(batch_op.f('ix_human_task_case_code'))
        batch_op.drop_index(batch_op.f('ix_human_task_assignee'))
        batch_op.drop_index('ix_human_task_ambito_code_lane')

    op.drop_table('human_task')
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_history_event_task_id'))

    op.drop_table('history_event')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instance_process_key'))
        batch_op.drop_index(batch_op.f('ix_process_instance_definition_id'))
        batch_op.drop_index('ix_process_instance_ambito_code_status')

    op.drop_table('process_instance')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_index('ix_process_definition_scope_key')
        batch_op.drop_index(batch_op.f('ix_process_definition_bundle_id'))

    op.drop_table('process_definition')
    op.drop_table('bundle_file')
    with op.batch_alter_table('bundle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bundle_content_hash'))
        batch_op.drop_index(batch_op.f('ix_bundle_ambito_code'))

    op.drop_table('bundle')
    op.drop_table('definition_file')
    op.drop_table('ambito')
