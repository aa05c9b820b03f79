"""Applying retention: anonymise or purge the cases a dry run selected, in batches, and record it all.

A run is created with the selection (as of the dry run's time, confirmed by its token when a
person applies it), then its cases are acted on in batches, each case in a savepoint of its
own (a case that cannot be treated is skipped with its reason, the others go on), then the
run is closed and written in the operation log with its counts.

Anonymising reuses the crypto-shredding of an erasure (`engine.privacy.shred_identity`) and
drops the identity fields from the case's data projection; nothing of the history changes
but one event appended. Purging deletes every row of `PURGED_WITH_CASE` that names the case;
history events go under a `history_purge_permit` of the same transaction (the only way past
the append-only trigger); `KEPT_ON_PURGE` stay. The record of each case (`case_retention`)
keeps the head of its chain at that moment.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from engine import codec
from engine.access.matrix import Action, ambiti_for, require
from engine.access.roles import SYSTEM, Actor
from engine.audit.oplog import record
from engine.audit.retention import PURGE
from engine.audit.retention_plan import (
    DueCase,
    RetentionPlan,
    RunView,
    build_plan,
    check_confirmation,
    skip_reasons,
)
from engine.clock import as_utc, utcnow
from engine.config import Settings
from engine.db import is_postgres, transaction
from engine.errors import Conflict, EngineError
from engine.instances import COMPLETED
from engine.models import (
    Base,
    CaseRetention,
    Consent,
    HistoryPurgePermit,
    ProcessInstance,
    RetentionPolicy,
    RetentionRun,
)
from engine.privacy import fields_of_case, shred_identity

log = logging.getLogger("inlav.retention")

PURGED_WITH_CASE: dict[str, tuple[str, ...]] = {
    "message": ("origin_instance_id", "instance_id"),
    "migration_job_case": ("instance_id",),
    "consent": ("instance_id",),
    "task_draft": ("instance_id",),
    "case_search_token": ("instance_id",),
    "case_index": ("instance_id",),
    "human_task": ("instance_id",),
    "timer": ("instance_id",),
    "message_subscription": ("instance_id",),
    "subprocess_state": ("instance_id",),
    "task_state": ("instance_id",),
    "task_data": ("instance_id",),
    "task_archive": ("instance_id",),
    "history_event": ("instance_id",),
    "process_instance": ("id",),
}
"""Tables whose rows naming a case go with it when it is purged (in this order), and the columns that name it."""

KEPT_ON_PURGE = frozenset({"read_log", "operation_log", "case_retention", "history_purge_permit"})
"""Tables that name cases and keep their rows when a case is purged: who read it, what was done, the purge itself."""

CONFIRM_MAX_AGE = timedelta(minutes=30)
"""How long a dry run can be confirmed: after that, look again."""
INSTANCE_COLUMN_NAMES = frozenset({"instance_id", "case_code"})


def instance_columns(table: Table) -> list[str]:
    """Columns of a table that name a case: a foreign key to it, or a column called like a case reference."""
    found = []
    for column in table.columns:
        refers = any(fk.column.table.name == "process_instance" for fk in column.foreign_keys)
        if refers or column.name in INSTANCE_COLUMN_NAMES or column.name.endswith("_instance_id"):
            found.append(column.name)
    return found


@dataclass
class Counts:
    """What a batch did."""

    anonymised: int = 0
    purged: int = 0
    skipped: int = 0


# --------------------------------------------------------------------------- one case


def _head(instance: ProcessInstance) -> tuple[int, str]:
    return instance.last_event_seq, instance.last_event_hash


def _record(
    session: Session,
    instance: ProcessInstance,
    case: DueCase,
    run_id: int,
    events: int = 0,
    rows: int = 0,
    head: tuple[int, str] | None = None,
) -> None:
    seq, digest = head or _head(instance)
    assert instance.completed_at is not None  # selected closed
    session.add(
        CaseRetention(
            instance_id=instance.id,
            case_code=instance.case_code,
            ambito_code=instance.ambito_code,
            process_key=instance.process_key,
            action=case.action,
            run_id=run_id,
            policy_id=case.policy_id,
            started_at=instance.started_at,
            closed_at=instance.completed_at,
            acted_at=utcnow(),
            last_event_seq=seq,
            last_event_hash=digest,
            events_removed=events,
            rows_removed=rows,
        )
    )


def _strip(value: Any, fields: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, fields) for k, v in value.items() if k not in fields}
    if isinstance(value, list):
        return [_strip(v, fields) for v in value]
    return value


def anonymise_case(session: Session, instance: ProcessInstance, case: DueCase, run_id: int, actor: str) -> None:
    """Crypto-shred the person's identity, drop identity fields and free notes; facts and history stay."""
    policy = session.get(RetentionPolicy, case.policy_id)
    fields = fields_of_case(session, instance)
    detail = {"run": run_id, "policy": case.policy_id, "days": policy.days if policy else None}
    shred_identity(session, instance, actor, "retention_anonymised", detail)
    try:
        data = json.loads(instance.case_data_json or "{}")
    except ValueError:
        data = {}
    instance.case_data_json = codec.dumps(_strip(data, fields))
    # A consent's note is free text an operator wrote about the person: scope, channel and dates stay.
    session.execute(
        update(Consent)
        .where(Consent.instance_id == instance.id, Consent.note.is_not(None))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    _record(session, instance, case, run_id)


def purge_case(session: Session, instance: ProcessInstance, case: DueCase, run_id: int, actor: str) -> None:
    """Delete the case and every row that names it (history under a permit); keep the logs and the record."""
    head = _head(instance)
    instance_id = instance.id
    txid = session.scalar(text("SELECT txid_current()")) if is_postgres(session) else None
    permit = HistoryPurgePermit(
        instance_id=instance_id, run_id=run_id, txid=txid, granted_at=utcnow(), granted_by=actor
    )
    session.add(permit)
    session.flush()
    session.expunge(instance)
    tables = Base.metadata.tables
    events = rows = 0
    for name, columns in PURGED_WITH_CASE.items():
        table = tables[name]
        result = session.execute(
            delete(table)
            .where(or_(*[table.c[column] == instance_id for column in columns]))
            .execution_options(synchronize_session=False)
        )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if name == "history_event":
            events = count
        else:
            rows += count
    permit.consumed_at = utcnow()
    _record(session, instance, case, run_id, events, rows, head)
    session.flush()


# --------------------------------------------------------------------------- runs


def _begin(
    session: Session, actor: Actor, trigger: str, plan: RetentionPlan, confirmed: str | None
) -> tuple[int, list[DueCase]]:
    run = RetentionRun(
        mode="applied",
        trigger=trigger,
        actor=actor.username,
        started_at=utcnow(),
        plan_digest=plan.token if confirmed else None,
        due=len(plan.cases),
        anonymised=0,
        purged=0,
        skipped=plan.skipped,
        detail_json=codec.dumps({"skips": plan.skips, "at": plan.at_text}),
    )
    session.add(run)
    session.flush()
    return run.id, plan.actionable


def _confirmed_plan(
    session: Session, actor: Actor, at_text: str | None, token: str | None, automatic_only: bool
) -> RetentionPlan:
    ambiti = ambiti_for(actor, Action.RETENTION_MANAGE)
    if token is None:
        return build_plan(session, ambiti, utcnow(), automatic_only)
    try:
        at = as_utc(datetime.fromisoformat((at_text or "").strip()))
    except ValueError as exc:
        raise Conflict("Conferma non valida: rifare la prova e confermare da lì.") from exc
    age = utcnow() - at
    if age > CONFIRM_MAX_AGE or age < -timedelta(minutes=1):
        raise Conflict("La prova è di più di 30 minuti fa: rifarla e confermare di nuovo.")
    plan = build_plan(session, ambiti, at, automatic_only)
    check_confirmation(plan, token)
    return plan


def apply_batch(session: Session, run_id: int, cases: Iterable[DueCase], actor: str) -> Counts:
    """Act on some cases of a run, each in a savepoint; skip those that changed since the selection."""
    counts = Counts()
    problems: dict[str, str] = {}
    items = list(cases)
    reasons = skip_reasons(session, items, utcnow())
    for case in items:
        instance = session.get(ProcessInstance, case.instance_id, populate_existing=True)
        reason = reasons.get(case.instance_id)
        if instance is None or instance.status != COMPLETED:
            reason = "Il caso non è più chiuso o non esiste più."
        if reason is not None or instance is None:
            counts.skipped += 1
            problems[case.case_code] = reason or "Il caso non esiste più."
            continue
        try:
            with session.begin_nested():
                if case.action == PURGE:
                    purge_case(session, instance, case, run_id, actor)
                    counts.purged += 1
                else:
                    anonymise_case(session, instance, case, run_id, actor)
                    counts.anonymised += 1
                    session.expunge(instance)  # memory stays flat however many cases a run treats
        except (EngineError, ValueError) as exc:
            log.warning("conservazione: caso %s non trattato: %s", case.case_code, exc)
            counts.skipped += 1
            problems[case.case_code] = str(exc)[:300]
    run = session.get(RetentionRun, run_id)
    assert run is not None
    run.anonymised += counts.anonymised
    run.purged += counts.purged
    run.skipped += counts.skipped
    if problems:
        detail = codec.from_jsonable_text(run.detail_json) if run.detail_json else {}
        failed = detail.setdefault("failed", {})
        failed.update(list(problems.items())[: max(0, 100 - len(failed))])
        run.detail_json = codec.dumps(detail)
    session.flush()
    return counts


def _finish(session: Session, actor: Actor, run_id: int) -> RunView:
    run = session.get(RetentionRun, run_id)
    assert run is not None
    run.finished_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "retention.applied",
        f"Conservazione applicata: {run.anonymised} casi anonimizzati, {run.purged} cancellati, "
        f"{run.skipped} rimandati",
        "retention",
        f"esecuzione-{run.id}",
        None,
        after={
            "esecuzione": run.id,
            "modo": run.trigger,
            "scaduti": run.due,
            "anonimizzati": run.anonymised,
            "cancellati": run.purged,
            "rimandati": run.skipped,
        },
    )
    return RunView.of(run)


