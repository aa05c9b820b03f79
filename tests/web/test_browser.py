"""The main journey in a real browser (Playwright driving Debian's Chromium).

An operator logs in, registers a contact on a phone-sized screen, completes the
assessment and the intake decision, and reads the case file. axe-core checks the
main pages for WCAG 2.1 AA (no serious or critical violation). With
INLAV_SCREENSHOTS=1 the run also refreshes the screenshots used by
docs/guida-operatore.md:

    INLAV_SCREENSHOTS=1 .venv/bin/pytest tests/web/test_browser.py

The journey runs on the regional model (`processes/` + `forms/schemas/`); a model that
does not deploy fails the test. INLAV_WEB_JOURNEY=sostituto runs it instead on
tests/web/bundles/journey, a stand-in with the same element ids.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine import Platform
from engine.access.accounts import create_user
from engine.admin import add_partner
from engine.db import transaction
from engine.definitions import deploy_bundle, read_bundle_paths
from tests.conftest import add_ambiti
from tests.web.conftest import PASSWORD

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.db

ROOT = Path(__file__).parents[2]
CHROMIUM = Path(os.environ.get("INLAV_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = ROOT / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
JOURNEY_BUNDLE = Path(__file__).parent / "bundles" / "journey"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TODAY = date.today().isoformat()

# What the operator chooses at each step (by BPMN element id); the remaining required
# fields get the first sensible value.
CHOICES: dict[str, dict[str, Any]] = {
    "registra_contatto": {
        "contesto": "mercato",
        "alias": "Amina",
        "genere": "donna",
        "fascia_eta": "25_34",
        "consenso_ricontatto": "false",
        "prossimo_passo": "valutazione",
        "data_contatto": TODAY,
    },
    "colloquio_valutazione": {
        "grado": "lavoro_nero",
        "adesione_percorso": "true",
        "parere_legale_richiesto": "false",
        "titolo_soggiorno": "lavoro",
        "data_valutazione": TODAY,
    },
    "decidi_presa_in_carico": {
        "presa_in_carico": "true",
        "priorita": "ordinaria",
        "motivazione_decisione": "Condizione di lavoro nero, adesione al percorso.",
    },
}


def _deploy_model(session) -> str:  # type: ignore[no-untyped-def]
    """Deploy the regional model (or, on request, the stand-in); returns which."""
    if os.environ.get("INLAV_WEB_JOURNEY") == "sostituto":
        deploy_bundle(session, read_bundle_paths([JOURNEY_BUNDLE]), None, "test")
        return "sostituto di test (tests/web/bundles/journey)"
    deploy_bundle(session, read_bundle_paths([ROOT / "processes", ROOT / "forms" / "schemas"]), None, "test")
    return "modello regionale (processes/ + forms/schemas/)"


@pytest.fixture
def server(committed: Platform) -> Iterator[tuple[str, str]]:
    """The app served by uvicorn on a free port, on a committed database of its own."""
    with transaction(committed.sessions) as session:
        add_ambiti(session, "MILANO", "LECCO")
        add_partner(session, "CPI-MI", "Centro per l'impiego di Milano", "cpi", "MILANO")
        add_partner(session, "SAI-MI", "SAI Milano", "sai", "MILANO")
        source = _deploy_model(session)
        create_user(
            session,
            "anna",
            "Anna Bianchi",
            PASSWORD,
            [("operatore_contatto", "MILANO"), ("esperto_servizi_sociali", "MILANO")],
        )
    with serving(committed) as base:
        yield base, source


@contextmanager
def serving(platform: Platform) -> Iterator[str]:
    """The app served by uvicorn on a free local port; yields its base URL."""
    import uvicorn

    from web.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"Chromium non installato ({CHROMIUM}): eseguire `bash scripts/setup.sh --browser`"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI the browser journey must run, never be skipped
        pytest.skip(message)
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


# --------------------------------------------------------------------------- helpers


def check_accessibility(page, name: str, report: dict[str, list[str]]) -> None:  # type: ignore[no-untyped-def]
    """Run axe-core (WCAG 2.1 A/AA rules) in the page; keep serious and critical violations."""
    if not AXE.is_file():
        pytest.fail("axe-core non trovato in web/static/vendor: eseguire `npm ci` e scripts/vendor_static.py")
    page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                           target: v.nodes[0] && v.nodes[0].target.join(' ')}));
        }"""
    )
    report[name] = [f"{v['id']} ({v['impact']}, {v['nodes']}×, {v['target']})" for v in result]
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not serious, f"axe su {name}: {serious}"


