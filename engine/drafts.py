"""Drafts: form data saved on an open task by one person, to resume later.

A draft is private to its author, never moves the case, and is dropped when the task
is completed. It is also where typed data is kept when the diagram fails on completion,
so nothing a person typed is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import codec
from engine.access.roles import Actor
from engine.clock import utcnow
from engine.config import Settings
from engine.errors import Conflict
from engine.limits import DataLimits, check_incoming
from engine.models import HumanTask, ProcessInstance, TaskDraft
from engine.privacy import cipher_for
from engine.tasks import check_access, get_task

MAX_DRAFT_BYTES = 256_000


def save_draft(
    session: Session,
    settings: Settings,
    task_id: str,
    actor: Actor,
    data: dict[str, Any],
    note: str | None = None,
) -> TaskDraft:
    """Store (or replace) the actor's draft of an open task she may work on, identity fields sealed."""
    task = get_task(session, task_id, actor)
    check_access(actor, task)
    instance = session.get(ProcessInstance, task.instance_id)
    assert instance is not None  # the inbox row cascades with its case
    cipher = cipher_for(session, settings, instance, create=True)
    check_incoming(data, DataLimits.of(settings), "dati della bozza")
    try:
        text = cipher.seal_text(codec.to_jsonable(data), codec.dumps)
    except codec.UnstorableValue as exc:
        raise Conflict(f"Bozza non salvabile: {exc}") from exc
    if len(text.encode()) > MAX_DRAFT_BYTES:
        raise Conflict("Bozza troppo grande per essere salvata.")
    draft = session.get(TaskDraft, (task_id, actor.username))
    now = utcnow()
    if draft is None:
        draft = TaskDraft(
            task_id=task_id,
            username=actor.username,
            instance_id=task.instance_id,
            data_json=text,
            note=note,
            updated_at=now,
        )
        session.add(draft)
    else:
        draft.data_json = text
        draft.note = note
        draft.updated_at = now
    session.flush()
    return draft


def load_draft(
    session: Session, settings: Settings, task_id: str, username: str
) -> tuple[dict[str, Any], datetime, str | None] | None:
    """(data, saved at, note) of a person's draft of a task, or None."""
    draft = session.get(TaskDraft, (task_id, username))
    if draft is None:
        return None
    instance = session.get(ProcessInstance, draft.instance_id)
    if instance is None:
        return None
    data = cipher_for(session, settings, instance).open_text(draft.data_json)
    return (data if isinstance(data, dict) else {}), draft.updated_at, draft.note


def discard_draft(session: Session, task_id: str, username: str) -> bool:
    """Delete a person's draft of a task; whether there was one."""
    result = session.execute(
        delete(TaskDraft)
        .where(TaskDraft.task_id == task_id, TaskDraft.username == username)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def drop_task_drafts(session: Session, task_id: str) -> None:
    """Delete every draft of a task (after it was completed)."""
    session.execute(delete(TaskDraft).where(TaskDraft.task_id == task_id).execution_options(synchronize_session=False))


def drafted_task_ids(session: Session, username: str, task_ids: list[str]) -> set[str]:
    """Which of these tasks the person has a draft for (one query, for the inbox)."""
    if not task_ids:
        return set()
    rows = session.scalars(
        select(TaskDraft.task_id).where(TaskDraft.username == username, TaskDraft.task_id.in_(task_ids))
    )
    return set(rows)


def purge_orphan_drafts(session: Session) -> int:
    """Delete drafts of tasks that are no longer waiting (completed or cancelled elsewhere)."""
    open_ids = select(HumanTask.task_id)
    result = session.execute(
        delete(TaskDraft).where(TaskDraft.task_id.not_in(open_ids)).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
