"""The decision-table editor in a real browser: the Direttore PUA of Milano opens the draft of
the valutazione process, its regional table of admissibility (inlav_ammissibilita.dmn) in the
dmn-js editor with Italian labels, adds a rule, writes its cells, checks a broken cell (the
problem selects the cell), fixes it and saves; the engine then holds the new rule and the
draft still validates."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine import Platform
from engine.access import actor_for
from engine.db import read_transaction
from engine.models import AppUser
from engine.studio import check_draft, decision_files
from tests.web.test_browser import DESKTOP, check_accessibility, shot
from tests.web.test_browser import browser as browser  # the fixture, shared
from tests.web.test_browser_roles import _login
from tests.web.test_browser_studio import DIRECTOR
from tests.web.test_browser_studio import studio_server as studio_server  # the fixture, shared

pytestmark = pytest.mark.db

KEY = "inlav_valutazione"
DMN = "inlav_ammissibilita.dmn"
RULES = "table.tjs-table tbody tr"


def _rules(sessions: Any) -> int:
    with read_transaction(sessions) as session:
        dora = actor_for(session, session.scalars(select(AppUser).where(AppUser.username == DIRECTOR)).one())
        overview = decision_files(session, dora, "MILANO", KEY)
    return next(d.rules for f in overview.files if f.name == DMN for d in f.decisions)


def _write(page: Any, row: int, column: int, text: str) -> None:
    """Type `text` into a body cell of the table (row and column counted from 1, index column excluded)."""
    cell = page.locator(f"{RULES}:nth-child({row}) td[data-col-id]").nth(column - 1)
    cell.locator("[contenteditable]").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Tab")  # leave the cell: the editor commits the text


def test_a_director_adds_a_rule_checks_it_and_saves_it(studio_server, browser, committed: Platform) -> None:
    base, _processes = studio_server
    before = _rules(committed.sessions)
    context = browser.new_context(viewport=DESKTOP, base_url=base, locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text[:60]} @ {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    axe: dict[str, list[str]] = {}
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")

    page.goto(f"/processi/MILANO/{KEY}/bozza")
    page.get_by_role("link", name="Tabelle decisionali").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}/bozza/decisioni")
    listed = page.locator("main table").inner_text()
    assert "ammissibilita" in listed and "suggerisci_ammissibilita" in listed, listed
    page.locator(f"main a[href$='/{DMN}']").first.click()
    page.wait_for_url(f"**/bozza/decisioni/{DMN}")
    page.wait_for_selector("[data-editor-ready]")
    assert page.get_attribute("[data-decision-editor]", "data-editor-ready") == "true", errors
    assert page.locator(RULES).count() == before

    # The table speaks Italian (labels of dmn-js come from the translate module).
    table_text = page.locator(".tjs-container").inner_text()
    assert "Politica di scelta" in table_text or "Quando" in table_text, table_text
    assert "Hit policy" not in table_text and "When" not in table_text, table_text
    add_rule = page.locator("tfoot .add-rule-add button, tfoot td.add-rule-add").first
    assert add_rule.get_attribute("title") in (None, "Aggiungi una regola")

    # A new rule at the bottom: any input, a broken output cell first.
    add_rule.click()
    page.wait_for_function(f"document.querySelectorAll('{RULES}').length === {before + 1}")
    row = before + 1
    _write(page, row, 5, "get_env()")
    _write(page, row, 6, "'ordinaria'")
    _write(page, row, 7, "'Regola aggiunta nella prova del browser.'")
    page.get_by_role("button", name="Verifica").click()
    page.wait_for_selector("[data-editor-problems][data-checked]")
    problem = page.locator("[data-editor-problems] button[data-select]").first
    assert "get_env" in problem.inner_text(), page.locator("[data-editor-problems]").inner_text()
    target = problem.get_attribute("data-select")
    assert target and page.locator(f"[data-element-id='{target}'].app-problem").count() == 1
    problem.click()
    page.wait_for_function(f"document.querySelector('[data-decision-editor]').dataset.selected === '{target}'")
    selected = page.evaluate("() => window.inlavDecisions.getActiveViewer().get('selection').get().id")
    assert selected == target
    check_accessibility(page, "tabella decisionale", axe)

    # Fixed: the rule suggests evaluating the case; saved, then checked clean.
    _write(page, row, 5, "'da_valutare'")
    saved = page.get_attribute("[data-decision-editor]", "data-saved-revision")
    assert saved == "1", saved  # «Verifica» saved the broken cell first
    page.get_by_role("button", name="Salva bozza").click()
    page.wait_for_selector("[data-decision-editor][data-saved-revision='2']")
    page.get_by_role("button", name="Verifica").click()
    page.wait_for_selector("[data-editor-problems] [data-no-problems]")
    assert page.locator(".app-problem").count() == 0
    page.evaluate(
        "() => { document.querySelectorAll('[data-diagram-canvas], [data-diagram-canvas] *')"
        ".forEach(n => { n.scrollLeft = 0; }); window.scrollTo(0, 0); }"
    )
    shot(page, "35-tabella-decisionale.png")

    # The project logo the library's licence asks for, and its information box: styled as the
    # library writes them (the page's policy allows exactly those style attributes).
    logo = page.locator(".tjs-container a.bjs-powered-by, [data-diagram-canvas] a.bjs-powered-by").first
    assert logo.evaluate("a => getComputedStyle(a).position") == "absolute"
    logo.click()
    page.wait_for_selector(".bjs-powered-by-lightbox .notice")
    assert page.locator(".bjs-powered-by-lightbox").evaluate("b => getComputedStyle(b).position") == "fixed"
    page.locator(".bjs-powered-by-lightbox .backdrop").click(position={"x": 5, "y": 5})

    assert _rules(committed.sessions) == before + 1
    with read_transaction(committed.sessions) as session:
        dora = actor_for(session, session.scalars(select(AppUser).where(AppUser.username == DIRECTOR)).one())
        assert check_draft(session, dora, "MILANO", KEY) == []
        stored = decision_files(session, dora, "MILANO", KEY).draft.files[DMN].decode()
    assert "Regola aggiunta nella prova del browser." in stored and "'da_valutare'" in stored
    assert "get_env" not in stored
    assert errors == [], errors  # no script error, nothing refused by the CSP
    context.close()
