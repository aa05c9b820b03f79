"""My account: profile, password change, my sessions, the second factor (enrolment, login with
a code, recovery codes, required for some roles)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient

from engine.access import create_user
from engine.db import transaction
from tests.web.conftest import HX, PASSWORD, login

pytestmark = pytest.mark.db

START = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Safari/604.1"


def person(web_platform, username: str, roles: list[tuple[str, str | None]] | None = None) -> None:  # type: ignore[no-untyped-def]
    with transaction(web_platform.sessions) as session:
        create_user(session, username, username.title() + " Verdi", PASSWORD, roles or [("mediatore", "MILANO")])


def browser(app, username: str, address: str = "192.0.2.10", agent: str = FIREFOX) -> TestClient:  # type: ignore[no-untyped-def]
    return login(TestClient(app, client=(address, 50000), headers={"User-Agent": agent}), username)


def csrf(client: TestClient, path: str = "/profilo") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


def is_logged_in(client: TestClient) -> bool:
    return client.get("/profilo", follow_redirects=False).status_code == 200


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], datetime]:
    """The second factor's 'now', set to START + seconds."""
    state = {"now": START}
    monkeypatch.setattr("engine.access.totp.utcnow", lambda: state["now"])

    def at(seconds: float) -> datetime:
        state["now"] = START + timedelta(seconds=seconds)
        return state["now"]

    return at


def code_at(secret: str, seconds: float) -> str:
    return pyotp.TOTP(secret).at(START + timedelta(seconds=seconds))


# --------------------------------------------------------------------------- profile


def test_profile_shows_the_account_and_links(clients) -> None:
    anna = clients("anna")
    page = anna.get("/profilo")
    assert page.status_code == 200
    for text in ("Anna Rossi", "Operatore di contatto", "Esperto servizi sociali", "MILANO", "non attivo"):
        assert text in page.text
    for link in ("/profilo/password", "/profilo/secondo-fattore", "/profilo/sessioni", "/profilo/token"):
        assert f'href="{link}"' in page.text
    assert '<a href="/profilo" aria-current="page">' in page.text and "Il mio account" in page.text
    assert "Token API</a></li>" not in page.text.split("</nav>")[0], "the menu names the account, not the tokens"
    assert anna.get("/profilo", headers=HX).status_code == 200


