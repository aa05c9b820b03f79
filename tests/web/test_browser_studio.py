"""The studio home in a real browser: a Direttore PUA opens «Processi» on the regional model,
opens a process and sees one of its versions drawn by bpmn-js (read-only)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from engine import Platform
from engine.access import create_user, role_label
from engine.db import read_transaction, transaction
from engine.demo import username
from engine.models import ProcessDefinition
from engine.studio import check_draft
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


def test_the_properties_panel_edits_what_the_engine_executes_and_the_draft_keeps_it(
    studio_server, browser, committed: Platform
) -> None:
    """The editor's properties panel on the PIP draft: pick another form for a user task and
    change its due time, preview its instructions, type a repeating timer and read «ogni 30
    giorni», give a lane another role, edit a gateway condition; save, reload: the XML the
    server stores has every value where the engine reads it."""
    from engine.access import actor_for
    from engine.models import AppUser
    from engine.studio.drafts import open_draft

    base, _processes = studio_server
    context = browser.new_context(viewport={"width": 1440, "height": 960}, base_url=base, locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")
    page.goto("/processi/MILANO/inlav_pip/bozza")
    page.wait_for_selector("[data-editor-ready]")
    assert page.get_attribute("[data-editor]", "data-editor-ready") == "true", errors
    panel = page.locator("[data-editor-panel]")

    # A user task: its form, its due time, its instructions (with the server's preview).
    page.locator(".djs-container [data-element-id='redigi_pip']").first.click()
    assert panel.locator(".bio-properties-panel-group-header-title", has_text="Modulo e scadenza").count() == 1
    assert panel.get_by_text("Generale").count() >= 1  # the default general group stays, in Italian
    form = panel.locator("#bio-properties-panel-inlav-form")
    assert form.input_value() == "pip.schema.json"
    form.select_option("piano_lavoro.schema.json")
    new_form = panel.locator("a[data-new-form]")
    assert new_form.get_attribute("href") == "/processi/MILANO/inlav_pip/bozza/moduli"
    assert new_form.get_attribute("target") == "_blank"
    due = panel.locator("#bio-properties-panel-inlav-due")
    assert due.input_value() == "P10D"
    due.fill("P15D")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-editor-panel] [data-timer-reading]')]"
        ".some(n => n.textContent === \"scade 15 giorni dopo l'apertura dell'attività\")"
    )
    instructions = panel.locator("#bio-properties-panel-inlav-instructions")
    instructions.fill("Caso **{{ codice_caso }}**: {{ obiettivi_pip }}")
    page.wait_for_timeout(400)  # the panel writes a text after a short pause
    panel.get_by_role("button", name="Anteprima").click()
    preview = panel.locator("[data-instructions-preview] .app-instructions")
    preview.wait_for()
    assert preview.locator("strong").inner_text() == "MILANO-2026-0001"

    # A repeating timer on the task (added here; the regional PIP has none), read in Italian.
    page.evaluate(
        """() => {
            const m = window.inlavModeler;
            const task = m.get('elementRegistry').get('redigi_pip');
            const businessObject = m.get('bpmnFactory').create('bpmn:BoundaryEvent', {id: 'promemoria_pip'});
            const shape = m.get('elementFactory').createShape({
                type: 'bpmn:BoundaryEvent', eventDefinitionType: 'bpmn:TimerEventDefinition', businessObject});
            m.get('modeling').createShape(shape, {x: task.x + task.width - 10, y: task.y + task.height}, task,
                                          {attach: true});
        }"""
    )
    page.locator(".djs-container [data-element-id='promemoria_pip']").first.click()
    panel.locator("#bio-properties-panel-inlav-timer-type").select_option("timeCycle")
    panel.locator("#bio-properties-panel-inlav-timer-value").fill("'R/P30D'")
    reading = panel.locator("[data-timer-reading]")
    page.wait_for_function(
        "() => document.querySelector('[data-editor-panel] [data-timer-reading]')?.textContent === 'ogni 30 giorni'"
    )
    assert reading.inner_text() == "ogni 30 giorni"

    # A lane takes the role picked from the platform's roles.
    page.evaluate(
        "() => window.inlavModeler.get('selection').select("
        "window.inlavModeler.get('elementRegistry').get('corsia_lavoro'))"
    )
    role = panel.locator("#bio-properties-panel-inlav-role")
    assert role.input_value() == "esperto_politiche_lavoro"
    assert "Consulente legale" in role.locator("option").all_inner_texts()
    role.select_option("mediatore")

    # A gateway's outgoing flow: its condition.
    page.evaluate(
        "() => window.inlavModeler.get('selection').select("
        "window.inlavModeler.get('elementRegistry').get('f_da_rivedere'))"
    )
    condition = panel.locator("#bio-properties-panel-inlav-condition")
    assert condition.input_value() == "esito_approvazione_pip == 'da_rivedere'"
    condition.fill("esito_approvazione_pip in ('da_rivedere', 'respinto')")
    page.wait_for_timeout(400)
    page.locator(".djs-container [data-element-id='redigi_pip']").first.click()
    page.wait_for_function(
        "() => document.querySelector('[data-editor-panel] [data-timer-reading]')?.textContent.startsWith('scade')"
    )
    page.locator("[data-editor]").scroll_into_view_if_needed()
    shot(page, "32-pannello-proprieta.png", full=False)
    axe: dict[str, list[str]] = {}
    check_accessibility(page, "editor con pannello delle proprietà", axe)
    assert all(not found for found in axe.values()), axe

    page.get_by_role("button", name="Salva bozza").click()
    page.wait_for_selector("[data-editor-notice] [data-revision]")
    page.reload()
    page.wait_for_selector("[data-editor-ready]")
    page.locator(".djs-container [data-element-id='redigi_pip']").first.click()
    assert panel.locator("#bio-properties-panel-inlav-form").input_value() == "piano_lavoro.schema.json"
    assert panel.locator("#bio-properties-panel-inlav-due").input_value() == "P15D"
    assert errors == [], errors
    context.close()

    with read_transaction(committed.sessions) as session:
        dora = actor_for(session, session.scalars(select(AppUser).where(AppUser.username == DIRECTOR)).one())
        draft = open_draft(session, dora, "MILANO", "inlav_pip")
    assert draft.revision == 1
    xml = draft.xml
    start = xml.index('<bpmn:userTask id="redigi_pip"')
    task = xml[start : xml.index("</bpmn:userTask>", start)]
    assert 'name="formJsonSchemaFilename" value="piano_lavoro.schema.json"' in task
    assert 'name="formUiSchemaFilename" value="piano_lavoro.uischema.json"' in task
    assert 'name="dueIn" value="P15D"' in task
    assert "Caso **{{ codice_caso }}**: {{ obiettivi_pip }}</spiffworkflow:instructionsForEndUser>" in task
    boundary = re.search(r"<bpmn:boundaryEvent [^>]*>", xml[xml.index('id="promemoria_pip"') - 40 :])
    assert boundary is not None and 'attachedToRef="redigi_pip"' in boundary[0], boundary
    assert re.search(r"<bpmn:timeCycle[^>]*>'R/P30D'</bpmn:timeCycle>", xml)
    assert '<bpmn:lane id="corsia_lavoro" name="Mediatore linguistico-culturale">' in xml
    assert "esito_approvazione_pip in ('da_rivedere', 'respinto')</bpmn:conditionExpression>" in xml
    # The engine reads them back as written: the check finds the new lane role and the timer fine.
    with read_transaction(committed.sessions) as session:
        problems = check_draft(session, dora, "MILANO", "inlav_pip")
    assert not [p for p in problems if p.target in {"corsia_lavoro", "f_da_rivedere", "redigi_pip"}], problems


def test_the_panel_shows_messages_calls_decisions_scripts_and_timers_as_the_engine_reads_them(
    studio_server, browser
) -> None:
    """Each kind of element the engine executes gets its group with the values of the regional
    model: a receive task's message, correlation and variable; a throw event's payload; a
    border timer computed from a variable; a call activity's process; a business-rule task's
    decision; a script task's code. A new message is created from the panel."""
    base, _processes = studio_server
    context = browser.new_context(viewport={"width": 1440, "height": 960}, base_url=base, locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")
    panel = page.locator("[data-editor-panel]")

    def open_draft_of(key: str) -> None:
        page.goto(f"/processi/MILANO/{key}/bozza")
        page.wait_for_selector("[data-editor-ready]")
        assert page.get_attribute("[data-editor]", "data-editor-ready") == "true", errors

    def select(element: str) -> None:
        page.evaluate(
            "id => window.inlavModeler.get('selection').select(window.inlavModeler.get('elementRegistry').get(id))",
            element,
        )

    def value(entry: str) -> str:
        return str(panel.locator(f"#bio-properties-panel-{entry}").input_value())

    open_draft_of("inlav_intervento")
    select("attendi_risposta")
    assert value("inlav-message") == "risposta_partner"
    assert "invio_partner" in panel.locator("#bio-properties-panel-inlav-message option").all_inner_texts()
    assert value("inlav-correlation") == "intervento['id']"
    assert value("inlav-message-variable") == "risposta_partner"
    panel.locator("#bio-properties-panel-inlav-message-new").fill("risposta_nuova")
    panel.get_by_role("button", name="Crea e usa").click()
    page.wait_for_function(
        "() => document.querySelector('#bio-properties-panel-inlav-message')?.value === 'risposta_nuova'"
    )
    xml = page.evaluate("() => window.inlavModeler.saveXML().then(r => r.xml)")
    assert re.search(r'<bpmn:message id="[^"]+" name="risposta_nuova"', xml)
    # A change made in the panel is one step of the editor's undo (Ctrl+Z on the drawing).
    page.locator(".djs-container svg").first.focus()
    page.keyboard.press("Control+z")
    # The panel redraws after the undo (asynchronously): wait for it rather than read at once.
    page.wait_for_function(
        "() => document.querySelector('#bio-properties-panel-inlav-message')?.value === 'risposta_partner'"
    )
    assert value("inlav-message") == "risposta_partner"
    select("segnala_al_partner")
    assert value("inlav-message") == "invio_partner" and value("inlav-message-payload") == "richiesta_partner"
    select("nessuna_risposta")
    assert value("inlav-timer-type") == "timeDuration" and value("inlav-timer-value") == "attesa_risposta_partner"
    page.wait_for_function(
        "() => document.querySelector('[data-editor-panel] [data-timer-reading]')?.textContent"
        " === 'valore calcolato dalla variabile attesa_risposta_partner, quando il timer parte'"
    )
    panel.locator("#bio-properties-panel-inlav-timer-value").fill("P30D")  # without quotes: a variable name
    page.wait_for_selector("[data-editor-panel] [data-timer-reading].app-timer-invalid")
    assert "senza virgolette" in panel.locator("[data-timer-reading]").inner_text()

    open_draft_of("inlav_percorso")
    select("pip")
    assert value("inlav-called") == "inlav_pip"
    called = " ".join(panel.locator("#bio-properties-panel-inlav-called option").all_inner_texts())
    assert "(inlav_valutazione)" in called and "(inlav_percorso)" not in called  # not itself

    open_draft_of("inlav_valutazione")
    select("suggerisci_ammissibilita")
    assert value("inlav-decision") == "ammissibilita"
    open_draft_of("inlav_pip")
    select("prepara_interventi")
    assert "catalogo = {" in value("inlav-script")
    assert panel.locator(".bio-properties-panel-group-header-title", has_text="Script prima e dopo").count() == 1
    assert errors == [], errors
    context.close()

    # On a phone the panel sits under the drawing and the page does not overflow sideways.
    phone = browser.new_context(viewport=PHONE, base_url=base, locale="it-IT")
    page = phone.new_page()
    _login(page, DIRECTOR)
    page.wait_for_url("**/attivita")
    page.goto("/processi/MILANO/inlav_pip/bozza")
    page.wait_for_selector("[data-editor-ready]")
    canvas_box = page.locator("[data-diagram-canvas]").bounding_box()
    panel_box = page.locator("[data-editor-panel]").bounding_box()
    assert canvas_box and panel_box and panel_box["y"] >= canvas_box["y"] + canvas_box["height"] - 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.close()