def apply_retention(
    session: Session,
    actor: Actor,
    trigger: str,
    at_text: str | None = None,
    token: str | None = None,
    automatic_only: bool = False,
    batch: int = 100,
) -> RunView:
    """Apply retention in the caller's transaction: the dry run's selection (confirmed by its token), in batches.

    Without a token (the worker) the selection is made now. Each case treated is flushed and
    released from the session, so memory stays flat however many cases are due.
    """
    require(actor, Action.RETENTION_MANAGE)
    plan = _confirmed_plan(session, actor, at_text, token, automatic_only)
    run_id, cases = _begin(session, actor, trigger, plan, token)
    for start in range(0, len(cases), batch):
        apply_batch(session, run_id, cases[start : start + batch], actor.username)
    return _finish(session, actor, run_id)


def run_retention(
    factory: sessionmaker[Session],
    actor: Actor,
    trigger: str,
    at_text: str | None = None,
    token: str | None = None,
    automatic_only: bool = False,
    batch: int = 100,
) -> RunView:
    """As `apply_retention`, each batch in a transaction of its own (command line, worker, web)."""
    with transaction(factory) as session:
        require(actor, Action.RETENTION_MANAGE)
        plan = _confirmed_plan(session, actor, at_text, token, automatic_only)
        run_id, cases = _begin(session, actor, trigger, plan, token)
    for start in range(0, len(cases), batch):
        with transaction(factory) as session:
            apply_batch(session, run_id, cases[start : start + batch], actor.username)
    with transaction(factory) as session:
        return _finish(session, actor, run_id)


