"""The studio's whole journey in a real browser, as the coordinator's guide tells it.

The Direttore PUA of Milano opens the regional PIP, creates a form for her territory, adds an
approval step that uses it in her own lane, checks the draft, publishes it and compares her
variant with the region's. Then the cases: a new Milano case reaches the new step (and its
operator page shows exactly the form editor's preview), a new Bergamo case does not, a Milano
case started before stays on the regional version until the migration moves it, after which
it reaches the new step too.

The cases are walked through the engine API (`tests.model.journey.CaseDriver`) up to the PIP,
which the regional path calls after the intake decision: the browser is for the studio.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Platform, get_instance, start_instance
from engine.access import Actor, create_user, role_label
from engine.db import read_transaction, transaction
from engine.definitions import resolve
from engine.demo import username
from engine.models import ProcessDefinition, ProcessInstance
from engine.studio.migrate_jobs import work
from tests.conftest import add_ambiti
from tests.model.journey import OPERATORE, SHORT, CaseDriver, intervento, person
from tests.web.conftest import PASSWORD
from tests.web.test_browser import _deploy_model, serving, shot
from tests.web.test_browser import browser as browser  # the fixture, shared
from tests.web.test_browser_roles import _login

pytestmark = pytest.mark.db

DIRECTOR = username("direttore_pua", "MILANO")  # dir.milano
KEY = "inlav_pip"
FORM = "approvazione_milano"
TASK = "approvazione_territorio"
TASK_NAME = "Approvazione del territorio"
WIDE = {"width": 1440, "height": 960}


class BergamoCase(CaseDriver):
    """A case of Bergamo: each task completed by a person of Bergamo holding the lane's role."""

    def complete(self, name: str, data: dict[str, Any], actor: Actor | None = None):  # type: ignore[no-untyped-def]
        lane = self.task(name).lane or ""
        return super().complete(name, data, actor or person(lane, username(lane, "BERGAMO"), "BERGAMO"))


def _driver(session: Session, platform: Platform, code: str) -> CaseDriver:
    """The case `code` walked in `session` by people of its Ambito."""
    instance = get_instance(session, code)
    return (CaseDriver if instance.ambito_code == "MILANO" else BergamoCase)(session, platform.settings, instance)


def _start(platform: Platform, ambito: str) -> str:
    """A new case of the regional path in `ambito`, walked to the PIP's first task («Redigi il PIP»); its code."""
    with transaction(platform.sessions) as session:
        actor = (
            OPERATORE
            if ambito == "MILANO"
            else person("operatore_contatto", username("operatore_contatto", ambito), ambito)
        )
        outcome = start_instance(session, platform.settings, "inlav_percorso", ambito, actor, data={"avvio": SHORT})
        assert outcome.error is None
        driver = _driver(session, platform, outcome.instance.case_code)
        driver.contact().assess().decide()
        assert "redigi_pip" in driver.names(), driver.names()
        return driver.case_code


def _approve_pip(platform: Platform, code: str) -> list[str]:
    """Walk the case through the PIP (drafted, work plan, approved); the open tasks after it."""
    with transaction(platform.sessions) as session:
        driver = _driver(session, platform, code)
        driver.plan([intervento("ricerca_lavoro")])
        return driver.names()


def _pip_pin(platform: Platform, case_code: str) -> tuple[int, str | None]:
    """The PIP definition the case's manifest pins (its subprocess runs it): id and Ambito (None: regional)."""
    with read_transaction(platform.sessions) as session:
        instance = session.scalars(select(ProcessInstance).where(ProcessInstance.case_code == case_code)).one()
        definition_id = int(json.loads(instance.manifest_json)[KEY][0])
        found = session.get(ProcessDefinition, definition_id)
        assert found is not None
        return definition_id, found.ambito_code


