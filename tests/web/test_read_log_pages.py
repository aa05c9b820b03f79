"""The read-access log from the outside: every view of a case (case file page, personal-data
export, API case read and export, CLI show and history) leaves exactly one row with the right
who, what and channel; the log page shows it to the auditor (every Ambito) and to a PUA director
(her own), refuses everyone else, filters and pages; no name or alias ever reaches it; and a
view whose record cannot be written is refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from engine import Platform, start_instance
from engine.access import Actor, create_token
from engine.access.accounts import create_user
from engine.audit import case_ref, reads_of_case
from engine.db import read_transaction, transaction
from engine.models import AppUser, ReadLog
from tests.conftest import deploy
from tests.engine.test_privacy import SECRETS, person_bundle
from tests.web.conftest import HX, OLGA, PASSWORD
from tests.web.test_privacy_pages import held_case
from web.app import create_app
from web.cli import app as cli_app
from web.config import load_web_settings
from web.routes.audit_reads import REFRESH, ReadLogUnavailable, log_read, log_reads

pytestmark = pytest.mark.db

PAGE = 5


@pytest.fixture(scope="module")
def seeded(web_platform: Platform) -> Platform:
    """Identity-bearing cases, an auditor, a regional monitor, a director of LECCO, one more operator."""
    with transaction(web_platform.sessions) as session:
        deploy(session, files=person_bundle())
        create_user(session, "rita", "Rita Revisori", PASSWORD, [("revisore", None)])
        create_user(session, "mona", "Mona Monitor", PASSWORD, [("monitoraggio_regionale", None)])
        create_user(session, "luca", "Luca Rossi", PASSWORD, [("direttore_pua", "LECCO")])
        create_user(session, "carla", "Carla Rossi", PASSWORD, [("operatore_contatto", "MILANO")])
    return web_platform


@pytest.fixture(scope="module")
def app(seeded: Platform):  # type: ignore[no-untyped-def]
    # Small pages, so pagination shows with a handful of rows.
    return create_app(seeded, load_web_settings(seeded.settings, page_size=PAGE))


@pytest.fixture(scope="module")
def milano_case(seeded: Platform) -> str:
    return held_case(seeded)[0]


@pytest.fixture(scope="module")
def lecco_case(seeded: Platform) -> str:
    with transaction(seeded.sessions) as session:
        return start_instance(session, seeded.settings, "accoglienza_riservata", "LECCO", OLGA).instance.case_code


def reads(platform: Platform, case_code: str) -> list[tuple[str, str, str, str | None]]:
    """(who, what, channel, detail) of every read of a case, oldest first."""
    with read_transaction(platform.sessions) as session:
        rows = session.scalars(select(ReadLog).where(ReadLog.case_code == case_code).order_by(ReadLog.id))
        return [(r.actor, r.what, r.channel, r.detail) for r in rows]


@contextmanager
def new_reads(platform: Platform, case_code: str) -> Iterator[list[tuple[str, str, str, str | None]]]:
    """The reads of a case added inside the block."""
    before = len(reads(platform, case_code))
    added: list[tuple[str, str, str, str | None]] = []
    yield added
    added.extend(reads(platform, case_code)[before:])


def api_client(app, platform: Platform, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    with transaction(platform.sessions) as session:
        user = session.scalar(select(AppUser).where(AppUser.username == username))
        assert user is not None
        _row, secret = create_token(session, platform.settings.secret_key, user, "registro", 5)
    return TestClient(app, headers={"Authorization": f"Bearer {secret}"})


def test_the_case_file_page_leaves_one_read_and_a_refresh_none(clients, seeded, milano_case) -> None:
    anna = clients("anna")
    with new_reads(seeded, milano_case) as added:
        assert anna.get(f"/casi/{milano_case}").status_code == 200
    assert added == [("anna", "case_file", "web", None)]
    # The same file refreshed by htmx right after: what is on her screen, not a new view.
    with new_reads(seeded, milano_case) as added:
        assert anna.get(f"/casi/{milano_case}", headers=HX).status_code == 200
    assert added == []
    # Another person's htmx request is her first view: recorded.
    with new_reads(seeded, milano_case) as added:
        assert clients("bruno").get(f"/casi/{milano_case}", headers=HX).status_code == 200
    assert added == [("bruno", "case_file", "web", None)]
    # A full page load is always a view.
    with new_reads(seeded, milano_case) as added:
        anna.get(f"/casi/{milano_case}")
    assert added == [("anna", "case_file", "web", None)]


def test_the_auditor_instance_page_and_its_exports_leave_one_read_each(clients, seeded, milano_case) -> None:
    rita = clients("rita")
    with new_reads(seeded, milano_case) as added:
        assert rita.get(f"/audit/istanze/{milano_case}").status_code == 200
        # Another step's data, right after: the same view (htmx, within the refresh window).
        assert rita.get(f"/audit/istanze/{milano_case}?passo=1", headers=HX).status_code == 200
        assert rita.get(f"/audit/istanze/{milano_case}/storia.json").status_code == 200
        assert rita.get(f"/audit/istanze/{milano_case}/storia.csv").status_code == 200
        assert rita.get(f"/audit/istanze/{milano_case}/stampa").status_code == 200
    assert added == [
        ("rita", "instance_page", "web", None),
        ("rita", "history_json", "web", None),
        ("rita", "history_csv", "web", None),
        ("rita", "history_print", "web", None),
    ]
    with new_reads(seeded, milano_case) as added:
        assert clients("luca").get(f"/audit/istanze/{milano_case}").status_code == 404
        assert clients("anna").get(f"/audit/istanze/{milano_case}").status_code == 403
    assert added == []


def test_the_instance_page_shows_who_else_read_the_case_to_those_who_may_know(clients, seeded, milano_case) -> None:
    clients("dario").get(f"/casi/{milano_case}")
    page = clients("rita").get(f"/audit/istanze/{milano_case}").text
    assert "Chi altro ha consultato questo caso" in page
    assert "dario" in page.split("Chi altro ha consultato questo caso")[1].split("</section>")[0]
    with transaction(seeded.sessions) as session:
        create_user(session, "sara", "Sara Scc", PASSWORD, [("scc", "MILANO")])
    # The SCC may explore the Ambito's cases but not read the access log: nothing of it shows.
    scc_page = clients("sara").get(f"/audit/istanze/{milano_case}")
    assert scc_page.status_code == 200
    assert "Chi altro ha consultato questo caso" not in scc_page.text


def test_refused_and_unknown_cases_leave_no_read(clients, seeded, milano_case) -> None:
    with new_reads(seeded, milano_case) as added:
        assert clients("olga").get(f"/casi/{milano_case}").status_code == 404
        assert clients("luca").get(f"/privacy/casi/{milano_case}/esporta").status_code == 404
        assert clients("anna").get(f"/privacy/casi/{milano_case}/esporta").status_code == 403
    assert added == []


def test_the_personal_data_export_leaves_one_read_each_time(clients, seeded, milano_case) -> None:
    dario = clients("dario")
    with new_reads(seeded, milano_case) as added:
        assert dario.get(f"/privacy/casi/{milano_case}/esporta").status_code == 200
    assert added == [("dario", "personal_export", "web", "pagina stampabile")]
    with new_reads(seeded, milano_case) as added:
        assert dario.get(f"/privacy/casi/{milano_case}/esporta.json").status_code == 200
    assert added == [("dario", "personal_export", "web", "JSON")]


def test_the_api_case_read_and_export_leave_one_read_each(app, seeded, milano_case) -> None:
    with new_reads(seeded, milano_case) as added:
        assert api_client(app, seeded, "anna").get(f"/api/v1/cases/{milano_case}").status_code == 200
    assert added == [("anna", "case_file", "api", None)]
    with new_reads(seeded, milano_case) as added:
        assert api_client(app, seeded, "dario").get(f"/api/v1/privacy/cases/{milano_case}/export").status_code == 200
    assert added == [("dario", "personal_export", "api", None)]
    with new_reads(seeded, milano_case) as added:
        assert api_client(app, seeded, "olga").get(f"/api/v1/cases/{milano_case}").status_code == 404
    assert added == []


def test_the_cli_show_and_history_leave_one_read_each(
    seeded, web_url: str, milano_case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INLAV_DATABASE_URL", web_url)
    monkeypatch.setenv("INLAV_ENVIRONMENT", "test")
    runner = CliRunner()

    def inlav(*args: str) -> str:
        result = runner.invoke(cli_app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    with new_reads(seeded, milano_case) as added:
        assert milano_case in inlav("instances", "show", milano_case, "--user", "anna")
    assert added == [("anna", "case_summary", "cli", None)]
    with new_reads(seeded, milano_case) as added:
        assert "Catena di hash integra" in inlav("instances", "history", milano_case, "--verify", "--user", "rita")
    assert added == [("rita", "history", "cli", "con verifica della catena")]
    with new_reads(seeded, milano_case) as added:
        inlav("instances", "history", milano_case)
    assert added == [("console", "history", "cli", "console del server, senza --user")]
    with new_reads(seeded, milano_case) as added:
        refused = runner.invoke(cli_app, ["instances", "show", milano_case, "--user", "olga"])
        assert refused.exit_code == 1
    assert added == []


def test_the_log_names_no_one_the_pua_follows(clients, seeded, milano_case) -> None:
    clients("anna").get(f"/casi/{milano_case}")
    with read_transaction(seeded.sessions) as session:
        stored = [repr(tuple(r)) for r in session.execute(select(ReadLog.__table__))]
        people = list(session.scalars(select(AppUser.full_name)))
    assert stored
    for secret in (*SECRETS, *people):
        assert not any(secret in row for row in stored), secret
    page = clients("rita").get(f"/audit/accessi?caso={milano_case}").text
    assert milano_case in page and not any(secret in page for secret in SECRETS)


def test_the_auditor_sees_every_ambito_a_director_only_hers(clients, seeded, milano_case, lecco_case) -> None:
    clients("anna").get(f"/casi/{milano_case}")
    clients("olga").get(f"/casi/{lecco_case}")
    rita = clients("rita").get("/audit/accessi").text
    assert milano_case in rita and lecco_case in rita
    dario = clients("dario").get("/audit/accessi").text
    assert milano_case in dario and lecco_case not in dario
    luca = clients("luca").get("/audit/accessi").text
    assert lecco_case in luca and milano_case not in luca
    # Filtering on another Ambito's case: no rows, as for a case that does not exist.
    other = clients("dario").get(f"/audit/accessi?caso={lecco_case}").text
    assert "0 consultazioni trovate" in other
    assert "0 consultazioni trovate" in clients("dario").get("/audit/accessi?caso=NESSUNO-1").text
    nav = clients("rita").get("/audit/accessi").text.split("</nav>")[0]
    assert 'href="/audit/accessi"' in nav
    assert 'href="/audit/accessi"' not in clients("anna").get("/attivita").text.split("</nav>")[0]


@pytest.mark.parametrize("username", ["anna", "bruno", "olga", "mona"])
def test_no_one_else_reads_the_log(clients, seeded, username: str) -> None:
    client = clients(username)
    assert client.get("/audit/accessi").status_code == 403
    assert client.get("/audit/accessi", headers=HX).status_code == 403


def test_filters_pages_and_fragments(clients, seeded, milano_case, lecco_case) -> None:
    rita = clients("rita")
    tina = clients("tina")
    for _ in range(PAGE + 1):
        tina.get(f"/casi/{milano_case}")  # full views: one row each
    clients("dario").get(f"/privacy/casi/{milano_case}/esporta.json")
    by_tina = rita.get("/audit/accessi?utente=TINA").text
    assert f"{PAGE + 1} consultazioni trovate" in by_tina and "Pagina 1 di 2" in by_tina
    exports = rita.get(f"/audit/accessi?caso={milano_case}&cosa=personal_export").text
    assert "Esportazione dei dati della persona" in exports and "Fascicolo del caso</td>" not in exports
    with read_transaction(seeded.sessions) as session:
        total = session.scalar(select(func.count()).select_from(ReadLog).where(ReadLog.what == "personal_export"))
        web_exports = session.scalar(
            select(func.count())
            .select_from(ReadLog)
            .where(ReadLog.what == "personal_export", ReadLog.channel == "web", ReadLog.case_code == milano_case)
        )
    assert f"{total} consultazion" in rita.get("/audit/accessi?cosa=personal_export").text
    assert (
        f"{web_exports} consultazion"
        in rita.get(f"/audit/accessi?caso={milano_case}&cosa=personal_export&canale=web").text
    )
    assert "0 consultazioni trovate" in rita.get("/audit/accessi?dal=2000-01-01&al=2000-01-02").text
    assert "viene dopo" in rita.get("/audit/accessi?dal=2030-01-02&al=2030-01-01").text
    # Nonsense in the address bar is ignored, never a 500.
    assert rita.get("/audit/accessi?dal=ieri&pagina=x&cosa=<script>&canale=fax").status_code == 200
    # Pages, newest first; htmx gets the fragment and the address to show.
    first = rita.get("/audit/accessi")
    assert "Pagina 1 di" in first.text and "pagina=2" in first.text
    fragment = rita.get("/audit/accessi?pagina=2&utente=tina", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["HX-Push-Url"] == "/audit/accessi?utente=tina&pagina=2"
    assert "Pagina 2 di 2" in fragment.text and fragment.text.count("<tr>") == 1 + 1  # header and one row
    with read_transaction(seeded.sessions) as session:
        newest = session.scalar(select(ReadLog.case_code).order_by(ReadLog.id.desc()).limit(1))
    assert newest is not None and first.text.index(newest) < first.text.index("Pagina 1 di")


def test_the_case_reads_partial_lists_the_last_reads(app, seeded, milano_case) -> None:
    all_reads = reads(seeded, milano_case)
    assert all_reads
    auditor = Actor("rita", grants=frozenset({("revisore", None)}))
    with read_transaction(seeded.sessions) as session:
        page = reads_of_case(session, auditor, milano_case, limit=2)
    template = app.state.templates.get_template("audit/partials/case_reads.html")
    html = template.render(
        _=lambda s: s, ngettext=lambda s, p, n: s if n == 1 else p, case_reads=page, case_code=milano_case
    )
    assert "Chi altro ha consultato questo caso" in html and f"/audit/accessi?caso={milano_case}" in html
    assert html.count("<li>") == 2 and f"Le ultime 2 di {len(all_reads)}" in html
    assert template.render(_=lambda s: s, ngettext=lambda s, p, n: s, case_reads=None, case_code="X").strip() == ""


@contextmanager
def read_log_refused(platform: Platform) -> Iterator[None]:
    """The database refuses new rows of the read log (a full disk, a revoked grant...)."""
    postgres = platform.db.dialect.name == "postgresql"
    with transaction(platform.sessions) as session:
        if postgres:
            session.execute(
                text(
                    "CREATE FUNCTION read_log_refused() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'read_log refused'; END; $$ LANGUAGE plpgsql"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER read_log_refused BEFORE INSERT ON read_log "
                    "FOR EACH ROW EXECUTE FUNCTION read_log_refused()"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE TRIGGER read_log_refused BEFORE INSERT ON read_log "
                    "BEGIN SELECT RAISE(ABORT, 'read_log refused'); END"
                )
            )
    try:
        yield
    finally:
        with transaction(platform.sessions) as session:
            if postgres:
                session.execute(text("DROP TRIGGER read_log_refused ON read_log"))
                session.execute(text("DROP FUNCTION read_log_refused()"))
            else:
                session.execute(text("DROP TRIGGER read_log_refused"))


def test_a_view_that_cannot_be_recorded_is_refused(
    app, clients, seeded, web_url: str, milano_case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INLAV_DATABASE_URL", web_url)
    monkeypatch.setenv("INLAV_ENVIRONMENT", "test")
    anna, dario = clients("anna"), clients("dario")
    with new_reads(seeded, milano_case) as added, read_log_refused(seeded):
        for response in (
            anna.get(f"/casi/{milano_case}"),
            # An htmx request of someone who has not read the case lately is a first view too.
            clients("carla").get(f"/casi/{milano_case}", headers=HX),
            dario.get(f"/privacy/casi/{milano_case}/esporta.json"),
            api_client(app, seeded, "anna").get(f"/api/v1/cases/{milano_case}"),
        ):
            assert response.status_code == 503, response.text
            assert "registro degli accessi" in response.text
            assert not any(secret in response.text for secret in SECRETS)
        shown = CliRunner().invoke(cli_app, ["instances", "show", milano_case, "--user", "anna"])
        assert shown.exit_code == 1 and "registro degli accessi" in shown.output
        assert "Stato:" not in shown.output
    assert added == []
    assert anna.get(f"/casi/{milano_case}").status_code == 200, "recording works again"


def test_the_log_page_costs_the_same_queries_whatever_the_rows(clients, seeded, milano_case) -> None:
    from tests.web.test_inbox_queries import count_queries

    rita, carla = clients("rita"), clients("carla")
    path = "/audit/accessi?utente=carla&cosa=case_file"
    rita.get(path)  # warm up (session touch)
    carla.get(f"/casi/{milano_case}")
    few = count_queries(seeded, lambda: rita.get(path))
    for _ in range(PAGE + 2):
        carla.get(f"/casi/{milano_case}")
    many = count_queries(seeded, lambda: rita.get(path))
    assert "Pagina 1 di 2" in rita.get(path).text
    assert few == many <= 8, (few, many)


def _request(app) -> Request:  # type: ignore[no-untyped-def]
    """A request of the app under test, as a route of the auditor's pages receives it."""
    return Request({"type": "http", "app": app, "method": "GET", "path": "/audit/istanze", "headers": []})


def test_the_helpers_other_pages_call(app, seeded, milano_case, lecco_case) -> None:
    auditor = Actor("rita", grants=frozenset({("revisore", None)}))
    with new_reads(seeded, milano_case) as added:
        log_read(_request(app), auditor, milano_case, "instance_page")
        log_read(_request(app), auditor, milano_case, "instance_page", coalesce=REFRESH)  # a refresh
        log_read(_request(app), auditor, milano_case, "history_csv")
    assert added == [("rita", "instance_page", "web", None), ("rita", "history_csv", "web", None)]
    with read_transaction(seeded.sessions) as session:
        both = [case_ref(session, code) for code in (milano_case, lecco_case)]
    with new_reads(seeded, milano_case) as mi, new_reads(seeded, lecco_case) as lc:
        assert log_reads(_request(app), auditor, both, "bulk_export", detail="XLSX") == 2
    assert mi == lc == [("rita", "bulk_export", "web", "XLSX")]
    with read_log_refused(seeded), pytest.raises(ReadLogUnavailable):
        log_reads(_request(app), auditor, both, "bulk_export")
