"""The administration pages and the operation log, as full pages and as htmx fragments:
forms answer 422 keeping what was typed, unknown ids 404, and only the administrator
administers (the auditor reads the log, an operator sees neither)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine import Platform, claim_task
from engine.access.accounts import create_user
from engine.db import read_transaction, transaction
from engine.models import AppUser, HumanTask, OperationLog, Partner
from tests.web.conftest import ANNA, HX, PASSWORD, csrf_of, login, start
from web.app import create_app
from web.config import load_web_settings

pytestmark = pytest.mark.db

FULL_PAGE = "<html"
ADMIN_PAGES = (
    "/admin/utenti",
    "/admin/utenti/nuovo",
    "/admin/utenti/{bruno}",
    "/admin/utenti/{bruno}/disattiva",
    "/admin/ambiti",
    "/admin/partner",
    "/admin/partner/nuovo",
    "/admin/partner/{partner}",
    "/admin/impostazioni",
)


@pytest.fixture(scope="module")
def admin_platform(web_platform: Platform) -> Iterator[Platform]:
    """The web test platform plus an administrator and an auditor."""
    with transaction(web_platform.sessions) as session:
        create_user(session, "amelia", "Amelia Neri", PASSWORD, [("amministratore", None)])
        create_user(session, "rita", "Rita Revisori", PASSWORD, [("revisore", None)])
    yield web_platform


@pytest.fixture(scope="module")
def app(admin_platform: Platform):  # type: ignore[no-untyped-def]
    # Small pages, so pagination shows with a handful of rows.
    return create_app(admin_platform, load_web_settings(admin_platform.settings, page_size=5))


def ids(platform: Platform) -> dict[str, int]:
    with read_transaction(platform.sessions) as session:
        bruno = session.scalar(select(AppUser.id).where(AppUser.username == "bruno"))
        partner = session.scalar(select(Partner.id).where(Partner.code == "CPI-MI"))
    return {"bruno": int(bruno or 0), "partner": int(partner or 0)}


def is_fragment(html: str) -> bool:
    return FULL_PAGE not in html


def value_of(html: str, name: str) -> str | None:
    """The value attribute of the input called `name`, or None if there is none."""
    tag = re.search(rf'<input[^>]* name="{re.escape(name)}"[^>]*>', html)
    found = re.search(r' value="([^"]*)"', tag.group(0)) if tag else None
    return found.group(1) if found else None


# --------------------------------------------------------------------------- pages, with and without htmx


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("path", [*ADMIN_PAGES, "/audit/operazioni"])
def test_every_page_renders_whole_or_as_a_fragment(clients, admin_platform, path: str, htmx: bool) -> None:
    response = clients("amelia").get(path.format(**ids(admin_platform)), headers=HX if htmx else {})
    assert response.status_code == 200, response.text[:500]
    assert is_fragment(response.text) == htmx
    assert response.headers["Vary"] == "HX-Request"


def test_the_administrator_lands_on_users_and_sees_no_case_data(clients, admin_platform) -> None:
    code, _task = start(admin_platform)
    amelia = clients("amelia")
    assert amelia.get("/", follow_redirects=False).headers["location"] == "/admin/utenti"
    nav = amelia.get("/admin/utenti").text.split("</nav>")[0]
    for label in ("Utenti", "Ambiti", "Partner", "Impostazioni", "Registro operazioni"):
        assert label in nav
    assert 'href="/attivita"' not in nav and 'href="/casi"' not in nav
    assert amelia.get("/attivita").status_code == 403
    assert amelia.get("/casi").status_code == 403
    assert amelia.get(f"/casi/{code}").status_code == 403


def test_user_list_filters_and_pages(clients) -> None:
    amelia = clients("amelia")
    everyone = amelia.get("/admin/utenti").text
    assert "7 utenti trovati" in everyone and "Pagina 1 di 2" in everyone and "pagina=2" in everyone
    milano = amelia.get("/admin/utenti?ambito=MILANO", headers=HX).text
    assert "anna" in milano and "olga" not in milano
    assert "Operatore di contatto · MILANO" in milano
    lecco = amelia.get("/admin/utenti?ambito=LECCO&ruolo=esperto_servizi_sociali").text
    assert "1 utente trovato" in lecco and "olga" in lecco
    assert "1 utente trovato" in amelia.get("/admin/utenti?q=revisori").text
    assert amelia.get("/admin/utenti?pagina=-1&stato=%00&ambito=<x>").status_code == 200


# --------------------------------------------------------------------------- users


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_create_user_shows_the_password_once(clients, admin_platform, htmx: bool) -> None:
    amelia = clients("amelia")
    username = f"nuova.{'h' if htmx else 'p'}"
    response = amelia.post(
        "/admin/utenti",
        data={
            "csrf_token": csrf_of(amelia),
            "username": username,
            "full_name": "Nuova Operatrice",
            "email": "nuova@pua.it",
            "locale": "it",
            "password_mode": "genera",
            "ruoli[0].ruolo": "operatore_contatto",
            "ruoli[0].ambito": "LECCO",
            "ruoli[1].ruolo": "mediatore",
            "ruoli[1].ambito": "LECCO",
        },
        headers=HX if htmx else {},
    )
    assert response.status_code == 201 and is_fragment(response.text) == htmx
    password = re.search(r'id="one-time-password">([^<]+)<', response.text).group(1)  # type: ignore[union-attr]
    assert "Mediatore linguistico-culturale · LECCO" in response.text
    user_id = re.search(r'action="/admin/utenti/(\d+)/password"', response.text).group(1)  # type: ignore[union-attr]
    page = amelia.get(f"/admin/utenti/{user_id}").text
    assert "Nuova Operatrice" in page
    assert password not in page, "shown once"
    # She logs in and must choose her own password first.
    client = TestClient(amelia.app)
    login(client, username, password)
    forced = client.get("/attivita", follow_redirects=False)
    assert forced.status_code == 303 and forced.headers["location"].startswith("/profilo/password")
    form = client.get(forced.headers["location"]).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    mismatch = client.post(
        "/profilo/password",
        data={"csrf_token": token, "attuale": password, "password": "x" * 12, "conferma": "y" * 12},
    )
    assert mismatch.status_code == 422 and "non coincidono" in mismatch.text
    done = client.post(
        "/profilo/password",
        data={
            "csrf_token": token,
            "attuale": password,
            "password": "la mia frase per il PUA di Lecco",
            "conferma": "la mia frase per il PUA di Lecco",
            "next": "/attivita",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/attivita"
    assert client.get("/attivita").status_code == 200
    with read_transaction(admin_platform.sessions) as session:
        row = session.scalar(
            select(OperationLog).where(OperationLog.action == "user.created", OperationLog.target_id == username)
        )
        assert row is not None and row.actor == "amelia" and password not in (row.after_json or "")


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_create_user_errors_are_422_with_input_kept(clients, htmx: bool) -> None:
    amelia = clients("amelia")
    response = amelia.post(
        "/admin/utenti",
        data={
            "csrf_token": csrf_of(amelia),
            "username": "anna",
            "full_name": "Anna Seconda",
            "email": "non-email",
            "locale": "it",
            "password_mode": "scelta",
            "password": "corta",
            "ruoli[0].ruolo": "revisore",
            "ruoli[0].ambito": "MILANO",
        },
        headers=HX if htmx else {},
    )
    assert response.status_code == 422 and is_fragment(response.text) == htmx
    html = response.text
    assert "esiste già" in html and "Email non valida" in html and "almeno 10 caratteri" in html
    assert "è regionale" in html
    assert value_of(html, "username") == "anna" and value_of(html, "full_name") == "Anna Seconda"
    assert value_of(html, "email") == "non-email"
    assert 'value="revisore" selected' in html and 'value="MILANO" selected' in html
    assert 'value="scelta" checked' in html
    assert "corta" not in html, "a password is never sent back"


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_edit_user_grant_and_revoke_roles(clients, admin_platform, htmx: bool) -> None:
    amelia = clients("amelia")
    headers = HX if htmx else {}
    bruno = ids(admin_platform)["bruno"]
    token = csrf_of(amelia)
    bad = amelia.post(
        f"/admin/utenti/{bruno}",
        data={"csrf_token": token, "full_name": "", "email": "bruno@", "locale": "it"},
        headers=headers,
    )
    assert bad.status_code == 422 and is_fragment(bad.text) == htmx
    assert value_of(bad.text, "email") == "bruno@" and "obbligatorio" in bad.text
    saved = amelia.post(
        f"/admin/utenti/{bruno}",
        data={"csrf_token": token, "full_name": "Bruno Rossi", "email": "bruno@pua.it", "locale": "it"},
        headers=headers,
    )
    assert saved.status_code == 200 and "Modifiche salvate." in saved.text
    granted = amelia.post(
        f"/admin/utenti/{bruno}/ruoli", data={"csrf_token": token, "ruolo": "mediatore", "ambito": ""}, headers=headers
    )
    assert granted.status_code == 422 and "si assegna in un Ambito" in granted.text
    assert 'value="mediatore" selected' in granted.text
    granted = amelia.post(
        f"/admin/utenti/{bruno}/ruoli",
        data={"csrf_token": token, "ruolo": "mediatore", "ambito": "MILANO"},
        headers=headers,
    )
    assert granted.status_code == 201 and "Ruolo assegnato." in granted.text
    grant_id = re.search(
        r"/ruoli/(\d+)/revoca\"[^>]*>\s*<input[^>]*>\s*<button[^>]*>Revoca<span class=\"visually-hidden\"> Mediatore",
        granted.text,
    )
    assert grant_id is not None
    revoked = amelia.post(
        f"/admin/utenti/{bruno}/ruoli/{grant_id.group(1)}/revoca", data={"csrf_token": token}, headers=headers
    )
    assert revoked.status_code == 200 and "Ruolo revocato." in revoked.text
    assert "Mediatore linguistico-culturale · MILANO" in granted.text
    assert "Mediatore linguistico-culturale · MILANO" not in revoked.text


def test_deactivation_lists_and_releases_claimed_tasks(clients, admin_platform) -> None:
    with transaction(admin_platform.sessions) as session:
        create_user(session, "paola", "Paola Verdi", PASSWORD, [("operatore_contatto", "MILANO")])
        paola = session.scalar(select(AppUser.id).where(AppUser.username == "paola"))
    code, task_id = start(admin_platform)
    paola_client = login(TestClient(clients("amelia").app), "paola")
    with transaction(admin_platform.sessions) as session:
        from engine import Actor

        claim_task(session, task_id, Actor("paola", grants=frozenset({("operatore_contatto", "MILANO")})))
    amelia = clients("amelia")
    confirm = amelia.get(f"/admin/utenti/{paola}/disattiva")
    assert confirm.status_code == 200 and code in confirm.text and "Attività che torneranno al gruppo" in confirm.text
    done = amelia.post(f"/admin/utenti/{paola}/disattiva", data={"csrf_token": csrf_of(amelia)}, headers=HX)
    assert done.status_code == 200 and is_fragment(done.text)
    assert "Utente disattivato" in done.text and code in done.text and "Sessioni chiuse:</p>" not in done.text
    with read_transaction(admin_platform.sessions) as session:
        assert session.get(HumanTask, task_id).assignee is None  # type: ignore[union-attr]
    assert paola_client.get("/attivita", follow_redirects=False).status_code == 303, "her session ended"
    # The task is the team's again.
    assert task_id in clients("anna").get(f"/attivita?caso={code}&vista=libere").text
    again = amelia.post(f"/admin/utenti/{paola}/riattiva", data={"csrf_token": csrf_of(amelia)}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].endswith("esito=utente-riattivato")
    assert "Utente riattivato" in amelia.get(again.headers["location"]).text


def test_self_deactivation_and_unknown_users(clients, admin_platform) -> None:
    amelia = clients("amelia")
    with read_transaction(admin_platform.sessions) as session:
        me = session.scalar(select(AppUser.id).where(AppUser.username == "amelia"))
    refused = amelia.post(f"/admin/utenti/{me}/disattiva", data={"csrf_token": csrf_of(amelia)})
    assert refused.status_code == 409 and "Non puoi disattivare il tuo stesso account." in refused.text
    assert amelia.get(f"/admin/utenti/{me}/disattiva").status_code == 409
    assert 'href="/admin/utenti/' + str(me) + '/disattiva"' not in amelia.get(f"/admin/utenti/{me}").text
    assert amelia.get("/admin/utenti/999999").status_code == 404
    assert amelia.post("/admin/utenti/999999/password", data={"csrf_token": csrf_of(amelia)}).status_code == 404
    assert amelia.get("/admin/utenti/abc").status_code == 422, "not an id at all: a malformed request"


def test_password_reset_shows_a_one_time_password(clients, admin_platform) -> None:
    amelia = clients("amelia")
    bruno = ids(admin_platform)["bruno"]
    response = amelia.post(f"/admin/utenti/{bruno}/password", data={"csrf_token": csrf_of(amelia)}, headers=HX)
    assert response.status_code == 200 and is_fragment(response.text)
    assert "Password temporanea" in response.text and 'id="one-time-password"' in response.text


# --------------------------------------------------------------------------- Ambiti, partners, settings


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_ambiti_create_and_rename(clients, htmx: bool) -> None:
    amelia = clients("amelia")
    headers = HX if htmx else {}
    token = csrf_of(amelia)
    code = "MONZA" if htmx else "SONDRIO"
    created = amelia.post(
        "/admin/ambiti", data={"csrf_token": token, "code": code, "name": code.title()}, headers=headers
    )
    assert created.status_code == 201 and is_fragment(created.text) == htmx and f"Ambito {code} creato." in created.text
    again = amelia.post("/admin/ambiti", data={"csrf_token": token, "code": code.lower(), "name": ""}, headers=headers)
    assert again.status_code == 422 and "esiste già" in again.text
    assert value_of(again.text, "code") == code.lower()
    renamed = amelia.post(f"/admin/ambiti/{code}", data={"csrf_token": token, "name": "Nuovo nome"}, headers=headers)
    assert renamed.status_code == 200 and 'value="Nuovo nome"' in renamed.text
    empty = amelia.post(f"/admin/ambiti/{code}", data={"csrf_token": token, "name": "  "}, headers=headers)
    assert empty.status_code == 422 and "obbligatorio" in empty.text
    assert amelia.post("/admin/ambiti/NESSUNO", data={"csrf_token": token, "name": "x"}).status_code == 404


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_partner_registry_pages(clients, admin_platform, htmx: bool) -> None:
    amelia = clients("amelia")
    headers = HX if htmx else {}
    token = csrf_of(amelia)
    bad = amelia.post(
        "/admin/partner",
        data={"csrf_token": token, "name": "Sportello CGIL", "kind": "", "ambito": "MILANO", "phone": "abc"},
        headers=headers,
    )
    assert bad.status_code == 422 and is_fragment(bad.text) == htmx
    assert "Scegliere il tipo di partner." in bad.text and value_of(bad.text, "name") == "Sportello CGIL"
    assert value_of(bad.text, "phone") == "abc" and 'value="MILANO" selected' in bad.text
    name = f"Sportello CGIL {'h' if htmx else 'p'}"
    created = amelia.post(
        "/admin/partner",
        data={"csrf_token": token, "name": name, "kind": "legale", "ambito": "MILANO", "contact_person": "Luca"},
        headers=headers,
        follow_redirects=False,
    )
    target = created.headers["HX-Redirect"] if htmx else created.headers["location"]
    assert created.status_code == (204 if htmx else 303) and target == "/admin/partner?esito=creato"
    listing = amelia.get("/admin/partner?ambito=MILANO&tipo=legale").text
    assert name in listing and "Luca" in listing and "Partner registrato." not in listing
    assert "Partner registrato." in amelia.get(target).text
    with read_transaction(admin_platform.sessions) as session:
        partner = session.scalar(select(Partner).where(Partner.name == name))
        assert partner is not None and partner.code.startswith("MILANO-SPORTELLO-CGIL")
        partner_id = partner.id
    edited = amelia.post(
        f"/admin/partner/{partner_id}",
        data={"csrf_token": token, "name": name, "kind": "legale", "ambito": "MILANO", "email": "cgil@"},
        headers=headers,
    )
    assert edited.status_code == 422 and value_of(edited.text, "email") == "cgil@"
    off = amelia.post(
        f"/admin/partner/{partner_id}/disattiva",
        data={"csrf_token": token, "next": "/admin/partner?tipo=legale"},
        headers=headers,
        follow_redirects=False,
    )
    if htmx:
        assert off.status_code == 200 and is_fragment(off.text) and "Partner disattivato" in off.text
    else:
        assert off.status_code == 303
    assert name in amelia.get("/admin/partner?stato=disattivati").text
    assert name not in amelia.get("/admin/partner?stato=attivi&tipo=legale").text
    assert amelia.get("/admin/partner/999999").status_code == 404
    assert amelia.get("/admin/partner?ambito=-").status_code == 200


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_targets_and_settings(clients, htmx: bool) -> None:
    amelia = clients("amelia")
    headers = HX if htmx else {}
    token = csrf_of(amelia)
    bad = amelia.post(
        "/admin/impostazioni/obiettivi",
        data={
            "csrf_token": token,
            "anno": "2031",
            "t.MILANO.intercepted_min": "70",
            "t.MILANO.intercepted_max": "100",
            "t.MILANO.taken_min": "30",
            "t.MILANO.taken_max": "50",
            "t.LECCO.intercepted_min": "40",
            "t.LECCO.intercepted_max": "20",
            "t.LECCO.taken_min": "dieci",
            "t.LECCO.taken_max": "",
        },
        headers=headers,
    )
    assert bad.status_code == 422 and is_fragment(bad.text) == htmx
    assert (
        value_of(bad.text, "t.LECCO.taken_min") == "dieci" and value_of(bad.text, "t.MILANO.intercepted_max") == "100"
    )
    good = amelia.post(
        "/admin/impostazioni/obiettivi",
        data={
            "csrf_token": token,
            "anno": "2031",
            "t.MILANO.intercepted_min": "70",
            "t.MILANO.intercepted_max": "100",
            "t.MILANO.taken_min": "30",
            "t.MILANO.taken_max": "50",
        },
        headers=headers,
    )
    assert good.status_code == 200 and "Obiettivi 2031 salvati" in good.text
    page = amelia.get("/admin/impostazioni?anno=2031").text
    assert value_of(page, "t.MILANO.taken_max") == "50" and value_of(page, "t.LECCO.taken_max") == ""
    long = amelia.post("/admin/impostazioni", data={"csrf_token": token, "avviso_accesso": "x" * 600}, headers=headers)
    assert long.status_code == 422 and "al massimo 500 caratteri" in long.text
    saved = amelia.post(
        "/admin/impostazioni",
        data={
            "csrf_token": token,
            "avviso_accesso": "Sabato fermo per manutenzione",
            "contatto_assistenza": "help@x.it",
        },
        headers=headers,
    )
    assert saved.status_code == 200
    login_page = TestClient(amelia.app).get("/login").text
    assert "Sabato fermo per manutenzione" in login_page and "help@x.it" in login_page


# --------------------------------------------------------------------------- the operation log


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_operation_log_filters_and_pages(clients, htmx: bool) -> None:
    amelia, rita = clients("amelia"), clients("rita")
    token = csrf_of(amelia)
    for n in range(3):
        amelia.post("/admin/ambiti", data={"csrf_token": token, "code": f"LOG{n}{int(htmx)}", "name": f"Log {n}"})
    headers = HX if htmx else {}
    everything = rita.get("/audit/operazioni", headers=headers)
    assert everything.status_code == 200 and is_fragment(everything.text) == htmx
    assert "Pagina 1 di" in everything.text, "more rows than a page"
    created = rita.get("/audit/operazioni?azione=ambito.created&attore=amelia", headers=headers).text
    results = created.split('id="operation-results"')[-1]
    assert f"LOG2{int(htmx)}" in results and "CPI-MI" not in results
    by_target = rita.get(f"/audit/operazioni?oggetto=ambito&id=LOG1{int(htmx)}").text
    assert "1 operazione trovata" in by_target and "Log 1" in by_target
    assert "0 operazioni trovate" in rita.get("/audit/operazioni?dal=2000-01-01&al=2000-01-02").text
    reversed_range = rita.get("/audit/operazioni?dal=2030-01-02&al=2030-01-01").text
    assert "viene dopo" in reversed_range
    assert rita.get("/audit/operazioni?dal=ieri&pagina=x&azione=<script>").status_code == 200
    verified = rita.get("/audit/operazioni?verifica=1", headers=headers).text
    assert "Catena verificata" in verified and "Attenzione" not in verified
    assert "Catena verificata" not in everything.text, "verified only on request"
    system = rita.get("/audit/operazioni?attore=sistema&azione=partner.created").text
    assert "Centro per l&#39;impiego di Milano" in system, "seeded partners were logged as the system"


# --------------------------------------------------------------------------- permissions both ways


def test_auditor_reads_the_log_but_administers_nothing(clients, admin_platform) -> None:
    rita = clients("rita")
    assert rita.get("/audit/operazioni").status_code == 200
    for path in ADMIN_PAGES:
        assert rita.get(path.format(**ids(admin_platform))).status_code == 403, path
    token = csrf_of(rita)
    assert rita.post("/admin/ambiti", data={"csrf_token": token, "code": "RITA", "name": "x"}).status_code == 403
    assert rita.post("/admin/utenti", data={"csrf_token": token, "username": "x"}).status_code == 403
    nav = rita.get("/audit/operazioni").text.split("</nav>")[0]
    assert "Registro operazioni" in nav and 'href="/admin/utenti"' not in nav


def test_an_operator_sees_neither_administration_nor_the_log(clients, admin_platform) -> None:
    anna = clients("anna")
    for path in (*ADMIN_PAGES, "/audit/operazioni"):
        response = anna.get(path.format(**ids(admin_platform)), headers=HX)
        assert response.status_code == 403, path
    token = csrf_of(anna)
    assert anna.post("/admin/impostazioni", data={"csrf_token": token, "avviso_accesso": "x"}).status_code == 403
    bruno = ids(admin_platform)["bruno"]
    assert anna.post(f"/admin/utenti/{bruno}/disattiva", data={"csrf_token": token}).status_code == 403
    nav = anna.get("/attivita").text.split("</nav>")[0]
    assert "/admin/" not in nav and "/audit/" not in nav


def test_posts_need_the_csrf_token(clients, admin_platform) -> None:
    amelia = clients("amelia")
    assert amelia.post("/admin/ambiti", data={"code": "NOCSRF", "name": "x"}).status_code == 403
    bruno = ids(admin_platform)["bruno"]
    assert amelia.post(f"/admin/utenti/{bruno}/password", data={"csrf_token": "falso"}).status_code == 403


def test_anna_keeps_working(clients, admin_platform) -> None:
    """Sanity: the operator journey fixtures still work next to the admin users."""
    code, task_id = start(admin_platform, actor=ANNA)
    assert clients("anna").get(f"/attivita/{task_id}").status_code == 200 and code


def test_list_pages_cost_the_same_queries_whatever_the_rows(clients, admin_platform) -> None:
    from tests.web.test_inbox_queries import count_queries

    amelia = clients("amelia")
    token = csrf_of(amelia)

    def add(n: int) -> None:
        amelia.post(
            "/admin/utenti",
            data={
                "csrf_token": token,
                "username": f"conta{n}",
                "full_name": f"Conta {n}",
                "locale": "it",
                "password_mode": "genera",
                "ruoli[0].ruolo": "mediatore",
                "ruoli[0].ambito": "MILANO",
                "ruoli[1].ruolo": "network_manager",
                "ruoli[1].ambito": "LECCO",
            },
        )
        amelia.post("/admin/partner", data={"csrf_token": token, "name": f"Ente conta {n}", "kind": "altro"})
        amelia.post("/admin/ambiti", data={"csrf_token": token, "code": f"CONTA{n}", "name": f"Conta {n}"})

    # One matching row of each, then a full page (5 of 8): the cost must not follow the rows.
    pages = (
        "/admin/utenti?q=conta",
        "/admin/partner?q=ente%20conta",
        "/audit/operazioni?azione=partner.created&attore=amelia",
        "/admin/ambiti",
    )
    add(0)
    for path in pages:
        amelia.get(path)  # warm up (session touch)
    few = {path: count_queries(admin_platform, lambda p=path: amelia.get(p)) for path in pages}
    assert "1 utente trovato" in amelia.get(pages[0]).text
    for n in range(1, 8):
        add(n)
    assert "8 utenti trovati" in amelia.get(pages[0]).text and "8 partner trovati" in amelia.get(pages[1]).text
    many = {path: count_queries(admin_platform, lambda p=path: amelia.get(p)) for path in pages}
    assert few == many, (few, many)
    assert max(many.values()) <= 10, many
    print("queries per list page:", many)


def test_administration_speaks_english(app, admin_platform) -> None:
    client = login(TestClient(app), "amelia")
    token = csrf_of(client)
    client.post("/lingua", data={"csrf_token": token, "lingua": "en", "next": "/admin/utenti"})
    expected = {
        "/admin/utenti": "New user",
        "/admin/utenti/nuovo": "Initial password",
        "/admin/ambiti": "New Ambito",
        "/admin/partner": "Partner registry",
        "/admin/impostazioni": "Annual targets of the PUAs",
        "/audit/operazioni": "Operation log",
    }
    for path, text in expected.items():
        page = client.get(path)
        assert page.status_code == 200 and text in page.text, path
