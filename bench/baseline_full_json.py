"""Baseline without our storage: SpiffWorkflow's whole-workflow JSON as a loop ages.

The same review loop as bench/step_cost.py, run in memory with SpiffWorkflow alone
(no pruning): after N completed reviews we time one serialize + deserialize of the
whole workflow and report its size. This is what storing a case as one JSON document
would cost per step; it grows with history, which is why InLav Flow stores live rows.

    .venv/bin/python -m bench.baseline_full_json
"""

from __future__ import annotations

import io
import json
import statistics
import time

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench.common import HERE


def main() -> None:
    parser = SpiffBpmnParser()
    parser.add_bpmn_io(io.BytesIO((HERE / "bundles" / "revisioni" / "revisioni.bpmn").read_bytes()), "revisioni.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("revisioni"))
    workflow.task_tree.data["giro"] = 0
    workflow.do_engine_steps()
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    rows, done = [], 0
    for checkpoint in (10, 100, 300):
        while done < checkpoint:
            ready = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
            if not ready:
                print(f"the raw engine stopped after {done} reviews (task iterator depth limit)")
                break
            ready[0].data.update({"finito": False, "nota": f"giro {done}"})
            ready[0].run()
            workflow.do_engine_steps()
            done += 1
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            text = serializer.serialize_json(workflow)
            serializer.deserialize_json(text)
            timings.append(time.perf_counter() - started)
        rows.append(
            {
                "reviews": done,
                "median_ms": round(statistics.median(timings) * 1000, 2),
                "json_kb": len(text) // 1024,
                "tasks": len(workflow.tasks),
            }
        )
        print(
            f"{done:5d} reviews: whole-workflow JSON {rows[-1]['json_kb']:6d} KB, "
            f"serialize+deserialize {rows[-1]['median_ms']:8.2f} ms, tasks in tree {len(workflow.tasks)}"
        )
    (HERE / "results" / "baseline_full_json.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
