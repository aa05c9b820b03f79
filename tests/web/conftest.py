"""Web test fixtures: one committed database per test module, seeded through the engine, and
logged-in TestClients for the people of the scenarios.

The app opens its own transactions (one per request), so these tests use a real,
committed database of their own instead of the rolled-back `db` session.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine import Actor, Platform, open_platform, start_case
from engine.access.accounts import create_user
from engine.admin import add_partner
from engine.db import transaction
from engine.models import HumanTask
from tests.conftest import add_ambiti, deploy, make_settings, own_database
from web.app import create_app

HERE = Path(__file__).parent
WEB_BUNDLES = HERE / "bundles"
PASSWORD = "password-di-prova-1"
PEOPLE: dict[str, list[tuple[str, str | None]]] = {
    "anna": [("operatore_contatto", "MILANO"), ("esperto_servizi_sociali", "MILANO")],
    "bruno": [("operatore_contatto", "MILANO")],
    "dario": [("direttore_pua", "MILANO")],
    "tina": [("esperto_politiche_lavoro", "MILANO")],
    "olga": [("operatore_contatto", "LECCO"), ("esperto_servizi_sociali", "LECCO")],
}


@pytest.fixture(scope="module")
def web_url(template_url: str, work_dir: Path) -> Iterator[str]:
    """A migrated database of this module's own that commits for real."""
    with own_database(template_url, work_dir, "w") as url:
        yield url


@pytest.fixture(scope="module")
def web_platform(web_url: str) -> Iterator[Platform]:
    """The platform the app under test runs on, seeded with Ambiti, bundles, partners and people."""
    platform = open_platform(make_settings(web_url))
    with transaction(platform.sessions) as session:
        add_ambiti(session, "MILANO", "LECCO")
        deploy(session, "sample")
        from engine.definitions import read_bundle_paths

        deploy(session, files=read_bundle_paths([WEB_BUNDLES / "forms"]))
        add_partner(session, "CPI-MI", "Centro per l'impiego di Milano", "cpi", "MILANO")
        add_partner(session, "CPI-LC", "Centro per l'impiego di Lecco", "cpi", "LECCO")
        add_partner(session, "SAI-REG", "Rete SAI regionale", "sai", None)
        for username, roles in PEOPLE.items():
            create_user(session, username, username.title() + " Rossi", PASSWORD, roles)
    yield platform
    platform.close()


@pytest.fixture(scope="module")
def app(web_platform: Platform):  # type: ignore[no-untyped-def]
    return create_app(web_platform)


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Log a TestClient in through the real login form."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/attivita"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture(scope="module")
def clients(app) -> Iterator[Callable[[str], TestClient]]:  # type: ignore[no-untyped-def]
    """Logged-in clients by username (one per person per module)."""
    made: dict[str, TestClient] = {}

    def get(username: str) -> TestClient:
        if username not in made:
            made[username] = login(TestClient(app, base_url="http://testserver"), username)
        return made[username]

    yield get
    for client in made.values():
        client.close()


def csrf_of(client: TestClient) -> str:
    """The CSRF token of a logged-in client's session (read from any page)."""
    page = client.get("/attivita")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


HX = {"HX-Request": "true"}


ANNA = Actor("anna", frozenset({"operatore_contatto", "esperto_servizi_sociali"}), frozenset({"MILANO"}))
OLGA = Actor("olga", frozenset({"operatore_contatto", "esperto_servizi_sociali"}), frozenset({"LECCO"}))


def start(
    platform: Platform, process: str = "prova_moduli", ambito: str = "MILANO", actor: Actor = ANNA
) -> tuple[str, str]:
    """Open a case through the engine; returns (case code, id of its first open task)."""
    with transaction(platform.sessions) as session:
        outcome = start_case(session, platform.settings, actor, process, ambito)
        task = session.scalar(select(HumanTask.task_id).where(HumanTask.instance_id == outcome.instance.id))
        return outcome.instance.case_code, str(task)


def fields_of(html: str) -> dict[str, str]:
    """name -> value of the text inputs of a page (to check what a re-render kept)."""
    return dict(re.findall(r'<input type="[a-z-]+" id="[^"]*" name="([^"]+)" value="([^"]*)"', html))
