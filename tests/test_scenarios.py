"""Walk the sample bundle through the engine API: every step reloads the case from the database."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from engine import (
    Conflict,
    Forbidden,
    FormInvalid,
    InboxFilter,
    NotFound,
    TaskNotReady,
    claim_task,
    complete_task,
    deliver,
    get_instance,
    list_inbox,
    release_task,
    send_message,
    start_instance,
    verify_chain,
)
from engine.access.roles import SYSTEM
from engine.config import Settings
from engine.instances import run_step
from engine.messages import DELIVERED, UNMATCHED, deliverable_ids
from engine.models import HistoryEvent, HumanTask, MessageSubscription, ProcessInstance, TaskState, Timer
from tests.conftest import DIRECTOR, OPERATOR, OTHER_AMBITO, TUTOR, add_ambiti, deploy

CONTACT = {"alias": "Amir", "eta": 30, "grado": "lavoro_nero", "tipi_intervento": ["orientamento", "legale"]}


@pytest.fixture
def case(db, settings):
    add_ambiti(db)
    deploy(db)
    outcome = start_instance(db, settings, "sample_case", "MILANO", OPERATOR, data={"durata_sollecito": "PT1H"})
    return outcome.instance


def inbox(db, actor, **flt) -> list[HumanTask]:
    rows, _ = list_inbox(db, actor, InboxFilter(**flt))
    return rows


def only_task(db, actor, instance) -> HumanTask:
    rows = inbox(db, actor, case_code=instance.case_code)
    assert len(rows) == 1, [r.task_name for r in rows]
    return rows[0]


def kinds(db, instance) -> list[str]:
    return list(
        db.scalars(select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq))
    )


def walk_to_services(db, settings: Settings, instance, contact: dict) -> None:
    task = only_task(db, OPERATOR, instance)
    assert task.task_name == "registra"
    outcome = complete_task(db, settings, task.task_id, contact, OPERATOR)
    assert outcome.error is None


def test_normal_priority_path_reaches_services_and_closure(db, settings: Settings, case) -> None:
    walk_to_services(db, settings, case, CONTACT)
    # Normal priority: no approval; the called subprocess spawns one task per intervention.
    tutor_tasks = inbox(db, TUTOR, case_code=case.case_code)
    assert sorted(t.title for t in tutor_tasks) == [
        "Eroga l'intervento — legale",
        "Eroga l'intervento — orientamento",
    ]
    assert all(t.lane == "esperto_politiche_lavoro" for t in tutor_tasks)
    for task in tutor_tasks:
        complete_task(db, settings, task.task_id, {"esito": {"riuscito": "orient" in task.title}}, TUTOR)
    sub = db.scalar(select(MessageSubscription).where(MessageSubscription.instance_id == case.id))
    assert (sub.message_name, sub.correlation_key) == ("risposta_partner", case.case_code)

    message = send_message(db, "risposta_partner", {"accettato": True}, case.case_code, source="test")
    deliver(db, settings, message.id)
    assert message.status == DELIVERED and message.instance_id == case.id
    closure = only_task(db, OPERATOR, case)
    outcome = complete_task(db, settings, closure.task_id, {"esito_finale": "inserimento"}, OPERATOR)
    assert outcome.completed
    instance = get_instance(db, case.case_code)
    assert instance.status == "completed"
    data = instance_data(db, instance)
    assert data["priorita"] == "normale"
    assert sorted(e["riuscito"] for e in data["esiti"]) == [False, True]
    assert data["esiti_positivi"] == 1
    assert data["risposta"] == {"accettato": True}
    assert data["fascia"] == "over 25"
    assert kinds(db, instance)[0] == "instance_started"
    assert kinds(db, instance)[-1] == "instance_completed"
    assert "decision" in kinds(db, instance) and "message_received" in kinds(db, instance)
    assert verify_chain(db, instance.id) == []
    assert db.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.instance_id == instance.id)) == 0


def instance_data(db, instance: ProcessInstance) -> dict:

    return json.loads(instance.workflow_json)["data"]


def test_high_priority_goes_through_director_approval(db, settings: Settings, case) -> None:
    walk_to_services(db, settings, case, {**CONTACT, "eta": 16})
    approval = only_task(db, DIRECTOR, case)
    assert approval.task_name == "approva"
    timer = db.scalar(select(Timer).where(Timer.instance_id == case.id))
    assert timer is not None and timer.task_name == "timer_approva"
    complete_task(db, settings, approval.task_id, {"approvato": True, "nota": "urgente"}, DIRECTOR)
    assert db.scalar(select(Timer).where(Timer.instance_id == case.id)) is None, "boundary timer cancelled"
    assert {t.task_name for t in inbox(db, TUTOR, case_code=case.case_code)} == {"eroga"}


def test_boundary_timer_interrupts_approval(db, settings: Settings) -> None:
    add_ambiti(db)
    deploy(db)
    instance = start_instance(
        db, settings, "sample_case", "MILANO", OPERATOR, data={"durata_sollecito": "PT1S"}
    ).instance
    walk_to_services(db, settings, instance, {**CONTACT, "grado": "grave_sfruttamento"})
    approval = only_task(db, DIRECTOR, instance)
    time.sleep(1.2)
    outcome = run_step(db, settings, instance.id, SYSTEM, lambda c: c.fire_timers())
    assert outcome.error is None
    tasks = inbox(db, DIRECTOR, case_code=instance.case_code)
    assert [t.task_name for t in tasks] == ["sollecito"]
    history = kinds(db, instance)
    assert "timer_fired" in history and "task_cancelled" in history
    with pytest.raises(TaskNotReady):
        complete_task(db, settings, approval.task_id, {"approvato": True}, DIRECTOR)


def test_form_validation_is_on_the_server_and_in_italian(db, settings: Settings, case) -> None:
    task = only_task(db, OPERATOR, case)
    with pytest.raises(FormInvalid) as err:
        complete_task(db, settings, task.task_id, {"alias": "", "eta": 120, "grado": "altro"}, OPERATOR)
    errors = err.value.errors
    assert errors["alias"] == ["campo obbligatorio"]
    assert errors["eta"] == ["deve essere al massimo 99"]
    assert errors["grado"] == ["scegliere uno dei valori proposti"]
    assert errors["tipi_intervento"] == ["campo obbligatorio"]
    with pytest.raises(FormInvalid) as err:
        complete_task(db, settings, task.task_id, {**CONTACT, "priorita": "alta"}, OPERATOR)
    assert err.value.errors == {"priorita": ["campo non previsto dal modulo"]}
    # Nothing moved: the task is still there and the case did not advance.
    assert only_task(db, OPERATOR, case).task_id == task.task_id
    assert kinds(db, case) == ["instance_started"]


def test_permissions_role_ambito_and_assignee(db, settings: Settings, case) -> None:
    task = only_task(db, OPERATOR, case)
    assert inbox(db, DIRECTOR, case_code=case.case_code) == []
    assert inbox(db, OTHER_AMBITO, case_code=case.case_code) == []
    with pytest.raises(Forbidden):
        complete_task(db, settings, task.task_id, CONTACT, DIRECTOR)
    with pytest.raises(NotFound, match="Attività non trovata"):  # as if it did not exist
        claim_task(db, task.task_id, OTHER_AMBITO)
    with pytest.raises(NotFound, match="Attività non trovata"):
        release_task(db, task.task_id, OTHER_AMBITO)
    colleague = OPERATOR.__class__("bruno", OPERATOR.roles, OPERATOR.ambiti)
    claim_task(db, task.task_id, OPERATOR)
    with pytest.raises(Conflict):
        claim_task(db, task.task_id, colleague)
    with pytest.raises(Forbidden):
        complete_task(db, settings, task.task_id, CONTACT, colleague)
    with pytest.raises(Forbidden):
        release_task(db, task.task_id, colleague)
    assert [t.task_id for t in inbox(db, colleague, unassigned_only=True, case_code=case.case_code)] == []
    release_task(db, task.task_id, OPERATOR)
    claim_task(db, task.task_id, colleague)
    assert complete_task(db, settings, task.task_id, CONTACT, colleague).error is None
    assert {"task_claimed", "task_released", "task_completed"} <= set(kinds(db, case))
    with pytest.raises(NotFound):
        complete_task(db, settings, "00000000-0000-0000-0000-000000000000", {}, OPERATOR)


def test_unmatched_message_is_kept_then_delivered_when_a_case_waits(db, settings: Settings, case) -> None:
    early = send_message(db, "risposta_partner", {"accettato": False}, case.case_code, source="test")
    deliver(db, settings, early.id)
    assert early.status == UNMATCHED and early.error
    stranger = send_message(db, "risposta_partner", {}, "NESSUN-CASO", source="test")
    deliver(db, settings, stranger.id)
    assert stranger.status == UNMATCHED
    assert early.id not in deliverable_ids(db, 10)
    walk_to_services(db, settings, case, CONTACT)
    for task in inbox(db, TUTOR, case_code=case.case_code):
        complete_task(db, settings, task.task_id, {"esito": {"riuscito": True}}, TUTOR)
    # Now the case waits: the kept message becomes deliverable, the stranger does not.
    ids = deliverable_ids(db, 10)
    assert early.id in ids and stranger.id not in ids
    deliver(db, settings, early.id)
    assert early.status == DELIVERED
    assert only_task(db, OPERATOR, case).task_name == "chiusura"
    assert stranger.status == UNMATCHED


def test_every_step_stores_only_live_tasks(db, settings: Settings, case) -> None:
    walk_to_services(db, settings, case, CONTACT)
    instance = get_instance(db, case.case_code)
    live = db.scalar(select(func.count()).select_from(TaskState).where(TaskState.instance_id == instance.id))
    assert live == instance.live_task_count
    assert instance.archived_task_count > 0
    assert live < 40


def test_cases_know_their_code_and_ambito(db, settings) -> None:
    add_ambiti(db)
    deploy(db)
    outcome = start_instance(
        db, settings, "sample_case", "MILANO", OPERATOR, "MI-9", {"durata_sollecito": "PT1H", "codice_caso": "FALSO"}
    )
    data = json.loads(outcome.instance.case_data_json)
    assert (data["codice_caso"], data["ambito_caso"]) == ("MI-9", "MILANO")