def test_account_pages_need_a_session(app) -> None:
    client = TestClient(app)
    for path in ("/profilo", "/profilo/password", "/profilo/sessioni", "/profilo/secondo-fattore"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    assert client.post("/profilo/sessioni/termina-altre", data={}, follow_redirects=False).status_code == 303


# --------------------------------------------------------------------------- password


def test_change_my_password(app, web_platform) -> None:
    person(web_platform, "paola")
    mine, other = browser(app, "paola", "192.0.2.11"), browser(app, "paola", "192.0.2.12")
    form = mine.get("/profilo/password")
    assert form.status_code == 200 and 'autocomplete="current-password"' in form.text
    partial = mine.get("/profilo/password", headers=HX)
    assert 'id="password-form"' in partial.text and "<html" not in partial.text
    token = csrf(mine)
    new = "una frase nuova e lunga"
    cases = [
        ({"attuale": "sbagliata", "password": new, "conferma": new}, "La password attuale non è corretta."),
        ({"attuale": PASSWORD, "password": "qwerty123456", "conferma": "qwerty123456"}, "facile da indovinare"),
        ({"attuale": PASSWORD, "password": "paola-paola-123", "conferma": "paola-paola-123"}, "nome utente"),
        ({"attuale": PASSWORD, "password": new, "conferma": new + "!"}, "non coincidono"),
    ]
    for data, message in cases:
        refused = mine.post("/profilo/password", data={**data, "csrf_token": token}, headers=HX)
        assert refused.status_code == 422 and message in refused.text and "<html" not in refused.text
    assert (
        mine.post("/profilo/password", data={"attuale": PASSWORD, "password": new, "conferma": new}).status_code == 403
    )
    done = mine.post(
        "/profilo/password", data={"attuale": PASSWORD, "password": new, "conferma": new, "csrf_token": token}
    )
    assert done.status_code == 200 and "Password cambiata." in done.text and "<html" in done.text
    assert is_logged_in(mine), "this session stays"
    assert not is_logged_in(other), "her other sessions ended"
    login(TestClient(app, client=("192.0.2.13", 50000)), "paola", new).close()  # login asserts the redirect


# --------------------------------------------------------------------------- sessions


def test_list_and_end_my_sessions(app, web_platform) -> None:
    person(web_platform, "sara")
    here, phone, tablet = (
        browser(app, "sara", "192.0.2.21", FIREFOX),
        browser(app, "sara", "192.0.2.22", SAFARI),
        browser(app, "sara", "192.0.2.23", SAFARI),
    )
    page = here.get("/profilo/sessioni")
    assert page.status_code == 200
    assert "Firefox su Linux" in page.text and "Safari su iOS" in page.text and "192.0.2.22" in page.text
    assert page.text.count("questa sessione") == 1 and page.text.count('action="/profilo/sessioni/') == 4
    partial = here.get("/profilo/sessioni", headers=HX)
    assert "<html" not in partial.text and partial.text.count("questa sessione") == 1
    current = re.search(r'<tr aria-current="true">.*?/profilo/sessioni/([^/]+)/termina', page.text, re.S).group(1)  # type: ignore[union-attr]
    ids = re.findall(r'action="/profilo/sessioni/([^/"]+)/termina"', page.text)
    phone_id = next(i for i in ids if i != current)
    token = csrf(here)
    ended = here.post(f"/profilo/sessioni/{phone_id}/termina", data={"csrf_token": token}, headers=HX)
    assert ended.status_code == 200 and "Sessione terminata." in ended.text and "<html" not in ended.text
    still = [p for p in (phone, tablet) if is_logged_in(p)]
    assert len(still) == 1, "exactly the ended session lost its cookie's worth"
    others = here.post("/profilo/sessioni/termina-altre", data={"csrf_token": token})
    assert others.status_code == 200 and "Sessioni terminate: 1." in others.text
    assert not is_logged_in(phone) and not is_logged_in(tablet) and is_logged_in(here)
    out = here.post(f"/profilo/sessioni/{current}/termina", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert not is_logged_in(here), "ending this session is logging out"


def test_nobody_ends_someone_elses_session(app, web_platform, clients) -> None:
    person(web_platform, "ugo")
    ugo = browser(app, "ugo", "192.0.2.31")
    ugo_id = re.search(
        r'<tr aria-current="true">.*?/profilo/sessioni/([^/]+)/termina', ugo.get("/profilo/sessioni").text, re.S
    ).group(1)  # type: ignore[union-attr]
    bruno = clients("bruno")
    token = csrf(bruno)
    for headers in ({}, HX):
        refused = bruno.post(f"/profilo/sessioni/{ugo_id}/termina", data={"csrf_token": token}, headers=headers)
        assert refused.status_code == 404
    assert bruno.post("/profilo/sessioni/nessuna/termina", data={"csrf_token": token}).status_code == 404
    assert is_logged_in(ugo)


# --------------------------------------------------------------------------- second factor


def enrol(client: TestClient, seconds: float = 0) -> tuple[str, list[str]]:
    """Set up the second factor through the pages; returns the secret and the recovery codes."""
    page = client.get("/profilo/secondo-fattore")
    assert page.status_code == 200 and '<svg role="img" aria-label="Codice QR' in page.text
    secret = re.search(r'<code class="app-token">([A-Z2-7 ]+)</code>', page.text).group(1).replace(" ", "")  # type: ignore[union-attr]
    done = client.post(
        "/profilo/secondo-fattore", data={"codice": code_at(secret, seconds), "csrf_token": csrf(client)}
    )
    assert done.status_code == 201, done.text
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.text)
    assert len(codes) == 8
    return secret, codes


def password_step(app, username: str, address: str) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app, client=(address, 50000))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/profilo/sessioni"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/login/codice"
    assert "inlav_session" not in response.headers.get("set-cookie", "")
    return client


