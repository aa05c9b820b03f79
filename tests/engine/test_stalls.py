"""Running cases that wait for nothing are found, listed within the viewer's reach, and noted
once in their history by the worker; healthy cases (waiting for a person, a timer or a message)
and finished ones are never listed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import codec, complete_task, start_instance, verify_chain
from engine.access import Actor
from engine.access.roles import SYSTEM
from engine.clock import utcnow
from engine.errors import Forbidden, NotFound
from engine.models import Bundle, HistoryEvent, HumanTask, ProcessDefinition
from engine.safexml import parse_xml
from engine.spiff import parse_bundle
from engine.supervision import STALLED, record_new_stalls, stalled_cases
from tests import builders
from tests.conftest import DIRECTOR, OPERATOR, OTHER_AMBITO, add_ambiti, deploy

LECCO_DIRECTOR = Actor("luca", frozenset({"direttore_pua"}), frozenset({"LECCO"}))


def deadlock_bundle() -> dict[str, bytes]:
    """An exclusive split closed by a parallel join: the join waits for a branch never taken.
    It passes every deploy check (it is a modelling error, not an unsupported construct)."""
    body = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:exclusiveGateway id="scelta" default="f_a"/>'
        + builders.script_task("ramo_a", "a = 1")
        + builders.script_task("ramo_b", "b = 1")
        + '<bpmn:parallelGateway id="unione"/><bpmn:endEvent id="fine"/>'
        + builders.flow("f0", "start", "scelta")
        + builders.flow("f_a", "scelta", "ramo_a")
        + builders.flow("f_b", "scelta", "ramo_b", "False")
        + builders.flow("f1", "ramo_a", "unione")
        + builders.flow("f2", "ramo_b", "unione")
        + builders.flow("f3", "unione", "fine")
    )
    return {"stallo.bpmn": builders.document(builders.process("stallo", body, []))}


def signal_bundle() -> dict[str, bytes]:
    """start → script → wait for a signal nobody sends → end (refused at deploy today)."""
    body = (
        '<bpmn:startEvent id="start"/>'
        + builders.script_task("prepara", "pronto = True")
        + '<bpmn:intermediateCatchEvent id="segnale" name="Attende il segnale">'
        '<bpmn:signalEventDefinition id="d" signalRef="s1"/></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="fine"/>'
        + builders.flow("f1", "start", "prepara")
        + builders.flow("f2", "prepara", "segnale")
        + builders.flow("f3", "segnale", "fine")
    )
    xml = builders.document(builders.process("vecchio", body, []))
    xml = xml.replace(b"<bpmn:process", b'<bpmn:signal id="s1" name="via"/><bpmn:process', 1)
    return {"vecchio.bpmn": xml}


def store_unchecked(db, files: dict[str, bytes]) -> ProcessDefinition:
    """A version stored as a deployment did before the construct check: parsed, not checked."""
    parsed = parse_bundle({name: parse_xml(content) for name, content in files.items()}, {})
    assert not parsed.problems
    now = utcnow()
    bundle = Bundle(ambito_code=None, content_hash="prima-del-controllo", created_at=now, created_by="test", note=None)
    db.add(bundle)
    db.flush()
    [(key, process)] = parsed.processes.items()
    definition = ProcessDefinition(
        bundle_id=bundle.id,
        ambito_code=None,
        process_key=key,
        name=process.name,
        version=1,
        content_hash=codec.digest(process.spec_json),
        spec_json=process.spec_json,
        calls_json="[]",
        start_messages_json="[]",
        personal_fields_json="[]",
        created_at=now,
    )
    db.add(definition)
    db.flush()
    return definition


def receive_bundle() -> dict[str, bytes]:
    """start → wait for message «conferma» → end."""
    body = (
        '<bpmn:startEvent id="start"/><bpmn:receiveTask id="attesa" name="Attende" messageRef="m1"/>'
        '<bpmn:endEvent id="fine"/>' + builders.flow("f1", "start", "attesa") + builders.flow("f2", "attesa", "fine")
    )
    xml = builders.document(builders.process("risposta", body, []))
    xml = xml.replace(b"<bpmn:process", b'<bpmn:message id="m1" name="conferma"/><bpmn:process', 1)
    return {"risposta.bpmn": xml}


@pytest.fixture
def cases(db, settings) -> dict[str, str]:
    """One case of each kind, by what it waits for; returns kind → case code."""
    add_ambiti(db)
    store_unchecked(db, signal_bundle())
    for files in (deadlock_bundle(), builders.form_then_script("x = 1"), builders.timer_bundle(), receive_bundle()):
        deploy(db, files=files)
    deploy(db, files=builders.loop_bundle())
    deploy(db, files=builders.form_then_script("x = manca + 1", "rotto"))

    def start(key: str, ambito: str = "MILANO", data: dict | None = None) -> str:
        return start_instance(db, settings, key, ambito, SYSTEM, data=data).instance.case_code

    codes = {
        "signal": start("vecchio"),
        "deadlock": start("stallo"),
        "deadlock_lecco": start("stallo", "LECCO"),
        "user_task": start("calcolo"),
        "timer": start("attesa", data={"durata": "PT1H"}),
        "message": start("risposta"),
        "completed": start("ciclo", data={"i": 0, "n": 1, "storico": []}),
        "error": start("rotto"),
    }
    task = db.scalar(select(HumanTask).where(HumanTask.case_code == codes["error"]))
    assert complete_task(db, settings, task.task_id, {"nota": "x"}, OPERATOR).error is not None
    return codes


def test_detector_lists_exactly_the_cases_that_wait_for_nothing(db, cases) -> None:
    found = {c.case_code: c for c in stalled_cases(db, SYSTEM)}
    assert set(found) == {cases["signal"], cases["deadlock"], cases["deadlock_lecco"]}
    signal = found[cases["signal"]]
    assert (signal.ambito, signal.process_key, signal.version) == ("MILANO", "vecchio", 1)
    assert signal.last_step == "Calcolo", "the script before the signal wait was the last step"
    assert signal.since is not None and not signal.reported


def test_detector_keeps_to_the_viewers_ambiti(db, cases) -> None:
    mine = {c.case_code for c in stalled_cases(db, DIRECTOR)}
    assert mine == {cases["signal"], cases["deadlock"]}
    assert {c.case_code for c in stalled_cases(db, LECCO_DIRECTOR)} == {cases["deadlock_lecco"]}
    assert {c.case_code for c in stalled_cases(db, SYSTEM, "LECCO")} == {cases["deadlock_lecco"]}
    with pytest.raises(NotFound):
        stalled_cases(db, DIRECTOR, "LECCO")  # another Ambito: as if it did not exist
    with pytest.raises(Forbidden):
        stalled_cases(db, OPERATOR)  # operators cannot resume cases
    with pytest.raises(Forbidden):
        stalled_cases(db, OTHER_AMBITO)


def test_worker_notes_each_stalled_case_once_in_its_history(db, cases) -> None:
    first = record_new_stalls(db)
    assert {c.case_code for c in first} == {cases["signal"], cases["deadlock"], cases["deadlock_lecco"]}
    assert record_new_stalls(db) == [], "a case already noted is not noted again"
    signal = next(c for c in stalled_cases(db, SYSTEM) if c.case_code == cases["signal"])
    assert signal.reported and signal.last_step == "Calcolo"
    events = list(
        db.scalars(
            select(HistoryEvent).where(HistoryEvent.instance_id == signal.instance_id, HistoryEvent.kind == STALLED)
        )
    )
    assert len(events) == 1 and "nessuno lo farà proseguire" in json.loads(events[0].detail_json)["message"]
    assert verify_chain(db, signal.instance_id) == []