def shot(page, name: str, full: bool = True) -> None:  # type: ignore[no-untyped-def]
    if not os.environ.get("INLAV_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full)


FILL_REQUIRED = """() => {
  const form = document.querySelector('#task-form form');
  const filled = [];
  const visible = el => !el.closest('[hidden]');
  form.querySelectorAll('.app-field, .app-fieldset').forEach(w => {
    if (!visible(w) || w.closest('template')) return;
    const head = w.querySelector(':scope > label, :scope > legend, :scope > .form-check > label');
    if (!head || !head.querySelector('.app-required')) return;
    const radios = w.querySelectorAll(':scope > .app-check input[type=radio]');
    const boxes = w.querySelectorAll(':scope > .app-check input[type=checkbox]');
    const select = w.querySelector(':scope > select');
    const text = w.querySelector(':scope > input[type=text], :scope > input[type=date], :scope > textarea');
    if (radios.length && ![...radios].some(r => r.checked)) { radios[0].checked = true; filled.push(radios[0].name); }
    else if (boxes.length && ![...boxes].some(b => b.checked)) { boxes[0].checked = true; filled.push(boxes[0].name); }
    else if (select && !select.value) {
      select.value = [...select.options].find(o => o.value).value; filled.push(select.name);
    }
    else if (text && !text.value) {
      text.value = text.type === 'date' ? new Date().toISOString().slice(0, 10)
        : (text.getAttribute('inputmode') ? '1' : 'Annotazione di prova');
      filled.push(text.name);
    }
  });
  form.dispatchEvent(new Event('change', {bubbles: true}));
  return filled;
}"""


def choose(page, name: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Set one field the way a person would (tap a radio or checkbox, pick an option, type)."""
    field = page.locator(f'#task-form [name="{name}"]')
    if field.count() == 0:
        return
    kind = field.first.evaluate("el => el.tagName === 'SELECT' ? 'select' : el.type")
    if kind in ("radio", "checkbox"):
        # Bootstrap Italia draws the control on the label: tap the label, as a person does.
        option = page.locator(f'#task-form [name="{name}"][value="{value}"]')
        page.locator(f'#task-form label[for="{option.get_attribute("id")}"]').click()
        assert option.is_checked()
    elif kind == "select":
        field.first.select_option(value)
    else:
        field.first.fill(value)


def complete_step(page, element: str) -> None:  # type: ignore[no-untyped-def]
    """Fill the task form (choices for this element, then any required field left) and complete it."""
    for name, value in CHOICES.get(element, {}).items():
        choose(page, name, value)
    for _ in range(3):
        page.evaluate(FILL_REQUIRED)
        url = page.url
        with page.expect_response(lambda r: r.request.method == "POST" and "/attivita/" in r.url) as answer:
            page.locator('#task-form button[value="completa"]').click()
        if answer.value.status < 400:
            page.wait_for_url(lambda u, before=url: u != before)
            page.wait_for_load_state("load")
            return
        page.wait_for_selector("#task-form .alert-danger")
    pytest.fail(f"{element}: il modulo non si completa: {page.locator('#task-form').inner_text()[:1500]}")


def current_element(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("h1").first.inner_text()


# --------------------------------------------------------------------------- the journey


def test_operator_journey_phone_to_case_file(server, browser) -> None:
    base, source = server
    print(f"percorso eseguito su: {source}")
    axe: dict[str, list[str]] = {}

    # On the phone, in the street: log in, "Nuovo contatto", register the contact.
    phone = browser.new_context(viewport=PHONE, base_url=base, locale="it-IT", device_scale_factor=1)
    page = phone.new_page()
    page.goto("/attivita")
    assert "/login" in page.url
    check_accessibility(page, "accesso (telefono)", axe)
    shot(page, "01-accesso-telefono.png")
    page.get_by_label("Nome utente").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url("**/attivita")
    page.get_by_role("link", name="Nuovo contatto").first.click()
    page.wait_for_url("**/contatti/nuovo")
    check_accessibility(page, "nuovo contatto (telefono)", axe)
    shot(page, "02-nuovo-contatto-telefono.png")
    page.get_by_role("button", name="Registra il contatto").click()
    page.wait_for_url("**/attivita/*")
    assert current_element(page) == "Registra il contatto"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"la pagina scorre in orizzontale sul telefono ({width}px)"
    task_url = page.url
    page.set_viewport_size({"width": 360, "height": 740})
    for path in (task_url, "/attivita", "/contatti/nuovo", "/casi"):
        page.goto(path)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 360, f"{path} scorre in orizzontale a 360 px ({wide}px)"
    page.set_viewport_size(PHONE)
    page.goto(task_url)
    check_accessibility(page, "registra il contatto (telefono)", axe)
    shot(page, "03-registra-contatto-telefono.png")
    complete_step(page, "registra_contatto")
    case_code = page.locator("dl.app-meta a").first.inner_text() if "/attivita/" in page.url else None
    phone.close()

    # At the desk: the inbox, the assessment (with a first wrong try), the intake decision.
    desk = browser.new_context(viewport=DESKTOP, base_url=base, locale="it-IT")
    page = desk.new_page()
    page.goto("/login")
    page.get_by_label("Nome utente").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url("**/attivita")
    check_accessibility(page, "attività", axe)
    shot(page, "04-attivita.png")
    page.get_by_role("link", name="Colloquio di valutazione").first.click()
    page.wait_for_url("**/attivita/*")
    case_code = case_code or page.locator("dl.app-meta a").first.inner_text()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator('#task-form button[value="completa"]').click()
    assert answer.value.status == 422
    page.wait_for_selector(".app-error-summary")
    for _ in range(40):  # the summary is scrolled into view (wait_for_function would need unsafe-eval)
        if abs(page.evaluate("document.querySelector('.app-error-summary').getBoundingClientRect().top")) < 40:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("document.activeElement.classList.contains('app-error-summary')"), (
        "the error summary takes the focus, so screen readers announce it"
    )
    check_accessibility(page, "modulo con errori", axe)
    shot(page, "05-modulo-con-errori.png", full=False)
    complete_step(page, "colloquio_valutazione")
    assert current_element(page) == "Decidi la presa in carico"
    shot(page, "06-presa-in-carico.png")
    complete_step(page, "decidi_presa_in_carico")

    page.goto(f"/casi/{case_code}")
    body = page.locator("main").inner_text()
    assert "Registra il contatto" in body and "Colloquio di valutazione" in body
    assert "Decidi la presa in carico" in body and "Amina" in body
    check_accessibility(page, "fascicolo del caso", axe)
    shot(page, "07-fascicolo-caso.png")
    page.goto("/casi")
    page.get_by_label("Cerca per codice del caso o alias").fill("amina")
    page.wait_for_selector(f'#case-results a[href="/casi/{case_code}"]')
    shot(page, "08-ricerca-casi.png", full=False)
    desk.close()
    print("axe (violazioni di ogni gravità):", {k: v for k, v in axe.items() if v} or "nessuna")
