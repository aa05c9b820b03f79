"""ORM models: the only description of tables in Python (Alembic owns the schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UUID_LEN = 36
TS = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Ambito(Base):
    """An Ambito Territoriale Sociale, the scope of a PUA."""

    __tablename__ = "ambito"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TS)


class DefinitionFile(Base):
    """A file of a bundle, stored once by content hash."""

    __tablename__ = "definition_file"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)


class Bundle(Base):
    """An immutable deployment of BPMN, DMN and form files for the region or one Ambito."""

    __tablename__ = "bundle"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ambito_code: Mapped[str | None] = mapped_column(ForeignKey("ambito.code"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    created_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class BundleFile(Base):
    """Which file (by hash) a bundle holds under which name."""

    __tablename__ = "bundle_file"

    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundle.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(ForeignKey("definition_file.sha256"))


class ProcessDefinition(Base):
    """One executable process of a bundle; versions count per (scope, process key)."""

    __tablename__ = "process_definition"
    __table_args__ = (Index("ix_process_definition_scope_key", "process_key", "ambito_code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundle.id"), index=True)
    ambito_code: Mapped[str | None] = mapped_column(ForeignKey("ambito.code"))
    process_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    spec_json: Mapped[str] = mapped_column(Text)
    calls_json: Mapped[str] = mapped_column(Text)
    start_messages_json: Mapped[str] = mapped_column(Text)
    # Names of the fields its forms mark `"x-personal": true` (encrypted at rest in its cases).
    personal_fields_json: Mapped[str] = mapped_column(Text, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(TS)


class ProcessInstance(Base):
    """A case: one running (or finished) top-level workflow, pinned to its definitions."""

    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_process_instance_ambito_code_status", "ambito_code", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_code: Mapped[str] = mapped_column(String(64), unique=True)
    ambito_code: Mapped[str] = mapped_column(ForeignKey("ambito.code"))
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    manifest_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    lock_owner: Mapped[str | None] = mapped_column(String(64))
    lock_expires_at: Mapped[datetime | None] = mapped_column(TS)
    workflow_json: Mapped[str] = mapped_column(Text)
    # The case's data so far (every step's data changes applied in order): what case
    # files, search and reports read, kept up to date in O(data) per step.
    case_data_json: Mapped[str] = mapped_column(Text, server_default="{}")
    started_at: Mapped[datetime] = mapped_column(TS)
    started_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(TS)
    completed_at: Mapped[datetime | None] = mapped_column(TS)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_task_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    live_task_count: Mapped[int] = mapped_column(Integer)
    archived_task_count: Mapped[int] = mapped_column(Integer)
    last_event_seq: Mapped[int] = mapped_column(Integer)
    last_event_hash: Mapped[str] = mapped_column(String(64))
    # The person's data key, wrapped by the master key (engine/privacy); NULL once erased.
    data_key: Mapped[str | None] = mapped_column(Text)
    identity_erased_at: Mapped[datetime | None] = mapped_column(TS)

    # Every ORM update checks and bumps `revision`: a concurrent change makes the
    # flush fail (StaleDataError) instead of silently overwriting the other writer.
    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012 - SQLAlchemy reads a plain dict


class SubprocessState(Base):
    """Attributes of a live subprocess (call activity / embedded subprocess) of an instance."""

    __tablename__ = "subprocess_state"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    subprocess_id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    spec_name: Mapped[str] = mapped_column(String(200))
    attrs_json: Mapped[str] = mapped_column(Text)


class TaskState(Base):
    """One task of an instance's live task tree (finished history is pruned to TaskArchive)."""

    __tablename__ = "task_state"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(UUID_LEN))
    spec_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[int] = mapped_column(Integer)
    row_json: Mapped[str] = mapped_column(Text)
    data_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class TaskData(Base):
    """Task data, content-addressed within an instance (identical data is stored once)."""

    __tablename__ = "task_data"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    data_json: Mapped[str] = mapped_column(Text)


class TaskArchive(Base):
    """A finished task removed from the live tree; its data changes are in the history."""

    __tablename__ = "task_archive"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(UUID_LEN))
    spec_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    last_state_change: Mapped[float] = mapped_column(Float)
    archived_at: Mapped[datetime] = mapped_column(TS)