def _fields_html(page, selector: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The outer HTML of each field under `selector`, whitespace normalised (the ids are the same)."""
    html = page.locator(selector).evaluate_all("els => els.map(e => e.outerHTML)")
    return [re.sub(r"\s+", " ", re.sub(r">\s+<", "><", h)).strip() for h in html]


@pytest.fixture
def journey_server(committed: Platform) -> Iterator[tuple[str, Platform]]:
    """The regional model deployed in Milano and Bergamo, the demo's Direttore PUA of Milano; the served app."""
    with transaction(committed.sessions) as session:
        add_ambiti(session, "MILANO", "BERGAMO")
        _deploy_model(session)
        create_user(
            session, DIRECTOR, f"{role_label('direttore_pua')} · Milano", PASSWORD, [("direttore_pua", "MILANO")]
        )
    with serving(committed) as base:
        yield base, committed


def test_a_milano_variant_of_the_pip_from_draft_to_migrated_cases(journey_server, browser) -> None:
    base, platform = journey_server
    # Two Milano cases started on the regional model, both waiting at «Redigi il PIP».
    passing, waiting = _start(platform, "MILANO"), _start(platform, "MILANO")
    regional, scope = _pip_pin(platform, waiting)
    assert scope is None

    context = browser.new_context(viewport=WIDE, base_url=base, locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")

    # «Processi» of Milano → the regional PIP → «Modifica (bozza)» → «Moduli della bozza».
    page.locator("nav.app-nav").get_by_role("link", name="Processi").click()
    page.wait_for_url("**/processi/MILANO")
    page.locator("main table").get_by_role("link", name="Piano di Intervento Personalizzato (PIP)").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}")
    page.get_by_role("link", name="Modifica (bozza)").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}/bozza")
    page.get_by_role("link", name="Moduli della bozza").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}/bozza/moduli")

    # A new form with one required yes/no field and one long text.
    page.get_by_label("Titolo").fill("Approvazione di Milano")
    page.get_by_label("Nome del file").fill(FORM)
    page.get_by_role("button", name="Crea il modulo").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}/bozza/moduli/{FORM}")
    add = page.locator("section:has(#aggiungi) form")
    add.get_by_label("Etichetta").fill("Il territorio approva il piano?")
    add.get_by_label("Nome del dato").fill("approvato_territorio")
    add.get_by_label("Tipo").select_option("si_no")
    add.locator("label[for=ed-add-obbligatorio]").click()
    add.get_by_role("button", name="Aggiungi il campo").click()
    page.wait_for_selector("#form-editor [role=status]")
    add = page.locator("section:has(#aggiungi) form")
    add.get_by_label("Etichetta").fill("Note del territorio")
    add.get_by_label("Nome del dato").fill("note_territorio")
    add.get_by_label("Tipo").select_option("testo_lungo")
    add.get_by_role("button", name="Aggiungi il campo").click()
    page.locator("[data-preview-fields] textarea").wait_for(state="attached")
    preview = _fields_html(page, "[data-preview-fields] > *")
    assert len(preview) == 2 and "Il territorio approva il piano?" in preview[0], preview
    shot(page, "40-variante-modulo.png")

    # Back in the diagram editor: a user task in the Direttore PUA's lane, on the approved path
    # (after the «PIP approvato?» gateway, before «Aggiorna il piano»).
    page.goto(f"/processi/MILANO/{KEY}/bozza")
    page.wait_for_selector("[data-editor-ready]")
    assert page.get_attribute("[data-editor]", "data-editor-ready") == "true", errors
    panel = page.locator("[data-editor-panel]")
    page.locator(".djs-container [data-element-id='corsia_direttore']").first.click(position={"x": 15, "y": 80})
    assert panel.locator("#bio-properties-panel-inlav-role").input_value() == "direttore_pua"
    # The API stands in for three mouse drags: a user task from the palette dropped in the
    # Direttore PUA's lane, the end of the «sì» flow dragged from «Aggiorna il piano» onto it,
    # and a new flow drawn from it to «Aggiorna il piano».
    page.evaluate(
        """() => {
            const m = window.inlavModeler, registry = m.get('elementRegistry'), modeling = m.get('modeling');
            const lane = registry.get('corsia_direttore');
            const task = modeling.createShape({type: 'bpmn:UserTask'}, {x: 1290, y: 460}, lane);
            const flow = registry.get('f_approvato');
            modeling.reconnectEnd(flow, task, {x: task.x, y: task.y + task.height / 2});
            modeling.connect(task, registry.get('aggiorna_piano'));
            m.get('selection').select(task);
        }"""
    )
    # Its id, name and form through the properties panel's own inputs.
    ident = panel.locator("#bio-properties-panel-id")
    ident.fill(TASK)
    ident.press("Tab")
    panel.locator("#bio-properties-panel-name").fill(TASK_NAME)
    panel.locator("#bio-properties-panel-inlav-form").select_option(f"{FORM}.schema.json")
    page.wait_for_timeout(400)  # the panel writes a text after a short pause
    xml = page.evaluate("() => window.inlavModeler.saveXML().then(r => r.xml)")
    lanes = re.search(r'<bpmn:lane id="corsia_direttore".*?</bpmn:lane>', xml, re.S)
    assert lanes and f"<bpmn:flowNodeRef>{TASK}</bpmn:flowNodeRef>" in lanes[0]  # dropped in her lane
    assert re.search(rf'<bpmn:sequenceFlow id="f_approvato"[^>]*targetRef="{TASK}"', xml)
    assert re.search(rf'<bpmn:sequenceFlow [^>]*sourceRef="{TASK}" targetRef="aggiorna_piano"', xml)

    page.get_by_role("button", name="Salva bozza").click()
    page.wait_for_selector("[data-editor-notice] [data-revision]")
    page.get_by_role("button", name="Verifica").click()
    page.wait_for_selector("[data-editor-problems][data-checked]")
    assert page.locator("[data-editor-problems] [data-select]").count() == 0, page.locator(
        "[data-editor-problems]"
    ).inner_text()
    page.evaluate(
        "id => window.inlavModeler.get('selection').select(window.inlavModeler.get('elementRegistry').get(id))", TASK
    )
    assert panel.locator("#bio-properties-panel-inlav-form").input_value() == f"{FORM}.schema.json"
    page.locator("[data-editor]").scroll_into_view_if_needed()
    shot(page, "41-variante-nuova-attivita.png", full=False)

    # Publish: the page says what it creates; a note, and a reason only if facts would be lost.
    page.get_by_role("link", name="Pubblica…").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}/bozza/pubblica")
    assert page.locator("[data-publish-valid]").count() == 1
    assert "crea la variante di" in page.locator("main table").inner_text()
    page.locator("#pub-nota").fill("Approvazione del territorio dopo quella del Direttore PUA")
    if page.locator("[data-losses]").count():
        page.locator("#pub-motivo").fill("Il passo in più non cambia i fatti del monitoraggio regionale")
    shot(page, "42-variante-pubblica.png")
    page.locator("main form").get_by_role("button", name="Pubblica").click()
    page.wait_for_url(f"**/processi/MILANO/{KEY}?esito=*")
    with read_transaction(platform.sessions) as session:
        variant, bergamo = resolve(session, KEY, "MILANO"), resolve(session, KEY, "BERGAMO")
        assert (variant.ambito_code, variant.version) == ("MILANO", 1)
        assert bergamo.id == regional
        milano = variant.id

    # The comparison with the regional base lists the new task and the new form.
    page.get_by_role("link", name="Confronta con il modello regionale").click()
    page.wait_for_selector("[data-compare-ready]")
    assert page.get_attribute("[data-compare]", "data-compare-ready") == "true", errors
    added = page.locator(f"[data-compare-list] li[data-element='{TASK}']")
    assert added.get_attribute("data-change") == "added" and TASK_NAME in added.inner_text()
    form = page.locator(f"li[data-form='{FORM}.schema.json']")
    assert form.get_attribute("data-change") == "added", page.locator("[data-compare-list]").inner_text()
    shot(page, "43-variante-confronto.png")

    # A new Milano case gets the variant and, once the PIP is approved, the new step; its task
    # page shows the same fields as the form editor's preview, to the character.
    new_milano = _start(platform, "MILANO")
    assert _pip_pin(platform, new_milano) == (milano, "MILANO")
    assert _approve_pip(platform, new_milano) == [TASK]
    with read_transaction(platform.sessions) as session:
        task_id = _driver(session, platform, new_milano).task(TASK).task_id
    page.goto(f"/attivita/{task_id}")
    assert TASK_NAME in page.locator("h1").inner_text()
    operator = _fields_html(page, "#task-form form.app-form > .app-field, #task-form form.app-form > .app-fieldset")
    assert operator == preview
    shot(page, "44-variante-attivita.png")

    # A new Bergamo case follows the regional PIP: after the approval, no new step.
    new_bergamo = _start(platform, "BERGAMO")
    assert _pip_pin(platform, new_bergamo) == (regional, None)
    assert TASK not in _approve_pip(platform, new_bergamo)

    # The older Milano cases stay on the regional version: one goes through the PIP without the step.
    assert _pip_pin(platform, passing) == (regional, None)
    assert TASK not in _approve_pip(platform, passing)

    # The migration's dry run: the waiting case can move (the other one too; only she is moved).
    page.goto("/processi/MILANO/inlav_percorso")
    page.get_by_role("link", name="Migrazione dei casi in corso").click()
    page.wait_for_url("**/processi/MILANO/inlav_percorso/migrazione")
    main = page.locator("main")
    # Both older cases are on other versions than a new case's, both can move.
    assert "casi su altre versioni: 2; migrabili: 2; non migrabili: 0" in main.inner_text()
    row = main.locator("tr", has_text=waiting)
    assert row.locator("input[name='caso']").is_checked(), row.inner_text()
    # The percorso keeps its version: the row says that what changes is the PIP it calls.
    assert "«Piano di Intervento Personalizzato (PIP)» v1 regionale → v1 variante" in row.inner_text(), row.inner_text()
    for other in main.locator("input[name='caso']").all():
        if other.get_attribute("value") != waiting:
            other.uncheck()
    shot(page, "45-variante-migrazione.png")
    main.get_by_role("button", name="Migra i casi selezionati").click()
    page.wait_for_url("**/migrazione/*")
    work(platform.sessions, platform.settings)  # the worker's pass; the page asks again by itself
    page.locator("#migration-progress", has_text="Conclusa").wait_for(timeout=10_000)
    progress = page.locator("#migration-progress").inner_text()
    assert "casi conclusi 1/1 (100%)" in progress and progress.count("Migrato") == 1, progress

    assert _pip_pin(platform, waiting) == (milano, "MILANO")
    assert _pip_pin(platform, passing) == (regional, None)  # not selected, not moved
    assert _approve_pip(platform, waiting) == [TASK]
    assert errors == [], errors  # no script error, nothing refused by the CSP
    context.close()
