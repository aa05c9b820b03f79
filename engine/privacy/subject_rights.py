"""Data-subject rights: everything about one person as a document, and erasure by crypto-shredding.

Export opens every sealed value of the case (its data, the history's data changes,
drafts, messages) and adds the consents. Erasure destroys the case's data key: every
sealed value becomes unreadable wherever it is stored (task data, history, backups),
the blind index rows go, and the history — which hashed the ciphertext — still
verifies. Status, stage, dates and the non-identifying facts stay, so the case still
counts in aggregate figures.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import codec, history
from engine.access.matrix import Action, require_in
from engine.access.roles import Actor
from engine.clock import as_utc, utcnow
from engine.config import Settings
from engine.errors import Conflict
from engine.history import NewEvent
from engine.models import (
    Ambito,
    CaseIndex,
    CaseSearchToken,
    HistoryEvent,
    Message,
    ProcessDefinition,
    ProcessInstance,
    TaskDraft,
)
from engine.privacy.consent import HELD_CONSENT, MIN_REASON, consents_of
from engine.privacy.crypt import ENVELOPE_MARK, ERASED
from engine.privacy.fields import cipher_for

EXPORT_FORMAT = 1


def _case(session: Session, case_code: str, actor: Actor, action: Action) -> ProcessInstance:
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == case_code))
    require_in(actor, action, instance.ambito_code if instance else None, f"Caso «{case_code}» non trovato.")
    assert instance is not None
    return instance


def _plain(value: Any) -> Any:
    """Stored JSON (tagged dates) as plain JSON for a person to read."""

    def iso(obj: Any) -> str:
        if isinstance(obj, dt.timedelta):
            return str(obj)
        return obj.isoformat() if hasattr(obj, "isoformat") else str(obj)

    return json.loads(json.dumps(codec.from_jsonable(value), default=iso, ensure_ascii=False))


def _at(value: dt.datetime | None) -> str | None:
    # With its offset (UTC) on every database: SQLite hands times back without one.
    return as_utc(value).isoformat() if value is not None else None


def export_subject(session: Session, settings: Settings, actor: Actor, case_code: str) -> dict[str, Any]:
    """Everything stored about the person of a case, identity opened, as JSON-ready data."""
    instance = _case(session, case_code, actor, Action.CASE_EXPORT)
    cipher = cipher_for(session, settings, instance)

    def opened(text: str | None) -> Any:
        return None if text is None else _plain(cipher.open_text(text, ERASED))

    ambito = session.get(Ambito, instance.ambito_code)
    definition = session.get(ProcessDefinition, instance.definition_id)
    timeline = [
        {
            "seq": row.seq,
            "at": _at(row.occurred_at),
            "kind": row.kind,
            "actor": row.actor,
            "task": row.task_title or row.task_name,
            "role": row.lane,
            "changes": opened(row.data_diff_json),
            "detail": opened(row.detail_json),
        }
        for row in session.scalars(
            select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq)
        )
    ]
    drafts = [
        {"task_id": d.task_id, "author": d.username, "saved_at": _at(d.updated_at), "data": opened(d.data_json)}
        for d in session.scalars(select(TaskDraft).where(TaskDraft.instance_id == instance.id))
    ]
    messages = [
        {
            "id": m.id,
            "name": m.name,
            "direction": "uscita" if m.origin_instance_id == instance.id else "entrata",
            "status": m.status,
            "created_at": _at(m.created_at),
            "correlation_key": m.correlation_key,
            # Thrown by this case, or from outside and delivered to it: sealed with its key.
            "payload": opened(m.payload_json),
        }
        for m in session.scalars(
            select(Message)
            .where((Message.origin_instance_id == instance.id) | (Message.instance_id == instance.id))
            .order_by(Message.id)
        )
    ]
    consents = [
        {
            "scope": c.scope,
            "channel": c.channel,
            "given_at": _at(c.given_at),
            "recorded_by": c.recorded_by,
            "withdrawn_at": _at(c.withdrawn_at),
            "note": c.note,
        }
        for c in consents_of(session, instance.id)
    ]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _at(utcnow()),
        "exported_by": actor.username,
        "case": {
            "code": instance.case_code,
            "ambito": instance.ambito_code,
            "ambito_name": ambito.name if ambito else instance.ambito_code,
            "process": definition.name if definition else instance.process_key,
            "status": instance.status,
            "started_at": _at(instance.started_at),
            "completed_at": _at(instance.completed_at),
            "identity_erased_at": _at(instance.identity_erased_at),
        },
        "data": opened(instance.case_data_json or "{}"),
        "consents": consents,
        "timeline": timeline,
        "drafts": drafts,
        "messages": messages,
    }


def erase_identity(
    session: Session, settings: Settings, actor: Actor, case_code: str, reason: str, confirmation: str
) -> ProcessInstance:
    """Crypto-shred a person's identity: destroy the case's data key, drop its search rows, log why."""
    instance = _case(session, case_code, actor, Action.CASE_ERASE)
    if confirmation.strip() != instance.case_code:
        raise Conflict("Per confermare la cancellazione, scrivere esattamente il codice del caso.")
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise Conflict(f"Scrivere il motivo della cancellazione (almeno {MIN_REASON} caratteri).")
    if instance.identity_erased_at is not None:
        raise Conflict("L'identità di questa persona è già stata cancellata.")
    shred_identity(session, instance, actor.username, "identity_erased", {"reason": text[:2000]})
    session.flush()
    return instance


def shred_identity(
    session: Session, instance: ProcessInstance, actor_name: str, event_kind: str, detail: dict[str, Any]
) -> None:
    """Destroy a case's data key and what would stay readable without it, and say so in its history.

    The core of an erasure, shared by `erase_identity` (a person's request) and retention
    (anonymisation of a case past its period): no permission check, no confirmation. A case
    already erased keeps its erasure time; the event is appended all the same.
    """
    now = utcnow()
    instance.data_key = None
    if instance.identity_erased_at is None:
        instance.identity_erased_at = now
    session.execute(
        delete(CaseSearchToken)
        .where(CaseSearchToken.instance_id == instance.id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(TaskDraft).where(TaskDraft.instance_id == instance.id).execution_options(synchronize_session=False)
    )
    # Messages still waiting for a partner would now carry unreadable identity: withdraw them.
    waiting = select(Message).where(
        Message.origin_instance_id == instance.id, Message.status.in_([HELD_CONSENT, "outbox", "pending"])
    )
    for message in session.scalars(waiting):
        if ENVELOPE_MARK in message.payload_json:
            message.status = "failed"
            message.error = "Identità della persona cancellata: messaggio ritirato."
            message.updated_at = now
    index = session.get(CaseIndex, instance.id)
    if index is not None:
        index.alias_sealed = None
        index.updated_at = now
    history.append(
        session,
        instance,
        [NewEvent(kind=event_kind, actor=actor_name, definition_id=instance.definition_id, detail=detail)],
    )
