"""The studio on the regional model: the editor page, the draft check, the publication.

(a) The editor page of the largest regional diagram (most BPMN elements among
    `processes/*.bpmn`): the server's time for GET `/processi/MILANO/<key>/bozza` through the
    app (Starlette's TestClient, in process, no network), and in headless Chromium the time
    from the start of the navigation until the bpmn-js modeler has imported and drawn the
    diagram (`data-editor-ready="true"`; the page first fetches the panel's choices, then
    imports) and the properties panel shows its first element (its header, drawn once the
    diagram's root is imported) — read from `performance.now()` in the page by a
    MutationObserver, so no polling delay is counted.
(b) `check_draft` of that process's draft (its whole bundle, as «Verifica» runs it), for the
    Milano scope and for the regional base.
(c) Publication of a changed draft of that process, for an Ambito variant (Milano) and for the
    regional base: `plan_publication` (what the «Pubblica» page computes) and `publish_draft`
    committed. Each round changes the process name, so each publication creates a version.

Medians, minimum and maximum over the runs; peak memory is the Python process's (the app
and the engine; Chromium is a separate process, not counted).

    .venv/bin/python -m bench.studio --db sqlite
    INLAV_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.studio --db postgres
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import HERE, drop_postgres_schema, fresh_platform
from engine import Platform
from engine.access import Actor, actor_for, create_user
from engine.db import transaction
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.demo import seed_ambiti, username
from engine.models import AppUser
from engine.studio import check_draft, open_draft, save_diagram
from engine.studio.publish import plan_publication, publish_draft

ROOT = HERE.parent
PASSWORD = "Bench-studio-2026!"
DIRECTOR = username("direttore_pua", "MILANO")
REGIONAL = "coord.regione.bench"
ELEMENT = re.compile(rb"<bpmn:[A-Za-z]+[\s/>]")
PROCESS_NAME = re.compile(rb'(<bpmn:process id="[^"]+" name=")([^"]*)"')

READY_OBSERVER = """
(() => {
  const seen = () => {
    const box = document.querySelector('[data-editor]');
    if (box && box.getAttribute('data-editor-ready') && window.__benchReady === undefined) {
      window.__benchReady = performance.now();
      window.__benchState = box.getAttribute('data-editor-ready');
    }
    const header = document.querySelector('[data-editor-panel] .bio-properties-panel-header');
    if (header && window.__benchPanel === undefined) {
      window.__benchPanel = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, {subtree: true, childList: true, attributes: true});
})();
"""


def largest_diagram() -> tuple[str, int, int]:
    """(process key, BPMN elements, bytes) of the regional diagram with the most BPMN elements."""
    sizes = []
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        data = path.read_bytes()
        sizes.append((len(ELEMENT.findall(data)), len(data), path.stem))
    elements, size, key = max(sizes)
    return key, elements, size


def summary(values: list[float], scale: float = 1000.0) -> dict[str, float]:
    """Median, minimum and maximum in milliseconds (default) of timings in seconds."""
    return {
        "median": round(statistics.median(values) * scale, 1),
        "min": round(min(values) * scale, 1),
        "max": round(max(values) * scale, 1),
    }


def setup(platform: Platform) -> None:
    """The Ambiti, the regional model, the demo's Direttore PUA of Milano and a regional coordinator."""
    seed_ambiti(platform)
    with transaction(platform.sessions) as session:
        deploy_bundle(session, read_bundle_paths([ROOT / "processes", ROOT / "forms" / "schemas"]), None, "bench")
        create_user(session, DIRECTOR, "Direttore PUA · Milano", PASSWORD, [("direttore_pua", "MILANO")])
        create_user(session, REGIONAL, "Coordinamento regionale", PASSWORD, [("coordinamento_regionale", None)])


def actor(platform: Platform, name: str) -> Actor:
    with transaction(platform.sessions) as session:
        user = session.query(AppUser).filter(AppUser.username == name).one()
        return actor_for(session, user)


def editor_server(platform: Platform, key: str, runs: int) -> list[float]:
    """Seconds for GET of the editor page, through the app in process."""
    import re as re_

    from starlette.testclient import TestClient

    from web.app import create_app

    with TestClient(create_app(platform), base_url="https://testserver") as client:
        page = client.get("/login")
        token = re_.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        client.post(
            "/login",
            data={"username": DIRECTOR, "password": PASSWORD, "csrf_token": token[1], "next": "/attivita"},
            follow_redirects=False,
        )
        url = f"/processi/MILANO/{key}/bozza"
        assert client.get(url).status_code == 200  # the first opens the draft
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200 and "data-editor" in response.text
    return times


def editor_browser(platform: Platform, key: str, runs: int) -> dict[str, list[float]]:
    """Seconds from navigation start to: the response's end, the diagram drawn, the panel drawn."""
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import CHROMIUM, serving

    found: dict[str, list[float]] = {"response": [], "diagram": [], "panel": []}
    with serving(platform) as base, sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        context = chromium.new_context(viewport={"width": 1440, "height": 960}, base_url=base, locale="it-IT")
        context.add_init_script(READY_OBSERVER)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Nome utente").fill(DIRECTOR)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Accedi").click()
        page.wait_for_url("**/attivita")
        for round_ in range(runs + 1):  # the first run warms the browser's cache, not counted
            page.goto(f"/processi/MILANO/{key}/bozza")
            page.wait_for_function("() => window.__benchReady !== undefined && window.__benchPanel !== undefined")
            marks = page.evaluate(
                "() => ({state: window.__benchState, diagram: window.__benchReady, panel: window.__benchPanel,"
                " response: performance.getEntriesByType('navigation')[0].responseEnd})"
            )
            assert marks["state"] == "true", marks
            if round_:
                for name in found:
                    found[name].append(float(marks[name]) / 1000)
        chromium.close()
    return found


