"""The studio's diagram editor pages: open a draft, save it (CSRF, permission), validate it."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine import Platform
from engine.access import Actor
from engine.access.accounts import create_user
from engine.db import transaction
from engine.studio.publish import publish_draft
from tests.conftest import bundle_files
from tests.web.conftest import HX, PASSWORD, csrf_of

URL = "/processi/MILANO/sample_case/bozza"
MAIN = "sample_case.bpmn"


@pytest.fixture(scope="module")
def people(web_platform: Platform) -> Platform:
    with transaction(web_platform.sessions) as session:
        create_user(session, "rita", "Rita Regione", PASSWORD, [("coordinamento_regionale", None)])
        create_user(session, "leo", "Leo Lecco", PASSWORD, [("direttore_pua", "LECCO")])
    return web_platform


def _xml_of(page: str) -> str:
    found = re.search(r'data-xml="([^"]*)"', page)
    assert found is not None
    return html.unescape(found.group(1))


def test_the_editor_opens_the_draft_with_the_modeler_and_italian_buttons(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    page = clients("dario").get(URL)
    assert page.status_code == 200
    assert "/static/vendor/app/editor.js" in page.text and "/static/js/bpmn-it.js" in page.text
    assert "/static/vendor/properties-panel/properties-panel.css" in page.text and "data-editor-panel" in page.text
    assert "Salva bozza" in page.text and "Verifica" in page.text and "<script>" not in page.text
    assert _xml_of(page.text).encode() == bundle_files()[MAIN]
    assert 'data-revision="0"' in page.text
    # The properties panel's two fixed container styles are allowed by hash on this page only.
    policy = page.headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-hashes' 'sha256-nR5hyLltSjfvi2rqC26RbcredWrJvTaPA1yqPX96jpY=' " in policy
    assert "'unsafe-inline'" not in policy and "script-src 'self';" in policy
    elsewhere = clients("dario").get("/processi/MILANO/sample_case").headers["content-security-policy"]
    assert "unsafe-hashes" not in elsewhere
    # The process page links to it for those who may edit, not for those who only read.
    assert URL in clients("dario").get("/processi/MILANO/sample_case").text
    assert URL not in clients("anna").get("/processi/MILANO/sample_case").text


def test_permissions_another_ambito_is_not_found_and_reading_is_not_editing(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    assert clients("leo").get(URL).status_code == 404
    assert clients("anna").get(URL).status_code == 403  # an operator reads the studio, edits nothing
    assert clients("dario").get("/processi/regione/sample_case/bozza").status_code == 404
    assert clients("rita").get("/processi/regione/sample_case/bozza").status_code == 200
    assert clients("dario").get("/processi/MILANO/nessuno/bozza").status_code == 404
    leo = clients("leo")
    saved = leo.post(URL, data={"xml": bundle_files()[MAIN].decode(), "csrf_token": csrf_of(leo)})
    assert saved.status_code == 404
    assert leo.post(f"{URL}/verifica", data={"csrf_token": csrf_of(leo)}).status_code == 404


def test_a_saved_draft_round_trips_byte_for_byte_and_needs_csrf(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    rita = clients("rita")
    url = "/processi/LECCO/sample_case/bozza"
    xml = bundle_files()[MAIN].decode().replace("Caso di esempio", "Caso à Lecco ✓\r\n")
    refused = rita.post(url, data={"xml": xml, "revision": "0"})
    assert refused.status_code == 403 and "Caso à Lecco" not in _xml_of(rita.get(url).text)
    saved = rita.post(url, data={"xml": xml, "revision": "0", "csrf_token": csrf_of(rita)}, headers=HX)
    assert saved.status_code == 200 and 'data-revision="1"' in saved.text and "Bozza salvata" in saved.text
    page = rita.get(url).text
    assert _xml_of(page) == xml and 'data-revision="1"' in page
    stale = rita.post(url, data={"xml": xml, "revision": "0"}, headers={**HX, "X-CSRF-Token": csrf_of(rita)})
    assert stale.status_code == 409 and "dopo che l" in html.unescape(stale.text)
    bad = rita.post(url, data={"xml": "<x>", "revision": "1"}, headers={**HX, "X-CSRF-Token": csrf_of(rita)})
    assert bad.status_code == 422 and "XML non valido" in html.unescape(bad.text)
    assert _xml_of(rita.get(url).text) == xml


def test_validation_lists_located_problems_as_buttons(people: Platform, clients: Callable[[str], TestClient]) -> None:
    dario = clients("dario")
    token = csrf_of(dario)
    clean = dario.post(f"{URL}/verifica", data={"csrf_token": token}, headers=HX)
    assert clean.status_code == 200 and "non ha trovato problemi" in clean.text
    broken = bundle_files()[MAIN].decode().replace("priorita == 'alta'", "get_env() == 'alta'")
    assert dario.post(URL, data={"xml": broken, "csrf_token": token}, headers=HX).status_code == 200
    found = dario.post(f"{URL}/verifica", data={"csrf_token": token}, headers=HX)
    assert found.status_code == 200 and 'data-select="f_alta"' in found.text and "get_env" in found.text
    assert dario.post(f"{URL}/verifica", data={}).status_code == 403  # no CSRF token


def test_an_editor_opened_before_someone_else_published_cannot_save_over_the_new_version(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    """Two tabs open the unsaved draft (revision 0, from the regional base); one saves and publishes
    Lecco's first variant (the draft closes); the other tab's save must not start a draft of the new
    variant from a diagram that lacks the published change."""
    key = "sample_servizi"
    rita = clients("rita")
    url = f"/processi/LECCO/{key}/bozza"
    stale_page = rita.get(url).text
    base = re.search(r'data-base="(\d+)"', stale_page)
    assert base is not None and 'data-revision="0"' in stale_page
    xml = _xml_of(stale_page)
    headers = {**HX, "X-CSRF-Token": csrf_of(rita)}
    first = xml.replace('name="Eroga l\'intervento"', 'name="Pubblicato da Lecco"', 1)
    assert first != xml
    saved = rita.post(url, data={"xml": first, "revision": "0", "base": base.group(1)}, headers=headers)
    assert saved.status_code == 200
    with transaction(people.sessions) as session:
        publish_draft(session, Actor("rita", grants=frozenset({("coordinamento_regionale", None)})), "LECCO", key, "v1")
    late = xml.replace('name="Eroga l\'intervento"', 'name="Scritto prima"', 1)
    answer = rita.post(url, data={"xml": late, "revision": "0", "base": base.group(1)}, headers=headers)
    assert answer.status_code == 409 and "nel frattempo" in html.unescape(answer.text)
    page = rita.get(url).text
    assert "Pubblicato da Lecco" in _xml_of(page) and "Scritto prima" not in _xml_of(page)
    assert re.search(r'data-base="(\d+)"', page).group(1) != base.group(1)  # type: ignore[union-attr]
