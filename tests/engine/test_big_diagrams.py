"""Big diagrams: a process of 5,000 flow nodes deploys, runs to its end and is stored."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from engine import check_bundle, complete_task, get_instance, start_instance
from engine.models import HumanTask, TaskState
from engine.spiff.parsing import MAX_LOOP_ELEMENTS
from tests import builders
from tests.conftest import OPERATOR, add_ambiti, deploy


def test_process_of_5000_flow_nodes_deploys_and_runs_to_its_end(db, settings) -> None:
    """A chain of 5,000 flow nodes (≈10,400 BPMN elements with the sequence flows): script
    tasks, exclusive split/merge pairs and a user task every 500 nodes. A chain of ~400
    used to fail at deploy with RecursionError inside SpiffWorkflow's parser."""
    files = builders.long_chain_bundle(5000, user_every=500)
    add_ambiti(db)
    result = deploy(db, files=files)
    assert [d.process_key for d in result.definitions] == ["catena"]
    instance = start_instance(db, settings, "catena", "MILANO", OPERATOR).instance
    completed_users = 0
    while True:
        task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
        if task is None:
            break
        outcome = complete_task(db, settings, task.task_id, {"nota": f"verifica {completed_users}"}, OPERATOR)
        assert outcome.error is None, outcome.error
        completed_users += 1
    case = get_instance(db, instance.case_code)
    assert case.status == "completed"
    data = json.loads(case.workflow_json)["data"]
    xml = files["catena.bpmn"].decode()
    assert completed_users == xml.count("<bpmn:userTask ")
    scripts = xml.count("<bpmn:scriptTask ") - 1 - xml.count('_ramo" name=')  # minus set-up and branch tasks
    assert data["passi"] == scripts
    assert data["deviazioni"] > 0, "some exclusive gateways took their conditional branch"
    live = db.scalar(select(func.count()).select_from(TaskState).where(TaskState.instance_id == instance.id))
    assert live < 10


def test_chain_of_500_tasks_is_checked_without_recursion_error() -> None:
    """The issue's input: start → 500 tasks → end used to raise RecursionError at deploy."""
    check = check_bundle(None, builders.long_chain_bundle(500, user_every=10_000))
    assert check.ok, [str(p) for p in check.problems]


def _loop_bundle(before: int, loop: int) -> dict[str, bytes]:
    """start → `before` script tasks → a loop of `loop` script tasks closed by a gateway → end."""
    body = ['<bpmn:startEvent id="start"/>', builders.script_task("a0", "giri = 0")]
    flows = [builders.flow("f_start", "start", "a0")]
    previous = "a0"
    for index in range(1, before):
        body.append(builders.script_task(f"a{index}", "giri = giri"))
        flows.append(builders.flow(f"fa{index}", previous, f"a{index}"))
        previous = f"a{index}"
    for index in range(loop - 1):  # the gateway is the loop's last element
        body.append(builders.script_task(f"c{index}", "giri = giri + 1" if index == 0 else "giri = giri"))
        flows.append(builders.flow(f"fc{index}", previous, f"c{index}"))
        previous = f"c{index}"
    body.append('<bpmn:exclusiveGateway id="ancora" default="basta"/><bpmn:endEvent id="fine"/>')
    flows.append(builders.flow("f_gw", previous, "ancora"))
    flows.append(builders.flow("indietro", "ancora", "c0", "giri < 3"))
    flows.append(builders.flow("basta", "ancora", "fine"))
    return {"giro.bpmn": builders.document(builders.process("giro", "".join(body + flows), []))}


def test_loop_in_a_big_process_runs(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=_loop_bundle(before=600, loop=MAX_LOOP_ELEMENTS))
    outcome = start_instance(db, settings, "giro", "MILANO", OPERATOR)
    assert outcome.error is None and outcome.completed
    assert json.loads(get_instance(db, outcome.instance.case_code).workflow_json)["data"]["giri"] == 3


def test_too_long_loop_is_refused_with_a_clear_message() -> None:
    check = check_bundle(None, _loop_bundle(before=600, loop=MAX_LOOP_ELEMENTS + 1))
    assert [(p.file, p.element) for p in check.problems] == [("giro.bpmn", "indietro")]
    message = check.problems[0].message
    assert f"ciclo di {MAX_LOOP_ELEMENTS + 1} elementi" in message and "sottoprocesso" in message