def change(platform: Platform, who: Actor, ambito: str | None, key: str, label: str) -> int:
    """Save a draft of `key` whose process name carries `label`; its revision."""
    with transaction(platform.sessions) as session:
        draft = open_draft(session, who, ambito, key)
        xml = draft.files[f"{key}.bpmn"]
        changed = PROCESS_NAME.sub(lambda m: m[1] + m[2].split(b" [")[0] + f" [{label}]".encode() + b'"', xml, 1)
        assert changed != xml
        return save_diagram(session, who, ambito, key, changed, draft.revision).revision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=11, help="runs of each measurement")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium measurement")
    args = parser.parse_args()
    key, elements, size = largest_diagram()
    platform, url = fresh_platform(args.db)
    try:
        setup(platform)
        director, regional = actor(platform, DIRECTOR), actor(platform, REGIONAL)
        result: dict[str, Any] = {"db": args.db, "process": key, "bpmn_elements": elements, "bpmn_bytes": size}
        result["runs"] = args.runs
        result["load_average_start"] = [round(x, 2) for x in os.getloadavg()]

        result["editor_get_ms"] = summary(editor_server(platform, key, args.runs))
        print(f"{args.db:8s} GET …/{key}/bozza: {result['editor_get_ms']} ms", flush=True)
        if not args.no_browser:
            browser = editor_browser(platform, key, args.runs)
            result["browser_ms"] = {name: summary(values) for name, values in browser.items()}
            print(f"{args.db:8s} Chromium: {result['browser_ms']}", flush=True)

        for scope, who in (("MILANO", director), (None, regional)):
            label = scope or "regione"
            checks = []
            for _ in range(args.runs):
                with transaction(platform.sessions) as session:
                    started = time.perf_counter()
                    problems = check_draft(session, who, scope, key)
                    checks.append(time.perf_counter() - started)
                    assert problems == [], problems
            result[f"check_draft_{label}_ms"] = summary(checks)
            plans, publishes = [], []
            for round_ in range(args.runs):
                revision = change(platform, who, scope, key, f"{label} {round_}")
                with transaction(platform.sessions) as session:
                    started = time.perf_counter()
                    plan = plan_publication(session, who, scope, key)
                    plans.append(time.perf_counter() - started)
                    assert plan.valid and plan.changes, plan.problems
                started = time.perf_counter()
                with transaction(platform.sessions) as session:
                    done = publish_draft(session, who, scope, key, f"bench {round_}", None, revision)
                publishes.append(time.perf_counter() - started)  # committed
                assert done.created
            result[f"plan_publication_{label}_ms"] = summary(plans)
            result[f"publish_draft_{label}_ms"] = summary(publishes)
            print(
                f"{args.db:8s} {label}: check_draft {result[f'check_draft_{label}_ms']}, plan "
                f"{result[f'plan_publication_{label}_ms']}, publish {result[f'publish_draft_{label}_ms']} ms",
                flush=True,
            )
        result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(result))
        out: Path = HERE / "results" / f"studio-{args.db}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        platform.close()
        drop_postgres_schema(url)


if __name__ == "__main__":
    main()
