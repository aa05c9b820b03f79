"""Inbox pages for the web and the API: sorting, counts and filter choices in few queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.access.roles import Actor
from engine.clock import utcnow
from engine.models import HumanTask, ProcessDefinition
from engine.tasks import InboxFilter, inbox_query

SORTS = ("scadenza", "-scadenza", "creazione", "-creazione")


@dataclass
class InboxCounts:
    """How many tasks the actor sees, in all and by kind."""

    total: int
    mine: int
    unassigned: int
    overdue: int


@dataclass
class InboxPage:
    """One page of tasks plus what the filters need."""

    tasks: list[HumanTask]
    total: int
    counts: InboxCounts
    processes: list[tuple[str, str]]
    task_names: list[tuple[str, str]]


def inbox_page(
    session: Session, actor: Actor, flt: InboxFilter, sort: str = "scadenza", limit: int = 25, offset: int = 0
) -> InboxPage:
    """A page of the inbox, its filtered total, the unfiltered counts and filter choices (4 queries)."""
    now = utcnow()
    query = inbox_query(actor, flt, now)
    order = {
        "scadenza": (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at),
        "-scadenza": (HumanTask.due_at.is_(None), HumanTask.due_at.desc(), HumanTask.created_at.desc()),
        "creazione": (HumanTask.created_at,),
        "-creazione": (HumanTask.created_at.desc(),),
    }[sort if sort in SORTS else "scadenza"]
    tasks = list(session.scalars(query.order_by(*order, HumanTask.task_id).limit(limit).offset(offset)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0

    visible = inbox_query(actor, InboxFilter(), now).subquery()
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((visible.c.assignee == actor.username, 1), else_=0)), 0),
            func.coalesce(func.sum(case((visible.c.assignee.is_(None), 1), else_=0)), 0),
            func.coalesce(func.sum(case((visible.c.due_at < now, 1), else_=0)), 0),
        )
    ).one()
    counts = InboxCounts(total=int(row[0]), mine=int(row[1]), unassigned=int(row[2]), overdue=int(row[3]))

    choices = session.execute(
        select(visible.c.process_key, ProcessDefinition.name, visible.c.task_name, visible.c.title)
        .join(ProcessDefinition, ProcessDefinition.id == visible.c.definition_id)
        .distinct()
    ).all()
    processes = sorted({(r[0], r[1]) for r in choices}, key=lambda p: p[1].lower())
    names: dict[str, str] = {}
    for r in choices:
        names.setdefault(r[2], r[3].split(" — ")[0])
    task_names = sorted(names.items(), key=lambda p: p[1].lower())
    return InboxPage(tasks, int(total), counts, processes, task_names)
