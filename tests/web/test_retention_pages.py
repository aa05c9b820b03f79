"""The retention page: the policies, the dry run and the last runs for who manages retention and,
read-only, for the auditor and a PUA's coordinators (their own Ambito's cases only); setting a
policy (Italian errors, input kept); applying exactly the confirmed dry run (a stale or changed one
refused); nobody else gets in."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select, update

from engine import Platform
from engine.access.accounts import create_user
from engine.db import read_transaction, transaction
from engine.models import CaseRetention, ProcessInstance, RetentionPolicy
from tests.engine.test_retention import closed_case
from tests.web.conftest import HX, PASSWORD, csrf_of

pytestmark = pytest.mark.db

PAGE = "/audit/conservazione"
PROCESS = "accoglienza_riservata"


@pytest.fixture(scope="module")
def cases(web_platform: Platform) -> dict[str, str]:
    """A closed MILANO case and a closed LECCO case, both long past any short period; the managers."""
    with transaction(web_platform.sessions) as session:
        create_user(session, "regina", "Regina Regione", PASSWORD, [("coordinamento_regionale", None)])
        create_user(session, "rita", "Rita Revisori", PASSWORD, [("revisore", None)])
        milano = closed_case(session, web_platform.settings)
        lecco = closed_case(session, web_platform.settings)
        session.execute(update(ProcessInstance).where(ProcessInstance.id == lecco.id).values(ambito_code="LECCO"))
        return {"MILANO": milano.case_code, "LECCO": lecco.case_code}


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, name
    return html.unescape(found.group(1))


def test_only_who_manages_or_explores_cases_sees_the_page(clients, cases) -> None:
    assert clients("anna").get(PAGE).status_code == 403
    assert clients("anna").post(PAGE, data={"csrf_token": csrf_of(clients("anna"))}).status_code == 403
    nav = clients("regina").get("/profilo").text
    assert 'href="/audit/conservazione"' in nav
    assert 'href="/audit/conservazione"' not in clients("anna").get("/profilo").text


def test_setting_a_policy_keeps_the_input_on_errors_and_logs_each_version(clients, web_platform, cases) -> None:
    regina = clients("regina")
    token = csrf_of(regina)
    bad = regina.post(
        PAGE, data={"csrf_token": token, "processo": PROCESS, "giorni": "0", "azione": "purge", "nota": "DGR 1"}
    )
    assert bad.status_code == 422
    assert "Il periodo deve essere di almeno un giorno." in bad.text and "DGR 1" in bad.text
    assert regina.post(PAGE, data={"processo": PROCESS, "giorni": "30", "azione": "purge"}).status_code == 403, "CSRF"
    done = regina.post(PAGE, data={"csrf_token": token, "processo": PROCESS, "giorni": "30", "azione": "anonymise"})
    assert done.status_code == 200 and "versione 1" in done.text
    done = regina.post(
        PAGE, data={"csrf_token": token, "processo": PROCESS, "giorni": "60", "azione": "purge", "ambito": "LECCO"}
    )
    assert done.status_code == 200
    with read_transaction(web_platform.sessions) as session:
        rows = session.execute(select(RetentionPolicy.scope, RetentionPolicy.days, RetentionPolicy.action)).all()
    assert sorted(rows) == [("LECCO", 60, "purge"), ("regione", 30, "anonymise")]


def test_the_auditor_reads_everything_and_changes_nothing(clients, cases) -> None:
    rita = clients("rita")
    page = rita.get(PAGE)
    assert page.status_code == 200
    assert cases["MILANO"] in page.text and cases["LECCO"] in page.text
    assert "Salva la politica" not in page.text and "/audit/conservazione/applica" not in page.text
    assert rita.get(PAGE, headers=HX).status_code == 200
    token = csrf_of(rita)
    assert (
        rita.post(PAGE, data={"csrf_token": token, "processo": PROCESS, "giorni": "1", "azione": "purge"}).status_code
        == 403
    )
    assert rita.post(f"{PAGE}/applica", data={"csrf_token": token, "confermo": "1"}).status_code == 403


def test_a_pua_director_sees_only_her_ambito_in_the_dry_run(clients, cases) -> None:
    page = clients("dario").get(PAGE)
    assert page.status_code == 200
    assert cases["MILANO"] in page.text and cases["LECCO"] not in page.text
    assert "/audit/conservazione/applica" not in page.text


def test_applying_treats_exactly_the_confirmed_dry_run(clients, web_platform, cases) -> None:
    regina = clients("regina")
    token = csrf_of(regina)
    page = regina.get(PAGE).text
    assert "Da anonimizzare" in page and cases["MILANO"] in page
    at, confirm = hidden(page, "anteprima"), hidden(page, "conferma")
    unticked = regina.post(f"{PAGE}/applica", data={"csrf_token": token, "anteprima": at, "conferma": confirm})
    assert unticked.status_code == 422 and "Spuntare la conferma" in unticked.text
    wrong = regina.post(
        f"{PAGE}/applica", data={"csrf_token": token, "anteprima": at, "conferma": "0" * 64, "confermo": "1"}
    )
    assert wrong.status_code == 409 and "rivedere la prova" in wrong.text
    stale = regina.post(
        f"{PAGE}/applica",
        data={"csrf_token": token, "anteprima": "2020-01-01T00:00:00+00:00", "conferma": confirm, "confermo": "1"},
    )
    assert stale.status_code == 409 and "30 minuti" in stale.text
    with read_transaction(web_platform.sessions) as session:
        assert session.scalar(select(CaseRetention.id)) is None, "nothing done by refused applications"
    done = regina.post(
        f"{PAGE}/applica",
        data={"csrf_token": token, "anteprima": at, "conferma": confirm, "confermo": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith(f"{PAGE}?esecuzione=")
    after = regina.get(done.headers["location"]).text
    assert "Conservazione applicata" in after
    with read_transaction(web_platform.sessions) as session:
        acted = sorted(session.execute(select(CaseRetention.case_code, CaseRetention.action)).all())
    assert acted == sorted([(cases["MILANO"], "anonymise"), (cases["LECCO"], "purge")])
