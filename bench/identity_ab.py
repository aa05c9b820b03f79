"""Per-step cost with identity fields encrypted, against another checkout, interleaved (A B A B…).

A case of the regional model whose contact has an alias, a phone number and a place
(all sealed at rest on this branch) is reviewed again and again, as in
`bench.model_cycles`; each review is timed in CPU time of this process (the machine is
shared: wall-clock figures swing with other load; the sandbox children are not counted
on either side). Run it once per tree and round, alternating:

    git worktree add --detach ../before <commit-before>
    for i in 1 2 3; do
      (cd ../before && ../inlav/.venv/bin/python ../inlav/bench/identity_ab.py --db sqlite)
      .venv/bin/python bench/identity_ab.py --db sqlite
    done

The script imports the engine of the current directory, so the same file measures both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

sys.path.insert(0, ".")

from bench.common import drop_postgres_schema, fresh_platform
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.demo import seed_ambiti
from tests.model.journey import BUNDLE, start_regional_case

IDENTITY = {"alias": "Amina Testmodello", "recapito": "347 987 6543", "luogo": "Via Padova 12"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--checkpoints", default="10,120")
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    platform, url = fresh_platform(args.db)
    session = platform.sessions()
    try:
        seed_ambiti(platform)
        deploy_bundle(session, read_bundle_paths(BUNDLE), None, "bench")
        case = start_regional_case(session, platform.settings, {"intervallo_monitoraggio": "PT0S"})
        case.contact(**IDENTITY).assess().decide().plan(
            [
                {"tipo": "orientamento_lavoro", "modalita": "interna", "data_inizio": "2026-12-01"},
                {"tipo": "corso_italiano", "modalita": "interna", "data_inizio": "2026-12-01"},
            ]
        )
        for task in case.open_tasks():
            case.complete_task(task, {"stato_erogazione": "in_corso", "data_erogazione": "2026-12-01"})
        session.commit()

        def review(n: int) -> float:
            started = time.process_time()
            case.review("prosegui", sintesi_verifica=f"Verifica {n}")
            session.commit()
            return time.process_time() - started

        out: dict[str, float] = {}
        done = 0
        for checkpoint in (int(x) for x in args.checkpoints.split(",")):
            while done < checkpoint:
                review(done)
                done += 1
            timings = [review(done + i) for i in range(args.steps)]
            done += args.steps
            out[str(checkpoint)] = round(statistics.median(timings) * 1000, 2)
        print(json.dumps({"db": args.db, "median_cpu_ms": out}))
    finally:
        session.close()
        platform.close()
        if args.db == "postgres":
            drop_postgres_schema(url)


if __name__ == "__main__":
    main()
