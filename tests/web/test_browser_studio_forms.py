"""The form editor in a real browser: the Direttore PUA of Milano opens the forms of the PIP draft,
creates «approvazione_milano», adds a yes/no and a long-text field shown only for «No», reorders
them, sees the live preview follow each change (and the condition work in it), and finds it all
saved in the draft after a reload."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from engine import Platform
from engine.access import actor_for, create_user, role_label
from engine.db import read_transaction, transaction
from engine.demo import username
from engine.models import AppUser
from engine.studio import open_draft
from tests.conftest import add_ambiti
from tests.web.conftest import PASSWORD
from tests.web.test_browser import DESKTOP, _deploy_model, check_accessibility, serving, shot
from tests.web.test_browser import browser as browser  # the fixture, shared
from tests.web.test_browser_roles import _login

pytestmark = pytest.mark.db

DIRECTOR = username("direttore_pua", "MILANO")  # dir.milano
KEY = "inlav_pip"


@pytest.fixture
def forms_server(committed: Platform) -> Iterator[str]:
    """The regional model deployed and the demo's Direttore PUA of Milano; the served app's URL."""
    with transaction(committed.sessions) as session:
        add_ambiti(session, "MILANO", "LECCO")
        _deploy_model(session)
        create_user(
            session, DIRECTOR, f"{role_label('direttore_pua')} · Milano", PASSWORD, [("direttore_pua", "MILANO")]
        )
    with serving(committed) as base:
        yield base


def _preview_names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        page.locator("[data-preview-fields] [name]").evaluate_all(
            "els => [...new Set(els.map(e => e.name).filter(n => !n.endsWith('.__present')))]"
        )
    )


def test_a_director_builds_a_form_in_the_pip_draft(forms_server, browser, committed: Platform) -> None:
    base = forms_server
    context = browser.new_context(viewport=DESKTOP, base_url=base, locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    axe: dict[str, list[str]] = {}
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")
    page.goto(f"/processi/MILANO/{KEY}/bozza")
    page.get_by_role("link", name="Moduli della bozza").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}/bozza/moduli")
    assert page.locator("main table tbody tr").count() > 1  # the PIP bundle's forms, with the tasks using them
    page.get_by_label("Titolo").fill("Approvazione di Milano")
    page.get_by_label("Nome del file").fill("approvazione_milano")
    page.get_by_role("button", name="Crea il modulo").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}/bozza/moduli/approvazione_milano")
    assert "Nessun campo" in page.locator("#form-editor").inner_text()

    add = page.locator("section:has(#aggiungi) form")
    add.get_by_label("Etichetta").fill("Il piano è approvato?")
    add.get_by_label("Nome del dato").fill("approvato")
    add.get_by_label("Tipo").select_option("scelta")
    assert add.locator("[data-for-kinds='scelta scelta_multipla']").is_visible()
    add.get_by_label("Tipo").select_option("si_no")
    assert add.locator("[data-for-kinds='scelta scelta_multipla']").is_hidden()  # only what the kind uses
    assert add.locator("[data-for-kinds='data']").is_hidden()
    add.locator("label[for=ed-add-obbligatorio]").click()  # the styled box is drawn by its label
    assert add.get_by_label("Obbligatorio").is_checked()
    add.get_by_role("button", name="Aggiungi il campo").click()
    page.wait_for_selector("#form-editor [role=status]")
    assert _preview_names(page) == ["approvato"]

    add = page.locator("section:has(#aggiungi) form")
    add.get_by_label("Etichetta").fill("Osservazioni")
    add.get_by_label("Nome del dato").fill("osservazioni")
    add.get_by_label("Tipo").select_option("testo_lungo")
    add.locator("label", has_text="Il piano è approvato? è «No»").click()
    add.get_by_role("button", name="Aggiungi il campo").click()
    page.locator("[data-preview-fields] textarea").wait_for(state="attached")
    assert _preview_names(page) == ["approvato", "osservazioni"]

    # Reorder with the keyboard-reachable buttons: the long text goes first, the preview follows.
    page.get_by_role("button", name="Su: Osservazioni").focus()
    page.keyboard.press("Enter")
    page.locator("[data-preview-fields] > #f-osservazioni-wrap:first-child").wait_for(state="attached")
    assert _preview_names(page) == ["osservazioni", "approvato"]
    # The keyboard stays on the moved field («Su» is off at the top, so on «Giù»).
    focused = page.evaluate("() => document.activeElement.getAttribute('data-focus-key')")
    assert focused == "giu:osservazioni"
    assert "visibile solo se «Il piano è approvato?» è «No»" in page.locator("[data-field=osservazioni]").inner_text()
    # The condition works in the preview as on the operator's page: hidden until «No».
    preview = page.locator("[data-preview-fields]")
    assert preview.locator("#f-osservazioni-wrap").is_hidden()
    preview.locator("label", has_text="No").click()
    assert preview.locator("#f-osservazioni").is_visible()
    check_accessibility(page, "editor dei moduli", axe)
    shot(page, "32-editor-moduli.png")

    # Everything was saved in the draft, as it stands after a reload.
    page.reload()
    assert _preview_names(page) == ["osservazioni", "approvato"]
    with read_transaction(committed.sessions) as session:
        user = session.query(AppUser).filter(AppUser.username == DIRECTOR).one()
        draft = open_draft(session, actor_for(session, user), "MILANO", KEY)
    schema = json.loads(draft.files["approvazione_milano.schema.json"])
    ui = json.loads(draft.files["approvazione_milano.uischema.json"])
    assert ui["ui:order"] == ["osservazioni", "approvato"] and schema["required"] == ["approvato"]
    assert schema["properties"]["approvato"] == {"title": "Il piano è approvato?", "type": "boolean"}
    assert errors == [], errors  # no script error, nothing refused by the CSP
    context.close()
