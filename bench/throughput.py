"""Task completions per second: one process, then two processes on disjoint cases.

Each completion is a full step in its own transaction (load, validate the form,
run the engine, save, update the inbox, append history, commit).

    .venv/bin/python bench/throughput.py --db sqlite
    .venv/bin/python bench/throughput.py --db postgres
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time

from sqlalchemy import select

from bench.common import HERE, drop_postgres_schema, fresh_platform
from engine import Actor, complete_task, deploy_bundle, open_platform, read_bundle_paths, start_instance
from engine.config import Settings
from engine.db import transaction
from engine.demo import seed_ambiti
from engine.models import HumanTask

OPERATOR = Actor("bench", frozenset({"operatore_contatto"}), frozenset({"MILANO"}))


def drive(url: str, instance_ids: list[int], start_at: float, seconds: float, queue: multiprocessing.Queue) -> None:
    """From `start_at` (wall clock), complete tasks of the given cases for `seconds`; report the count."""
    platform = open_platform(Settings(database_url=url, environment="test"))  # type: ignore[call-arg]
    time.sleep(max(0.0, start_at - time.time()))
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for instance_id in instance_ids:
            with transaction(platform.sessions) as session:
                task_id = session.scalar(select(HumanTask.task_id).where(HumanTask.instance_id == instance_id))
                outcome = complete_task(session, platform.settings, task_id, {"finito": False, "nota": "x"}, OPERATOR)
                assert outcome.error is None
            done += 1
    queue.put(done)
    platform.close()


def measure(url: str, instance_ids: list[int], processes: int, seconds: float) -> float:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    shares = [instance_ids[i::processes] for i in range(processes)]
    start_at = time.time() + 5  # every process is up and warm before the clock starts
    workers = [multiprocessing.Process(target=drive, args=(url, share, start_at, seconds, queue)) for share in shares]
    for w in workers:
        w.start()
    total = sum(queue.get() for _ in workers)
    for w in workers:
        w.join()
    return total / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    multiprocessing.set_start_method("spawn")
    platform, url = fresh_platform(args.db)
    try:
        seed_ambiti(platform)
        with transaction(platform.sessions) as session:
            deploy_bundle(session, read_bundle_paths([HERE / "bundles" / "revisioni"]), None, "bench")
        ids = []
        for _ in range(args.cases):
            with transaction(platform.sessions) as session:
                outcome = start_instance(session, platform.settings, "revisioni", "MILANO", OPERATOR, data={"giro": 0})
                ids.append(outcome.instance.id)
        results = {}
        for processes in (1, 2):
            rate = measure(url, ids, processes, args.seconds)
            results[f"{processes}_process"] = round(rate, 1)
            print(f"{args.db:8s} {processes} process(es): {rate:6.1f} task completions/s", flush=True)
        out = HERE / "results" / f"throughput-{args.db}.json"
        summary = {"db": args.db, "cases": args.cases, "seconds": args.seconds, **results}
        out.write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        platform.close()
        drop_postgres_schema(url)


if __name__ == "__main__":
    main()
