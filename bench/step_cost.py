"""Cost of one step (load + run + save + commit) as a case's history grows.

A case of the review-loop process (user task, script, gateway, back edge) is driven
through thousands of completed tasks; at 10, 100 and 1000 completed tasks (and
optionally more) we time STEPS consecutive steps and report the median.

    .venv/bin/python bench/step_cost.py --db sqlite
    .venv/bin/python bench/step_cost.py --db postgres
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.common import HERE, drop_postgres_schema, fresh_platform
from engine import Actor, complete_task, deploy_bundle, read_bundle_paths, start_instance
from engine.db import transaction
from engine.demo import seed_ambiti
from engine.models import HistoryEvent, HumanTask, ProcessInstance, TaskArchive, TaskState

OPERATOR = Actor("bench", frozenset({"operatore_contatto"}), frozenset({"MILANO"}))


def completed_tasks(session, instance_id: int) -> int:
    """Completed human tasks so far (from the history)."""
    return session.scalar(
        select(func.count())
        .select_from(HistoryEvent)
        .where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == "task_completed")
    )


def one_step(platform, instance_id: int, note: str) -> float:
    """Complete the waiting review task in its own transaction; seconds taken."""
    started = time.perf_counter()
    with transaction(platform.sessions) as session:
        task_id = session.scalar(select(HumanTask.task_id).where(HumanTask.instance_id == instance_id))
        outcome = complete_task(session, platform.settings, task_id, {"finito": False, "nota": note}, OPERATOR)
        assert outcome.error is None, outcome.error
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--checkpoints", default="10,100,1000,3000")
    parser.add_argument("--steps", type=int, default=40, help="steps timed at each checkpoint")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    checkpoints = [int(x) for x in args.checkpoints.split(",")]

    platform, url = fresh_platform(args.db)
    try:
        seed_ambiti(platform)
        with transaction(platform.sessions) as session:
            deploy_bundle(session, read_bundle_paths([HERE / "bundles" / "revisioni"]), None, "bench")
            instance_id = start_instance(
                session, platform.settings, "revisioni", "MILANO", OPERATOR, data={"giro": 0}
            ).instance.id
        for _ in range(3):  # warm the spec cache, the sandbox and the connection pool
            one_step(platform, instance_id, "riscaldamento")
        rows = []
        done = 3
        for checkpoint in checkpoints:
            while done < checkpoint:
                one_step(platform, instance_id, f"giro {done}")
                done += 1
            timings = [one_step(platform, instance_id, f"misura {done + i}") for i in range(args.steps)]
            done += args.steps
            with transaction(platform.sessions) as session:
                instance = session.get(ProcessInstance, instance_id)
                live = session.scalar(
                    select(func.count()).select_from(TaskState).where(TaskState.instance_id == instance_id)
                )
                archived = session.scalar(
                    select(func.count()).select_from(TaskArchive).where(TaskArchive.instance_id == instance_id)
                )
                history = instance.last_event_seq
            rows.append(
                {
                    "completed_tasks": checkpoint,
                    "median_ms": round(statistics.median(timings) * 1000, 2),
                    "p90_ms": round(sorted(timings)[int(len(timings) * 0.9) - 1] * 1000, 2),
                    "live_task_rows": live,
                    "archived_task_rows": archived,
                    "history_events": history,
                    "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                }
            )
            print(
                f"{args.db:8s} {checkpoint:6d} completed tasks: median {rows[-1]['median_ms']:7.2f} ms, "
                f"p90 {rows[-1]['p90_ms']:7.2f} ms, live rows {live}, archived {archived}, history {history}, "
                f"max RSS {rows[-1]['max_rss_mb']} MB",
                flush=True,
            )
        ratio = rows[-1]["median_ms"] / rows[0]["median_ms"]
        print(f"ratio {rows[-1]['completed_tasks']} vs {rows[0]['completed_tasks']}: {ratio:.2f} (target ≤ 1.5)")
        result = {"db": args.db, "steps_per_checkpoint": args.steps, "rows": rows, "ratio_last_first": round(ratio, 3)}
        out = args.out or HERE / "results" / f"step_cost-{args.db}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        platform.close()
        drop_postgres_schema(url)


if __name__ == "__main__":
    main()
