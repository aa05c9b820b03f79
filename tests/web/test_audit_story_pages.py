"""The auditor's instance page: the story, the path on the diagram, data after a step, model files, exports."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select, text

from engine import claim_task, complete_task, start_case
from engine.access.accounts import create_user
from engine.db import transaction
from engine.models import HumanTask, ProcessInstance
from tests.web.conftest import ANNA, HX, PASSWORD, login

CONTACT = {"alias": "Amir Zeta", "eta": 30, "grado": "lavoro_nero", "tipi_intervento": ["orientamento", "legale"]}


@pytest.fixture(scope="module")
def story_case(web_platform) -> str:
    """A MILANO case that got past its first form into the called process, plus an auditor and a LECCO director."""
    with transaction(web_platform.sessions) as session:
        create_user(session, "rita", "Rita Revisori", PASSWORD, [("revisore", None)])
        create_user(session, "luca", "Luca Bianchi", PASSWORD, [("direttore_pua", "LECCO")])
        outcome = start_case(
            session,
            web_platform.settings,
            ANNA,
            "sample_case",
            "MILANO",
            {"durata_sollecito": "PT1H", "nota_avvio": "=1+1"},
        )
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == outcome.instance.id))
        claim_task(session, task.task_id, ANNA)
        done = complete_task(session, web_platform.settings, task.task_id, CONTACT, ANNA)
        assert done.error is None
        return outcome.instance.case_code


@pytest.fixture(scope="module")
def auditor(app, story_case):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as client:
        yield login(client, "rita")


@pytest.fixture(scope="module")
def other_director(app, story_case):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as client:
        yield login(client, "luca")


def test_page_tells_the_whole_story_with_values_and_the_path(auditor, story_case: str) -> None:
    page = auditor.get(f"/audit/istanze/{story_case}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Attività presa in carico" in html and "Attività completata" in html
    assert "Anna Rossi" in html and "Operatore di contatto" in html
    # Field-level values with the form's labels, and the identity opened.
    assert "Età" in html and "Amir Zeta" in html and "Condizione" in html
    # The diagram: its XML route and the markers read by the viewer.
    box = re.search(r"<div[^>]*data-story-diagram[^>]*>", html, re.S).group(0)  # type: ignore[union-attr]
    assert 'data-process-id="sample_case"' in box
    completed = re.search(r'data-completed="([^"]*)"', box).group(1).split()  # type: ignore[union-attr]
    assert {"start", "registra", "calcola", "priorita_task", "gw_priorita"} <= set(completed)
    assert re.search(r'data-current="[^"]*servizi', box)
    flows = re.search(r'data-flows="([^"]*)"', box).group(1).split()  # type: ignore[union-attr]
    assert {"f1", "f2", "f3", "f4", "f_normale", "f5"} <= set(flows) and "f_alta" not in flows
    # Drill-down into the called process.
    sub = re.search(r'href="(/audit/istanze/[^"?]+\?diagramma=[0-9a-f-]{36})"', html).group(1)  # type: ignore[union-attr]
    called = auditor.get(sub)
    assert called.status_code == 200 and 'data-process-id="sample_servizi"' in called.text
    assert re.search(r'data-current="[^"]*eroga', called.text)
    xml = auditor.get(f"/audit/istanze/{story_case}/diagramma.bpmn")
    assert xml.status_code == 200 and 'id="sample_case"' in xml.text
    assert xml.headers["content-type"].startswith("text/plain")


def test_data_after_a_step_with_and_without_htmx(auditor, story_case: str) -> None:
    partial = auditor.get(f"/audit/istanze/{story_case}?passo=1", headers=HX)
    assert partial.status_code == 200 and "<html" not in partial.text
    assert "durata_sollecito" in partial.text and "Amir Zeta" not in partial.text
    full = auditor.get(f"/audit/istanze/{story_case}?passo=3")
    assert full.status_code == 200 and "<html" in full.text and "Amir Zeta" in full.text
    assert auditor.get(f"/audit/istanze/{story_case}?passo=9999").status_code == 404
    assert auditor.get(f"/audit/istanze/{story_case}?passo=abc").status_code == 404


def test_model_files_view_and_download(auditor, story_case: str) -> None:
    page = auditor.get(f"/audit/istanze/{story_case}").text
    link = re.search(r'href="(/audit/istanze/[^"]+/file/\d+/registra.schema.json)"', page).group(1)  # type: ignore[union-attr]
    view = auditor.get(link)
    assert view.status_code == 200 and "<pre" in view.text
    assert "&#34;title&#34;: &#34;Registra il contatto&#34;" in view.text, "shown as escaped text"
    download = auditor.get(link + "/scarica")
    assert download.status_code == 200 and json.loads(download.text)["title"] == "Registra il contatto"
    assert "attachment" in download.headers["content-disposition"]
    assert auditor.get(link.replace("registra.schema.json", "altro.json")).status_code == 404


def test_exports_json_csv_and_printable_page(auditor, story_case: str, web_platform) -> None:
    data = auditor.get(f"/audit/istanze/{story_case}/storia.json").json()
    assert data["istanza"]["codice"] == story_case and data["verifica"]["integra"] is True
    kinds = [e["tipo"] for e in data["eventi"]]
    assert kinds[:3] == ["instance_started", "task_claimed", "task_completed"]
    completed = data["eventi"][2]
    eta = next(c for c in completed["modifiche"] if c["campo"] == "eta")
    assert (eta["etichetta"], eta["modifica"], eta["prima"], eta["dopo"]) == ("Età", "added", None, 30)
    body = auditor.get(f"/audit/istanze/{story_case}/storia.csv")
    assert body.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.text.lstrip("\ufeff"))))
    assert rows[0][0] == "passo"
    note = next(r for r in rows if r[11] == "nota_avvio")
    assert note[15] == "'=1+1", "a formula is neutralised"
    assert any(r[2] == "task_claimed" and r[11] == "" for r in rows), "an event without changes has its own row"
    printed = auditor.get(f"/audit/istanze/{story_case}/stampa")
    assert printed.status_code == 200 and 'data-chain-intact="true"' in printed.text
    assert "Catena integra" in printed.text


def _rewrite_actor(session, instance_id: int, actor: str) -> None:
    """Rewrite who acted at step 2 bypassing the append-only guard (the guard is put back)."""
    change = text("UPDATE history_event SET actor = :a WHERE instance_id = :i AND seq = 2")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE history_event DISABLE TRIGGER history_event_append_only"))
        session.execute(change, {"a": actor, "i": instance_id})
        session.execute(text("ALTER TABLE history_event ENABLE TRIGGER history_event_append_only"))
        return
    guard = session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'history_event_no_update'"))
    session.execute(text("DROP TRIGGER history_event_no_update"))
    session.execute(change, {"a": actor, "i": instance_id})
    session.execute(text(guard))


def test_printable_page_shows_a_broken_chain(auditor, web_platform, story_case: str) -> None:
    with transaction(web_platform.sessions) as session:
        instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_code == story_case))
        _rewrite_actor(session, instance_id, "mallory")
    try:
        printed = auditor.get(f"/audit/istanze/{story_case}/stampa")
        assert 'data-chain-intact="false"' in printed.text and "Catena alterata" in printed.text
        assert auditor.get(f"/audit/istanze/{story_case}/storia.json").json()["verifica"]["passi_alterati"] == [2]
    finally:
        with transaction(web_platform.sessions) as session:
            _rewrite_actor(session, instance_id, "anna")
    assert 'data-chain-intact="true"' in auditor.get(f"/audit/istanze/{story_case}/stampa").text


def test_other_ambito_gets_the_same_404_as_an_unknown_case(other_director, auditor, story_case: str) -> None:
    for suffix in ("", "/storia.json", "/storia.csv", "/stampa", "/diagramma.bpmn"):
        mine = other_director.get(f"/audit/istanze/{story_case}{suffix}")
        unknown = other_director.get(f"/audit/istanze/NESSUNO-1{suffix}")
        assert mine.status_code == unknown.status_code == 404, suffix
    assert auditor.get("/audit/istanze/NESSUNO-1").status_code == 404


def test_explorer_exports_are_never_taken_for_a_case(auditor) -> None:
    from web.routes.audit_story import CaseCodeConvertor

    pattern = re.compile(f"^{CaseCodeConvertor.regex}$")
    assert pattern.match("MILANO-2026-00001") and pattern.match("MI/2026/1.a")
    assert not pattern.match("esporta.csv") and not pattern.match("esporta.xlsx")
