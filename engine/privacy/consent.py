"""Consent: what a person agreed to (scope, channel, when) and the gate on sharing identity.

A message a case throws to partner systems that carries identity data (an identity
field, or the text of one) waits as `held_consent` until the case has a live consent
of scope `condivisione_partner`; recording one releases it to the outbox, and so does
a coordinator's override with a written reason, logged in the case's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.access.matrix import Action, require_in
from engine.access.roles import Actor
from engine.clock import utcnow
from engine.config import Settings
from engine.errors import Conflict, NotFound
from engine.history import NewEvent
from engine.models import Consent, Message, ProcessInstance
from engine.privacy.crypt import CaseCipher, identity_values
from engine.privacy.fields import cipher_for

SCOPES = {
    "trattamento": "Trattamento dei dati personali",
    "condivisione_partner": "Condivisione dei dati identificativi con i partner della rete",
}
CHANNELS = {"orale": "Orale", "scritto": "Scritto", "digitale": "Digitale"}
SHARING = "condivisione_partner"
HELD_CONSENT = "held_consent"
OUTBOX = "outbox"
HELD_REASON = (
    "Trattenuto: contiene dati identificativi della persona e manca il consenso alla condivisione con i partner."
)
MIN_REASON = 10


@dataclass
class ConsentView:
    """A consent as the case file shows it."""

    id: int
    scope: str
    scope_label: str
    channel: str
    channel_label: str
    given_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    note: str | None

    @property
    def live(self) -> bool:
        return self.withdrawn_at is None


def _case(session: Session, case_code: str, actor: Actor, action: Action) -> ProcessInstance:
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == case_code))
    require_in(actor, action, instance.ambito_code if instance else None, f"Caso «{case_code}» non trovato.")
    assert instance is not None
    return instance


def consents_of(session: Session, instance_id: int) -> list[ConsentView]:
    """Every consent of a case, newest first."""
    rows = session.scalars(
        select(Consent).where(Consent.instance_id == instance_id).order_by(Consent.given_at.desc(), Consent.id.desc())
    )
    return [
        ConsentView(
            r.id,
            r.scope,
            SCOPES.get(r.scope, r.scope),
            r.channel,
            CHANNELS.get(r.channel, r.channel),
            r.given_at,
            r.recorded_by,
            r.withdrawn_at,
            r.withdrawn_by,
            r.note,
        )
        for r in rows
    ]


def has_live_consent(session: Session, instance_id: int, scope: str) -> bool:
    """Whether the case has a consent of this scope that was not withdrawn."""
    found = session.scalar(
        select(Consent.id)
        .where(Consent.instance_id == instance_id, Consent.scope == scope, Consent.withdrawn_at.is_(None))
        .limit(1)
    )
    return found is not None


def record_consent(
    session: Session,
    actor: Actor,
    case_code: str,
    scope: str,
    channel: str,
    given_at: datetime | None = None,
    note: str | None = None,
) -> Consent:
    """Record a consent the person gave; sharing consent releases the messages held for it."""
    instance = _case(session, case_code, actor, Action.CONSENT_RECORD)
    if scope not in SCOPES:
        raise Conflict(f"Ambito del consenso non previsto: {scope}.")
    if channel not in CHANNELS:
        raise Conflict(f"Modalità del consenso non prevista: {channel}.")
    now = utcnow()
    if given_at is not None and given_at > now:
        raise Conflict("La data del consenso non può essere nel futuro.")
    row = Consent(
        instance_id=instance.id,
        scope=scope,
        channel=channel,
        given_at=given_at or now,
        recorded_by=actor.username,
        recorded_at=now,
        withdrawn_at=None,
        withdrawn_by=None,
        note=(note or "").strip()[:1000] or None,
    )
    session.add(row)
    session.flush()
    released = release_held(session, instance.id) if scope == SHARING else []
    detail: dict[str, Any] = {"consent": row.id, "scope": scope, "channel": channel}
    if released:
        detail["released_messages"] = released
    _log(session, instance, actor, "consent_recorded", detail)
    return row


def withdraw_consent(session: Session, actor: Actor, case_code: str, consent_id: int) -> Consent:
    """Mark a consent withdrawn (it stays on record); later sharing is held again."""
    instance = _case(session, case_code, actor, Action.CONSENT_RECORD)
    row = session.get(Consent, consent_id)
    if row is None or row.instance_id != instance.id:
        raise NotFound("Consenso non trovato.")
    if row.withdrawn_at is None:
        row.withdrawn_at = utcnow()
        row.withdrawn_by = actor.username
        _log(session, instance, actor, "consent_withdrawn", {"consent": row.id, "scope": row.scope})
    return row


def held_messages(session: Session, instance_id: int) -> list[Message]:
    """Messages of a case waiting for consent before they may reach partner systems."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.origin_instance_id == instance_id, Message.status == HELD_CONSENT)
            .order_by(Message.id)
        )
    )


def release_held(session: Session, instance_id: int) -> list[int]:
    """Move a case's held messages to the outbox; returns their ids."""
    released = []
    for message in held_messages(session, instance_id):
        message.status = OUTBOX
        message.error = None
        message.updated_at = utcnow()
        released.append(message.id)
    return released


def override_consent(session: Session, actor: Actor, case_code: str, message_id: int, reason: str) -> Message:
    """A coordinator releases one held message without consent, for a written reason (logged)."""
    instance = _case(session, case_code, actor, Action.CONSENT_OVERRIDE)
    message = session.get(Message, message_id)
    if message is None or message.origin_instance_id != instance.id or message.status != HELD_CONSENT:
        raise NotFound("Messaggio trattenuto non trovato per questo caso.")
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise Conflict(f"Scrivere il motivo dell'invio senza consenso (almeno {MIN_REASON} caratteri).")
    message.status = OUTBOX
    message.error = None
    message.updated_at = utcnow()
    _log(
        session,
        instance,
        actor,
        "consent_override",
        {"message": message.name, "message_id": message.id, "reason": text[:2000]},
    )
    return message


def _log(session: Session, instance: ProcessInstance, actor: Actor, kind: str, detail: dict[str, Any]) -> None:
    history.append(
        session,
        instance,
        [NewEvent(kind=kind, actor=actor.username, definition_id=instance.definition_id, detail=detail)],
    )


# --------------------------------------------------------------------------- the gate


def carries_identity(cipher: CaseCipher, payload: Any, known: set[str]) -> bool:
    """Whether a (plain) payload holds an identity field, or the text of one of the case's."""

    def visit(node: Any) -> bool:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in cipher.fields and value not in (None, "", [], {}):
                    return True
                if visit(value):
                    return True
            return False
        if isinstance(node, list):
            return any(visit(value) for value in node)
        if isinstance(node, str) and known:
            text = node.lower()
            return any(value in text for value in known)
        return False

    return visit(payload)


def sharing_needs_consent(session: Session, settings: Settings, instance: ProcessInstance, payload: Any) -> bool:
    """Whether a message thrown by this case must wait for consent before leaving."""
    if has_live_consent(session, instance.id, SHARING):
        return False
    cipher = cipher_for(session, settings, instance)
    data = cipher.open_text(instance.case_data_json or "{}")
    return carries_identity(cipher, payload, identity_values(cipher, data))
