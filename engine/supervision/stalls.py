"""Cases that are running with nothing open and nothing awaited: nobody will ever move them.

A case is moved by a person (an open task in the inbox), by the worker (a pending timer)
or by a message (a subscription). A case whose status is `running` with none of these
is stalled: a construct that the deploy check did not know about when its version was
published, a parallel join waiting for a branch that was never taken, and so on. Called
processes run inside their case, so their tasks, timers and subscriptions count for it;
a case whose step failed has status `error` (an incident awaiting retry), not `running`.

`stalled_cases` lists them within the actor's reach; `record_new_stalls` (the worker)
appends one `stalled` event to the history of each case newly found, so the case's
history says so and the next pass does not repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine.access.matrix import Action, ambiti_for, require, require_in
from engine.access.roles import SYSTEM, Actor
from engine.history import NewEvent, append
from engine.models import (
    Ambito,
    HistoryEvent,
    HumanTask,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    Timer,
)

RUNNING = "running"  # engine.instances.RUNNING (not imported: this package never runs workflows)
STALLED = "stalled"
# Who may see stalled cases: those who can resume them (retry, migrate to a fixed version).
ACTION = Action.CASE_MIGRATE
STALLED_MESSAGE = (
    "il caso è in corso ma non ha attività aperte, timer o messaggi attesi: nessuno lo farà proseguire. "
    "Correggere il modello, pubblicare una nuova versione e migrare il caso (inlav instances migrate, poi retry)."
)


@dataclass(frozen=True)
class StalledCase:
    """A running case that waits for nothing."""

    instance_id: int
    case_code: str
    ambito: str
    process_key: str
    version: int
    since: datetime
    last_step: str | None
    reported: bool


def stalled_cases(session: Session, actor: Actor, ambito: str | None = None, limit: int = 500) -> list[StalledCase]:
    """Running cases with no open human task, no pending timer and no message subscription,
    in the Ambiti where the actor may resume cases (optionally one Ambito), oldest first."""
    require(actor, ACTION)
    if ambito is not None:
        known = session.get(Ambito, ambito) is not None
        require_in(actor, ACTION, ambito if known else None, f"Ambito «{ambito}» non trovato.")
    query = (
        select(ProcessInstance, ProcessDefinition.version)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(ProcessInstance.status == RUNNING)
        .where(~exists().where(HumanTask.instance_id == ProcessInstance.id))
        .where(~exists().where(Timer.instance_id == ProcessInstance.id))
        .where(~exists().where(MessageSubscription.instance_id == ProcessInstance.id))
        .order_by(ProcessInstance.updated_at, ProcessInstance.id)
        .limit(limit)
    )
    reach = ambiti_for(actor, ACTION)
    if reach is not None:
        query = query.where(ProcessInstance.ambito_code.in_(sorted(reach)))
    if ambito is not None:
        query = query.where(ProcessInstance.ambito_code == ambito)
    found = []
    for instance, version in session.execute(query).all():
        last = session.scalar(
            select(HistoryEvent)
            .where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind != STALLED)
            .order_by(HistoryEvent.seq.desc())
            .limit(1)
        )
        reported = session.scalar(
            select(HistoryEvent.kind).where(
                HistoryEvent.instance_id == instance.id, HistoryEvent.seq == instance.last_event_seq
            )
        )
        found.append(
            StalledCase(
                instance_id=instance.id,
                case_code=instance.case_code,
                ambito=instance.ambito_code,
                process_key=instance.process_key,
                version=version,
                since=last.occurred_at if last is not None else instance.updated_at,
                last_step=_describe(last),
                reported=reported == STALLED,
            )
        )
    return found


def _describe(event: HistoryEvent | None) -> str | None:
    if event is None:
        return None
    return event.task_title or event.task_name or event.kind


def record_new_stalls(session: Session) -> list[StalledCase]:
    """Append a `stalled` event to the history of each stalled case not yet reported
    (a case that moves again and stalls again is reported again); returns those cases."""
    new = [case for case in stalled_cases(session, SYSTEM) if not case.reported]
    for case in new:
        instance = session.get(ProcessInstance, case.instance_id)
        if instance is None:  # pragma: no cover - deleted meanwhile
            continue
        append(
            session,
            instance,
            [
                NewEvent(
                    kind=STALLED,
                    actor=SYSTEM.username,
                    definition_id=instance.definition_id,
                    detail={"message": STALLED_MESSAGE, "last_step": case.last_step},
                )
            ],
        )
    session.flush()
    return new
