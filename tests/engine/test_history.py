"""History is append-only and hash-chained: auditors can tell if anything was altered."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import claim_task, release_task, start_instance, verify_chain
from engine.history import GENESIS, data_diff
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
