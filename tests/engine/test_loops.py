"""Long loops: SpiffWorkflow's iterator stops at depth 1000; pruning keeps cases far below it."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from engine import ScriptError, complete_task, get_instance, start_instance
from engine.models import HumanTask, TaskArchive, TaskState
from tests import builders
from tests.conftest import OPERATOR, add_ambiti, deploy


def test_raw_spiffworkflow_stalls_on_a_long_back_edge_loop() -> None:
    """Why the guard exists: without pruning the loop silently stops and claims to be done."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    parser.add_bpmn_io(io.BytesIO(builders.loop_bundle()["ciclo.bpmn"]), "ciclo.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("ciclo"))
    workflow.task_tree.data.update({"i": 0, "n": 400, "storico": []})
    workflow.do_engine_steps()
    counter = workflow.last_task.data["i"] if workflow.last_task else 0
    assert counter < 400, "raw engine stops early (three tasks per iteration: depth 1000 at ~333)"
    assert workflow.is_completed(), "...and yet reports itself completed"


def test_automatic_loop_of_400_iterations_finishes_correctly(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=builders.loop_bundle())
    outcome = start_instance(db, settings, "ciclo", "MILANO", OPERATOR, data={"i": 0, "n": 400, "storico": []})
    assert outcome.error is None and outcome.completed
    data = json.loads(get_instance(db, outcome.instance.case_code).workflow_json)["data"]
    assert data["i"] == 400 and data["storico"] == [396, 397, 398, 399, 400]
    live = db.scalar(select(func.count()).select_from(TaskState).where(TaskState.instance_id == outcome.instance.id))
    assert live < 10
    archived = db.scalar(
        select(func.count()).select_from(TaskArchive).where(TaskArchive.instance_id == outcome.instance.id)
    )
    assert archived >= 1200


def test_runaway_loop_is_refused_not_stored(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=builders.loop_bundle())
    small = settings.model_copy(update={"max_engine_tasks_per_step": 300})
    with pytest.raises(ScriptError, match="ciclo infinito"):
        start_instance(db, small, "ciclo", "MILANO", OPERATOR, data={"i": 0, "n": 10**9, "storico": []})


def test_user_task_loop_stays_small_however_many_cycles(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=builders.user_loop_bundle())
    instance = start_instance(db, settings, "revisioni", "MILANO", OPERATOR, data={"giro": 0}).instance
    live_counts = []
    for cycle in range(60):
        task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
        outcome = complete_task(db, settings, task.task_id, {"finito": cycle == 59, "nota": f"giro {cycle}"}, OPERATOR)
        assert outcome.error is None
        live_counts.append(get_instance(db, instance.case_code).live_task_count)
    assert outcome.completed
    assert json.loads(get_instance(db, instance.case_code).workflow_json)["data"]["giro"] == 60
    assert max(live_counts[5:]) == min(live_counts[5:59]), f"live tree size must not grow: {live_counts}"


def _endless_standard_loop(inside_subprocess: bool) -> dict[str, bytes]:
    """The issue's input: a `bpmn:task` with a standard loop whose condition never lets it
    end and no loopMaximum (accepted at deploy: SpiffWorkflow needs one of the two)."""
    looping = (
        '<bpmn:task id="gira" name="Gira"><bpmn:standardLoopCharacteristics>'
        "<bpmn:loopCondition>True</bpmn:loopCondition></bpmn:standardLoopCharacteristics></bpmn:task>"
    )
    if inside_subprocess:
        inner = '<bpmn:startEvent id="s_in"/>' + looping + '<bpmn:endEvent id="e_in"/>'
        inner += builders.flow("c1", "s_in", "gira") + builders.flow("c2", "gira", "e_in")
        looping = f'<bpmn:subProcess id="sotto">{inner}</bpmn:subProcess>'
        first = "sotto"
    else:
        first = "gira"
    body = '<bpmn:startEvent id="start"/>' + looping + builders.user_task("dopo") + '<bpmn:endEvent id="fine"/>'
    body += builders.flow("f1", "start", first) + builders.flow("f2", first, "dopo")
    body += builders.flow("f3", "dopo", "fine")
    return {
        "senza_fine.bpmn": builders.document(builders.process("senza_fine", body, ["dopo"])),
        "nota.schema.json": builders.form_json(),
    }


@pytest.mark.parametrize("inside_subprocess", [False, True], ids=["loop", "loop in a subprocess"])
def test_an_endless_loop_stops_at_the_step_budget_with_a_clear_error(db, settings, inside_subprocess) -> None:
    """It used to run for ten minutes and more (the 20,000-task guard was only checked between
    SpiffWorkflow's passes, and an endless loop never ends a pass), holding the database's
    write lock: on SQLite every other request failed with «database is locked»."""
    add_ambiti(db)
    deploy(db, files=_endless_standard_loop(inside_subprocess))
    quick = settings.model_copy(update={"max_step_seconds": 1.0})
    with pytest.raises(ScriptError) as err:
        start_instance(db, quick, "senza_fine", "MILANO", OPERATOR)
    assert "il passo automatico dura più di 1 secondi" in str(err.value)
    assert "probabile ciclo senza fine" in str(err.value)
    assert db.scalar(select(func.count()).select_from(HumanTask)) == 0


def test_an_endless_loop_stops_at_the_task_guard_before_the_time_budget(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=_endless_standard_loop(inside_subprocess=True))
    few = settings.model_copy(update={"max_engine_tasks_per_step": 50})
    with pytest.raises(ScriptError) as err:
        start_instance(db, few, "senza_fine", "MILANO", OPERATOR)
    assert "più di 50 passi automatici" in str(err.value)
