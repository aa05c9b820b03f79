"""Pruning never changes what a case does: the same runs with and without it, with every
step stored and restored, produce the same path and the same data."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from engine.definitions import check_bundle, read_bundle_paths
from engine.spiff import Case, Snapshot, TaskRow, build_specset
from engine.spiff import case as case_module
from tests.conftest import BUNDLES

Driver = Callable[[Case, int], tuple[str, Any] | None]


def specset(main: str):
    check = check_bundle(None, read_bundle_paths([BUNDLES / "constructs"]))
    assert check.ok, check.problems
    procs = check.parsed.processes
    ids = {key: i + 1 for i, key in enumerate(sorted(procs))}
    manifest = {key: (ids[key], f"constructs-{key}-{hash(procs[key].spec_json)}") for key in procs}
    return build_specset(main, manifest, lambda wanted: {ids[k]: procs[k].spec_json for k in procs if ids[k] in wanted})


def round_trip(case: Case) -> Case:
    snap = case.snapshot()
    text = json.dumps({"w": snap.workflow, "s": snap.subprocesses, "t": [t.__dict__ for t in snap.tasks]})
    raw = json.loads(text)
    restored = Snapshot(raw["w"], {k: (v[0], v[1]) for k, v in raw["s"].items()}, [TaskRow(**t) for t in raw["t"]])
    return Case.restore(case.specset, restored, case.case_code)


def drive(main: str, plan: list[tuple[str, Any]], data: dict[str, Any]) -> tuple[list[str], dict[str, Any], int]:
    """Follow `plan` (one action per step), storing and restoring the case between steps."""
    case = Case.new(specset(main), "C-1", data)
    path = [e.element for e in case.start("t").events]
    max_live = 0
    for action, arg in plan:
        case = round_trip(case)
        if action == "task":
            element, values = arg
            view = next(v for v in case.human_tasks() if v.element == element)
            _task, report = case.complete_human_task(view.task_id, values)
        elif action == "message":
            wait = next(w for w in case.message_waits() if w.message == arg)
            report = case.deliver_message(wait.task_id, wait.message, {"da": "test"})
        elif action == "sleep":
            time.sleep(arg)
            report = case.fire_timers()
        else:  # pragma: no cover - test bug
            raise AssertionError(action)
        path.extend(e.element for e in report.events)
        max_live = max(max_live, len(case.snapshot().tasks))
    case = round_trip(case)
    assert case.completed, [v.element for v in case.human_tasks()]
    return path, case.data, max_live


PLANS = {
    "parallel gateway in a loop, inclusive split/join": (
        "paralleli",
        [("task", ("a", {"ramo_a": i * 10})) for i in range(5)],
        {},
    ),
    "event-based gateway (message wins), cycle boundary timer": (
        "eventi",
        [("message", "sblocco"), ("sleep", 1.0), ("task", ("documenti", {"nota": "ok"}))],
        {"attesa": "PT1H", "ciclo": "R2/PT0.3S"},
    ),
    "event-based gateway (timer wins)": (
        "eventi",
        [("sleep", 0.7), ("task", ("documenti", {"nota": "ok"}))],
        {"attesa": "PT0.5S", "ciclo": "R1/PT1H"},
    ),
    "call activity, embedded subprocess with boundary message, sequential MI, standard loop": (
        "chiamate",
        [
            ("task", ("passo", {"nota": "1"})),
            ("message", "nota_esterna"),
            ("task", ("passo", {"nota": "2"})),
            ("task", ("passo", {"nota": "3"})),
            ("task", ("riprendi", {"nota": "fine"})),
        ],
        {},
    ),
    "interrupting message boundary on a call activity": (
        "chiamate",
        [("task", ("passo", {"nota": "1"})), ("message", "annulla")],
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_pruned_and_unpruned_runs_agree(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    main, plan, data = PLANS[name]
    pruned_path, pruned_data, pruned_live = drive(main, plan, dict(data))
    monkeypatch.setattr(case_module, "prune_workflow", lambda workflow: [])
    full_path, full_data, full_live = drive(main, plan, dict(data))
    assert pruned_path == full_path
    assert pruned_data == full_data
    assert pruned_live <= full_live


def test_expected_results_of_the_constructs() -> None:
    _path, data, _live = drive("paralleli", PLANS["parallel gateway in a loop, inclusive split/join"][1], {})
    assert data["tracce"] == [[i, i, i * 2, i * 10] for i in range(5)]
    assert data["x"] is True and "y" not in data and "z" not in data  # default flow only if nothing else
    path, data, _live = drive("eventi", *PLANS["event-based gateway (message wins), cycle boundary timer"][1:])
    # The reminder branch ran twice; its data stays on its own branch (SpiffWorkflow merges
    # parallel paths with the last arrival winning), which is why models count in the history.
    assert data["via"] == "messaggio" and path.count("annota_promemoria") == 2
    _path, data, _live = drive("eventi", *PLANS["event-based gateway (timer wins)"][1:])
    assert data["via"] == "timer"
    name = "call activity, embedded subprocess with boundary message, sequential MI, standard loop"
    path, data, _live = drive("chiamate", *PLANS[name][1:])
    # "passo" completes three times as an instance and once as the multi-instance container.
    assert data["conteggio"] == 4 and path.count("passo") == 4 and path.count("registra_nota") == 1
    _path, data, _live = drive("chiamate", *PLANS["interrupting message boundary on a call activity"][1:])
    assert data["annullato"] is True
