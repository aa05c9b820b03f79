"""The studio pages: processes per Ambito, a process's versions, a version's diagram (read-only)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine import Platform, resolve
from engine.access.accounts import create_user
from engine.db import read_transaction, transaction
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.models import ProcessInstance
from tests.conftest import BUNDLES
from tests.web.conftest import OLGA, PASSWORD, start

MILANO_NAME = "Prova dei moduli di Milano"


@pytest.fixture(scope="module")
def studio(web_platform: Platform) -> Platform:
    """Two cases on the regional «prova_moduli», a Milano variant, one case on it, one Lecco case."""
    with transaction(web_platform.sessions) as session:
        create_user(session, "rita", "Rita Regione", PASSWORD, [("coordinamento_regionale", None)])
        create_user(session, "ada", "Ada Admin", PASSWORD, [("amministratore", None)])
        create_user(session, "mina", "Mina Monitor", PASSWORD, [("monitoraggio_regionale", None)])
    start(web_platform)
    start(web_platform)

    start(web_platform, ambito="LECCO", actor=OLGA)
    files = read_bundle_paths([BUNDLES.parent / "web" / "bundles" / "forms"])
    files["prova_moduli.bpmn"] = files["prova_moduli.bpmn"].replace(b"Prova dei moduli", MILANO_NAME.encode())
    with transaction(web_platform.sessions) as session:
        deploy_bundle(session, files, "MILANO", "dario", "Un passo in più per Milano")
    start(web_platform)
    return web_platform


def _running(platform: Platform, definition_id: int, ambito: str | None) -> int:
    with read_transaction(platform.sessions) as session:
        query = select(func.count()).where(
            ProcessInstance.definition_id == definition_id, ProcessInstance.status != "completed"
        )
        if ambito is not None:
            query = query.where(ProcessInstance.ambito_code == ambito)
        return int(session.scalar(query) or 0)


def _rows(page: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", page, re.S)


def _cell(row: str, label: str) -> str:
    found = re.search(rf'data-label="{label}"[^>]*>(.*?)</t[dh]>', row, re.S)
    assert found, (label, row)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def test_the_studio_opens_where_the_person_works(studio: Platform, clients: Callable[[str], TestClient]) -> None:
    assert clients("dario").get("/processi", follow_redirects=False).headers["location"] == "/processi/MILANO"
    assert clients("olga").get("/processi", follow_redirects=False).headers["location"] == "/processi/LECCO"
    assert clients("rita").get("/processi", follow_redirects=False).headers["location"] == "/processi/regione"
    switched = clients("rita").get("/processi?ambito=LECCO", follow_redirects=False)
    assert switched.headers["location"] == "/processi/LECCO"
    page = clients("rita").get("/processi/regione").text
    assert '<option value="MILANO"' in page and '<option value="LECCO"' in page and 'value="regione" selected' in page
    # A person of one Ambito gets no switcher, and «Processi» is in her menu.
    page = clients("dario").get("/processi/MILANO").text
    assert 'name="ambito"' not in page and 'href="/processi"' in page


def test_the_milano_home_shows_the_variant_and_what_new_cases_get(
    studio: Platform, clients: Callable[[str], TestClient]
) -> None:
    page = clients("dario").get("/processi/MILANO").text
    milano = next(r for r in _rows(page) if "/processi/MILANO/prova_moduli" in r)
    assert MILANO_NAME in milano and _cell(milano, "Nuovi casi su") == "v1 della variante"
    assert _cell(milano, "Origine") == "Variante dell'Ambito"
    with read_transaction(studio.sessions) as session:
        variant = resolve(session, "prova_moduli", "MILANO").id
        base = resolve(session, "prova_moduli", None).id
    expected = _running(studio, variant, "MILANO") + _running(studio, base, "MILANO")
    assert int(_cell(milano, "Casi in corso")) == expected == 3
    # Lecco runs the regional version: no variant there.
    lecco = clients("olga").get("/processi/LECCO").text
    row = next(r for r in _rows(lecco) if "prova_moduli" in r)
    assert _cell(row, "Nuovi casi su") == "v1 regionale" and _cell(row, "Origine") == "Base regionale"
    assert MILANO_NAME not in lecco and int(_cell(row, "Casi in corso")) == _running(studio, base, "LECCO") == 1


def test_the_process_page_lists_versions_with_publisher_note_and_cases(
    studio: Platform, clients: Callable[[str], TestClient]
) -> None:
    page = clients("dario").get("/processi/MILANO/prova_moduli").text
    with read_transaction(studio.sessions) as session:
        variant = resolve(session, "prova_moduli", "MILANO").id
        base = resolve(session, "prova_moduli", None).id
    variant_row = next(r for r in _rows(page) if f"/versioni/{variant}" in r)
    base_row = next(r for r in _rows(page) if f"/versioni/{base}" in r)
    assert _cell(variant_row, "Da") == "dario" and _cell(variant_row, "Nota") == "Un passo in più per Milano"
    assert "nuovi casi" in _cell(variant_row, "Versione") and "nuovi casi" not in _cell(base_row, "Versione")
    assert int(_cell(variant_row, "Casi in corso")) == _running(studio, variant, "MILANO") == 1
    assert int(_cell(base_row, "Casi in corso")) == _running(studio, base, "MILANO") == 2
    assert _cell(base_row, "Da") == "test"
    # The regional view counts the base version in every Ambito and names Milano's variant.
    regional = clients("rita").get("/processi/regione/prova_moduli").text
    row = next(r for r in _rows(regional) if f"/versioni/{base}" in r)
    assert int(_cell(row, "Casi in corso")) == _running(studio, base, None) == 3
    assert 'href="/processi/MILANO/prova_moduli"' in regional and f"/versioni/{variant}" not in regional


def test_a_version_page_draws_the_diagram_and_lists_its_activities(
    studio: Platform, clients: Callable[[str], TestClient]
) -> None:
    with read_transaction(studio.sessions) as session:
        variant = resolve(session, "prova_moduli", "MILANO").id
    url = f"/processi/MILANO/prova_moduli/versioni/{variant}"
    page = clients("anna").get(url).text
    assert f'data-diagram-url="{url}/diagramma.bpmn"' in page and "bpmn-navigated-viewer" in page
    assert "Compila la scheda" in page and "Operatore di contatto" in page
    xml = clients("anna").get(f"{url}/diagramma.bpmn")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("text/plain")
    assert "attachment" in xml.headers["content-disposition"] and MILANO_NAME in xml.text
    # The regional monitor reads it too; Lecco's people do not.
    assert clients("mina").get(url).status_code == 200
    assert clients("olga").get(url).status_code == 404
    assert clients("olga").get(f"{url}/diagramma.bpmn").status_code == 404
    # A version that is not the process's, or not in this scope, is not found.
    with read_transaction(studio.sessions) as session:
        other = resolve(session, "sample_case", None).id
    assert clients("dario").get(f"/processi/MILANO/prova_moduli/versioni/{other}").status_code == 404
    assert clients("olga").get(f"/processi/LECCO/prova_moduli/versioni/{variant}").status_code == 404


def test_who_may_open_the_studio(studio: Platform, clients: Callable[[str], TestClient]) -> None:
    assert clients("olga").get("/processi/MILANO").status_code == 404
    assert clients("olga").get("/processi/regione").status_code == 404
    assert clients("dario").get("/processi/NESSUNO").status_code == 404
    assert clients("dario").get("/processi/MILANO/nessun_processo").status_code == 404
    admin = clients("ada")
    assert admin.get("/processi", follow_redirects=False).status_code == 403
    assert admin.get("/processi/MILANO").status_code == 403
    assert 'href="/processi"' not in admin.get("/profilo").text
    assert clients("mina").get("/processi/MILANO").status_code == 200
