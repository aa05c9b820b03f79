"""JSON API /api/v1: token authentication, the same operations as the pages, OpenAPI."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, start

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def tokens(app, clients) -> dict[str, str]:  # type: ignore[no-untyped-def]
    out = {}
    for username in ("anna", "olga", "dario"):
        client = clients(username)
        page = client.post("/profilo/token", data={"csrf_token": csrf_of(client), "nome": "test", "giorni": "10"})
        out[username] = re.search(r'<code class="app-token">([^<]+)</code>', page.text).group(1)  # type: ignore[union-attr]
    return out


def api(app, token: str | None) -> TestClient:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(app, headers=headers)


def test_token_is_required_and_checked(app, tokens) -> None:
    for token in (None, "ilf_nope_nope", "abc", tokens["anna"] + "x"):
        response = api(app, token).get("/api/v1/tasks")
        assert response.status_code == 401
        assert response.json() == {"detail": "Token API mancante, scaduto o revocato.", "code": "unauthorized"}
    cookie_only = TestClient(app, cookies={"inlav_session": "whatever"})
    assert cookie_only.get("/api/v1/tasks").status_code == 401


def test_start_list_claim_complete_and_read_the_case(app, tokens) -> None:
    client = api(app, tokens["anna"])
    started = client.post("/api/v1/cases", json={"process_key": "prova_moduli", "ambito": "MILANO"})
    assert started.status_code == 201, started.text
    case_code = started.json()["case_code"]
    task = started.json()["open_tasks"][0]
    assert task["task_name"] == "scheda" and task["role"] == "operatore_contatto"
    listed = client.get("/api/v1/tasks", params={"case": case_code}).json()
    assert listed["total"] == 1 and listed["items"][0]["task_id"] == task["task_id"]
    detail = client.get(f"/api/v1/tasks/{task['task_id']}").json()
    assert detail["form_schema"]["properties"]["cpi"]["enum"] == ["CPI-MI"]
    assert detail["data"]["codice_interno"] == "INT-7"
    claimed = client.post(f"/api/v1/tasks/{task['task_id']}/claim")
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "anna"
    invalid = client.post(f"/api/v1/tasks/{task['task_id']}/complete", json={"data": {"alias": "", "eta": 200}})
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["code"] == "form_invalid" and body["errors"]["eta"] == ["deve essere al massimo 99"]
    done = client.post(
        f"/api/v1/tasks/{task['task_id']}/complete",
        json={
            "data": {
                "alias": "Amir",
                "eta": 30,
                "canale": "informale",
                "bisogni": ["lingua"],
                "primo_colloquio": "2026-11-20",
            }
        },
    )
    assert done.status_code == 200, done.text
    assert [t["task_name"] for t in done.json()["open_tasks"]] == ["verifica"]
    again = client.post(f"/api/v1/tasks/{task['task_id']}/complete", json={"data": {}})
    assert again.status_code == 409 and again.json()["code"] == "task_not_ready"
    file = client.get(f"/api/v1/cases/{case_code}").json()
    assert file["alias"] == "Amir" and file["stage"].startswith("In attesa di")
    assert [e["kind"] for e in file["timeline"]][-1] == "instance_started"
    assert file["referrals"][0]["partner"] == "Centro per l'impiego di Milano"
    assert client.get("/api/v1/cases", params={"q": "amir"}).json()[0]["case_code"] == case_code


def test_permissions_both_ways(app, tokens, web_platform) -> None:
    code, task_id = start(web_platform)
    olga, dario, anna = api(app, tokens["olga"]), api(app, tokens["dario"]), api(app, tokens["anna"])
    # Another Ambito answers exactly like something that does not exist.
    assert olga.get(f"/api/v1/cases/{code}").json() == {"detail": f"Caso «{code}» non trovato.", "code": "not_found"}
    assert olga.get(f"/api/v1/tasks/{task_id}").json() == api(app, tokens["olga"]).get("/api/v1/tasks/x").json()
    assert olga.post(f"/api/v1/tasks/{task_id}/claim").json()["code"] == "not_found"
    assert olga.post(f"/api/v1/tasks/{task_id}/release").json()["code"] == "not_found"
    assert dario.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}}).status_code == 403
    other = olga.post("/api/v1/cases", json={"process_key": "prova_moduli", "ambito": "MILANO"})
    unknown = olga.post("/api/v1/cases", json={"process_key": "prova_moduli", "ambito": "NESSUNO"})
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"].replace("MILANO", "?") == unknown.json()["detail"].replace("NESSUNO", "?")
    assert task_id not in {t["task_id"] for t in olga.get("/api/v1/tasks").json()["items"]}
    assert anna.get(f"/api/v1/tasks/{task_id}").status_code == 200
    assert anna.post(f"/api/v1/tasks/{task_id}/release").status_code == 200


def test_bad_requests_get_clear_errors(app, tokens) -> None:
    client = api(app, tokens["anna"])
    assert client.post("/api/v1/cases", json={"ambito": "MILANO"}).json() == {
        "detail": "La richiesta contiene dati non validi.",
        "code": "request_invalid",
        "errors": {"process_key": ["campo obbligatorio"]},
    }
    bad_json = client.post("/api/v1/cases", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 422
    assert client.get("/api/v1/tasks", params={"limit": 0}).status_code == 422
    assert client.post("/api/v1/cases", json={"process_key": "prova_moduli", "ambito": "NESSUNO"}).status_code == 404
    assert client.post("/api/v1/tasks/xyz/complete", json={"data": []}).status_code == 422
    assert client.get("/api/v1/cases/NON-ESISTE").json()["code"] == "not_found"


def test_openapi_documents_the_api(app) -> None:
    schema = TestClient(app).get("/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/cases",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}/claim",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/cases/{case_code}",
    } <= paths
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert not any(p.startswith(("/attivita", "/login")) for p in paths), "pages stay out of the API docs"


def test_diagram_error_is_a_clear_422_and_nothing_moves(app, tokens, web_platform) -> None:
    _code, task_id = start(web_platform)
    client = api(app, tokens["anna"])
    data = {
        "alias": "Amir",
        "eta": 30,
        "canale": "informale",
        "bisogni": ["lingua"],
        "primo_colloquio": "2026-11-20",
        "forza_errore": True,
    }
    failed = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})
    assert failed.status_code == 422 and failed.json()["code"] == "diagram_error"
    assert "divisione per zero" in failed.json()["detail"] and "bozza" not in failed.json()["detail"]
    assert client.get(f"/api/v1/tasks/{task_id}").status_code == 200, "the task is still waiting"


def test_partner_systems_send_messages_and_read_the_outbox(app, tokens, web_platform) -> None:
    from engine import deliver
    from engine.db import transaction
    from engine.models import Message
    from tests import builders
    from tests.conftest import deploy

    with transaction(web_platform.sessions) as session:
        deploy(session, files=builders.referral_bundle("accoglienza_api"))
        deploy(session, files=builders.throw_bundle())
    anna, olga = api(app, tokens["anna"]), api(app, tokens["olga"])
    referral = anna.post(
        "/api/v1/messages", json={"name": "segnalazione", "ambito": "MILANO", "payload": {"da": "CPI Milano"}}
    )
    assert referral.status_code == 202 and referral.json()["status"] == "delivered"
    assert referral.json()["case_code"].startswith("MILANO-")
    early = anna.post(
        "/api/v1/messages", json={"name": "risposta_partner", "ambito": "MILANO", "correlation_key": "NESSUNO"}
    )
    assert early.json()["status"] == "unmatched" and early.json()["error"]
    assert olga.post("/api/v1/messages", json={"name": "segnalazione", "ambito": "MILANO"}).status_code == 404
    assert anna.post("/api/v1/messages", json={"name": "", "ambito": "MILANO"}).status_code == 422

    started = anna.post("/api/v1/cases", json={"process_key": "invio_rete", "ambito": "MILANO"})
    assert started.status_code == 201 and started.json()["completed"]
    with transaction(web_platform.sessions) as session:
        for message in session.query(Message).filter_by(status="pending").all():
            deliver(session, web_platform.settings, message.id)
    outbox = anna.get("/api/v1/messages/outbox", params={"name": "invio_partner"}).json()
    assert [(m["correlation_key"], m["payload"]) for m in outbox] == [("INV-1", {"servizio": "orientamento"})]
    assert olga.get("/api/v1/messages/outbox").json() == []
    assert olga.post(f"/api/v1/messages/{outbox[0]['id']}/ack").status_code == 404
    acked = anna.post(f"/api/v1/messages/{outbox[0]['id']}/ack")
    assert acked.status_code == 200 and acked.json()["status"] == "sent"
    assert anna.get("/api/v1/messages/outbox").json() == []


def test_date_times_carry_their_offset(app, tokens, web_platform) -> None:
    from datetime import datetime

    code, task_id = start(web_platform)
    client = api(app, tokens["anna"])
    task = client.get(f"/api/v1/tasks/{task_id}").json()
    case = client.get(f"/api/v1/cases/{code}").json()
    stamps = [task["created_at"], task["due_at"], case["started_at"], case["timeline"][0]["at"]]
    assert all(datetime.fromisoformat(s).utcoffset() is not None for s in stamps), stamps


def test_a_busy_database_is_a_503_to_retry_not_a_500(app, tokens, monkeypatch) -> None:
    """A step holding SQLite's write lock past the busy timeout (or a lost PostgreSQL
    connection) surfaces as sqlalchemy's OperationalError: it used to be a 500."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    import web.routes.api as routes

    def locked(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(routes, "inbox_page", locked)
    response = api(app, tokens["anna"]).get("/api/v1/tasks")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable"
    assert "Riprovare" in response.json()["detail"]
    documented = app.openapi()["paths"]["/api/v1/tasks"]["get"]["responses"]
    assert "503" in documented