def code_step(client: TestClient, code: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login/codice").text).group(1)  # type: ignore[union-attr]
    return client.post(
        "/login/codice", data={"codice": code, "csrf_token": token}, headers=headers or {}, follow_redirects=False
    )


def test_enrol_and_log_in_with_a_code(app, web_platform, clock) -> None:
    person(web_platform, "vera")
    vera = browser(app, "vera", "192.0.2.41")
    partial = vera.get("/profilo/secondo-fattore", headers=HX)
    assert 'id="second-factor"' not in partial.text and "<html" not in partial.text and "<svg" in partial.text
    wrong = vera.post("/profilo/secondo-fattore", data={"codice": "12345", "csrf_token": csrf(vera)}, headers=HX)
    assert wrong.status_code == 422 and "Codice non valido" in wrong.text
    secret, codes = enrol(vera, 0)
    assert "attivo" in vera.get("/profilo").text

    clock(30)
    pending = password_step(app, "vera", "192.0.2.42")
    assert pending.get("/profilo", follow_redirects=False).status_code == 303, "half logged in is not logged in"
    page = pending.get("/login/codice")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text
    assert "<html" not in pending.get("/login/codice", headers=HX).text
    bad = code_step(pending, "000000" if code_at(secret, 30) != "000000" else "111111")
    assert bad.status_code == 401 and "Codice non valido o già usato" in bad.text
    replayed = code_step(pending, code_at(secret, 0))
    assert replayed.status_code == 401, "the enrolment code cannot be used again"
    ok = code_step(pending, code_at(secret, 30))
    assert ok.status_code == 303 and ok.headers["location"] == "/profilo/sessioni"
    assert is_logged_in(pending)

    again = password_step(app, "vera", "192.0.2.43")
    assert code_step(again, code_at(secret, 30)).status_code == 401, "a code is single-use"
    assert code_step(again, codes[0], HX).headers.get("HX-Redirect") == "/profilo/sessioni", "a recovery code works"
    once_more = password_step(app, "vera", "192.0.2.44")
    assert code_step(once_more, codes[0]).status_code == 401, "and only once"

    # New recovery codes and disabling need a code from the app.
    clock(60)
    token = csrf(vera)
    fresh = vera.post(
        "/profilo/secondo-fattore/codici", data={"codice": code_at(secret, 60), "csrf_token": token}, headers=HX
    )
    assert fresh.status_code == 200 and len(re.findall(r"<li><code>", fresh.text)) == 8
    refused = vera.post("/profilo/secondo-fattore/disattiva", data={"codice": "000000", "csrf_token": token})
    assert refused.status_code == 422
    clock(90)
    off = vera.post("/profilo/secondo-fattore/disattiva", data={"codice": code_at(secret, 90), "csrf_token": token})
    assert off.status_code == 200 and "Secondo fattore disattivato." in off.text
    browser(app, "vera", "192.0.2.45").close()  # password alone again


def test_wrong_codes_count_in_the_throttle(app, web_platform, clock) -> None:
    person(web_platform, "wanda")
    secret, _codes = enrol(browser(app, "wanda", "192.0.2.51"), 0)
    clock(30)
    pending = password_step(app, "wanda", "192.0.2.52")
    statuses = [code_step(pending, "000000").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert code_step(pending, code_at(secret, 30)).status_code == 429, "throttled: not even the right code is checked"


def test_a_required_second_factor_comes_first(app, web_platform, clock, monkeypatch) -> None:
    monkeypatch.setattr(web_platform.settings, "require_2fa_for", "coordinatori,amministratori")
    person(web_platform, "diana", [("direttore_pua", "MILANO")])
    client = TestClient(app, client=("192.0.2.61", 50000))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login", data={"username": "diana", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/profilo/secondo-fattore"
    for path in ("/attivita", "/casi", "/profilo", "/profilo/token"):
        blocked = client.get(path, follow_redirects=False)
        assert blocked.status_code == 303 and blocked.headers["location"] == "/profilo/secondo-fattore", path
    assert client.get("/attivita", headers=HX).headers["HX-Redirect"] == "/profilo/secondo-fattore"
    page = client.get("/profilo/secondo-fattore")
    assert "Il tuo ruolo richiede il secondo fattore" in page.text and 'class="app-nav"' not in page.text
    secret, _codes = enrol(client, 0)
    assert client.get("/attivita").status_code == 200, "enrolled: everything is open again"
    clock(30)
    token = csrf(client)
    refused = client.post(
        "/profilo/secondo-fattore/disattiva", data={"codice": code_at(secret, 30), "csrf_token": token}
    )
    assert refused.status_code == 409 and "obbligatorio" in refused.text
