"""Login, logout, session expiry, CSRF, security headers, language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from engine.clock import utcnow
from engine.db import transaction
from engine.models import WebSession
from tests.web.conftest import HX, PASSWORD, csrf_of, login, start

pytestmark = pytest.mark.db


def test_pages_need_a_session(app) -> None:
    client = TestClient(app)
    for path in ("/attivita", "/contatti/nuovo", "/casi", "/casi/X", "/profilo/token", "/attivita/abc"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    htmx = client.get("/attivita", headers=HX)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")
    assert client.post("/attivita/abc/prendi", data={}, follow_redirects=False).status_code == 303


def test_login_sets_a_safe_cookie_and_goes_back(app) -> None:
    client = TestClient(app)
    page = client.get("/login?next=/casi")
    assert 'lang="it"' in page.text and "Nome utente" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    wrong = client.post(
        "/login", data={"username": "anna", "password": "sbagliata", "csrf_token": token, "next": "/casi"}
    )
    assert wrong.status_code == 401 and "Nome utente o password non corretti." in wrong.text
    assert 'value="anna"' in wrong.text, "the username is kept"
    ok = client.post(
        "/login",
        data={"username": "ANNA ", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/", "never redirect off-site"
    cookie = ok.headers["set-cookie"]
    assert "inlav_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def _login_client(app, address: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    client = TestClient(app, client=(address, 50000))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    return client, token


def test_a_stranger_cannot_lock_the_owner_out(app, web_platform) -> None:
    from engine.access.accounts import create_user

    with transaction(web_platform.sessions) as session:
        create_user(session, "zeno", "Zeno Bianchi", PASSWORD, [("mediatore", "MILANO")])
    stranger, token = _login_client(app, "203.0.113.50")
    for _ in range(3):
        wrong = stranger.post("/login", data={"username": "zeno", "password": "sbagliata", "csrf_token": token})
        assert wrong.status_code == 401
    throttled = stranger.post("/login", data={"username": "zeno", "password": PASSWORD, "csrf_token": token})
    assert throttled.status_code == 429 and "Troppi tentativi non riusciti: riprovare tra 30 secondi." in throttled.text
    assert throttled.headers["Retry-After"] == "30"
    owner, token = _login_client(app, "198.51.100.50")
    ok = owner.post(
        "/login", data={"username": "zeno", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert ok.status_code == 303, "the owner, from her own address, still gets in"


def test_unknown_and_known_names_get_the_same_answers(app) -> None:
    def answers(name: str, address: str) -> list[tuple[int, str]]:
        client, token = _login_client(app, address)
        seen = []
        for _ in range(4):
            response = client.post("/login", data={"username": name, "password": "sbagliata", "csrf_token": token})
            body = response.text.replace(token, "TOKEN").replace(name, "NAME")  # kept in the form: they differ
            seen.append((response.status_code, body))
        return seen

    known, unknown = answers("bruno", "203.0.113.61"), answers("nessuno-qui", "203.0.113.62")
    assert [s for s, _ in known] == [401, 401, 401, 429] == [s for s, _ in unknown]
    assert known == unknown
    assert "Nome utente o password non corretti." in known[0][1]


def test_a_throttled_login_answers_htmx_too(app) -> None:
    client, token = _login_client(app, "203.0.113.70")
    for _ in range(4):
        response = client.post(
            "/login", data={"username": "tina", "password": "sbagliata", "csrf_token": token}, headers=HX
        )
    assert response.status_code == 429 and 'id="login-form"' in response.text and "<html" not in response.text


def test_login_without_csrf_is_refused(app) -> None:
    client = TestClient(app)
    client.get("/login")
    refused = client.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": "falso"})
    assert refused.status_code == 403 and "Richiesta rifiutata" in refused.text


def test_state_changes_need_the_session_csrf_token(clients, web_platform) -> None:
    _code, task_id = start(web_platform)
    anna = clients("anna")
    for data, headers in (({}, {}), ({"csrf_token": "falso"}, {}), ({}, {"X-CSRF-Token": "falso"})):
        response = anna.post(f"/attivita/{task_id}/prendi", data=data, headers=headers)
        assert response.status_code == 403 and "Richiesta rifiutata" in response.text
    assert (
        anna.post(f"/attivita/{task_id}/prendi", data={}, headers={**HX, "X-CSRF-Token": csrf_of(anna)}).status_code
        == 204
    )
    bruno = clients("bruno")
    stolen = bruno.post(f"/attivita/{task_id}/rilascia", data={"csrf_token": csrf_of(anna)})
    assert stolen.status_code == 403, "a token belongs to its session"


def test_idle_session_expires(app, web_platform) -> None:
    client = login(TestClient(app), "bruno")
    assert client.get("/attivita").status_code == 200
    with transaction(web_platform.sessions) as session:
        session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = client.get("/attivita", follow_redirects=False)
    assert expired.status_code == 303 and expired.headers["location"] == "/login?next=/attivita&scaduta=1"
    assert "La sessione è scaduta" in client.get(expired.headers["location"]).text
    htmx = client.get("/attivita?vista=mie", headers={**HX, "HX-Current-URL": "http://testserver/attivita?vista=mie"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login?next=/attivita%3Fvista%3Dmie&scaduta=1"


def test_logout_ends_the_session(app) -> None:
    client = login(TestClient(app), "tina")
    token = csrf_of(client)
    cookie = client.cookies.get("inlav_session")
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    replay = TestClient(client.app, cookies={"inlav_session": cookie})  # type: ignore[arg-type]
    assert replay.get("/attivita", follow_redirects=False).status_code == 303, "the old cookie is worthless"


def test_security_headers(clients) -> None:
    response = clients("anna").get("/attivita")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.text and " onclick=" not in response.text


def test_english_is_available(app) -> None:
    client = login(TestClient(app), "dario")
    token = csrf_of(client)
    switched = client.post(
        "/lingua", data={"csrf_token": token, "lingua": "en", "next": "/attivita"}, follow_redirects=False
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/attivita"
    page = client.get("/attivita").text
    assert 'lang="en"' in page and "Tasks" in page and "Overdue only" in page
    assert client.post("/lingua", data={"csrf_token": token, "lingua": "xx"}).status_code == 404
    client.post("/lingua", data={"csrf_token": token, "lingua": "it"})
    assert "Solo scadute" in client.get("/attivita").text


def test_every_template_string_has_an_english_translation() -> None:
    from pathlib import Path

    from web.i18n import translations

    english = translations("en")
    same_in_english = {"Ambito", "Ambiti", "Email", "Partner", "Password", "No"}
    root = Path(__file__).parents[2] / "web" / "templates"
    missing = []
    for template in root.rglob("*.html"):
        for msgid in re.findall(r"""_\(["']([^"']+)["']\)""", template.read_text()):
            if english.gettext(msgid) == msgid and msgid not in same_in_english:
                missing.append((template.name, msgid))
    assert missing == []
