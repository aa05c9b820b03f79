"""The import wizard in a real browser: a Direttore PUA uploads a Camunda Modeler diagram, assigns
roles to its candidate group and to the tasks without a lane, and lands in the editor on the draft."""

from __future__ import annotations

import pytest

from tests.engine.test_studio_transfer import CAMUNDA
from tests.web.test_browser import PHONE, check_accessibility, shot
from tests.web.test_browser import browser as browser  # the fixture, shared
from tests.web.test_browser_roles import _login
from tests.web.test_browser_studio import DIRECTOR
from tests.web.test_browser_studio import studio_server as studio_server  # the fixture, shared

pytestmark = pytest.mark.db


def test_a_director_imports_a_camunda_diagram_into_a_draft(studio_server, browser) -> None:
    base, _processes = studio_server
    axe: dict[str, list[str]] = {}
    context = browser.new_context(viewport=PHONE, base_url=base, locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")
    page.goto("/processi/MILANO")
    page.get_by_role("link", name="Importa un modello").click()
    page.wait_for_url("**/processi/MILANO/importa")
    check_accessibility(page, "importa (telefono)", axe)
    page.get_by_label("File da importare").set_input_files(
        files=[{"name": "approva.bpmn", "mimeType": "application/xml", "buffer": CAMUNDA}]
    )
    page.get_by_role("button", name="Analizza").click()
    page.wait_for_selector("#roles-title")
    findings = page.locator("main table").last.inner_text()
    assert "è un modulo Camunda, che la piattaforma non mostra" in findings
    page.get_by_label("Ruolo per management").select_option("direttore_pua")
    page.get_by_label("Ruolo per attività senza corsia").select_option("operatore_contatto")
    page.locator("label[for='import-forms']").click()  # the theme draws the box on the label
    assert page.locator("#import-forms").is_checked()
    page.get_by_role("button", name="Ricalcola con i ruoli scelti").click()
    page.wait_for_selector("#roles-title")
    assert "non è in nessuna corsia" not in page.locator("main").inner_text()
    assert page.get_by_label("Ruolo per management").input_value() == "direttore_pua"
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "la pagina deborda in larghezza sul telefono"
    check_accessibility(page, "piano di importazione (telefono)", axe)
    shot(page, "34-importa-piano.png")
    page.get_by_role("button", name="Crea la bozza").click()
    page.wait_for_url("**/processi/MILANO/approva_spesa/bozza")
    page.wait_for_selector("[data-editor-ready]")
    assert page.get_attribute("[data-editor]", "data-editor-ready") == "true", errors
    assert page.locator(".djs-container svg [data-element-id='Approva']").count() >= 1
    assert errors == [], errors  # no script error, nothing refused by the CSP
    context.close()
