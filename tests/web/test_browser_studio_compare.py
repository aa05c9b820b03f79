"""The comparison in a real browser: Milano's Direttore PUA compares her variant of the PIP process
with the regional model and sees each difference listed and marked on both diagrams."""

from __future__ import annotations

import re

import pytest

from engine import Platform
from engine.db import transaction
from engine.definitions import deploy_bundle
from tests.engine.test_studio_compare import (
    NEW_FIELD_LABEL,
    NEW_TASK,
    NEW_TASK_NAME,
    ROOT,
    milano_pip_variant,
    regional_files,
)
from tests.web.test_browser import PHONE, check_accessibility, shot
from tests.web.test_browser import browser as browser  # the fixture, shared
from tests.web.test_browser_roles import _login
from tests.web.test_browser_studio import DIRECTOR
from tests.web.test_browser_studio import studio_server as studio_server  # the fixture, shared

pytestmark = pytest.mark.db

KEY = "inlav_pip"


def _item(page, element: str):  # type: ignore[no-untyped-def]
    return page.locator(f"[data-compare-list] li[data-element='{element}']")


def test_a_director_compares_her_variant_with_the_regional_model(studio_server, browser, committed: Platform) -> None:
    base, _processes = studio_server
    with transaction(committed.sessions) as session:
        deploy_bundle(session, milano_pip_variant(regional_files()), "MILANO", DIRECTOR, "Variante di Milano")
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=base, locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")
    page.goto(f"/processi/MILANO/{KEY}")
    page.get_by_role("link", name="Confronta con il modello regionale").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}/confronta?da=*")
    page.wait_for_selector("[data-compare-ready]")
    assert page.get_attribute("[data-compare]", "data-compare-ready") == "true", errors

    # The list names each difference, by element, with what changed.
    added = _item(page, NEW_TASK)
    assert added.get_attribute("data-change") == "added"
    assert NEW_TASK_NAME in added.inner_text() and "attività utente" in added.inner_text()
    condition = _item(page, "f_da_rivedere")
    assert condition.get_attribute("data-change") == "changed"
    assert "condizione:" in condition.inner_text() and "da_integrare" in condition.inner_text()
    script = _item(page, "aggiorna_piano")
    assert script.get_attribute("data-change") == "changed"
    assert "script: modificato — righe aggiunte «pip_milano = True»" in script.inner_text()
    assert "destinazione del flusso" in _item(page, "f_piano_aggiornato").inner_text()
    # Lane membership, which bpmn-js-differ does not report, is found from the parsed lanes.
    moved = _item(page, "gw_pip_approvato").inner_text()
    assert "gateway esclusivo" in moved and "corsia: «Direttore PUA» → «Esperto politiche del lavoro / tutor»" in moved
    field = page.locator("li[data-field='lingua_colloquio']")
    assert field.get_attribute("data-change") == "added" and NEW_FIELD_LABEL in field.inner_text()

    # The diagrams carry the markers: the new task only on the right, the changed ones on both sides.
    old, new = page.locator(".app-compare-diagrams figure").all()
    assert new.locator(f"g.djs-element.app-diff-added[data-element-id='{NEW_TASK}']").count() == 1
    assert old.locator(f"[data-element-id='{NEW_TASK}']").count() == 0
    for side in (old, new):
        assert side.locator("g.djs-element.app-diff-changed[data-element-id='f_da_rivedere']").count() == 1
        assert side.locator("g.djs-element.app-diff-changed[data-element-id='aggiorna_piano']").count() == 1
    assert new.locator(".app-diff-badge-added").first.inner_text() == "+"  # a sign, not colour alone

    shot(page, "32-confronto.png")

    # Scrolling one diagram moves the other with it (same zoom, same position).
    def viewports() -> list[list[float]]:
        transforms = [side.locator("g.viewport").first.get_attribute("transform") or "" for side in (old, new)]
        return [[round(float(n), 2) for n in re.findall(r"-?[0-9.]+", t)] for t in transforms]

    before = viewports()
    assert before[0] == before[1] and before[0], before
    box = old.locator("[data-compare-canvas]").bounding_box()
    assert box
    transform = old.locator("g.viewport").first.get_attribute("transform")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 120)
    page.wait_for_function(
        "t => document.querySelector('.app-compare-diagrams g.viewport').getAttribute('transform') !== t", arg=transform
    )
    after = viewports()
    assert after[0] != before[0] and after[0] == after[1], (before, after)

    # A click on a difference selects the element in both diagrams.
    script.get_by_role("button").click()
    for side in (old, new):
        assert side.locator("g.djs-element.selected[data-element-id='aggiorna_piano']").count() == 1
    assert "entrambi" in page.locator("[data-compare-status]").inner_text()
    added.get_by_role("button").click()
    assert new.locator(f"g.djs-element.selected[data-element-id='{NEW_TASK}']").count() == 1
    assert "solo nella versione di arrivo" in page.locator("[data-compare-status]").inner_text()

    axe: dict[str, list[str]] = {}
    check_accessibility(page, "confronto", axe)
    # On a phone the two diagrams are stacked and nothing overflows the width.
    page.set_viewport_size(PHONE)
    first, second = (side.bounding_box() for side in (old, new))
    assert first and second and second["y"] >= first["y"] + first["height"] - 1 and first["x"] == second["x"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "la pagina deborda sul telefono"

    # What bpmn-js-differ does not see at all (a timer's expression) or only flags (inside the
    # extension elements: a script before a task, a form property) is described too.
    old_xml = (ROOT / "processes" / "inlav_chiusura.bpmn").read_text()
    new_xml = old_xml.replace(">attesa_follow_up<", ">&quot;P30D&quot;<").replace(
        'value="follow_up.schema.json"', 'value="follow_up_milano.schema.json"'
    )
    new_xml = new_xml.replace("<spiffworkflow:preScript>", "<spiffworkflow:preScript>saluto = 'ciao'\n", 1)
    assert new_xml.count("P30D") == 1 and "follow_up_milano" in new_xml and "saluto" in new_xml
    items = page.evaluate("([a, b]) => window.InlavStudio.compareXml(a, b)", [old_xml, new_xml])
    by_id = {item["id"]: item for item in items}
    assert by_id["attendi_follow_up"]["kind"] == "changed"
    assert by_id["attendi_follow_up"]["details"] == ['timer: «durata: attesa_follow_up» → «durata: "P30D"»']
    assert "modulo: «follow_up.schema.json» → «follow_up_milano.schema.json»" in by_id["follow_up"]["details"]
    scripted = [i for i in items if any("righe aggiunte «saluto = 'ciao'»" in d for d in i["details"])]
    assert len(scripted) == 1 and scripted[0]["details"][0].startswith("script prima dell'attività: modificato")
    assert errors == [], errors  # no script error, nothing refused by the CSP
    context.close()