class HumanTask(Base):
    """Inbox projection: one row per human task waiting for a person."""

    __tablename__ = "human_task"
    __table_args__ = (Index("ix_human_task_ambito_code_lane", "ambito_code", "lane"),)

    task_id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    case_code: Mapped[str] = mapped_column(String(64), index=True)
    ambito_code: Mapped[str] = mapped_column(ForeignKey("ambito.code"))
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    task_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(64))
    form: Mapped[str | None] = mapped_column(String(300))
    ui_form: Mapped[str | None] = mapped_column(String(300))
    instructions: Mapped[str | None] = mapped_column(Text)
    documentation: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(TS)
    due_at: Mapped[datetime | None] = mapped_column(TS, index=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class Timer(Base):
    """Due-time table: one row per waiting timer event, fed after every save."""

    __tablename__ = "timer"
    __table_args__ = (UniqueConstraint("instance_id", "task_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(UUID_LEN))
    task_name: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(TS, index=True)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(TS)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class MessageSubscription(Base):
    """A message catch event waiting in an instance, keyed by message name and correlation key."""

    __tablename__ = "message_subscription"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id", "message_name"),
        Index("ix_message_subscription_name_key", "message_name", "correlation_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(UUID_LEN))
    message_name: Mapped[str] = mapped_column(String(200))
    correlation_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(TS)


class Message(Base):
    """A message to deliver: kept with a visible status until it is delivered."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_status_created_at", "status", "created_at"),
        Index("ix_message_name_key", "name", "correlation_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    correlation_key: Mapped[str | None] = mapped_column(String(300))
    ambito_code: Mapped[str | None] = mapped_column(ForeignKey("ambito.code"))
    payload_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(100))
    # The case that threw it (its payload is sealed with that case's data key).
    origin_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    delivered_at: Mapped[datetime | None] = mapped_column(TS)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class HistoryEvent(Base):
    """Append-only, hash-chained log of every state change of an instance."""

    __tablename__ = "history_event"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    seq: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[str | None] = mapped_column(String(UUID_LEN), index=True)
    task_name: Mapped[str | None] = mapped_column(String(200))
    task_title: Mapped[str | None] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(64))
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    data_diff_json: Mapped[str | None] = mapped_column(Text)
    detail_json: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AppUser(Base):
    """A person who logs in: operator, coordinator, auditor or administrator."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean)
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(TS)
    last_login_at: Mapped[datetime | None] = mapped_column(TS)
    # Second factor (TOTP): the secret encrypted with a key derived from INLAV_SECRET_KEY;
    # enabled once a code has confirmed it; the last accepted time step makes codes single-use.
    totp_secret: Mapped[str | None] = mapped_column(String(300))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(TS)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Set when an administrator resets the password: the next login must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(Boolean, server_default=false())


class UserRole(Base):
    """A role a user holds in one Ambito (or regionally, when ambito_code is null)."""

    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role", "ambito_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    ambito_code: Mapped[str | None] = mapped_column(ForeignKey("ambito.code"))


class Partner(Base):
    """A member of the territorial network a PUA refers people to (CPI, SAI, services...)."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    ambito_code: Mapped[str | None] = mapped_column(ForeignKey("ambito.code"), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    contact_person: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(TS)


# --------------------------------------------------------------------------- web: drafts, case index, sessions, tokens


class TaskDraft(Base):
    """Form data a person saved on an open task without completing it (one per task and person)."""

    __tablename__ = "task_draft"

    task_id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    data_json: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(TS)


class CaseIndex(Base):
    """Search projection of a case: code, alias (sealed), stage; the alias is found through CaseSearchToken."""

    __tablename__ = "case_index"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    case_code: Mapped[str] = mapped_column(String(64), index=True)
    ambito_code: Mapped[str] = mapped_column(ForeignKey("ambito.code"), index=True)
    alias_sealed: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(TS)


class CaseSearchToken(Base):
    """Blind index of a case's alias: keyed hashes of its normalised words and their prefixes."""

    __tablename__ = "case_search_token"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Consent(Base):
    """A consent a person gave (scope, channel, when), until withdrawn."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    given_at: Mapped[datetime] = mapped_column(TS)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(TS)
    withdrawn_at: Mapped[datetime | None] = mapped_column(TS)
    withdrawn_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class WebSession(Base):
    """A logged-in browser: the cookie holds a random token, only its keyed hash is stored."""

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    last_seen_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS, index=True)
    # Names the session on the owner's "Sessioni" page (the token hash never leaves the server).
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class LoginChallenge(Base):
    """Password accepted, second factor still due: only the code step accepts its cookie."""

    __tablename__ = "login_challenge"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    next_url: Mapped[str] = mapped_column(String(500))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS, index=True)
    attempts: Mapped[int] = mapped_column(Integer)


class LoginThrottle(Base):
    """Failed logins counted per (name, address), per address and per name (keyed hashes)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_failure_at: Mapped[datetime] = mapped_column(TS)
    last_failure_at: Mapped[datetime] = mapped_column(TS, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(TS)


class RecoveryCode(Base):
    """A one-time code that stands in for the second factor (only its keyed hash is stored)."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    used_at: Mapped[datetime | None] = mapped_column(TS)


class ApiToken(Base):
    """A bearer token for integrations, acting as the user who created it."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime | None] = mapped_column(TS)
    last_used_at: Mapped[datetime | None] = mapped_column(TS)
    revoked_at: Mapped[datetime | None] = mapped_column(TS)


# --------------------------------------------------------------------------- administration: settings, operation log


class AppSetting(Base):
    """A global setting changed from the administration pages (value as JSON)."""

    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(TS)
    updated_by: Mapped[str] = mapped_column(String(100))


class AnnualTarget(Base):
    """A PUA's targets for one year: people intercepted and taken in charge, each a range."""

    __tablename__ = "annual_target"

    ambito_code: Mapped[str] = mapped_column(ForeignKey("ambito.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    intercepted_min: Mapped[int] = mapped_column(Integer)
    intercepted_max: Mapped[int] = mapped_column(Integer)
    taken_min: Mapped[int] = mapped_column(Integer)
    taken_max: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(TS)
    updated_by: Mapped[str] = mapped_column(String(100))


class OperationLog(Base):
    """Append-only, hash-chained log of administrative acts (who, when, what, before → after)."""

    __tablename__ = "operation_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # One chain for the whole log: a unique sequence number means two concurrent writers
    # cannot both extend the same head (one of them fails and retries).
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(TS, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text)
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(100))
    ambito_code: Mapped[str | None] = mapped_column(String(32), index=True)
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_operation_log_target_kind_target_id", "target_kind", "target_id"),)


class ReadLog(Base):
    """Append-only record of every view of a case's personal data: who, when, which case, what, how.

    No foreign key to the case: the record of who read a case must outlive the case itself
    (retention may purge it). Names and aliases never enter it, only codes and usernames.
    """

    __tablename__ = "read_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(TS, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    case_code: Mapped[str] = mapped_column(String(64), index=True)
    ambito_code: Mapped[str] = mapped_column(String(32), index=True)
    what: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str | None] = mapped_column(String(200))


# --------------------------------------------------------------------------- studio: drafts


class ProcessDraft(Base):
    """A process being edited in the studio for one Ambito or the region (`scope`), not yet published.

    One per (scope, process key). Its files start as the bundle of the version it was opened from
    and are what publishing will deploy with `deploy_bundle` for `ambito_code`.
    """

    __tablename__ = "process_draft"
    __table_args__ = (UniqueConstraint("scope", "process_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The Ambito code, or "regione" for the regional base (a column that is never NULL, so the
    # uniqueness above holds for the region too); ambito_code is NULL for the region.
    scope: Mapped[str] = mapped_column(String(32))
    ambito_code: Mapped[str | None] = mapped_column(ForeignKey("ambito.code"))
    process_key: Mapped[str] = mapped_column(String(200))
    main_file: Mapped[str] = mapped_column(String(300))
    base_definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
    # Grows by one at every save: a save made on an older revision is refused (never overwrite unseen work).
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TS)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(TS)
    updated_by: Mapped[str] = mapped_column(String(100))


class ProcessDraftFile(Base):
    """One file (BPMN, DMN or JSON form) of a draft, by name."""

    __tablename__ = "process_draft_file"

    draft_id: Mapped[int] = mapped_column(ForeignKey("process_draft.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    # The draft revision that last wrote this file (0: as copied from the version the draft opened
    # from). An editor holding revision r may save a file no one wrote after r, whatever was saved
    # to the draft's other files since (the diagram and a form are edited in different pages).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# --------------------------------------------------------------------------- studio: moving cases


class MigrationJob(Base):
    """Moving the running cases of one process in one scope onto the version a new case gets.

    `scope` is an Ambito code or "regione" (ambito_code NULL: the Ambiti that follow the
    regional base). Its cases are `MigrationJobCase` rows; progress is counted from them.
    """

    __tablename__ = "migration_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    ambito_code: Mapped[str | None] = mapped_column(ForeignKey("ambito.code"))
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    target_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    target_version: Mapped[int] = mapped_column(Integer)
    # "running" while some case waits to be moved (or moved back), then "finished".
    state: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TS)
    created_by: Mapped[str] = mapped_column(String(100))
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    undo_requested_by: Mapped[str | None] = mapped_column(String(100))


class MigrationJobCase(Base):
    """One case of a migration job: where it was, where it goes, and what happened."""

    __tablename__ = "migration_job_case"
    __table_args__ = (
        UniqueConstraint("job_id", "instance_id"),
        Index("ix_migration_job_case_job_id_status", "job_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("migration_job.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    case_code: Mapped[str] = mapped_column(String(64))
    from_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    from_version: Mapped[int] = mapped_column(Integer)
    to_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    to_version: Mapped[int] = mapped_column(Integer)
    # The manifests (process key → [definition id, content hash]) before and after the move.
    from_manifest_json: Mapped[str] = mapped_column(Text)
    to_manifest_json: Mapped[str] = mapped_column(Text)
    # pending → moved | refused; moved → undo_pending → undone | moved (with why not).
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(TS)
    updated_by: Mapped[str | None] = mapped_column(String(100))


# --------------------------------------------------------------------------- audit: retention of closed cases


class RetentionPolicy(Base):
    """How long the closed cases of a process are kept, and what happens to them after (one version of it).

    `scope` is an Ambito code (that Ambito's cases) or "regione" (every Ambito without a policy of
    its own for the process). Changing a policy closes its current row (`superseded_at`) and adds
    the next version, so the history of every change stays; removing it only closes the row.
    """

    __tablename__ = "retention_policy"
    __table_args__ = (
        UniqueConstraint("process_key", "scope", "version"),
        Index("ix_retention_policy_current", "superseded_at", "process_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(32))
    ambito_code: Mapped[str | None] = mapped_column(ForeignKey("ambito.code"))
    version: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    # "purge" (the case and everything that names it go) or "anonymise" (identity crypto-shredded).
    action: Mapped[str] = mapped_column(String(16))
    # Applied by the worker once a day, without anyone confirming a dry run.
    automatic: Mapped[bool] = mapped_column(Boolean, server_default=false())
    note: Mapped[str | None] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(TS)
    set_by: Mapped[str] = mapped_column(String(100))
    superseded_at: Mapped[datetime | None] = mapped_column(TS)
    superseded_by: Mapped[str | None] = mapped_column(String(100))


class RetentionRun(Base):
    """One pass of retention: a dry run or an application, by a person or the worker, with its counts."""

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "dry_run" or "applied"; "web", "cli" or "worker".
    mode: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(TS, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    # The digest of the selection the person confirmed (an application from a dry run).
    plan_digest: Mapped[str | None] = mapped_column(String(64))
    due: Mapped[int] = mapped_column(Integer, default=0)
    anonymised: Mapped[int] = mapped_column(Integer, default=0)
    purged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    # Counts per policy and the reasons of skipped cases (codes and reasons only, no personal data).
    detail_json: Mapped[str | None] = mapped_column(Text)


class CaseRetention(Base):
    """A case retention acted on: what was done, by which run, and the head of its history chain then.

    No foreign key to the case: the record outlives a purged case, and tamper verification reads
    it to tell a legitimate purge (listed here, with the head it had) from a deletion.
    """

    __tablename__ = "case_retention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    case_code: Mapped[str] = mapped_column(String(64), index=True)
    ambito_code: Mapped[str] = mapped_column(String(32), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int] = mapped_column(ForeignKey("retention_run.id"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("retention_policy.id"))
    started_at: Mapped[datetime] = mapped_column(TS)
    closed_at: Mapped[datetime] = mapped_column(TS)
    acted_at: Mapped[datetime] = mapped_column(TS)
    last_event_seq: Mapped[int] = mapped_column(Integer)
    last_event_hash: Mapped[str] = mapped_column(String(64))
    # How many rows left with the case (purge): history events and everything else.
    events_removed: Mapped[int] = mapped_column(Integer, default=0)
    rows_removed: Mapped[int] = mapped_column(Integer, default=0)


class HistoryPurgePermit(Base):
    """The one controlled exception to the append-only history: leave to delete one case's events.

    Inserted in the purging transaction; the delete trigger of history_event lets a row go only
    while an open permit (not consumed) names its case — on PostgreSQL also only in the
    transaction that wrote the permit (`txid`). The purge then marks it consumed; permits are
    never deleted and stay as the record of every history that was removed.
    """

    __tablename__ = "history_purge_permit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("retention_run.id"))
    txid: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(TS)
    granted_by: Mapped[str] = mapped_column(String(100))
    consumed_at: Mapped[datetime | None] = mapped_column(TS)
