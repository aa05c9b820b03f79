"""Cases: start, and the unit of work every later step runs in.

A step takes the case's lease, loads its live rows, lets the workflow move, then
saves only what changed, refreshes the projections (inbox, timers, subscriptions),
appends history and queues outbound messages. If the diagram fails (a script error,
a runaway loop) nothing of the workflow is saved: the case stays as it was, the
failure is recorded as an incident in its history, and the step can be retried once
the diagram is fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import codec, definitions, history, leases, limits, projections, store
from engine.access.roles import SYSTEM, Actor
from engine.clock import utcnow
from engine.config import Settings
from engine.datadiff import apply_diff, data_diff
from engine.errors import Conflict, EngineStateError, NotFound, NotStartable, ScriptError
from engine.history import NewEvent
from engine.models import Ambito, Message, ProcessDefinition, ProcessInstance
from engine.privacy import CaseCipher, cipher_for, index_key
from engine.spiff import Case, Snapshot, SpecSet, StepReport, build_specset, has_plain_start

RUNNING, COMPLETED, ERROR = "running", "completed", "error"
QUIET_KINDS = {"gateway", "start_event", "step"}


@dataclass
class Outcome:
    """What a step did to a case; `error` is set when the diagram failed and nothing moved."""

    instance: ProcessInstance
    error: ScriptError | None = None
    events: list[NewEvent] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.instance.status == COMPLETED


# --------------------------------------------------------------------------- lookup


def get_instance(session: Session, case_code: str) -> ProcessInstance:
    """The case with this code."""
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == case_code))
    if instance is None:
        raise NotFound(f"Caso «{case_code}» non trovato.")
    return instance


def specset_for(session: Session, instance: ProcessInstance) -> SpecSet:
    """The specs an instance is pinned to."""
    manifest = {key: (value[0], value[1]) for key, value in json.loads(instance.manifest_json).items()}
    return specset_for_manifest(session, instance.process_key, manifest)


# --------------------------------------------------------------------------- start


def start_instance(
    session: Session,
    settings: Settings,
    process_key: str,
    ambito: str,
    actor: Actor,
    case_code: str | None = None,
    data: dict[str, Any] | None = None,
) -> Outcome:
    """Start a case of the latest `process_key` for `ambito` (regional version as fallback).

    A diagram error while starting raises ScriptError: there is no case to keep.
    """
    if session.get(Ambito, ambito) is None:
        raise NotFound(f"Ambito sconosciuto: {ambito}")
    if data:
        limits.check_incoming(data, limits.DataLimits.of(settings), "dati iniziali")
    main = definitions.resolve(session, process_key, ambito)
    require_plain_start(main, ambito)
    manifest = definitions.manifest_for(session, main, ambito)
    return _start(session, settings, main, manifest, ambito, actor, case_code, data, None)


def require_plain_start(main: ProcessDefinition, ambito: str) -> None:
    """Refuse to start by hand a process that has no none start event: the case would wait
    at its message (or timer) start for something nobody sends it, forever."""
    if has_plain_start(main.content_hash, main.spec_json):
        return
    names = [str(n) for n in json.loads(main.start_messages_json or "[]")]
    if len(names) == 1:
        raise NotStartable(
            f"Il processo «{main.process_key}» si avvia solo con il messaggio «{names[0]}»: usare "
            f"`inlav messages send {names[0]} --ambito {ambito}` (o l'API dei messaggi) invece di avviarlo a mano."
        )
    if names:
        listed = ", ".join(f"«{n}»" for n in names)
        raise NotStartable(
            f"Il processo «{main.process_key}» si avvia solo con uno dei messaggi {listed}: inviare il messaggio "
            f"con `inlav messages send NOME --ambito {ambito}` (o l'API dei messaggi) invece di avviarlo a mano."
        )
    raise NotStartable(
        f"Il processo «{main.process_key}» non ha un evento di inizio semplice (senza tipo), quindi non si può "
        "avviare a mano: aggiungerne uno al diagramma e pubblicare una nuova versione."
    )


def start_by_message(
    session: Session, settings: Settings, definition: ProcessDefinition, ambito: str, name: str, payload: Any
) -> Outcome:
    """Start a case whose start event catches message `name`, handing it the payload."""
    manifest = definitions.manifest_for(session, definition, ambito)
    return _start(session, settings, definition, manifest, ambito, SYSTEM, None, None, (name, payload))


def _start(
    session: Session,
    settings: Settings,
    main: ProcessDefinition,
    manifest: dict[str, ProcessDefinition],
    ambito: str,
    actor: Actor,
    case_code: str | None,
    data: dict[str, Any] | None,
    message: tuple[str, Any] | None,
) -> Outcome:
    if case_code is not None:
        _check_case_code(case_code)
        if session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_code == case_code)) is not None:
            # Codes are unique across the region: the same answer whoever holds the code,
            # so it does not tell which Ambito has such a case.
            raise Conflict("Codice del caso non disponibile: sceglierne un altro o lasciarlo generare.")
    now = utcnow()
    code = case_code or _next_case_code(session, ambito, now)
    instance = ProcessInstance(
        case_code=code,
        ambito_code=ambito,
        process_key=main.process_key,
        definition_id=main.id,
        manifest_json=codec.dumps(manifest_ids(manifest)),
        status=RUNNING,
        revision=0,
        lock_owner=None,
        lock_expires_at=None,
        workflow_json="{}",
        case_data_json="{}",
        started_at=now,
        started_by=actor.username,
        updated_at=now,
        completed_at=None,
        error_message=None,
        error_task_id=None,
        live_task_count=0,
        archived_task_count=0,
        last_event_seq=0,
        last_event_hash=history.GENESIS,
    )
    specset = specset_for_manifest(session, main.process_key, manifest_ids(manifest))
    # Every case knows its own code and Ambito (diagrams use them for references and
    # routing); they are reserved names that start data cannot override.
    data = {**(data or {}), "codice_caso": code, "ambito_caso": ambito}
    case = Case.new(specset, code, data)
    case.max_engine_tasks = settings.max_engine_tasks_per_step
    case.max_step_seconds = settings.max_step_seconds
    cipher = cipher_for(session, settings, instance, create=True)
    try:
        report = case.start(actor.username) if message is None else case.start_with_message(*message)
    except EngineStateError as exc:
        raise ScriptError(str(exc), kind="engine") from exc
    try:
        with session.begin_nested():
            session.add(instance)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"Esiste già un caso con codice «{code}»: riprovare.") from exc
    start_event = NewEvent(
        kind="instance_started",
        actor=actor.username,
        definition_id=main.id,
        detail={
            "process": main.process_key,
            "version": main.version,
            "ambito": ambito,
            "manifest": {k: d.version for k, d in manifest.items()},
            **({"message": message[0]} if message else {}),
        },
        data_diff=data_diff({}, codec.to_jsonable(data or {})) if data else None,
    )
    events = _persist(session, instance, case, report, store.Stored(), actor, [start_event], settings, cipher)
    return Outcome(instance, None, events)


def manifest_ids(manifest: dict[str, ProcessDefinition]) -> dict[str, tuple[int, str]]:
    """Process key → (definition id, content hash): what an instance is pinned to."""
    return {key: (d.id, d.content_hash) for key, d in manifest.items()}


def specset_for_manifest(session: Session, main_key: str, manifest: dict[str, tuple[int, str]]) -> SpecSet:
    """Specs for a manifest of (definition id, content hash)."""

    def load(ids: set[int]) -> dict[int, str]:
        rows = session.execute(
            select(ProcessDefinition.id, ProcessDefinition.spec_json).where(ProcessDefinition.id.in_(ids))
        )
        return {row.id: row.spec_json for row in rows}

    return build_specset(main_key, manifest, load)


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


def _check_case_code(code: str) -> None:
    if not _CODE_RE.match(code):
        raise Conflict("Codice caso non valido: usare lettere, cifre, '-', '_', '.', '/' (massimo 64 caratteri).")


def _next_case_code(session: Session, ambito: str, now: datetime) -> str:
    prefix = f"{ambito}-{now.year}-"
    count = (
        session.scalar(
            select(func.count()).select_from(ProcessInstance).where(ProcessInstance.case_code.like(f"{prefix}%"))
        )
        or 0
    )
    candidate = count + 1
    while session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_code == f"{prefix}{candidate:05d}")):
        candidate += 1
    return f"{prefix}{candidate:05d}"


# --------------------------------------------------------------------------- steps


def run_step(
    session: Session,
    settings: Settings,
    instance_id: int,
    actor: Actor,
    action: Callable[[Case], StepReport],
    extra_events: Callable[[Case], list[NewEvent]] | None = None,
) -> Outcome:
    """Lease, load, act, save: the unit of work of every step on an existing case."""
    owner = leases.new_owner()
    leases.acquire(session, instance_id, owner, settings.lease_seconds, settings.lock_wait_seconds)
    instance = session.get(ProcessInstance, instance_id, populate_existing=True)
    if instance is None:
        raise NotFound(f"Caso {instance_id} non trovato.")
    try:
        cipher = cipher_for(session, settings, instance, create=True)
        snapshot, stored = store.load(session, instance, cipher)
        case = Case.restore(specset_for(session, instance), snapshot, instance.case_code)
        case.max_engine_tasks = settings.max_engine_tasks_per_step
        case.max_step_seconds = settings.max_step_seconds
        try:
            report = action(case)
        except EngineStateError as exc:
            raise ScriptError(f"Il caso non può proseguire: {exc}", kind="engine") from exc
        leading = extra_events(case) if extra_events else []
        with session.begin_nested(), session.no_autoflush:
            events = _persist(session, instance, case, report, stored, actor, leading, settings, cipher)
            # Released in the same UPDATE that saves the case (one write of the instance row).
            instance.lock_owner = None
            instance.lock_expires_at = None
        return Outcome(instance, None, events)
    except (ScriptError, codec.UnstorableValue) as exc:
        error = exc if isinstance(exc, ScriptError) else ScriptError(f"Dati del caso non salvabili: {exc}", kind="data")
        _record_incident(session, instance, actor, error, cipher, index_key(settings))
        instance.lock_owner = None
        instance.lock_expires_at = None
        _flush(session)
        return Outcome(instance, error, [])
    except StaleDataError as exc:
        raise Conflict("Il caso è stato modificato da un'altra operazione: ricaricare e riprovare.") from exc
    except BaseException:
        leases.release(session, instance_id, owner)
        raise


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict("Il caso è stato modificato da un'altra operazione: ricaricare e riprovare.") from exc


def _record_incident(
    session: Session, instance: ProcessInstance, actor: Actor, error: ScriptError, cipher: CaseCipher, idx: bytes
) -> None:
    instance.status = ERROR
    instance.error_message = error.message
    instance.error_task_id = error.details.get("task_id")  # type: ignore[assignment]
    instance.updated_at = utcnow()
    history.append(
        session,
        instance,
        [
            NewEvent(
                kind="incident",
                actor=actor.username,
                definition_id=instance.definition_id,
                task_name=error.details.get("element"),  # type: ignore[arg-type]
                detail={"message": error.message, **{k: v for k, v in error.details.items() if isinstance(v, str)}},
            )
        ],
    )
    data = codec.from_jsonable_text(instance.case_data_json or "{}")
    projections.sync_case_index(session, instance, data, cipher, idx)


def _persist(
    session: Session,
    instance: ProcessInstance,
    case: Case,
    report: StepReport,
    stored: store.Stored,
    actor: Actor,
    leading: list[NewEvent],
    settings: Settings,
    cipher: CaseCipher,
) -> list[NewEvent]:
    """Save the case, refresh projections, append history, queue outbound messages.

    Identity fields are sealed in everything written (rows, history diffs, case data,
    message payloads); the events returned keep the plain diffs.
    """
    snapshot = case.snapshot()
    bounds = limits.DataLimits.of(settings)
    _check_limits(case, snapshot, report, leading, bounds)
    store.save(session, instance, snapshot, stored, report.archived, cipher)
    open_titles: list[str] = []
    removed = projections.sync_human_tasks(session, instance, case, open_titles)
    projections.sync_timers(session, instance, case)
    projections.sync_subscriptions(session, instance, case)

    events = list(leading)
    completed_ids = set()
    for step in report.events:
        diff = step.diff
        if step.kind == "task_completed":
            completed_ids.add(step.task_id)
        if step.kind in QUIET_KINDS and diff is None:
            continue
        events.append(
            NewEvent(
                kind=step.kind,
                actor=actor.username if step.kind == "task_completed" else "sistema",
                definition_id=step.definition_id,
                task_id=step.task_id,
                task_name=step.element,
                task_title=step.title,
                lane=step.lane,
                data_diff=diff,
            )
        )
    for gone in removed:
        if gone.task_id not in completed_ids:
            events.append(
                NewEvent(
                    kind="task_cancelled",
                    actor="sistema",
                    definition_id=gone.definition_id,
                    task_id=gone.task_id,
                    task_name=gone.task_name,
                    task_title=gone.title,
                    lane=gone.lane,
                )
            )
    now = utcnow()
    for message in report.outbound:
        session.add(
            Message(
                name=message.name,
                correlation_key=message.correlation_key,
                ambito_code=instance.ambito_code,
                payload_json=cipher.seal_text(codec.to_jsonable(message.payload), codec.dumps),
                status="pending",
                source=f"caso {instance.case_code}",
                origin_instance_id=instance.id,
                created_at=now,
                updated_at=now,
                delivered_at=None,
                instance_id=None,
                attempts=0,
                error=None,
            )
        )
        events.append(
            NewEvent(
                kind="message_sent",
                actor="sistema",
                definition_id=instance.definition_id,
                detail={"message": message.name, "correlation_key": message.correlation_key},
            )
        )
    if case.completed:
        instance.status = COMPLETED
        instance.completed_at = now
        events.append(
            NewEvent(kind="instance_completed", actor="sistema", definition_id=instance.definition_id, data_diff=None)
        )
    else:
        instance.status = RUNNING
    instance.error_message = None
    instance.error_task_id = None
    # The chain is computed over what is stored: the sealed diffs.
    sealed = [replace(e, data_diff=cipher.seal_diff(e.data_diff)) if e.data_diff else e for e in events]
    history.append(session, instance, sealed)
    try:
        _update_case_data(session, instance, sealed, open_titles, cipher, index_key(settings), bounds)
    except limits.LimitExceeded as exc:
        raise _limit_error(case, report, exc.breach) from None
    return events


def _check_limits(
    case: Case, snapshot: Snapshot, report: StepReport, leading: list[NewEvent], bounds: limits.DataLimits
) -> None:
    """Refuse, before anything is written, a step whose data breaks the case data limits."""
    per_task: list[tuple[str | None, Any]] = [(None, snapshot.workflow.get("data") or {})]
    per_task += [(None, attrs.get("data") or {}) for _name, attrs in snapshot.subprocesses.values()]
    for row in snapshot.tasks:
        per_task.append((row.task_id, row.data))
        per_task.append((row.task_id, row.row.get("internal_data") or {}))
    diffs = [e.data_diff for e in leading if e.data_diff] + [e.diff for e in report.events if e.diff]
    breach = limits.check_step(per_task, diffs, [m.payload for m in report.outbound], bounds)
    if breach is not None:
        raise _limit_error(case, report, breach)


def _limit_error(case: Case, report: StepReport, breach: limits.Breach) -> ScriptError:
    """The task error of a limit breach, on the element that last set the variable (or the task holding it)."""
    detail = breach.problem + (f" (variabile «{breach.variable}»)" if breach.variable else "")
    for event in reversed(report.events):
        diff = event.diff or {}
        if breach.variable and any(breach.variable in (diff.get(part) or {}) for part in ("added", "changed")):
            return case.error_at(event.element, None, detail)
    return case.error_at(None, breach.task_id, detail)


def _update_case_data(
    session: Session,
    instance: ProcessInstance,
    events: list[NewEvent],
    open_titles: list[str],
    cipher: CaseCipher,
    idx: bytes,
    bounds: limits.DataLimits | None = None,
) -> None:
    """Fold the step's (sealed) data changes into the (sealed) case data, then refresh the search row.

    Sealing is deterministic per case, so sealed diffs apply to sealed data exactly as
    plain ones to plain data: the case data is never opened here.
    """
    data = codec.from_jsonable_text(instance.case_data_json or "{}")
    for event in events:
        apply_diff(data, event.data_diff)
    text = codec.dumps(data)
    size = len(text.encode("utf-8"))
    if bounds is not None and size > bounds.max_bytes:
        # Checked on what is stored (sealed); the step's savepoint takes back what it wrote.
        raise limits.LimitExceeded(limits.Breach(limits.too_large(size, bounds), limits.largest_variable(data)))
    instance.case_data_json = text
    projections.sync_case_index(session, instance, data, cipher, idx, open_titles)
