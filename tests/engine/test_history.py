"""History is append-only and hash-chained: auditors can tell if anything was altered."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import claim_task, release_task, start_instance, verify_chain
from engine.datadiff import data_diff
from engine.history import GENESIS
from engine.models import HistoryEvent, HumanTask
from tests.conftest import OPERATOR, add_ambiti, deploy


def test_chain_links_every_event(db, settings) -> None:
    add_ambiti(db)
    deploy(db)
    instance = start_instance(
        db, settings, "sample_case", "MILANO", OPERATOR, data={"durata_sollecito": "PT1H"}
    ).instance
    task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    claim_task(db, task.task_id, OPERATOR)
    release_task(db, task.task_id, OPERATOR)
    events = list(
        db.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq))
    )
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    assert {e.definition_id for e in events} == {instance.definition_id}
    assert [e.actor for e in events] == ["anna", "anna", "anna"]
    assert verify_chain(db, instance.id) == []


@pytest.mark.parametrize("statement", ["UPDATE history_event SET actor = 'mallory'", "DELETE FROM history_event"])
def test_rows_cannot_be_changed_or_removed(db, settings, statement: str) -> None:
    add_ambiti(db)
    deploy(db)
    start_instance(db, settings, "sample_case", "MILANO", OPERATOR, data={"durata_sollecito": "PT1H"})
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement))


def test_tampering_is_detected_when_the_guard_is_bypassed(db, settings) -> None:
    add_ambiti(db)
    deploy(db)
    instance = start_instance(
        db, settings, "sample_case", "MILANO", OPERATOR, data={"durata_sollecito": "PT1H"}
    ).instance
    task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    claim_task(db, task.task_id, OPERATOR)
    # Someone with database superpowers rewrites who acted, bypassing the trigger.
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE history_event DISABLE TRIGGER history_event_append_only"))
        db.execute(text("UPDATE history_event SET actor = 'mallory' WHERE seq = 2"))
        db.execute(text("ALTER TABLE history_event ENABLE TRIGGER history_event_append_only"))
    else:
        db.execute(text("DROP TRIGGER history_event_no_update"))
        db.execute(text("UPDATE history_event SET actor = 'mallory' WHERE seq = 2"))
    assert verify_chain(db, instance.id) == [2]


def test_data_diff_lists_added_changed_removed() -> None:
    assert data_diff({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5, "d": 4}) == {
        "added": {"d": 4},
        "changed": {"b": [2, 5]},
        "removed": {"c": 3},
    }
    assert data_diff({"a": 1}, {"a": 1}) is None


def test_values_set_by_a_pre_script_are_in_the_history_and_case_data(db, settings) -> None:
    import json

    from engine import complete_task, get_instance
    from tests import builders

    task = builders.user_task("compila").replace(
        "<bpmn:extensionElements>",
        "<bpmn:extensionElements><spiffworkflow:preScript>proposta = 'oggi'</spiffworkflow:preScript>",
    )
    body = (
        '<bpmn:startEvent id="start"/>'
        + task
        + '<bpmn:endEvent id="fine"/>'
        + builders.flow("f1", "start", "compila")
        + builders.flow("f2", "compila", "fine")
    )
    files = {
        "pre.bpmn": builders.document(builders.process("pre", body, ["compila"])),
        "nota.schema.json": builders.form_json(),
    }
    add_ambiti(db)
    deploy(db, files=files)
    instance = start_instance(db, settings, "pre", "MILANO", OPERATOR).instance
    human = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    complete_task(db, settings, human.task_id, {"nota": "a"}, OPERATOR)
    event = db.scalar(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "task_completed")
    )
    assert json.loads(event.data_diff_json) == {"added": {"nota": "a", "proposta": "oggi"}}
    case_data = json.loads(get_instance(db, instance.case_code).case_data_json)
    assert case_data == {"nota": "a", "proposta": "oggi", "codice_caso": instance.case_code, "ambito_caso": "MILANO"}
