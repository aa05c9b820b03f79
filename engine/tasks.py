"""Human tasks: the inbox, claiming and releasing, completing with validated data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

import forms
from engine import definitions, history, partners
from engine.clock import utcnow
from engine.config import Settings
from engine.errors import Conflict, Forbidden, FormInvalid, NotFound, TaskNotReady
from engine.history import NewEvent
from engine.instances import Outcome, run_step
from engine.models import HistoryEvent, HumanTask, ProcessInstance, TaskDraft
from engine.roles import Actor
from engine.spiff import Case, StepReport


@dataclass
class InboxFilter:
    """What an inbox query asks for (all optional)."""

    process_key: str | None = None
    task_name: str | None = None
    case_code: str | None = None
    lane: str | None = None
    ambito: str | None = None
    mine_only: bool = False
    unassigned_only: bool = False
    overdue_only: bool = False


def inbox_query(actor: Actor, flt: InboxFilter | None = None, now: datetime | None = None) -> Select[HumanTask]:
    """Tasks an actor may work on: for her roles in her Ambiti, or assigned to her."""
    flt = flt or InboxFilter()
    query = select(HumanTask)
    if not actor.system:
        visible = HumanTask.assignee == actor.username
        allowed = or_(HumanTask.lane.in_(sorted(actor.roles)), HumanTask.lane.is_(None))
        if not actor.regional:
            allowed = allowed & HumanTask.ambito_code.in_(sorted(actor.ambiti))
        query = query.where(or_(visible, allowed))
    if flt.process_key:
        query = query.where(HumanTask.process_key == flt.process_key)
    if flt.task_name:
        query = query.where(HumanTask.task_name == flt.task_name)
    if flt.case_code:
        query = query.where(HumanTask.case_code == flt.case_code)
    if flt.lane:
        query = query.where(HumanTask.lane == flt.lane)
    if flt.ambito:
        query = query.where(HumanTask.ambito_code == flt.ambito)
    if flt.mine_only:
        query = query.where(HumanTask.assignee == actor.username)
    if flt.unassigned_only:
        query = query.where(HumanTask.assignee.is_(None))
    if flt.overdue_only:
        query = query.where(HumanTask.due_at < (now or utcnow()))
    return query


def list_inbox(
    session: Session, actor: Actor, flt: InboxFilter | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[HumanTask], int]:
    """One page of the inbox (most urgent first) and the total count."""
    query = inbox_query(actor, flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at, HumanTask.task_id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def get_task(session: Session, task_id: str) -> HumanTask:
    """An open human task, or a precise error if it is closed or unknown."""
    row = session.get(HumanTask, task_id, populate_existing=True)
    if row is not None:
        return row
    seen = session.scalar(select(HistoryEvent.id).where(HistoryEvent.task_id == task_id).limit(1))
    if seen is not None:
        raise TaskNotReady("L'attività non è più in attesa: è già stata completata o annullata.")
    raise NotFound("Attività non trovata.")


def check_access(actor: Actor, task: HumanTask, claiming: bool = False) -> None:
    """Raise Forbidden unless the actor may act on the task."""
    if actor.system:
        return
    if task.assignee == actor.username:
        return
    if not actor.may_work_in(task.ambito_code):
        raise Forbidden("L'attività appartiene a un altro Ambito.")
    if not actor.holds(task.lane):
        raise Forbidden("L'attività è riservata a un altro ruolo.")
    if task.assignee is not None and not claiming:
        raise Forbidden(f"L'attività è stata presa in carico da {task.assignee}.")


def claim_task(session: Session, task_id: str, actor: Actor) -> HumanTask:
    """Take a task: it becomes mine; someone else's claim is a conflict."""
    task = get_task(session, task_id)
    check_access(actor, task, claiming=True)
    now = utcnow()
    result = session.execute(
        update(HumanTask)
        .where(HumanTask.task_id == task_id)
        .where(or_(HumanTask.assignee.is_(None), HumanTask.assignee == actor.username))
        .values(assignee=actor.username, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = session.get(HumanTask, task_id, populate_existing=True)
        who = current.assignee if current else "un altro utente"
        raise Conflict(f"L'attività è già stata presa in carico da {who}.")
    _log(session, task, actor, "task_claimed")
    return session.get(HumanTask, task_id, populate_existing=True)  # type: ignore[return-value]


def release_task(session: Session, task_id: str, actor: Actor) -> HumanTask:
    """Give a task back to the team (only its assignee, or the system)."""
    task = get_task(session, task_id)
    if task.assignee is None:
        return task
    if task.assignee != actor.username and not actor.system:
        raise Forbidden(f"Solo {task.assignee} può rilasciare questa attività.")
    task.assignee = None
    task.claimed_at = None
    _log(session, task, actor, "task_released")
    session.flush()
    return task


def _log(session: Session, task: HumanTask, actor: Actor, kind: str) -> None:
    instance = session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    history.append(
        session,
        instance,
        [
            NewEvent(
                kind=kind,
                actor=actor.username,
                definition_id=task.definition_id,
                task_id=task.task_id,
                task_name=task.task_name,
                task_title=task.title,
                lane=task.lane,
            )
        ],
    )


def form_for(session: Session, task: HumanTask) -> dict[str, Any] | None:
    """The JSON Schema of a task's form (from the bundle the task's definition came in),
    with registry-backed options (partners) filled in for the task's Ambito."""
    if not task.form:
        return None
    schema = definitions.form_schema(session, task.definition_id, task.form)
    return partners.resolve_options(session, schema, task.ambito_code)


def ui_form_for(session: Session, task: HumanTask) -> dict[str, Any]:
    """The UI schema of a task's form, or an empty one."""
    if not task.ui_form:
        return {}
    return definitions.form_schema(session, task.definition_id, task.ui_form)


def validate_submission(
    schema: dict[str, Any] | None, submitted: dict[str, Any], current: dict[str, Any]
) -> dict[str, Any]:
    """Accepted data for a task, or FormInvalid with Italian errors per field."""
    if not isinstance(submitted, dict):
        raise FormInvalid("I dati inviati non sono un oggetto.", {"": ["formato non valido"]})
    if schema is None:
        if submitted:
            raise FormInvalid("Questa attività non prevede dati.", {k: ["campo non previsto"] for k in submitted})
        return {}
    # Options taken from the task's own data ("x-inlav-options": "data:VAR") are checked
    # like any other enum: the list is built from the data the task was handed.
    schema = forms.resolve_data_options(schema, current)
    accepted, errors = forms.clean_submission(schema, submitted, current)
    properties = schema.get("properties") or {}
    merged = {k: current[k] for k in properties if k in current}
    merged.update(accepted)
    for path, messages in forms.validate_data(schema, merged).items():
        errors.setdefault(path, []).extend(m for m in messages if m not in errors.get(path, []))
    if errors:
        count = sum(len(v) for v in errors.values())
        raise FormInvalid(f"Il modulo contiene {count} {'errore' if count == 1 else 'errori'}.", errors)
    return accepted


def complete_task(session: Session, settings: Settings, task_id: str, data: dict[str, Any], actor: Actor) -> Outcome:
    """Complete a human task with data validated against its form, then move the case on."""
    task = get_task(session, task_id)
    check_access(actor, task)
    schema = form_for(session, task)
    if not isinstance(data, dict):
        raise FormInvalid("I dati inviati non sono un oggetto.", {"": ["formato non valido"]})

    def action(case: Case) -> StepReport:
        live = case.find_task(task_id)
        views = {view.task_id: view for view in case.human_tasks()}
        if live is None or task_id not in views:
            raise TaskNotReady("L'attività non è più in attesa: è già stata completata o annullata.")
        accepted = validate_submission(schema, data, views[task_id].data)
        _task, report = case.complete_human_task(task_id, accepted)
        return report

    outcome = run_step(session, settings, task.instance_id, actor, action)
    if outcome.error is None:
        # Everyone's drafts of a completed task are obsolete.
        stale = delete(TaskDraft).where(TaskDraft.task_id == task_id)
        session.execute(stale.execution_options(synchronize_session=False))
    return outcome