def record_dry_run(session: Session, actor: Actor, plan: RetentionPlan, trigger: str) -> RunView:
    """Keep a dry run on record (the command line's), with its counts; nothing else changes."""
    now = utcnow()
    run = RetentionRun(
        mode="dry_run",
        trigger=trigger,
        actor=actor.username,
        started_at=now,
        finished_at=now,
        plan_digest=plan.token,
        due=len(plan.cases),
        anonymised=plan.to_anonymise,
        purged=plan.to_purge,
        skipped=plan.skipped,
        detail_json=codec.dumps({"skips": plan.skips, "at": plan.at_text}),
    )
    session.add(run)
    session.flush()
    return RunView.of(run)


# --------------------------------------------------------------------------- the worker


WORKER_LOCK = 7_310_017
"""PostgreSQL advisory lock key: one worker at a time decides whether today's run is due."""


def retention_work(factory: sessionmaker[Session], settings: Settings) -> int:
    """The worker's part: apply the automatic policies at most once per interval; returns cases acted on."""
    with transaction(factory) as session:
        if is_postgres(session) and not session.scalar(text(f"SELECT pg_try_advisory_xact_lock({WORKER_LOCK})")):
            return 0
        if not session.scalar(
            select(RetentionPolicy.id)
            .where(RetentionPolicy.superseded_at.is_(None), RetentionPolicy.automatic.is_(True))
            .limit(1)
        ):
            return 0
        last = session.scalar(
            select(RetentionRun.started_at)
            .where(RetentionRun.trigger == "worker", RetentionRun.mode == "applied")
            .order_by(RetentionRun.id.desc())
            .limit(1)
        )
        if last is not None and utcnow() - as_utc(last) < timedelta(hours=settings.retention_interval_hours):
            return 0
        plan = build_plan(session, None, utcnow(), automatic_only=True)
        run_id, cases = _begin(session, SYSTEM, "worker", plan, None)
    done = 0
    batch = settings.retention_batch_size
    for start in range(0, len(cases), batch):
        with transaction(factory) as session:
            counts = apply_batch(session, run_id, cases[start : start + batch], SYSTEM.username)
            done += counts.anonymised + counts.purged
    with transaction(factory) as session:
        _finish(session, SYSTEM, run_id)
    return done
