"""The studio home in a real browser: a Direttore PUA opens «Processi» on the regional model,
opens a process and sees one of its versions drawn by bpmn-js (read-only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from engine import Platform
from engine.access import create_user, role_label
from engine.db import read_transaction, transaction
from engine.demo import username
from engine.models import ProcessDefinition
from tests.conftest import add_ambiti
from tests.web.conftest import PASSWORD
from tests.web.test_browser import PHONE, _deploy_model, check_accessibility, serving, shot
from tests.web.test_browser import browser as browser  # the fixture, shared
from tests.web.test_browser_roles import _login

pytestmark = pytest.mark.db

DIRECTOR = username("direttore_pua", "MILANO")  # dir.milano


@pytest.fixture
def studio_server(committed: Platform) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The regional model deployed, a Direttore PUA of Milano; the served app and (key, name) of each process."""
    with transaction(committed.sessions) as session:
        add_ambiti(session, "MILANO", "LECCO")
        _deploy_model(session)
        # The demo's Direttore PUA of Milano (engine.demo), so the guide's screenshots show a demo user.
        create_user(
            session, DIRECTOR, f"{role_label('direttore_pua')} · Milano", PASSWORD, [("direttore_pua", "MILANO")]
        )
    with read_transaction(committed.sessions) as session:
        processes = [(k, n) for k, n in session.execute(select(ProcessDefinition.process_key, ProcessDefinition.name))]
    with serving(committed) as base:
        yield base, processes


def test_a_director_opens_the_studio_and_sees_a_diagram(studio_server, browser) -> None:
    base, processes = studio_server
    axe: dict[str, list[str]] = {}
    context = browser.new_context(viewport=PHONE, base_url=base, locale="it-IT")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")
    page.locator("nav.app-nav").get_by_role("link", name="Processi").click()
    page.wait_for_url("**/processi/MILANO")
    table = page.locator("main table")
    listed = table.locator("tbody th a").all_inner_texts()
    assert sorted(listed) == sorted(name for _key, name in processes) and listed
    assert all(text.strip() == "Base regionale" for text in table.locator("td[data-label='Origine']").all_inner_texts())
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "la pagina deborda in larghezza sul telefono"
    check_accessibility(page, "processi (telefono)", axe)
    shot(page, "30-processi.png")

    key, name = sorted(processes)[0]
    table.get_by_role("link", name=name).click()
    page.wait_for_url(f"**/processi/MILANO/{key}")
    assert page.locator("h1").inner_text().strip() == name
    page.locator("main table").first.get_by_role("link", name="Vedi").first.click()
    page.wait_for_selector("[data-diagram-ready]")
    assert page.get_attribute("[data-diagram-url]", "data-diagram-ready") == "true", problems
    # Every activity the page lists is drawn in the SVG, under its element id.
    elements = [code.inner_text() for code in page.locator("main table code.app-key").all()]
    assert elements
    for element in elements:
        assert page.locator(f"svg [data-element-id='{element}']").count() >= 1, element
    assert page.locator("svg [data-element-id] text").count() > 0  # names are drawn
    check_accessibility(page, "diagramma (telefono)", axe)
    shot(page, "31-diagramma.png")
    assert problems == [], problems  # no script error, no style or script refused by the CSP
    context.close()


def test_a_director_checks_a_broken_draft_and_clicking_the_problem_selects_the_element(
    studio_server, browser, committed: Platform
) -> None:
    """The editor: the draft of a regional process drawn by the bpmn-js modeler with Italian
    labels; «Verifica» saves it, validates it on the server, lists the problem in Italian,
    marks the element, and a click on the problem selects it on the canvas."""
    import re

    from engine.access import actor_for
    from engine.models import AppUser
    from engine.studio.drafts import open_draft, save_diagram

    base, processes = studio_server
    sessions = committed.sessions
    broken_key = broken_task = None
    with transaction(sessions) as session:
        dora = actor_for(session, session.scalars(select(AppUser).where(AppUser.username == DIRECTOR)).one())
        for key, _name in sorted(processes):
            xml = open_draft(session, dora, "MILANO", key).xml
            found = re.search(r'<bpmn:scriptTask id="([^"]+)"[^>]*>.*?<bpmn:script>(.*?)</bpmn:script>', xml, re.S)
            if found:
                broken_key, broken_task = key, found[1]
                broken = xml[: found.start(2)] + "v = get_env()" + xml[found.end(2) :]
                save_diagram(session, dora, "MILANO", key, broken.encode(), None)
                break
    assert broken_key and broken_task, "the regional model has script tasks"

    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base, locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")
    page.goto(f"/processi/MILANO/{broken_key}")
    page.get_by_role("link", name="Modifica (bozza)").click()
    page.wait_for_url(f"**/processi/MILANO/{broken_key}/bozza")
    page.wait_for_selector("[data-editor-ready]")
    assert page.get_attribute("[data-editor]", "data-editor-ready") == "true", errors
    assert page.locator(f".djs-container svg [data-element-id='{broken_task}']").count() >= 1
    palette = page.locator(".djs-palette .entry[aria-label]").evaluate_all("ns => ns.map(n => n.ariaLabel)")
    assert palette and all(" " in label for label in palette), palette
    assert "Strumento mano (spostare il disegno)" in palette, palette  # the palette speaks Italian
    assert not any(label.startswith(("Create", "Activate")) for label in palette), palette

    page.get_by_role("button", name="Verifica").click()
    page.wait_for_selector("[data-editor-problems][data-checked]")
    problem = page.locator(f"[data-editor-problems] button[data-select='{broken_task}']")
    assert "la funzione «get_env» non esiste" in problem.inner_text()
    assert page.locator(f"g.djs-element.app-problem[data-element-id='{broken_task}']").count() == 1
    problem.click()
    selected = page.evaluate("() => window.inlavModeler.get('selection').get().map(element => element.id)")
    assert selected == [broken_task]
    assert errors == [], errors  # no script error, nothing refused by the CSP
    context.close()
