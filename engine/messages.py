"""Messages between cases and from outside: routed by name and correlation key.

A message is stored first (status `pending`), then delivered to the one waiting
catch event whose subscription has the same name and key, or used to start a case
whose start event catches it. A message from outside that nobody waits for is kept as
`unmatched` and delivered later when a matching subscription appears; it is never
dropped. A message thrown by a case that no case takes goes to the `outbox`, where
partner systems read it (API) and acknowledge it (`sent`); it too is delivered inside
if a matching subscription appears first.

A message thrown by a case is sealed with that case's data key. One that carries
identity data and would go to partner systems waits as `held_consent` until the case
has a sharing consent or a coordinator overrides (`engine.privacy.consent`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine import codec, definitions
from engine.access.matrix import Action, ambiti_for, require, require_in
from engine.access.roles import SYSTEM, Actor
from engine.clock import utcnow
from engine.config import Settings
from engine.db import is_postgres
from engine.errors import NotFound
from engine.instances import Outcome, run_step, start_by_message
from engine.limits import DataLimits, check_incoming
from engine.models import Ambito, Message, MessageSubscription, ProcessInstance
from engine.privacy import cipher_for
from engine.privacy.consent import HELD_CONSENT, HELD_REASON, sharing_needs_consent
from engine.spiff import Case, StepReport

PENDING, DELIVERED, UNMATCHED, FAILED = "pending", "delivered", "unmatched", "failed"
OUTBOX, SENT = "outbox", "sent"
HELD = HELD_CONSENT
FROM_CASE = "caso "


def send_message(
    session: Session,
    name: str,
    payload: Any,
    correlation_key: str | None = None,
    ambito: str | None = None,
    source: str = "api",
    bounds: DataLimits | None = None,
) -> Message:
    """Queue a message for delivery (the worker, or `deliver`, routes it); a payload beyond
    the case data limits (`bounds`) is refused before it is stored."""
    if not name or len(name) > 200:
        raise NotFound("Nome del messaggio mancante o troppo lungo.")
    if ambito is not None and session.get(Ambito, ambito) is None:
        raise NotFound(f"Ambito «{ambito}» non trovato.")
    if bounds is not None:
        check_incoming(payload, bounds, "dati del messaggio")
    now = utcnow()
    message = Message(
        name=name,
        correlation_key=correlation_key,
        ambito_code=ambito,
        payload_json=codec.dumps(codec.to_jsonable(payload if payload is not None else {})),
        status=PENDING,
        source=source[:100],
        created_at=now,
        updated_at=now,
        delivered_at=None,
        instance_id=None,
        attempts=0,
        error=None,
    )
    session.add(message)
    session.flush()
    return message


def accept_message(
    session: Session,
    settings: Settings,
    actor: Actor,
    name: str,
    payload: Any,
    correlation_key: str | None,
    ambito: str,
) -> Message:
    """A message from a partner system, sent by someone who may send to that Ambito, delivered now."""
    known = session.get(Ambito, ambito) is not None
    require_in(actor, Action.MESSAGE_SEND, ambito if known else None, f"Ambito «{ambito}» non trovato.")
    message = send_message(
        session, name, payload, correlation_key, ambito, source=f"api:{actor.username}", bounds=DataLimits.of(settings)
    )
    deliver(session, settings, message.id)
    return message


def deliverable_ids(session: Session, limit: int) -> list[int]:
    """Messages to try now: pending ones, and unmatched ones that a subscription now matches."""
    matching = exists().where(
        MessageSubscription.message_name == Message.name,
        MessageSubscription.correlation_key == Message.correlation_key,
    )
    query = (
        select(Message.id)
        .where((Message.status == PENDING) | (Message.status.in_([UNMATCHED, OUTBOX, HELD]) & matching))
        .order_by(Message.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=Message)
    return list(session.scalars(query))


def deliver(session: Session, settings: Settings, message_id: int, actor: Actor = SYSTEM) -> Outcome | None:
    """Route one message; returns the outcome of the step it caused, if any."""
    query = select(Message).where(Message.id == message_id)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    message = session.scalar(query)
    if message is None or message.status in (DELIVERED,):
        return None
    message.attempts += 1
    message.updated_at = utcnow()
    origin = session.get(ProcessInstance, message.origin_instance_id) if message.origin_instance_id else None
    payload = codec.from_jsonable(payload_of(session, settings, message, origin))
    subscription = _subscription_for(session, message)
    if subscription is not None:
        instance_id, task_id = subscription.instance_id, subscription.task_id

        def action(case: Case) -> StepReport:
            return case.deliver_message(task_id, message.name, payload)

        outcome = run_step(session, settings, instance_id, actor, action)
        if outcome.error is not None:
            message.status = FAILED
            message.error = outcome.error.message
        else:
            _delivered(session, settings, message, instance_id)
        return outcome
    starters = definitions.start_definitions_for_message(session, message.name, message.ambito_code)
    if starters and message.ambito_code:
        outcome = start_by_message(session, settings, starters[0], message.ambito_code, message.name, payload)
        _delivered(session, settings, message, outcome.instance.id)
        return outcome
    if message.source.startswith(FROM_CASE) and not starters:
        if origin is not None and sharing_needs_consent(session, settings, origin, payload):
            message.status = HELD  # identity may not leave without consent
            message.error = HELD_REASON
            return None
        message.status = OUTBOX  # for the partner systems that read the outbox
        message.error = None
        return None
    message.status = UNMATCHED
    message.error = (
        "nessun caso attende questo messaggio con questa chiave"
        if not starters
        else "il messaggio avvia un processo ma non indica l'Ambito"
    )
    return None


def payload_of(session: Session, settings: Settings, message: Message, origin: ProcessInstance | None = None) -> Any:
    """A message's payload as JSON, identity fields opened with the key of the case that threw it
    (or, for a message from outside, of the case it was delivered to)."""
    owner_id = message.origin_instance_id or (message.instance_id if message.status == DELIVERED else None)
    if owner_id is None:
        return codec.from_jsonable_text(message.payload_json)
    owner = origin if origin is not None and origin.id == owner_id else session.get(ProcessInstance, owner_id)
    if owner is None:
        return codec.from_jsonable_text(message.payload_json)
    return cipher_for(session, settings, owner).open_text(message.payload_json)


def _subscription_for(session: Session, message: Message) -> MessageSubscription | None:
    """The waiting catch event a message is for; without a key only an unambiguous one."""
    query = (
        select(MessageSubscription)
        .join(ProcessInstance, ProcessInstance.id == MessageSubscription.instance_id)
        .where(MessageSubscription.message_name == message.name)
        .order_by(MessageSubscription.id)
        .limit(2)
    )
    if message.correlation_key is not None:
        query = query.where(MessageSubscription.correlation_key == message.correlation_key)
    if message.ambito_code is not None:
        query = query.where(ProcessInstance.ambito_code == message.ambito_code)
    found = list(session.scalars(query))
    if message.correlation_key is None and len(found) > 1:
        return None
    return found[0] if found else None


def _delivered(session: Session, settings: Settings, message: Message, instance_id: int) -> None:
    """Mark a message delivered; one that came from outside is sealed with its case's key from now on."""
    message.status = DELIVERED
    message.instance_id = instance_id
    message.delivered_at = utcnow()
    message.error = None
    if message.origin_instance_id is None:
        target = session.get(ProcessInstance, instance_id)
        if target is not None and target.data_key is not None:
            plain = codec.from_jsonable_text(message.payload_json)
            message.payload_json = cipher_for(session, settings, target).seal_text(plain, codec.dumps)


