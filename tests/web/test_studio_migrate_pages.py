"""The migration pages of the studio: dry run, starting a job, progress, outcomes, undo, permissions."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine import Platform, complete_task
from engine.access.accounts import create_user
from engine.db import read_transaction, transaction
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.models import HumanTask, MigrationJob, ProcessInstance
from engine.studio.migrate_jobs import work
from tests.web.conftest import ANNA, HX, PASSWORD, WEB_BUNDLES, csrf_of, start

URL = "/processi/MILANO/prova_moduli/migrazione"
SCHEDA = {"alias": "Ali", "eta": 30, "canale": "informale", "bisogni": ["lingua"], "primo_colloquio": "2026-11-20"}


def _without_check() -> dict[str, bytes]:
    """The forms bundle where Milano dropped «Verifica finale»: after the check the case ends."""
    files = read_bundle_paths([WEB_BUNDLES / "forms"])
    xml = files["prova_moduli.bpmn"].decode()
    xml = re.sub(r'\s*<bpmn:userTask id="verifica".*?</bpmn:userTask>', "", xml, flags=re.S)
    xml = re.sub(r'\s*<bpmn:sequenceFlow id="f5"[^>]*/>', "", xml)
    xml = xml.replace("<bpmn:flowNodeRef>verifica</bpmn:flowNodeRef>", "")
    xml = xml.replace('sourceRef="controlla" targetRef="verifica"', 'sourceRef="controlla" targetRef="fine"')
    files["prova_moduli.bpmn"] = xml.encode()
    return files


@pytest.fixture(scope="module")
def cases(web_platform: Platform) -> dict[str, str]:
    """Milano: one case at «Compila la scheda» (can move), one at «Verifica finale» (cannot); a Milano
    variant without «Verifica finale»; a Lecco director and a regional coordinator."""
    with transaction(web_platform.sessions) as session:
        create_user(session, "leo", "Leo Lecco", PASSWORD, [("direttore_pua", "LECCO")])
        create_user(session, "rita", "Rita Regione", PASSWORD, [("coordinamento_regionale", None)])
        create_user(session, "aldo", "Aldo Revisore", PASSWORD, [("revisore", None)])
    movable, _task = start(web_platform)
    blocked, task = start(web_platform)
    with transaction(web_platform.sessions) as session:
        outcome = complete_task(session, web_platform.settings, task, SCHEDA, ANNA)
        assert outcome.error is None
        deploy_bundle(session, _without_check(), "MILANO", "dario", "Senza verifica finale")
    return {"movable": movable, "blocked": blocked}


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _definition(platform: Platform, code: str) -> int:
    with read_transaction(platform.sessions) as session:
        return int(session.scalar(select(ProcessInstance.definition_id).where(ProcessInstance.case_code == code)) or 0)


def test_the_process_page_links_to_the_migration_only_for_who_may_publish(
    cases: dict[str, str], clients: Callable[[str], TestClient]
) -> None:
    link = f'href="{URL}"'
    assert link in clients("dario").get("/processi/MILANO/prova_moduli").text
    assert link not in clients("anna").get("/processi/MILANO/prova_moduli").text  # reads, may not publish
    assert link not in clients("aldo").get("/processi/MILANO/prova_moduli").text


def test_dry_run_page_says_who_can_move_and_why_not(
    cases: dict[str, str], clients: Callable[[str], TestClient]
) -> None:
    page = clients("dario").get(URL)
    assert page.status_code == 200
    text = _text(page.text)
    assert "Un nuovo caso riceve la versione v1 della variante di" in text
    assert "casi su altre versioni: 2; migrabili: 1; non migrabili: 1" in text
    rows = {
        code: row for row in re.findall(r"<tr>(.*?)</tr>", page.text, re.S) for code in cases.values() if code in row
    }
    assert 'name="caso" value="{}"'.format(cases["movable"]) in rows[cases["movable"]]
    assert "può passare" in _text(rows[cases["movable"]])
    blocked = _text(rows[cases["blocked"]])
    assert "non può passare" in blocked and 'name="caso"' not in rows[cases["blocked"]]
    assert "l'attività «Verifica finale» in corso non esiste nella versione 1" in blocked


def test_permissions_follow_the_studio(cases: dict[str, str], clients: Callable[[str], TestClient]) -> None:
    assert clients("leo").get(URL).status_code == 404  # another Ambito's coordinator: as if unknown
    assert clients("anna").get(URL).status_code == 403  # may publish nowhere
    assert clients("aldo").get(URL).status_code == 403
    assert clients("rita").get(URL).status_code == 200  # regional grant
    assert clients("dario").get("/processi/regione/prova_moduli/migrazione").status_code == 404
    leo = clients("leo")
    refused = leo.post(URL, data={"caso": cases["movable"], "csrf_token": csrf_of(leo)}, follow_redirects=False)
    assert refused.status_code == 404
    with read_transaction(leo.app.state.platform.sessions) as session:  # type: ignore[attr-defined]
        assert session.scalars(select(MigrationJob)).all() == []


def test_bad_input_gets_a_clear_answer_never_a_500(cases: dict[str, str], clients: Callable[[str], TestClient]) -> None:
    dario = clients("dario")
    assert dario.get(f"{URL}/abc").status_code == 422  # not a number: a malformed request
    assert dario.get(f"{URL}/99999999999999999999").status_code == 404
    assert dario.get(f"{URL}/424242").status_code == 404
    assert dario.get("/processi/MILANO/non_esiste/migrazione").status_code == 404
    none = dario.post(URL, data={"csrf_token": csrf_of(dario)})
    assert none.status_code == 409 and "Nessuno dei casi scelti può essere migrato" in _text(none.text)
    blocked = dario.post(URL, data={"caso": cases["blocked"], "csrf_token": csrf_of(dario)})
    assert blocked.status_code == 409
    assert dario.post(URL, data={"caso": cases["movable"]}).status_code in (400, 403)  # no CSRF token


def test_a_job_runs_in_the_background_shows_progress_and_undoes(
    web_platform: Platform, cases: dict[str, str], clients: Callable[[str], TestClient]
) -> None:
    dario = clients("dario")
    before = _definition(web_platform, cases["movable"])
    started = dario.post(URL, data={"caso": cases["movable"], "csrf_token": csrf_of(dario)}, follow_redirects=False)
    assert started.status_code == 303
    job_url = started.headers["location"]
    assert re.fullmatch(rf"{URL}/\d+", job_url)
    page = dario.get(job_url)
    assert "In corso : casi conclusi 0/1 (0%)" in _text(page.text) and 'hx-trigger="every 2s"' in page.text
    assert _definition(web_platform, cases["movable"]) == before  # the request did not move it
    assert work(web_platform.sessions, web_platform.settings) == 1  # the worker's pass
    part = dario.get(job_url, headers=HX)
    assert part.text.lstrip().startswith('<div id="migration-progress"') and "<html" not in part.text
    assert "Conclusa : casi conclusi 1/1 (100%)" in _text(part.text) and "every 2s" not in part.text
    assert "Migrato" in _text(part.text)
    moved_to = _definition(web_platform, cases["movable"])
    assert moved_to != before
    # The case's history says it moved, by whom.
    timeline = _text(dario.get(f"/casi/{cases['movable']}").text)
    assert "Caso spostato su un'altra versione del processo" in timeline
    # The dry run no longer lists it; the job is among the recent ones.
    again = _text(dario.get(URL).text)
    assert cases["movable"] not in again.split("Migrazioni recenti")[0] and "Migrazione n." in again
    # Undo the one case: back on its version.
    undone = dario.post(f"{job_url}/annulla", data={"caso": cases["movable"], "csrf_token": csrf_of(dario)}, headers=HX)
    assert undone.status_code == 200 and undone.text.lstrip().startswith('<div id="migration-progress"')
    assert "Riportato alla versione precedente" in _text(undone.text)
    assert _definition(web_platform, cases["movable"]) == before
    assert "Riportato alla versione precedente" in _text(dario.get(job_url).text)
    twice = dario.post(f"{job_url}/annulla", data={"caso": cases["movable"], "csrf_token": csrf_of(dario)})
    assert twice.status_code == 409 and "non c'è nulla da annullare" in _text(twice.text)
    # From the page (htmx) the refusal is an alert in place, saying why.
    alert = dario.post(f"{job_url}/annulla", data={"caso": cases["movable"], "csrf_token": csrf_of(dario)}, headers=HX)
    assert alert.status_code == 409 and alert.headers["HX-Retarget"] == "#flash"
    assert "non c'è nulla da annullare" in _text(alert.text) and "<html" not in alert.text
    whole = dario.post(f"{job_url}/annulla", data={"csrf_token": csrf_of(dario)})
    assert whole.status_code == 409 and "Nessun caso di questa migrazione" in _text(whole.text)
    with read_transaction(web_platform.sessions) as session:
        assert session.scalars(select(HumanTask.task_name).where(HumanTask.case_code == cases["movable"])).all() == [
            "scheda"
        ]
