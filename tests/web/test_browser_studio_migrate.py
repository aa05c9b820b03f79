"""Migrating running cases in a real browser: the Direttore PUA of Milano runs the dry run,
starts the job, watches the progress update by itself while the worker moves the cases, and
moves one case back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import Platform, start_instance
from engine.access import create_user, role_label
from engine.db import transaction
from engine.definitions import deploy_bundle
from engine.demo import username
from engine.studio.migrate_jobs import work
from tests.conftest import add_ambiti
from tests.model.journey import OPERATORE, SHORT, CaseDriver
from tests.model.test_studio_migrate import milano_variant
from tests.web.conftest import PASSWORD
from tests.web.test_browser import PHONE, _deploy_model, check_accessibility, serving, shot
from tests.web.test_browser import browser as browser  # the fixture, shared
from tests.web.test_browser_roles import _login

pytestmark = pytest.mark.db

DIRECTOR = username("direttore_pua", "MILANO")  # dir.milano


@pytest.fixture
def migration_server(committed: Platform) -> Iterator[tuple[str, list[str], Platform]]:
    """The regional model, four Milano cases (one past «Registra il contatto»), then a Milano
    variant without that activity; the served app, the codes of the cases that can move."""
    with transaction(committed.sessions) as session:
        add_ambiti(session, "MILANO", "LECCO")
        _deploy_model(session)
        create_user(
            session, DIRECTOR, f"{role_label('direttore_pua')} · Milano", PASSWORD, [("direttore_pua", "MILANO")]
        )
        outcomes = [
            start_instance(session, committed.settings, "inlav_percorso", "MILANO", OPERATORE, data={"avvio": SHORT})
            for _ in range(4)
        ]
        movable = []
        for outcome in outcomes[:2]:
            CaseDriver(session, committed.settings, outcome.instance).contact()
            movable.append(outcome.instance.case_code)
        deploy_bundle(session, milano_variant(), "MILANO", DIRECTOR, "Senza «Registra il contatto»")
    with serving(committed) as base:
        yield base, movable, committed


def test_a_director_migrates_milano_cases_and_moves_one_back(migration_server, browser) -> None:
    base, movable, platform = migration_server
    axe: dict[str, list[str]] = {}
    context = browser.new_context(viewport=PHONE, base_url=base, locale="it-IT")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")
    page.goto("/processi/MILANO/inlav_percorso")
    page.get_by_role("link", name="Migrazione dei casi in corso").click()
    page.wait_for_url("**/processi/MILANO/inlav_percorso/migrazione")
    main = page.locator("main")
    assert "casi su altre versioni: 4; migrabili: 2; non migrabili: 2" in main.inner_text()
    assert main.locator("input[name='caso']:checked").count() == 2
    assert main.get_by_text("l'attività «Registra il contatto» in corso non esiste nella versione 1").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "deborda sul telefono"
    check_accessibility(page, "migrazione, prova (telefono)", axe)
    shot(page, "32-migrazione-prova.png")

    main.get_by_role("button", name="Migra i casi selezionati").click()
    page.wait_for_url("**/migrazione/*")
    progress = page.locator("#migration-progress")
    assert "casi conclusi 0/2" in progress.inner_text()
    work(platform.sessions, platform.settings)  # the worker's pass; the page asks again by itself
    page.locator("#migration-progress", has_text="Conclusa").wait_for(timeout=10_000)
    text = progress.inner_text()
    assert "casi conclusi 2/2 (100%)" in text and text.count("Migrato") == 2
    check_accessibility(page, "migrazione, avanzamento (telefono)", axe)
    shot(page, "33-migrazione-avanzamento.png")

    progress.get_by_role("button", name=f"Riporta alla v1 {movable[0]}").click()
    page.locator("#migration-progress", has_text="Riportato alla versione precedente").wait_for()
    assert "riportati indietro: 1" in page.locator("#migration-progress").inner_text()
    assert problems == [], problems  # no script error, nothing refused by the CSP
    context.close()
