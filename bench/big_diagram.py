"""A process of 5,000 flow nodes: time to check, deploy and run it to its end.

The diagram is `tests.builders.long_chain_bundle(5000)`: start → script tasks, exclusive
split/merge pairs and a user task every 500 nodes → end (5,003 flow nodes and about
5,400 sequence flows, so about 10,400 BPMN elements). "deploy" is `deploy_bundle`
(parse, lint every script and condition, store) committed; "run" starts a case and
completes each user task, each step in its own transaction, until the case ends.

    .venv/bin/python -m bench.big_diagram --db sqlite
    .venv/bin/python -m bench.big_diagram --db postgres
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

from sqlalchemy import select

from bench.common import HERE, drop_postgres_schema, fresh_platform
from engine import Actor, check_bundle, complete_task, deploy_bundle, start_instance
from engine.demo import seed_ambiti
from engine.models import HumanTask
from tests import builders

OPERATOR = Actor("bench", frozenset({"operatore_contatto"}), frozenset({"MILANO"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = builders.long_chain_bundle(args.nodes, user_every=500)
    platform, url = fresh_platform(args.db)
    try:
        seed_ambiti(platform)
        checks, deploys, runs, steps = [], [], [], 0
        for round_ in range(args.repeat):
            started = time.perf_counter()
            assert check_bundle(None, files).ok
            checks.append(time.perf_counter() - started)

            variant = dict(files)  # a new content hash each round, so each deploy stores a new version
            variant["catena.bpmn"] = files["catena.bpmn"].replace(b"Processo catena", f"Catena {round_}".encode())
            with platform.sessions() as session:
                started = time.perf_counter()
                deploy_bundle(session, variant, None, "bench")
                session.commit()
                deploys.append(time.perf_counter() - started)

            started = time.perf_counter()
            with platform.sessions() as session:
                instance_id = start_instance(session, platform.settings, "catena", "MILANO", OPERATOR).instance.id
                session.commit()
            steps = 1
            while True:
                with platform.sessions() as session:
                    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id))
                    if task is None:
                        break
                    outcome = complete_task(session, platform.settings, task.task_id, {"nota": "ok"}, OPERATOR)
                    assert outcome.error is None, outcome.error
                    session.commit()
                    steps += 1
            runs.append(time.perf_counter() - started)
            print(
                f"{args.db:8s} round {round_ + 1}: check {checks[-1]:.2f} s, deploy {deploys[-1]:.2f} s, "
                f"run {runs[-1]:.2f} s ({steps} transactions)",
                flush=True,
            )
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {
            "db": args.db,
            "flow_nodes": args.nodes,
            "bpmn_bytes": len(files["catena.bpmn"]),
            "check_s": round(statistics.median(checks), 2),
            "deploy_s": round(statistics.median(deploys), 2),
            "run_s": round(statistics.median(runs), 2),
            "run_transactions": steps,
            "max_rss_mb": round(rss_mb),
        }
        print(json.dumps(result))
        (HERE / "results" / f"big_diagram-{args.db}.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        platform.close()
        drop_postgres_schema(url)


if __name__ == "__main__":
    main()
