"""Human tasks: the inbox, claiming and releasing, completing with validated data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, true, update
from sqlalchemy.orm import Session

import forms
from engine import definitions, history, partners
from engine.access.matrix import Action, ambiti_for, permits, require, require_in
from engine.access.roles import LANE_ROLES, Actor
from engine.clock import utcnow
from engine.config import Settings
from engine.errors import Conflict, Forbidden, FormInvalid, NotFound, TaskNotReady
from engine.history import NewEvent
from engine.instances import Outcome, run_step
from engine.limits import DataLimits, check_incoming
from engine.models import HistoryEvent, HumanTask, ProcessInstance, TaskDraft
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
    """Tasks an actor may work on: in the Ambiti where she works tasks, those of her lanes
    there, those without a lane, and those assigned to her."""
    flt = flt or InboxFilter()
    query = select(HumanTask)
    if not actor.system:
        ambiti = ambiti_for(actor, Action.TASK_WORK)
        in_scope = true() if ambiti is None else HumanTask.ambito_code.in_(sorted(ambiti))
        lanes: list[ColumnElement[bool]] = [HumanTask.assignee == actor.username, HumanTask.lane.is_(None)]
        for role, ambito in sorted(actor.grants, key=str):
            if role in LANE_ROLES:
                held = HumanTask.lane == role
                lanes.append(held if ambito is None else and_(held, HumanTask.ambito_code == ambito))
        query = query.where(in_scope, or_(*lanes))
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


TASK_NOT_FOUND = "Attività non trovata."


def get_task(
    session: Session, task_id: str, actor: Actor | None = None, action: Action = Action.TASK_WORK
) -> HumanTask:
    """An open human task, or a precise error if it is closed or unknown.

    With an actor, a task outside the Ambiti where she may perform `action` is answered
    exactly like an unknown one (and a role without the action at all is Forbidden).
    """
    if actor is not None:
        require(actor, action)
    row = session.get(HumanTask, task_id, populate_existing=True)
    if row is not None:
        if actor is not None:
            require_in(actor, action, row.ambito_code, TASK_NOT_FOUND)
        return row
    seen = session.execute(
        select(ProcessInstance.ambito_code)
        .join(HistoryEvent, HistoryEvent.instance_id == ProcessInstance.id)
        .where(HistoryEvent.task_id == task_id)
        .limit(1)
    ).first()
    if seen is not None and (actor is None or permits(actor, action, seen.ambito_code)):
        raise TaskNotReady("L'attività non è più in attesa: è già stata completata o annullata.")
    raise NotFound(TASK_NOT_FOUND)


def check_access(actor: Actor, task: HumanTask, claiming: bool = False) -> None:
    """Raise unless the actor may act on the task: NotFound outside her Ambiti, Forbidden
    for another role's task or a colleague's claimed one."""
    if actor.system:
        return
    require_in(actor, Action.TASK_WORK, task.ambito_code, TASK_NOT_FOUND)
    if task.assignee == actor.username:
        return
    if not actor.holds(task.lane, task.ambito_code):
        raise Forbidden("L'attività è riservata a un altro ruolo.")
    if task.assignee is not None and not claiming:
        raise Forbidden(f"L'attività è stata presa in carico da {task.assignee}.")


def can_work_on(actor: Actor, task: HumanTask) -> bool:
    """Whether someone who may read the task's case may also act on it (False: she only looks)."""
    try:
        check_access(actor, task)
    except (Forbidden, NotFound):
        return False
    return True


def claim_task(session: Session, task_id: str, actor: Actor) -> HumanTask:
    """Take a task: it becomes mine; someone else's claim is a conflict."""
    task = get_task(session, task_id, actor)
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
    task = get_task(session, task_id, actor)
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
    task = get_task(session, task_id, actor)
    check_access(actor, task)
    schema = form_for(session, task)
    if not isinstance(data, dict):
        raise FormInvalid("I dati inviati non sono un oggetto.", {"": ["formato non valido"]})
    check_incoming(data, DataLimits.of(settings))

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
