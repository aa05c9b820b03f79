"""Every construct the parser accepts either moves (runs, or waits on something the product
delivers) or is refused at deploy with its cause: no case sits forever on an element nobody
will ever move (the table is in docs/architecture.md, «What the engine runs»)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import start_instance
from engine.errors import DefinitionError, NotStartable
from engine.models import HumanTask, MessageSubscription, ProcessDefinition, ProcessInstance, Timer
from tests import builders
from tests.conftest import OPERATOR, add_ambiti, deploy

ROOT_ELEMENTS = (
    '<bpmn:message id="m1" name="conferma"/>'
    '<bpmn:signal id="s1" name="segnale"/>'
    '<bpmn:escalation id="e1" name="avviso" escalationCode="AVV"/>'
)


def between(element: str, element_id: str = "x", extra: str = "") -> dict[str, bytes]:
    """start → ELEMENT → user task «dopo» → end (plus EXTRA elements), as a bundle."""
    body = (
        '<bpmn:startEvent id="start"/>\n'
        + element
        + builders.user_task("dopo", name="Dopo")
        + '<bpmn:endEvent id="fine"/>\n'
        + builders.flow("f1", "start", element_id)
        + builders.flow("f2", element_id, "dopo")
        + builders.flow("f3", "dopo", "fine")
        + extra
    )
    xml = builders.document(builders.process("passaggio", body, ["dopo"]))
    xml = xml.replace(b"<bpmn:process", ROOT_ELEMENTS.encode() + b"<bpmn:process", 1)
    return {"passaggio.bpmn": xml, "nota.schema.json": builders.form_json()}


def _event(tag: str, definition: str, element_id: str = "x", attrs: str = "") -> str:
    return f'<bpmn:{tag} id="{element_id}" name="Evento"{attrs}>{definition}</bpmn:{tag}>\n'


CONDITION = (
    '<bpmn:conditionalEventDefinition id="d"><bpmn:condition xsi:type="bpmn:tFormalExpression">'
    "pronto</bpmn:condition></bpmn:conditionalEventDefinition>"
)
SIGNAL = '<bpmn:signalEventDefinition id="d" signalRef="s1"/>'
LINK = '<bpmn:linkEventDefinition id="d" name="salto"/>'
COMPENSATE = '<bpmn:compensateEventDefinition id="d"/>'
TIMER = "<bpmn:timerEventDefinition id=\"d\"><bpmn:timeDuration>'PT1H'</bpmn:timeDuration></bpmn:timerEventDefinition>"
MESSAGE = '<bpmn:messageEventDefinition id="d" messageRef="m1"/>'


def _boundary(definition: str) -> dict[str, bytes]:
    extra = (
        f'<bpmn:boundaryEvent id="bordo" attachedToRef="dopo">{definition}</bpmn:boundaryEvent>'
        '<bpmn:endEvent id="fine2"/>' + builders.flow("f9", "bordo", "fine2")
    )
    return between('<bpmn:scriptTask id="x"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>', extra=extra)


def _start(definition: str) -> dict[str, bytes]:
    extra = _event("startEvent", definition, "altro_inizio") + builders.flow("f8", "altro_inizio", "x")
    return between('<bpmn:scriptTask id="x"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>', extra=extra)


def _event_gateway(after: str) -> dict[str, bytes]:
    extra = after + builders.flow("g1", "x", "attesa_b") + builders.flow("g2", "attesa_b", "dopo")
    timer = _event("intermediateCatchEvent", TIMER.replace('id="d"', 'id="d2"'), "attesa_a")
    extra += timer + builders.flow("g3", "x", "attesa_a") + builders.flow("g4", "attesa_a", "dopo")
    body = (
        '<bpmn:startEvent id="start"/>\n<bpmn:eventBasedGateway id="x"/>'
        + builders.user_task("dopo", name="Dopo")
        + '<bpmn:endEvent id="fine"/>\n'
        + builders.flow("f1", "start", "x")
        + builders.flow("f3", "dopo", "fine")
        + extra
    )
    xml = builders.document(builders.process("passaggio", body, ["dopo"]))
    xml = xml.replace(b"<bpmn:process", ROOT_ELEMENTS.encode() + b"<bpmn:process", 1)
    return {"passaggio.bpmn": xml, "nota.schema.json": builders.form_json()}


# Constructs a case would sit on forever, or that SpiffWorkflow would silently skip:
# (bundle, element refused, words of the cause).
REFUSED = {
    "signal catch": (between(_event("intermediateCatchEvent", SIGNAL)), "x", "segnale"),
    "signal throw": (between(_event("intermediateThrowEvent", SIGNAL)), "x", "segnale"),
    "signal start": (_start(SIGNAL), "altro_inizio", "segnale"),
    "signal boundary": (_boundary(SIGNAL), "bordo", "segnale"),
    "conditional catch": (between(_event("intermediateCatchEvent", CONDITION)), "x", "condizionali"),
    "conditional start": (_start(CONDITION), "altro_inizio", "condizionali"),
    "conditional boundary": (_boundary(CONDITION), "bordo", "condizionali"),
    "none catch": (between(_event("intermediateCatchEvent", "")), "x", "indicare un messaggio o un timer"),
    "link catch": (between(_event("intermediateCatchEvent", LINK)), "x", "collegamento"),
    "link throw": (between(_event("intermediateThrowEvent", LINK)), "x", "collegamento"),
    "compensation throw": (between(_event("intermediateThrowEvent", COMPENSATE)), "x", "compensazione"),
    "compensation boundary": (_boundary(COMPENSATE), "bordo", "compensazione"),
    "timer throw": (between(_event("intermediateThrowEvent", TIMER)), "x", "«timer» non supportato"),
    "message catch without message": (
        between(_event("intermediateCatchEvent", '<bpmn:messageEventDefinition id="d"/>')),
        "x",
        "non indica quale messaggio",
    ),
    "message throw without message": (
        between(_event("intermediateThrowEvent", '<bpmn:messageEventDefinition id="d"/>')),
        "x",
        "non indica quale messaggio",
    ),
    "message boundary without message": (_boundary('<bpmn:messageEventDefinition id="d"/>'), "bordo", "messageRef"),
    "service task": (between('<bpmn:serviceTask id="x" name="Chiama"/>'), "x", "service task"),
    "send task without message": (between('<bpmn:sendTask id="x" name="Invia"/>'), "x", "messageRef"),
    "receive task without message": (between('<bpmn:receiveTask id="x" name="Ricevi"/>'), "x", "messageRef"),
    "complex gateway": (between('<bpmn:complexGateway id="x"/>'), "x", "gateway complessi"),
    "ad hoc subprocess": (
        between(
            '<bpmn:adHocSubProcess id="x"><bpmn:scriptTask id="dentro"><bpmn:script>a = 1</bpmn:script>'
            "</bpmn:scriptTask></bpmn:adHocSubProcess>"
        ),
        "x",
        "ad hoc",
    ),
    "event gateway to a task": (
        _event_gateway('<bpmn:scriptTask id="attesa_b"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>'),
        "x",
        "gateway a eventi",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_construct_that_would_stall_or_be_skipped_is_refused_at_deploy(db, name: str) -> None:
    files, element, cause = REFUSED[name]
    with pytest.raises(DefinitionError) as err:
        deploy(db, files=files)
    found = [(p.file, p.element) for p in err.value.problems]
    assert found == [("passaggio.bpmn", element)], [str(p) for p in err.value.problems]
    message = err.value.problems[0].message
    assert cause in message, message
    assert not any(word in message for word in ("support implemented", "Unsupported", "Error")), message
    assert db.scalar(select(ProcessDefinition.id)) is None, "nothing is stored"


def test_a_partners_pool_drawn_for_context_is_not_checked(db, settings) -> None:
    """A non-executable process (a partner's pool in a collaboration) never runs: what it draws is not refused."""
    files = between('<bpmn:task id="x" name="Verifica"/>')
    partner = (
        '<bpmn:process id="partner" name="CPI" isExecutable="false"><bpmn:startEvent id="p_start"/>'
        '<bpmn:serviceTask id="p_servizio"/><bpmn:intermediateCatchEvent id="p_segnale">'
        '<bpmn:signalEventDefinition id="p_d" signalRef="s1"/></bpmn:intermediateCatchEvent></bpmn:process>'
    )
    files["passaggio.bpmn"] = files["passaggio.bpmn"].replace(
        b"</bpmn:definitions>", partner.encode() + b"</bpmn:definitions>"
    )
    add_ambiti(db)
    deploy(db, files=files)
    instance = start_instance(db, settings, "passaggio", "MILANO", OPERATOR).instance
    assert db.scalar(select(HumanTask.task_name).where(HumanTask.instance_id == instance.id)) == "dopo"


# Constructs BPMN defines as pass-through: the case reaches the user task after them.
PASSING = {
    "abstract task": between('<bpmn:task id="x" name="Verifica documenti"/>'),
    "abstract task with scripts": between(
        '<bpmn:task id="x" name="Segna"><bpmn:extensionElements>'
        "<spiffworkflow:preScript>prima = 1</spiffworkflow:preScript>"
        "<spiffworkflow:postScript>dopo_script = prima + 1</spiffworkflow:postScript>"
        "</bpmn:extensionElements></bpmn:task>"
    ),
    "none throw event": between(_event("intermediateThrowEvent", "")),
    "escalation throw": between(
        _event("intermediateThrowEvent", '<bpmn:escalationEventDefinition id="d" escalationRef="e1"/>')
    ),
    "send task": between('<bpmn:sendTask id="x" name="Invia" messageRef="m1"/>'),
    "message throw": between(_event("intermediateThrowEvent", MESSAGE)),
    "transaction": between(
        '<bpmn:transaction id="x"><bpmn:startEvent id="ts"/><bpmn:endEvent id="te"/>'
        '<bpmn:sequenceFlow id="tf" sourceRef="ts" targetRef="te"/></bpmn:transaction>'
    ),
    "error boundary on a script": _boundary('<bpmn:errorEventDefinition id="d"/>'),
}


@pytest.mark.parametrize("name", sorted(PASSING))
def test_a_pass_through_construct_runs_and_the_case_reaches_the_next_task(db, settings, name: str) -> None:
    add_ambiti(db)
    deploy(db, files=PASSING[name])
    instance = start_instance(db, settings, "passaggio", "MILANO", OPERATOR).instance
    assert instance.status == "running"
    tasks = list(db.scalars(select(HumanTask.task_name).where(HumanTask.instance_id == instance.id)))
    assert tasks == ["dopo"]


def test_abstract_task_runs_its_scripts(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=PASSING["abstract task with scripts"])
    instance = start_instance(db, settings, "passaggio", "MILANO", OPERATOR).instance
    assert json.loads(instance.case_data_json)["dopo_script"] == 2


# Constructs that wait on something the product delivers: a timer (worker) or a message.
def test_waiting_constructs_are_accepted_and_wait_on_what_the_product_delivers(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=between(_event("intermediateCatchEvent", TIMER)))
    timed = start_instance(db, settings, "passaggio", "MILANO", OPERATOR).instance
    assert db.scalar(select(Timer.task_name).where(Timer.instance_id == timed.id)) == "x"

    deploy(db, files=between('<bpmn:receiveTask id="x" name="Ricevi" messageRef="m1"/>'))
    waiting = start_instance(db, settings, "passaggio", "MILANO", OPERATOR).instance
    subscription = db.scalar(select(MessageSubscription).where(MessageSubscription.instance_id == waiting.id))
    assert subscription is not None and subscription.message_name == "conferma"

    message = _event("intermediateCatchEvent", MESSAGE.replace('id="d"', 'id="d3"'), "attesa_b")
    deploy(db, files=_event_gateway(message))
    racing = start_instance(db, settings, "passaggio", "MILANO", OPERATOR).instance
    assert db.scalar(select(Timer.task_name).where(Timer.instance_id == racing.id)) is not None
    assert db.scalar(select(MessageSubscription.id).where(MessageSubscription.instance_id == racing.id)) is not None


def test_a_version_stored_before_abstract_tasks_ran_passes_them_too(db, settings) -> None:
    """A definition deployed when `bpmn:task` was a manual task nobody could see: starting
    a case on it no longer leaves the case waiting there."""
    add_ambiti(db)
    deploy(db, files=PASSING["abstract task"])
    definition = db.scalar(select(ProcessDefinition))
    spec = json.loads(definition.spec_json)
    legacy = spec["spec"]["task_specs"]["x"]
    assert legacy["typename"] == "AbstractTask"
    legacy.update(typename="NoneTask", manual=True)
    definition.spec_json = json.dumps(spec)
    definition.content_hash = "legacy-" + definition.content_hash[:50]
    db.flush()
    instance = start_instance(db, settings, "passaggio", "MILANO", OPERATOR).instance
    assert db.scalar(select(HumanTask.task_name).where(HumanTask.instance_id == instance.id)) == "dopo"


def test_a_process_that_starts_only_by_message_is_refused_when_started_by_hand(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=builders.referral_bundle(with_none_start=False))
    with pytest.raises(NotStartable) as err:
        start_instance(db, settings, "accoglienza", "MILANO", OPERATOR)
    assert "si avvia solo con il messaggio «segnalazione»" in err.value.message
    assert "inlav messages send segnalazione --ambito MILANO" in err.value.message
    assert db.scalar(select(ProcessInstance.id)) is None, "nothing is stored"
    from web.errors import status_for

    assert status_for(err.value) == (422, "not_startable"), "the web and the API answer 422 with the reason"