def outbox(session: Session, actor: Actor, name: str | None = None, limit: int = 100) -> list[Message]:
    """Messages thrown by cases of the actor's Ambiti that wait for a partner system."""
    query = select(Message).where(Message.status == OUTBOX).order_by(Message.id).limit(limit)
    if name:
        query = query.where(Message.name == name)
    require(actor, Action.MESSAGE_OUTBOX)
    ambiti = ambiti_for(actor, Action.MESSAGE_OUTBOX)
    if ambiti is not None:
        query = query.where(Message.ambito_code.in_(sorted(ambiti)))
    return list(session.scalars(query))


def acknowledge(session: Session, message_id: int, actor: Actor) -> Message:
    """A partner system took an outbox message: mark it sent."""
    message = session.get(Message, message_id)
    found = message is not None and message.status in (OUTBOX, SENT)
    ambito = message.ambito_code if found and message is not None else None
    require_in(actor, Action.MESSAGE_ACK, ambito, "Messaggio non trovato nella posta in uscita.")
    assert message is not None
    if message.status == OUTBOX:
        message.status = SENT
        message.delivered_at = utcnow()
        message.updated_at = message.delivered_at
    return message


def list_messages(session: Session, status: str | None = None, limit: int = 100) -> list[Message]:
    """Recent messages, optionally of one status."""
    query = select(Message).order_by(Message.id.desc()).limit(limit)
    if status:
        query = query.where(Message.status == status)
    return list(session.scalars(query))
