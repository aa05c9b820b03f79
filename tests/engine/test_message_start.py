"""A partner's referral (a message) starts a case through a message start event."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import complete_task, deliver, send_message, start_instance
from engine.messages import DELIVERED, UNMATCHED
from engine.models import HistoryEvent, HumanTask, ProcessInstance
from engine.privacy import cipher_for
from tests import builders
from tests.conftest import OPERATOR, add_ambiti, deploy


@pytest.mark.parametrize("with_none_start", [True, False])
def test_referral_message_starts_a_case_in_the_messages_ambito(db, settings, with_none_start: bool) -> None:
    add_ambiti(db)
    deploy(db, files=builders.referral_bundle(with_none_start=with_none_start))
    message = send_message(db, "segnalazione", {"da": "CPI Milano", "alias": "K."}, ambito="MILANO", source="cpi")
    outcome = deliver(db, settings, message.id)
    assert message.status == DELIVERED and outcome is not None and outcome.error is None
    instance = db.get(ProcessInstance, message.instance_id)
    assert instance.ambito_code == "MILANO" and instance.started_by == "sistema"
    task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    assert task.task_name == "primo_colloquio"
    started = db.scalar(select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.seq == 1))
    assert json.loads(started.detail_json)["message"] == "segnalazione"
    done = complete_task(db, settings, task.task_id, {"nota": "visto"}, OPERATOR)
    assert done.completed
    stored = db.get(ProcessInstance, instance.id).workflow_json
    assert '"K."' not in stored, "the alias in the partner's payload is sealed at rest"
    data = cipher_for(db, settings, instance).open_text(stored)["data"]
    assert data["segnalazione"] == {"da": "CPI Milano", "alias": "K."} and data["nota"] == "visto"


def test_manual_start_still_works_and_a_referral_without_ambito_is_kept(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=builders.referral_bundle())
    instance = start_instance(db, settings, "accoglienza", "MILANO", OPERATOR).instance
    assert db.scalar(select(HumanTask.task_name).where(HumanTask.instance_id == instance.id)) == "primo_colloquio"
    message = send_message(db, "segnalazione", {}, source="cpi")
    deliver(db, settings, message.id)
    assert message.status == UNMATCHED and "Ambito" in message.error
