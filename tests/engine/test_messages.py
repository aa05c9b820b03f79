"""Message routing details: event-based gateways, per-element keys, outbound messages."""

from __future__ import annotations

import json

from sqlalchemy import select

from engine import deliver, get_instance, send_message, start_instance
from engine.messages import DELIVERED, UNMATCHED
from engine.models import MessageSubscription
from tests import builders
from tests.conftest import OPERATOR, add_ambiti, deploy

MESSAGES = '<bpmn:message id="m_si" name="accettato"/><bpmn:message id="m_no" name="rifiutato"/>'


def catch(event_id: str, message_ref: str) -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{event_id}"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="correlationKey" value="rif"/></spiffworkflow:properties>'
        f'</bpmn:extensionElements><bpmn:messageEventDefinition id="d_{event_id}" messageRef="{message_ref}"/>'
        "</bpmn:intermediateCatchEvent>"
    )


def gateway_bundle() -> dict[str, bytes]:
    body = (
        '<bpmn:startEvent id="start"/>'
        + builders.script_task("prepara", "rif = 'INV-7'")
        + '<bpmn:eventBasedGateway id="risposta"/>'
        + catch("si", "m_si")
        + catch("no", "m_no")
        + builders.script_task("segna_si", "esito = 'accettato'")
        + builders.script_task("segna_no", "esito = 'rifiutato'")
        + '<bpmn:endEvent id="fine_si"/><bpmn:endEvent id="fine_no"/>'
        + builders.flow("f1", "start", "prepara")
        + builders.flow("f2", "prepara", "risposta")
        + builders.flow("f3", "risposta", "si")
        + builders.flow("f4", "risposta", "no")
        + builders.flow("f5", "si", "segna_si")
        + builders.flow("f6", "no", "segna_no")
        + builders.flow("f7", "segna_si", "fine_si")
        + builders.flow("f8", "segna_no", "fine_no")
    )
    xml = builders.document(builders.process("attesa_risposta", body, []))
    return {"attesa_risposta.bpmn": xml.replace(b"<bpmn:process", MESSAGES.encode() + b"<bpmn:process", 1)}


def test_event_based_gateway_subscribes_to_each_message_with_its_own_key(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=gateway_bundle())
    instance = start_instance(db, settings, "attesa_risposta", "MILANO", OPERATOR).instance
    rows = db.scalars(select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)).all()
    assert sorted((r.message_name, r.correlation_key) for r in rows) == [("accettato", "INV-7"), ("rifiutato", "INV-7")]
    wrong_key = send_message(db, "rifiutato", {}, "INV-8", source="test")
    deliver(db, settings, wrong_key.id)
    assert wrong_key.status == UNMATCHED
    answer = send_message(db, "rifiutato", {"motivo": "posti esauriti"}, "INV-7", source="test")
    deliver(db, settings, answer.id)
    assert answer.status == DELIVERED
    instance = get_instance(db, instance.case_code)
    assert instance.status == "completed"
    assert json.loads(instance.case_data_json)["esito"] == "rifiutato"
    assert db.scalars(select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)).all() == []
