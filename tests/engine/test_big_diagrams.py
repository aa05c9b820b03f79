"""Big diagrams: a process of 5,000 flow nodes deploys, runs to its end and is stored."""

from __future__ import annotations

import json

import pytest
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


def _straight_chain(count: int, element: str, inside_subprocess: bool = False) -> dict[str, bytes]:
    """start → `count` elements of one kind, one after the other, no gateway → a user task → end."""
    if element == "scriptTask":
        nodes = "".join(builders.script_task(f"t{i}", "passi = passi + 1") for i in range(count))
    else:
        nodes = "".join(f'<bpmn:{element} id="t{i}"/>' for i in range(count))
    flows = "".join(builders.flow(f"c{i}", f"t{i}", f"t{i + 1}") for i in range(count - 1))
    setup = builders.script_task("via", "passi = 0")
    if inside_subprocess:
        inner = '<bpmn:startEvent id="s_in"/>' + nodes + '<bpmn:endEvent id="e_in"/>' + flows
        inner += builders.flow("c_in", "s_in", "t0") + builders.flow("c_out", f"t{count - 1}", "e_in")
        body = f'<bpmn:startEvent id="start"/>{setup}<bpmn:subProcess id="sotto">{inner}</bpmn:subProcess>'
        body += builders.flow("f0", "start", "via") + builders.flow("f1", "via", "sotto")
        body += builders.flow("f2", "sotto", "dopo")
    else:
        body = '<bpmn:startEvent id="start"/>' + setup + nodes + flows
        body += builders.flow("f0", "start", "via") + builders.flow("f1", "via", "t0")
        body += builders.flow("f2", f"t{count - 1}", "dopo")
    body += builders.user_task("dopo") + '<bpmn:endEvent id="fine"/>' + builders.flow("f3", "dopo", "fine")
    return {"dritta.bpmn": builders.document(builders.process("dritta", body, ["dopo"])), **_form()}


def _form() -> dict[str, bytes]:
    return {"nota.schema.json": builders.form_json()}


@pytest.mark.parametrize(
    "count, element, inside_subprocess",
    [
        (5000, "task", False),  # the abstract task: runs by itself (issue #8)
        (1500, "scriptTask", False),
        (5000, "exclusiveGateway", False),
        (3000, "task", True),
    ],
    ids=["5000 tasks", "1500 script tasks", "5000 gateways", "3000 tasks in a subprocess"],
)
def test_straight_chains_start_and_run_to_the_person_waiting_after_them(
    db, settings, count: int, element: str, inside_subprocess: bool
) -> None:
    """A run of activities with no gateway used to deploy but not start: SpiffWorkflow
    predicted the whole certain future of the case recursively, one frame per task
    (RecursionError from ~900 tasks: a traceback from the CLI, a 500 from the API)."""
    add_ambiti(db)
    deploy(db, files=_straight_chain(count, element, inside_subprocess))
    outcome = start_instance(db, settings, "dritta", "MILANO", OPERATOR)
    assert outcome.error is None, outcome.error
    [task] = db.scalars(select(HumanTask).where(HumanTask.instance_id == outcome.instance.id)).all()
    assert task.task_name == "dopo"
    assert complete_task(db, settings, task.task_id, {"nota": "fatto"}, OPERATOR).error is None
    case = get_instance(db, outcome.instance.case_code)
    assert case.status == "completed"
    if element == "scriptTask":
        assert json.loads(case.workflow_json)["data"]["passi"] == count
