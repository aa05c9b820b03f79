"""The administrator's journey in a real browser (Playwright driving Debian's Chromium).

On the demo data of two Ambiti (Milano and Lecco, seeded through the engine on the
regional model), the administrator logs in, looks through users, Ambiti, partners,
settings and the operation log, creates a colleague with roles in Lecco and logs out.
The new colleague logs in with the one-time password, chooses her own, and sees only
Lecco: her inbox and case search hold Lecco's cases, and a Milano case answers "Non
trovato". axe-core checks each page. With INLAV_SCREENSHOTS=1 the run refreshes the
screenshots of docs/guida-admin.md:

    INLAV_SCREENSHOTS=1 .venv/bin/pytest tests/web/test_browser_admin.py
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from engine import Platform
from engine.db import transaction
from engine.demo import DEMO_PASSWORD, seed
from tests.web.test_browser import DESKTOP, PHONE, _deploy_model, browser, check_accessibility, serving, shot

__all__ = ["browser"]  # the Chromium fixture, shared with the operator journey

pytestmark = pytest.mark.db

NEW_PASSWORD = "giulia-sceglie-2026"


@pytest.fixture
def demo_server(committed: Platform) -> Iterator[str]:
    """The app on the demo data of Milano and Lecco (users, partners, targets, cases)."""
    with transaction(committed.sessions) as session:
        _deploy_model(session)
    summary = seed(committed, ambiti=["MILANO", "LECCO"])
    assert not [line for line in summary if line.startswith("Attenzione")], summary
    with serving(committed) as base:
        yield base


def log_in(page: Any, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Nome utente").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Accedi").click()


def case_codes(text: str) -> set[str]:
    return set(re.findall(r"DEMO-[A-Z]+-[0-9A-Z]+", text))


def test_administrator_creates_a_colleague_who_sees_only_her_ambito(demo_server: str, browser: Any) -> None:
    axe: dict[str, list[str]] = {}
    desk = browser.new_context(viewport=DESKTOP, base_url=demo_server, locale="it-IT")
    page = desk.new_page()

    # The administrator lands on the user list.
    log_in(page, "admin", DEMO_PASSWORD)
    page.wait_for_url("**/admin/utenti")
    assert "utenti trovati" in page.locator("#user-results").inner_text()
    check_accessibility(page, "utenti", axe)
    page.get_by_label("Ambito").select_option("LECCO")
    page.wait_for_url("**/admin/utenti?ambito=LECCO")
    page.wait_for_selector('#user-results a[href^="/admin/utenti/"]')
    listed = page.locator("#user-results").inner_text()
    assert "op.lecco" in listed and "op.milano" not in listed
    shot(page, "admin-01-utenti.png")

    # A new colleague in Lecco, with two roles (the second row added in the page).
    page.get_by_role("link", name="Nuovo utente").click()
    page.wait_for_url("**/admin/utenti/nuovo")
    page.get_by_label("Nome utente").fill("giulia.conti")
    page.get_by_label("Nome e cognome").fill("Giulia Conti")
    page.get_by_label("Email").fill("giulia.conti@pua-lecco.it")
    page.locator("#f-ruoli-0-ruolo").select_option("operatore_contatto")
    page.locator("#f-ruoli-0-ambito").select_option("LECCO")
    page.get_by_role("button", name="Aggiungi un ruolo").click()
    page.locator("#f-ruoli-1-ruolo").select_option("esperto_servizi_sociali")
    page.locator("#f-ruoli-1-ambito").select_option("LECCO")
    check_accessibility(page, "nuovo utente", axe)
    shot(page, "admin-02-nuovo-utente.png")
    page.get_by_role("button", name="Crea l'utente").click()
    page.wait_for_selector("#one-time-password")
    one_time = page.locator("#one-time-password").inner_text().strip()
    body = page.locator("main").inner_text()
    assert "Operatore di contatto · LECCO" in body and "Esperto servizi sociali · LECCO" in body
    check_accessibility(page, "utente creato", axe)
    shot(page, "admin-03-utente-creato.png")

    # The other administration pages, as the guide shows them.
    for path, name, expected in (
        ("/admin/ambiti", "admin-04-ambiti.png", "LECCO"),
        ("/admin/partner?ambito=LECCO", "admin-05-partner.png", "Centro per l'impiego di Lecco"),
        ("/admin/impostazioni", "admin-06-impostazioni.png", "Obiettivi annuali dei PUA"),
        ("/audit/operazioni", "admin-07-registro-operazioni.png", "giulia.conti"),
    ):
        page.goto(path)
        assert expected in page.locator("main").inner_text(), path
        check_accessibility(page, path, axe)
        shot(page, name, full=not path.startswith("/audit"))
    page.goto("/admin/impostazioni")
    assert page.locator('input[name="t.MILANO.intercepted_min"]').input_value() == "70"
    assert page.locator('input[name="t.MILANO.taken_max"]').input_value() == "50"
    page.get_by_role("button", name="Esci").click()
    page.wait_for_url("**/login")
    desk.close()

    # Giulia, on her phone: one-time password, then her own.
    phone = browser.new_context(viewport=PHONE, base_url=demo_server, locale="it-IT")
    page = phone.new_page()
    log_in(page, "giulia.conti", one_time)
    page.wait_for_url("**/profilo/password**")
    check_accessibility(page, "cambio password", axe)
    shot(page, "admin-08-cambio-password-telefono.png")
    page.get_by_label("Password attuale").fill(one_time)
    page.get_by_label("Nuova password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Ripeti la nuova password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Cambia password").click()
    page.wait_for_url("**/attivita")

    # Only Lecco: her inbox, her case search; a Milano case is "not found".
    inbox = case_codes(page.locator("#inbox-results").inner_text())
    assert inbox and all(code.startswith("DEMO-LECCO-") for code in inbox), inbox
    page.goto("/casi")
    found = case_codes(page.locator("#case-results").inner_text())
    assert found and all(code.startswith("DEMO-LECCO-") for code in found), found
    page.get_by_label("Cerca per codice del caso o alias").fill("DEMO-MILANO-01")
    page.wait_for_selector("#case-results >> text=Nessun caso corrisponde alla ricerca.")
    response = page.goto("/casi/DEMO-MILANO-01")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Non trovato"
    response = page.goto("/admin/utenti")
    assert response is not None and response.status == 403
    phone.close()
    print("axe (violazioni di ogni gravità):", {k: v for k, v in axe.items() if v} or "nessuna")
