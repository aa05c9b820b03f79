"""Every stored format ever written still loads and runs to the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.spiff import Case, Snapshot, TaskRow, build_specset
from engine.store import _upgrade

GOLDEN = sorted((Path(__file__).parents[1] / "golden").glob("sample_case_v*.json"))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_case_restores_and_completes(path: Path) -> None:
    golden = json.loads(path.read_text())
    definitions = golden["definitions"]
    ids = {key: index + 1 for index, key in enumerate(sorted(definitions))}
    manifest = {key: (ids[key], definitions[key]["content_hash"]) for key in golden["manifest"]}
    specset = build_specset(
        golden["main"],
        manifest,
        lambda wanted: {ids[key]: definitions[key]["spec_json"] for key in definitions if ids[key] in wanted},
    )
    tasks = [
        TaskRow(t["task_id"], t["workflow_id"], t["spec_name"], t["state"], t["row"], golden["blobs"][t["data_hash"]])
        for t in golden["tasks"]
    ]
    subprocesses = {k: (v[0], v[1]) for k, v in golden["subprocesses"].items()}
    snapshot = Snapshot(_upgrade(dict(golden["workflow"])), subprocesses, tasks)
    case = Case.restore(specset, snapshot, golden["case_code"])

    steps = {
        "approva": {"approvato": True},
        "eroga": {"esito": {"riuscito": True}},
        "chiusura": {"esito_finale": "inserimento"},
    }
    for _ in range(10):
        if case.completed:
            break
        waits = case.message_waits()
        if waits:
            case.deliver_message(waits[0].task_id, waits[0].message, {"ok": True})
            continue
        view = case.human_tasks()[0]
        case.complete_human_task(view.task_id, steps[view.element])
    assert case.completed
    assert case.data["priorita"] == "alta" and case.data["risposta"] == {"ok": True}
    assert case.data["esiti_positivi"] == 2
