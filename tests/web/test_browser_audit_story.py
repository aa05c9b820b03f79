"""The auditor's instance page in a real browser: the diagram of the version the case ran (the
regional model, whose files carry their drawing) is drawn by the viewer with the path marked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import Platform, start_instance
from engine.access import create_user
from engine.db import transaction
from engine.definitions import deploy_bundle, read_bundle_paths
from tests.conftest import OPERATOR, add_ambiti
from tests.web.conftest import PASSWORD
from tests.web.test_browser import PHONE, ROOT, check_accessibility, serving
from tests.web.test_browser import browser as browser  # the fixture, shared
from tests.web.test_browser_roles import _login

pytestmark = pytest.mark.db


@pytest.fixture
def story_server(committed: Platform) -> Iterator[tuple[str, str]]:
    """A case of the regional model waiting at its first form, an auditor; the served app and the case code."""
    with transaction(committed.sessions) as session:
        add_ambiti(session, "MILANO", "LECCO")
        deploy_bundle(session, read_bundle_paths([ROOT / "processes", ROOT / "forms" / "schemas"]), None, "test")
        create_user(session, "rita", "Rita Revisori", PASSWORD, [("revisore", None)])
        code = start_instance(session, committed.settings, "inlav_percorso", "MILANO", OPERATOR).instance.case_code
    with serving(committed) as base:
        yield base, code


def test_auditor_sees_the_path_drawn_on_the_diagram(story_server, browser) -> None:
    base, code = story_server
    context = browser.new_context(viewport=PHONE, base_url=base, locale="it-IT")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _login(page, "rita")
    page.wait_for_load_state("networkidle")
    page.goto(f"/audit/istanze/{code}")
    page.wait_for_selector("[data-story-diagram][data-diagram-ready]")
    assert page.get_attribute("[data-story-diagram]", "data-diagram-ready") == "true", (
        problems,
        page.get_attribute("[data-story-diagram]", "data-diagram-problem"),
    )
    for element in ("nuovo_contatto", "gw_inizio", "prepara_caso"):
        assert page.locator(f"svg g.app-path-completed[data-element-id='{element}']").count() == 1, element
    for flow in ("f_avvio", "f_inizio", "f_caso_pronto"):
        assert page.locator(f"svg g.app-path-flow[data-element-id='{flow}']").count() == 1, flow
    assert page.locator("svg g.app-path-flow[data-element-id='f_segnalazione']").count() == 0
    assert page.locator("svg g.app-path-current[data-element-id='registra_contatto']").count() == 1
    assert page.get_attribute("[data-story-diagram]", "data-markers") == "7"
    # The same path as text, for screen readers.
    assert "registra_contatto" in page.locator(".app-story-path").inner_text()
    axe: dict[str, list[str]] = {}
    check_accessibility(page, "istanza (telefono)", axe)
    assert problems == [], problems
