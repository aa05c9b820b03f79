"""The regional monitor's and the auditor's first steps in a real browser.

The monitor lands on the figures of every Ambito, computed from the cases, and cannot
open a case; the auditor lands on the case search, reads a case file and a task
read-only, and is offered nothing that changes a case.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from engine import SYSTEM, Platform, start_instance
from engine.access import create_user
from engine.db import transaction
from engine.models import HumanTask
from tests.conftest import add_ambiti, deploy
from tests.web.conftest import PASSWORD
from tests.web.test_browser import DESKTOP, check_accessibility, serving, shot
from tests.web.test_browser import browser as browser  # the fixture, shared

pytestmark = pytest.mark.db


@pytest.fixture
def regional(committed: Platform) -> Iterator[tuple[str, str, str]]:
    """Cases in two Ambiti (three in Milano, one in Lecco), a monitor and an auditor; the served app."""
    with transaction(committed.sessions) as session:
        add_ambiti(session, "MILANO", "LECCO")
        deploy(session, "sample")
        codes = [
            start_instance(session, committed.settings, "sample_case", ambito, SYSTEM).instance.case_code
            for ambito in ("MILANO", "MILANO", "MILANO", "LECCO")
        ]
        task = session.scalar(select(HumanTask.task_id).where(HumanTask.case_code == codes[0]))
        create_user(session, "mona", "Mona Verdi", PASSWORD, [("monitoraggio_regionale", None)])
        create_user(session, "rita", "Rita Neri", PASSWORD, [("revisore", None)])
    with serving(committed) as base:
        yield base, codes[0], str(task)


def _login(page: Any, username: str) -> None:
    page.goto("/")
    page.wait_for_url("**/login*")
    page.get_by_label("Nome utente").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()


def test_monitor_sees_figures_only_and_auditor_reads_without_changing(regional, browser) -> None:
    base, case_code, task_id = regional
    axe: dict[str, list[str]] = {}
    context = browser.new_context(viewport=DESKTOP, base_url=base, locale="it-IT")
    page = context.new_page()
    _login(page, "mona")
    page.wait_for_url("**/monitoraggio")
    rows = {
        row.locator("th").inner_text(): [c.inner_text() for c in row.locator("td").all()]
        for row in page.locator("main table tbody tr").all()
    }
    assert rows["Milano"][:2] == ["3", "3"] and rows["Lecco"][:2] == ["1", "1"], rows
    nav = page.locator("nav.app-nav").inner_text()
    assert "Monitoraggio" in nav and "Casi" not in nav and "Attività" not in nav
    check_accessibility(page, "monitoraggio", axe)
    shot(page, "20-monitoraggio.png")
    answer = page.goto(f"/casi/{case_code}")
    assert answer is not None and answer.status == 403
    assert "Operazione non consentita" in page.locator("main").inner_text()
    context.close()

    context = browser.new_context(viewport=DESKTOP, base_url=base, locale="it-IT")
    page = context.new_page()
    _login(page, "rita")
    page.wait_for_url("**/casi")
    nav = page.locator("nav.app-nav").inner_text()
    assert "Casi" in nav and "Nuovo contatto" not in nav and "Attività" not in nav
    page.goto(f"/casi/{case_code}")
    assert case_code in page.locator("main").inner_text()
    check_accessibility(page, "fascicolo (revisore)", axe)
    page.goto(f"/attivita/{task_id}")
    assert page.locator('#task-form button[value="completa"]').count() == 0, "read-only for the auditor"
    assert page.locator("main form[method=post]").count() == 0, "no form that changes the case"
    assert page.locator('main a[href="/attivita"]').count() == 0, "no link to an inbox she cannot open"
    shot(page, "21-revisore-attivita-in-lettura.png")
    context.close()
