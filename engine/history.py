"""Append-only, hash-chained history of every state change of a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import codec
from engine.clock import as_utc, utcnow
from engine.models import HistoryEvent, ProcessInstance

GENESIS = "0" * 64


@dataclass
class NewEvent:
    """An event about to be appended."""

    kind: str
    actor: str
    definition_id: int
    task_id: str | None = None
    task_name: str | None = None
    task_title: str | None = None
    lane: str | None = None
    data_diff: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None


def _event_hash(prev_hash: str, instance_id: int, seq: int, occurred_at: datetime, event: NewEvent) -> str:
    body = {
        "instance": instance_id,
        "seq": seq,
        "at": as_utc(occurred_at).isoformat(),
        "actor": event.actor,
        "kind": event.kind,
        "task_id": event.task_id,
        "task_name": event.task_name,
        "task_title": event.task_title,
        "lane": event.lane,
        "definition": event.definition_id,
        "diff": event.data_diff,
        "detail": event.detail,
    }
    return codec.digest(prev_hash + codec.dumps(body))


def append(session: Session, instance: ProcessInstance, events: list[NewEvent]) -> None:
    """Append events to an instance's history, extending its hash chain."""
    now = utcnow()
    for event in events:
        seq = instance.last_event_seq + 1
        digest = _event_hash(instance.last_event_hash, instance.id, seq, now, event)
        session.add(
            HistoryEvent(
                instance_id=instance.id,
                seq=seq,
                occurred_at=now,
                actor=event.actor,
                kind=event.kind,
                task_id=event.task_id,
                task_name=event.task_name,
                task_title=event.task_title,
                lane=event.lane,
                definition_id=event.definition_id,
                data_diff_json=codec.dumps(event.data_diff) if event.data_diff is not None else None,
                detail_json=codec.dumps(event.detail) if event.detail is not None else None,
                prev_hash=instance.last_event_hash,
                hash=digest,
            )
        )
        instance.last_event_seq = seq
        instance.last_event_hash = digest


def verify_chain(session: Session, instance_id: int) -> list[int]:
    """Sequence numbers whose stored hash does not match their content (empty: intact)."""
    broken: list[int] = []
    prev = GENESIS
    rows = session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq)
    )
    expected_seq = 1
    for row in rows:
        event = NewEvent(
            kind=row.kind,
            actor=row.actor,
            definition_id=row.definition_id,
            task_id=row.task_id,
            task_name=row.task_name,
            task_title=row.task_title,
            lane=row.lane,
            data_diff=None if row.data_diff_json is None else codec.from_jsonable_text(row.data_diff_json),
            detail=None if row.detail_json is None else codec.from_jsonable_text(row.detail_json),
        )
        linked = row.seq == expected_seq and row.prev_hash == prev
        if not linked or _event_hash(prev, instance_id, row.seq, row.occurred_at, event) != row.hash:
            broken.append(row.seq)
        prev = row.hash
        expected_seq = row.seq + 1
    return broken
