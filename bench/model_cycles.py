"""Regional model: cost of one periodic review as a case accumulates monitoring cycles.

A case of `inlav_percorso` is walked to its PIP with two interventions, then reviewed
again and again ("prosegui", monitoring interval 0 so the next review opens at once).
Each review completes the review task, starts the next cycle (call activity, parallel
interventions, timer) and stores it. We time reviews around each checkpoint.

    .venv/bin/python -m bench.model_cycles --db sqlite
    .venv/bin/python -m bench.model_cycles --db postgres
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench.common import HERE, drop_postgres_schema, fresh_platform
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.demo import seed_ambiti
from tests.model.journey import BUNDLE, start_regional_case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--checkpoints", default="10,60,120,300")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    checkpoints = [int(x) for x in args.checkpoints.split(",")]
    platform, url = fresh_platform(args.db)
    session = platform.sessions()
    try:
        seed_ambiti(platform)
        deploy_bundle(session, read_bundle_paths(BUNDLE), None, "bench")
        case = start_regional_case(session, platform.settings, {"intervallo_monitoraggio": "PT0S"})
        case.contact().assess().decide().plan(
            [
                {"tipo": "orientamento_lavoro", "modalita": "interna", "data_inizio": "2026-12-01"},
                {"tipo": "corso_italiano", "modalita": "interna", "data_inizio": "2026-12-01"},
            ]
        )
        for task in case.open_tasks():
            case.complete_task(task, {"stato_erogazione": "in_corso", "data_erogazione": "2026-12-01"})
        session.commit()

        def review(n: int) -> float:
            started = time.perf_counter()
            case.review("prosegui", sintesi_verifica=f"Verifica {n}")
            session.commit()
            return time.perf_counter() - started

        rows, done = [], 0
        for checkpoint in checkpoints:
            while done < checkpoint:
                review(done)
                done += 1
            timings = [review(done + i) for i in range(args.steps)]
            done += args.steps
            instance = case.instance
            data_kb = round(len(instance.case_data_json) / 1024, 1)
            rows.append(
                {
                    "reviews_done": checkpoint,
                    "median_ms": round(statistics.median(timings) * 1000, 2),
                    "live_task_rows": instance.live_task_count,
                    "archived_task_rows": instance.archived_task_count,
                    "history_events": instance.last_event_seq,
                    "case_data_kb": data_kb,
                }
            )
            print(
                f"{args.db:8s} {checkpoint:5d} reviews: median {rows[-1]['median_ms']:7.2f} ms, "
                f"live rows {instance.live_task_count}, archived {instance.archived_task_count}, "
                f"history {instance.last_event_seq}, case data {data_kb} KB",
                flush=True,
            )
        ratio = rows[-1]["median_ms"] / rows[0]["median_ms"]
        print(f"ratio {rows[-1]['reviews_done']} vs {rows[0]['reviews_done']} reviews: {ratio:.2f}")
        out = HERE / "results" / f"model_cycles-{args.db}.json"
        out.write_text(json.dumps({"db": args.db, "rows": rows, "ratio_last_first": round(ratio, 3)}, indent=2) + "\n")
    finally:
        session.close()
        platform.close()
        drop_postgres_schema(url)


if __name__ == "__main__":
    main()
