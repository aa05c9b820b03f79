"""The comparison page: two versions of a process, forms' differences listed, bad or foreign ids refused."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine import Platform
from engine.access import Actor
from engine.access.accounts import create_user
from engine.db import read_transaction, transaction
from engine.definitions import deploy_bundle
from engine.studio import catalogue
from tests.conftest import add_ambiti
from tests.engine.test_studio_compare import NEW_FIELD_LABEL, NEW_TASK, milano_pip_variant, regional_files
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.db  # the PostgreSQL pass runs these too: versions are resolved by queries

KEY = "inlav_pip"


@pytest.fixture(scope="module")
def compared(web_platform: Platform) -> tuple[Platform, int, int]:
    """The regional model, a Milano variant of «inlav_pip», a Bergamo director; (platform, regional id, variant id)."""
    with transaction(web_platform.sessions) as session:
        add_ambiti(session, "BERGAMO")
        create_user(session, "bea", "Bea Bergamo", PASSWORD, [("direttore_pua", "BERGAMO")])
        files = regional_files()
        deploy_bundle(session, files, None, "rita", "Modello regionale")
        deploy_bundle(session, milano_pip_variant(files), "MILANO", "dario", "Variante di Milano")
    with read_transaction(web_platform.sessions) as session:
        actor = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
        entry = catalogue(session, actor, "MILANO", KEY).processes[0]
        return web_platform, entry.base[0].definition_id, entry.variant[0].definition_id


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_process_page_links_to_the_comparison_with_the_regional_model(
    compared: tuple[Platform, int, int], clients: Callable[[str], TestClient]
) -> None:
    _platform, regional, variant = compared
    page = clients("dario").get(f"/processi/MILANO/{KEY}").text
    assert f"/processi/MILANO/{KEY}/confronta?da={regional}&amp;a={variant}" in page
    assert "Confronta con il modello regionale" in page


def test_the_shortcut_page_shows_both_diagrams_and_the_form_differences(
    compared: tuple[Platform, int, int], clients: Callable[[str], TestClient]
) -> None:
    _platform, regional, variant = compared
    response = clients("dario").get(f"/processi/MILANO/{KEY}/confronta")
    assert response.status_code == 200
    page = response.text
    assert f'data-diagram-url="/processi/MILANO/{KEY}/versioni/{regional}/diagramma.bpmn"' in page
    assert f'data-diagram-url="/processi/MILANO/{KEY}/versioni/{variant}/diagramma.bpmn"' in page
    assert "/static/vendor/app/compare.js" in page
    text = _text(page)
    assert "è confrontata con la versione più recente del modello regionale (v1)" in text
    assert f"campo {NEW_FIELD_LABEL} lingua_colloquio aggiunto" in text
    assert f'data-element="{NEW_TASK}"' in page  # the new form's task, selectable in the diagrams
    assert "Nessuna differenza tra le due versioni." not in text
    # Both diagrams are readable at the URLs the page gives.
    for version in (regional, variant):
        xml = clients("dario").get(f"/processi/MILANO/{KEY}/versioni/{version}/diagramma.bpmn")
        assert xml.status_code == 200 and "inlav_pip" in xml.text


def test_a_version_compared_with_itself_has_no_differences(
    compared: tuple[Platform, int, int], clients: Callable[[str], TestClient]
) -> None:
    _platform, regional, _variant = compared
    text = _text(clients("dario").get(f"/processi/MILANO/{KEY}/confronta?da={regional}&a={regional}").text)
    assert "Nessuna differenza tra le due versioni." in text


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("da=abc&a=1", 422, "Il parametro «da» deve essere il numero di una versione del processo."),
        ("da=1&a=-3", 422, "Il parametro «a» deve essere il numero di una versione del processo."),
        ("da=99999999999999999999&a=1", 422, "Il parametro «da» deve essere il numero"),
        ("da=999999&a=999998", 404, "Versione di partenza (999999) del processo «inlav_pip» non trovata."),
    ],
)
def test_bad_ids_get_an_italian_error(
    compared: tuple[Platform, int, int], clients: Callable[[str], TestClient], query: str, status: int, message: str
) -> None:
    response = clients("dario").get(f"/processi/MILANO/{KEY}/confronta?{query}")
    assert response.status_code == status
    assert message in html.unescape(response.text)


def test_bergamo_cannot_compare_milano_versions(
    compared: tuple[Platform, int, int], clients: Callable[[str], TestClient]
) -> None:
    _platform, regional, variant = compared
    bea = clients("bea")
    assert bea.get(f"/processi/MILANO/{KEY}/confronta?da={regional}&a={variant}").status_code == 404
    response = bea.get(f"/processi/BERGAMO/{KEY}/confronta?da={regional}&a={variant}")
    assert response.status_code == 404 and "non trovata" in html.unescape(response.text)
    # Her own studio compares what she reads: the regional version with itself.
    assert bea.get(f"/processi/BERGAMO/{KEY}/confronta?da={regional}&a={regional}").status_code == 200
