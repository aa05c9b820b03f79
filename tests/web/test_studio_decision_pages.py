"""The studio's decision-table pages: the list of a draft's tables, a new table, the editor, saving, checking."""

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
from tests.conftest import add_ambiti, bundle_files
from tests.web.conftest import HX, PASSWORD, csrf_of

DRAFT = "/processi/MILANO/sample_case/bozza"
LIST = f"{DRAFT}/decisioni"
DMN = "decide_priorita.dmn"
EDITOR = f"{LIST}/{DMN}"


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


def test_the_list_shows_the_tables_their_callers_and_a_form_for_a_new_one(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    dario = clients("dario")
    assert LIST in dario.get(DRAFT).text  # the draft editor links to the tables
    page = dario.get(LIST)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Decidi la priorità" in text and "decide_priorita" in text and "FIRST" in text
    assert "priorita_task" in text  # the rule task that calls it
    assert f'href="{EDITOR}"' in page.text and "Nuova tabella decisionale" in text


def test_a_new_table_opens_in_the_editor_and_a_duplicate_is_refused(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    rita = clients("rita")
    url = "/processi/LECCO/sample_case/bozza/decisioni"
    created = rita.post(
        url, data={"nome": "Priorità del colloquio", "csrf_token": csrf_of(rita)}, follow_redirects=False
    )
    assert created.status_code == 303 and created.headers["location"] == f"{url}/priorita_del_colloquio.dmn"
    editor = rita.get(created.headers["location"])
    assert editor.status_code == 200
    assert "/static/vendor/app/decisions.js" in editor.text and "/static/js/decision-editor.js" in editor.text
    assert "Salva bozza" in editor.text and "Verifica" in editor.text and "<script>" not in editor.text
    csp = editor.headers["Content-Security-Policy"]  # the library's style attributes, by hash; nothing inline
    assert "script-src 'self';" in csp and "'unsafe-hashes' 'sha256-" in csp and "unsafe-inline" not in csp
    assert 'decision id="priorita_del_colloquio"' in _xml_of(editor.text) and 'data-revision="1"' in editor.text
    again = rita.post(url, data={"nome": "Priorità del colloquio", "csrf_token": csrf_of(rita)}, headers=HX)
    assert again.status_code == 422 and "ha già una decisione" in html.unescape(again.text)
    assert rita.post(url, data={"nome": "Senza token"}).status_code == 403


def test_saving_round_trips_refuses_stale_or_invalid_files_and_keeps_the_saved_one(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    dario = clients("dario")
    assert _xml_of(dario.get(EDITOR).text).encode() == bundle_files()[DMN]
    edited = bundle_files()[DMN].decode().replace('"normale"', '"bassa à ✓"')
    refused = dario.post(EDITOR, data={"xml": edited, "revision": "0"})
    assert refused.status_code == 403  # no CSRF token
    headers = {**HX, "X-CSRF-Token": csrf_of(dario)}
    saved = dario.post(EDITOR, data={"xml": edited, "revision": "0"}, headers=headers)
    assert saved.status_code == 200 and 'data-revision="1"' in saved.text and "Bozza salvata" in saved.text
    assert _xml_of(dario.get(EDITOR).text) == edited
    stale = dario.post(EDITOR, data={"xml": bundle_files()[DMN].decode(), "revision": "0"}, headers=headers)
    assert stale.status_code == 409 and "dopo che l" in html.unescape(stale.text)
    for bad, cause in [("<definitions", "XML non valido"), ("<x/>", "non è un file DMN")]:
        answer = dario.post(EDITOR, data={"xml": bad, "revision": "1"}, headers=headers)
        assert answer.status_code == 422 and cause in html.unescape(answer.text)
    assert _xml_of(dario.get(EDITOR).text) == edited


def test_the_check_lists_problems_as_buttons_that_select_the_cell(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    leo_url = "/processi/LECCO/sample_case/bozza/decisioni/decide_priorita.dmn"
    rita = clients("rita")
    headers = {**HX, "X-CSRF-Token": csrf_of(rita)}
    clean = rita.post(f"{leo_url}/verifica", headers=headers)
    assert clean.status_code == 200 and "non ha trovato problemi nelle decisioni" in clean.text
    broken = (
        bundle_files()[DMN]
        .decode()
        .replace('<text>"alta"</text></outputEntry>', "<text>get_env()</text></outputEntry>", 1)
    )
    assert rita.post(leo_url, data={"xml": broken}, headers=headers).status_code == 200
    found = rita.post(f"{leo_url}/verifica", headers=headers)
    assert found.status_code == 200 and "get_env" in found.text
    assert 'data-decision="decide_priorita" data-select="r_grave_o"' in found.text
    assert rita.post(f"{leo_url}/verifica", data={}).status_code == 403  # no CSRF token


def test_permissions_another_ambito_is_not_found_and_reading_is_not_editing(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    leo = clients("leo")
    for url in (LIST, EDITOR):
        assert leo.get(url).status_code == 404
        assert clients("anna").get(url).status_code == 403  # an operator reads the studio, edits nothing
    assert leo.post(EDITOR, data={"xml": bundle_files()[DMN].decode(), "csrf_token": csrf_of(leo)}).status_code == 404
    assert leo.post(LIST, data={"nome": "Altro", "csrf_token": csrf_of(leo)}).status_code == 404
    assert clients("dario").get("/processi/regione/sample_case/bozza/decisioni").status_code == 404
    assert clients("rita").get("/processi/regione/sample_case/bozza/decisioni").status_code == 200
    assert clients("dario").get(f"{LIST}/nessuno.dmn").status_code == 404
    assert clients("dario").get(f"{LIST}/sample_case.bpmn").status_code == 404
    assert clients("dario").get("/processi/MILANO/nessuno/bozza/decisioni").status_code == 404


def test_a_table_opened_before_someone_else_published_cannot_be_saved_over_the_new_version(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    """As in the diagram editor: a tab on the unsaved draft (revision 0) must not put its old table
    into the draft that follows a colleague's publication."""
    with transaction(people.sessions) as session:
        add_ambiti(session, "COMO")  # an Ambito no other test has a draft in
    rita = clients("rita")
    editor = f"/processi/COMO/sample_case/bozza/decisioni/{DMN}"
    stale = rita.get(editor).text
    base = re.search(r'data-base="(\d+)"', stale)
    assert base is not None and 'data-revision="0"' in stale
    xml = _xml_of(stale)
    headers = {**HX, "X-CSRF-Token": csrf_of(rita)}
    published = xml.replace('<text>"alta"</text>', '<text>"altissima"</text>', 1)
    assert published != xml
    saved = rita.post(editor, data={"xml": published, "revision": "0", "base": base.group(1)}, headers=headers)
    assert saved.status_code == 200
    with transaction(people.sessions) as session:
        publish_draft(
            session, Actor("rita", grants=frozenset({("coordinamento_regionale", None)})), "COMO", "sample_case", "v1"
        )
    late = xml.replace('<text>"alta"</text>', '<text>"media"</text>', 1)
    answer = rita.post(editor, data={"xml": late, "revision": "0", "base": base.group(1)}, headers=headers)
    assert answer.status_code == 409 and "nel frattempo" in html.unescape(answer.text)
    assert '"altissima"' in _xml_of(rita.get(editor).text)
