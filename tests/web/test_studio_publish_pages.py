"""The publishing page of a studio draft: what it shows, the refusal without a reason, the publication,
permissions and bad input (never a 500, Italian errors)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine import Platform
from engine.access.accounts import create_user
from engine.db import transaction
from engine.definitions import deploy_bundle, read_bundle_paths
from tests.model.journey import BUNDLE
from tests.web.conftest import PASSWORD, csrf_of

KEY = "inlav_chiusura"
MAIN = "inlav_chiusura.bpmn"
LINE = "ts_chiusura = datetime.now(timezone.utc).isoformat(timespec='seconds')\n"
REASON = "Milano registra la chiusura nel proprio gestionale fino a marzo"


@pytest.fixture(scope="module")
def people(web_platform: Platform) -> Platform:
    with transaction(web_platform.sessions) as session:
        deploy_bundle(session, read_bundle_paths(BUNDLE), None, "rita", "Modello regionale")
        create_user(session, "rita", "Rita Regione", PASSWORD, [("coordinamento_regionale", None)])
        create_user(session, "leo", "Leo Lecco", PASSWORD, [("direttore_pua", "LECCO")])
    return web_platform


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


def _xml(client: TestClient, scope: str) -> tuple[str, int]:
    page = client.get(f"/processi/{scope}/{KEY}/bozza").text
    xml = html.unescape(re.search(r'data-xml="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    revision = int(re.search(r'data-revision="(\d+)"', page).group(1))  # type: ignore[union-attr]
    return xml, revision


def _save(client: TestClient, scope: str, xml: str, revision: int) -> None:
    saved = client.post(
        f"/processi/{scope}/{KEY}/bozza", data={"xml": xml, "revision": str(revision), "csrf_token": csrf_of(client)}
    )
    assert saved.status_code == 200, saved.text


def test_the_page_shows_check_facts_and_versions_and_the_draft_links_to_it(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    dario = clients("dario")
    assert "/processi/MILANO/inlav_chiusura/bozza/pubblica" in dario.get(f"/processi/MILANO/{KEY}/bozza").text
    page = dario.get(f"/processi/MILANO/{KEY}/bozza/pubblica")
    assert page.status_code == 200
    text = _text(page.text)
    assert "La bozza è valida" in text and "Nessun fatto letto dal monitoraggio regionale va perso" in text
    # An unchanged draft of the regional version: v1 for Milano would change nothing, so nothing is created.
    assert "nessun cambiamento per i nuovi casi" in text and "Nessuna nuova versione" in text
    assert 'name="motivo"' not in page.text and 'name="nota"' in page.text


def test_facts_lost_need_a_reason_then_the_variant_is_published_with_a_notice(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    dario = clients("dario")
    xml, revision = _xml(dario, "MILANO")
    _save(dario, "MILANO", xml.replace(LINE, ""), revision)
    url = f"/processi/MILANO/{KEY}/bozza/pubblica"
    page = dario.get(url)
    text = _text(page.text)
    assert "ts_chiusura" in text and "«Registra la chiusura» (registra_chiusura)" in text
    assert "crea la variante di Milano" in text and 'name="motivo"' in page.text
    token = csrf_of(dario)
    refused = dario.post(url, data={"csrf_token": token, "nota": "Senza ora", "revision": str(revision + 1)})
    assert refused.status_code == 422
    assert "indicare il motivo" in _text(refused.text) and ">Senza ora</textarea>" in refused.text
    assert "Variante di Milano" in dario.get(f"/processi/MILANO/{KEY}").text
    assert "Questo Ambito non ha una variante" in _text(dario.get(f"/processi/MILANO/{KEY}").text)
    short = dario.post(url, data={"csrf_token": token, "motivo": "boh", "revision": str(revision + 1)})
    assert short.status_code == 422 and "troppo breve" in _text(short.text)

    done = dario.post(
        url,
        data={"csrf_token": token, "nota": "Senza ora", "motivo": REASON, "revision": str(revision + 1)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/processi/MILANO/{KEY}?esito=pubblicata_con_motivo"
    process = _text(dario.get(done.headers["location"]).text)
    assert "Bozza pubblicata nonostante i fatti per il monitoraggio persi" in process
    assert "Questo Ambito non ha una variante" not in process and REASON in process
    # Lecco has no variant: its new cases keep the regional version.
    assert "Questo Ambito non ha una variante" in _text(clients("rita").get(f"/processi/LECCO/{KEY}").text)


def test_who_may_open_and_post_the_page(people: Platform, clients: Callable[[str], TestClient]) -> None:
    url = f"/processi/MILANO/{KEY}/bozza/pubblica"
    leo = clients("leo")
    assert leo.get(url).status_code == 404  # another Ambito: as an unknown one
    assert leo.post(url, data={"csrf_token": csrf_of(leo)}).status_code == 404
    anna = clients("anna")
    assert anna.get(url).status_code == 403  # an operator publishes nothing
    assert anna.post(url, data={"csrf_token": csrf_of(anna)}).status_code == 403
    dario = clients("dario")
    assert dario.get(f"/processi/regione/{KEY}/bozza/pubblica").status_code == 404
    assert dario.post(url, data={}).status_code == 403  # no CSRF token
    assert dario.get("/processi/MILANO/nessuno/bozza/pubblica").status_code == 404
    assert clients("rita").get(f"/processi/regione/{KEY}/bozza/pubblica").status_code == 200


def test_bad_input_never_fails_and_a_stale_page_is_refused(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    rita = clients("rita")
    url = f"/processi/LECCO/{KEY}/bozza/pubblica"
    xml, revision = _xml(rita, "LECCO")
    _save(rita, "LECCO", xml.replace('name="Registra la chiusura"', 'name="Registra la chiusura a Lecco"'), revision)
    token = csrf_of(rita)
    long = rita.post(url, data={"csrf_token": token, "nota": "x" * 3000, "revision": "abc"})
    assert long.status_code == 422 and "La nota è troppo lunga" in _text(long.text)
    stale = rita.post(url, data={"csrf_token": token, "revision": str(revision)})
    assert stale.status_code == 409 and "dopo che hai aperto la pagina di pubblicazione" in _text(stale.text)
    broken = xml.replace("esito_percorso = 'concluso'", "esito_percorso = (")
    _save(rita, "LECCO", broken, revision + 1)
    invalid = rita.post(url, data={"csrf_token": token, "revision": str(revision + 2)})
    assert invalid.status_code == 422 and "La bozza non è valida" in _text(invalid.text)
    assert "registra_chiusura" in invalid.text and "disabled" in invalid.text
    _save(rita, "LECCO", xml.replace('name="Registra la chiusura"', 'name="Chiusura a Lecco"'), revision + 2)
    done = rita.post(url, data={"csrf_token": token, "nota": "Nome locale"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?esito=pubblicata")
    assert "Bozza pubblicata: la nuova versione" in _text(rita.get(done.headers["location"]).text)
    # The same files again: nothing new, and the person is told so.
    again = rita.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert again.headers["location"].endswith("?esito=invariata")
    assert "Nessuna nuova versione" in _text(rita.get(again.headers["location"]).text)
