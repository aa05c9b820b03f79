"""The read-access log in a real browser: the auditor reads a case file, finds her read in
«Registro accessi», narrows it to the case with the filters (htmx) and the page passes axe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine import SYSTEM, Platform, start_instance
from engine.access import create_user
from engine.db import transaction
from tests.conftest import add_ambiti, deploy
from tests.web.conftest import PASSWORD
from tests.web.test_browser import DESKTOP, check_accessibility, serving
from tests.web.test_browser import browser as browser  # the fixture, shared

pytestmark = pytest.mark.db


@pytest.fixture
def audited(committed: Platform) -> Iterator[tuple[str, list[str]]]:
    """Two MILANO cases and an auditor; the served app."""
    with transaction(committed.sessions) as session:
        add_ambiti(session, "MILANO")
        deploy(session, "sample")
        codes = [
            start_instance(session, committed.settings, "sample_case", "MILANO", SYSTEM).instance.case_code
            for _ in range(2)
        ]
        create_user(session, "rita", "Rita Neri", PASSWORD, [("revisore", None)])
    with serving(committed) as base:
        yield base, codes


def test_the_auditor_finds_her_own_reads(audited: tuple[str, list[str]], browser: Any) -> None:
    base, codes = audited
    axe: dict[str, list[str]] = {}
    context = browser.new_context(viewport=DESKTOP, base_url=base, locale="it-IT")
    page = context.new_page()
    page.goto("/")
    page.wait_for_url("**/login*")
    page.get_by_label("Nome utente").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url("**/casi")
    for code in codes:
        page.goto(f"/casi/{code}")
    page.locator("nav.app-nav").get_by_role("link", name="Registro accessi").click()
    page.wait_for_url("**/audit/accessi")
    assert "2 consultazioni trovate" in page.locator("#read-results").inner_text()
    check_accessibility(page, "registro accessi", axe)
    page.get_by_label("Codice del caso").fill(codes[0])
    page.get_by_role("button", name="Filtra").click()
    page.wait_for_url(f"**/audit/accessi?caso={codes[0]}")
    results = page.locator("#read-results")
    assert "1 consultazione trovata" in results.inner_text()
    assert "rita" in results.inner_text() and "Fascicolo del caso" in results.inner_text()
    assert codes[1] not in results.inner_text()
    context.close()
    assert all(not found for found in axe.values()), axe
