"""Limits at the API's edges, each with the input that once broke it (issue #8, «Why»):
a 950-deep list built by a script, `x = 'a' * 25_000_000`, a 5 MB JSON body, an id beyond
64 bits, and an OpenAPI document that did not list 400/413."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from engine import Platform
from engine.access.accounts import create_user
from engine.db import transaction
from engine.models import HistoryEvent, HumanTask, ProcessInstance, TaskData, TaskState
from tests import builders
from tests.conftest import deploy
from tests.web.conftest import PASSWORD, csrf_of, login, start

pytestmark = pytest.mark.db

DEEP_SCRIPT = "x = []\nfor i in range(950):\n    x = [x]"
HUGE_SCRIPT = "x = 'a' * 25_000_000"


@pytest.fixture(scope="module")
def token(app, clients) -> str:  # type: ignore[no-untyped-def]
    client = clients("anna")
    page = client.post("/profilo/token", data={"csrf_token": csrf_of(client), "nome": "limiti", "giorni": "10"})
    return re.search(r'<code class="app-token">([^<]+)</code>', page.text).group(1)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def api(app, token) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture(scope="module")
def scripted(web_platform: Platform) -> None:
    """Two deployed diagrams whose script builds what the issue reports."""
    with transaction(web_platform.sessions) as session:
        deploy(session, files=builders.form_then_script(DEEP_SCRIPT, "profondo"))
        deploy(session, files=builders.form_then_script(HUGE_SCRIPT, "enorme"))


def _stored(platform: Platform, case_code: str) -> tuple[list[tuple[str, str]], int, str]:
    """Task rows (id, hash), total bytes of task data, case data: what a refused step must not touch."""
    with transaction(platform.sessions) as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == case_code))
        assert instance is not None
        rows = sorted(
            (r.task_id, r.row_hash)
            for r in session.execute(
                select(TaskState.task_id, TaskState.row_hash).where(TaskState.instance_id == instance.id)
            )
        )
        size = session.scalar(
            select(func.coalesce(func.sum(func.length(TaskData.data_json)), 0)).where(
                TaskData.instance_id == instance.id
            )
        )
        return rows, int(size or 0), instance.case_data_json or "{}"


@pytest.mark.parametrize(
    ("process", "expected"),
    [
        ("profondo", "annidamento oltre 64 livelli (variabile «x»)"),
        ("enorme", "dati del caso troppo grandi: 25,0 MB oltre il limite di 2 MB (variabile «x»)"),
    ],
)
def test_a_script_beyond_the_limits_is_refused_cleanly(
    api: TestClient, web_platform: Platform, scripted: None, process: str, expected: str
) -> None:
    code, task_id = start(web_platform, process)
    before = _stored(web_platform, code)

    done = api.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"nota": "ok"}})

    assert done.status_code == 422, done.text
    body = done.json()
    assert body["code"] == "diagram_error" and body["case_code"] == code
    assert f"«Calcolo» (calcola) in {process}.bpmn" in body["detail"] and expected in body["detail"]
    assert _stored(web_platform, code) == before, "the case's rows and data are as they were"
    with transaction(web_platform.sessions) as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == code))
        assert instance is not None and instance.status == "error" and expected in (instance.error_message or "")
        incident = session.scalar(
            select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "incident")
        )
        assert incident is not None and expected in json.loads(incident.detail_json or "{}")["message"]
        assert session.get(HumanTask, task_id) is not None, "the task still waits"
    # Both reads keep answering.
    assert api.get(f"/api/v1/tasks/{task_id}").status_code == 200
    case = api.get(f"/api/v1/cases/{code}")
    assert case.status_code == 200 and case.json()["status"] == "error"


def test_deep_data_stored_before_the_limits_is_still_served(api: TestClient, web_platform: Platform) -> None:
    """A 950-deep list already in the database (as written before the limits existed)."""
    code, task_id = start(web_platform)
    deep: object = []
    for _ in range(950):
        deep = [deep]
    with transaction(web_platform.sessions) as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == code))
        assert instance is not None
        row = session.execute(
            select(TaskState.data_hash).where(TaskState.instance_id == instance.id, TaskState.task_id == task_id)
        ).one()
        blob = session.get(TaskData, (instance.id, row.data_hash))
        assert blob is not None
        data = json.loads(blob.data_json)
        blob.data_json = json.dumps({**data, "x": deep})
        case_data = json.loads(instance.case_data_json or "{}")
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance.id)
            .values(case_data_json=json.dumps({**case_data, "x": deep}))
        )

    for url in (f"/api/v1/tasks/{task_id}", f"/api/v1/cases/{code}"):
        response = api.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        body = response.json()
        assert body["warnings"] == [
            "La variabile «x» supera 64 livelli di annidamento: la parte più profonda è omessa."
        ]
        node, levels = body["data"]["x"], 0
        while isinstance(node, list):
            node, levels = node[0], levels + 1
        assert (levels, node) == (64, "[omesso: annidamento oltre 64 livelli]")


def test_a_body_over_the_limit_is_refused_before_it_is_read(api: TestClient, web_platform: Platform) -> None:
    _code, task_id = start(web_platform)
    five_mb = {"data": {"nota": "a" * 5_000_000}}
    response = api.post(f"/api/v1/tasks/{task_id}/complete", json=five_mb)
    assert response.status_code == 413
    assert response.json() == {"detail": "I dati inviati sono troppo grandi.", "code": "too_large"}

    # Without a Content-Length (chunked), the bytes are counted as they arrive.
    def chunks() -> Iterator[bytes]:
        yield b'{"data": {"nota": "'
        for _ in range(50):
            yield b"a" * 100_000
        yield b'"}}'

    streamed = api.post(
        f"/api/v1/tasks/{task_id}/complete", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413 and streamed.json()["code"] == "too_large"
    started = api.post("/api/v1/cases", json={"process_key": "prova_moduli", "ambito": "MILANO", "data": five_mb})
    assert started.status_code == 413
    message = api.post("/api/v1/messages", json={"name": "x", "ambito": "MILANO", "payload": five_mb})
    assert message.status_code == 413
    assert api.get(f"/api/v1/tasks/{task_id}").status_code == 200, "the task is untouched"


def test_data_nested_too_deep_is_refused_up_front(api: TestClient, web_platform: Platform) -> None:
    _code, task_id = start(web_platform)
    deep: object = "fondo"
    for _ in range(100):
        deep = {"a": deep}
    response = api.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"alias": "Amir", "nota": deep}})
    assert response.status_code == 422
    assert response.json()["errors"] == {"nota": ["annidamento oltre 64 livelli"]}
    started = api.post("/api/v1/cases", json={"process_key": "prova_moduli", "ambito": "MILANO", "data": {"y": deep}})
    assert started.status_code == 422 and started.json()["errors"] == {"y": ["annidamento oltre 64 livelli"]}
    message = api.post("/api/v1/messages", json={"name": "x", "ambito": "MILANO", "payload": {"y": deep}})
    assert message.status_code == 422 and message.json()["errors"] == {"y": ["annidamento oltre 64 livelli"]}
    too_deep_to_parse = '{"data": {"nota": ' + "[" * 5000 + "]" * 5000 + "}}"
    unreadable = api.post(
        f"/api/v1/tasks/{task_id}/complete", content=too_deep_to_parse, headers={"Content-Type": "application/json"}
    )
    assert unreadable.status_code == 400 and unreadable.json()["code"] == "bad_request"


def test_a_lone_surrogate_in_json_data_is_refused_not_a_server_error(api: TestClient, web_platform: Platform) -> None:
    """`"\\ud800"` is valid JSON but no UTF-8 text: data carrying it is refused with the field named."""
    _code, task_id = start(web_platform)
    body = '{"data": {"alias": "Amir", "nota": "a\\ud800b"}}'
    headers = {"Content-Type": "application/json"}
    response = api.post(f"/api/v1/tasks/{task_id}/complete", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == {"nota": ["testo con un carattere non valido (surrogato Unicode isolato)"]}
    start_body = '{"process_key": "prova_moduli", "ambito": "MILANO", "data": {"\\udfff": 1}}'
    started = api.post("/api/v1/cases", content=start_body, headers=headers)
    assert started.status_code == 422 and list(started.json()["errors"]) == ["?"]
    message_body = '{"name": "x", "ambito": "MILANO", "payload": {"y": ["\\ud800"]}}'
    message = api.post("/api/v1/messages", content=message_body, headers=headers)
    assert message.status_code == 422 and list(message.json()["errors"]) == ["y"]
    assert api.get(f"/api/v1/tasks/{task_id}").status_code == 200, "the task is untouched"


def test_a_nul_character_is_never_a_server_error(api: TestClient, web_platform: Platform) -> None:
    """PostgreSQL text cannot hold U+0000: data, query strings and messages carrying it get
    an answer (stored safely or refused naming the field), never a 500."""
    _code, task_id = start(web_platform)
    headers = {"Content-Type": "application/json"}
    body = '{"data": {"alias": "Amir", "nota": "a\\u0000b"}}'
    completed = api.post(f"/api/v1/tasks/{task_id}/complete", content=body, headers=headers)
    assert completed.status_code in (200, 422), completed.text
    if completed.status_code == 422:
        assert "nota" in completed.json()["errors"], completed.text
    started = api.post(
        "/api/v1/cases",
        content='{"process_key": "prova_moduli", "ambito": "MILANO", "data": {"x": "\\u0000"}}',
        headers=headers,
    )
    assert started.status_code in (201, 200, 422), started.text
    message = api.post(
        "/api/v1/messages", content='{"name": "x\\u0000", "ambito": "MILANO", "payload": {}}', headers=headers
    )
    assert message.status_code < 500, message.text
    for query in ("case=%00", "process=a%00b", "task=%00", "q=%00"):
        listed = api.get(f"/api/v1/tasks?{query}")
        assert listed.status_code < 500, (query, listed.text)
    assert api.get("/api/v1/cases/MI%00X").status_code in (404, 422)


HUGE_ID = "99999999999999999999999"


def test_ids_beyond_the_database_range_answer_404(app, api: TestClient, clients, web_platform: Platform) -> None:  # type: ignore[no-untyped-def]
    in_range = api.post("/api/v1/messages/123456/ack").json()["detail"]
    for url in (f"/api/v1/messages/{HUGE_ID}/ack", f"/api/v1/messages/{2**63}/ack", "/api/v1/messages/0/ack"):
        response = api.post(url)
        assert response.status_code == 404, (url, response.text)
        assert response.json()["code"] == "not_found"
        assert response.json()["detail"] == in_range, "the same answer as an unknown id in range"
    anna = clients("anna")
    csrf = csrf_of(anna)
    for token_id in (HUGE_ID, str(2**31)):
        assert anna.post(f"/profilo/token/{token_id}/revoca", data={"csrf_token": csrf}).status_code == 404
    with transaction(web_platform.sessions) as session:
        create_user(session, "ada", "Ada Rossi", PASSWORD, [("amministratore", None)])
    with TestClient(app, base_url="http://testserver") as client:
        admin = login(client, "ada")
        for page in (
            f"/admin/utenti/{HUGE_ID}",
            f"/admin/partner/{HUGE_ID}",
            f"/admin/utenti/{2**31}",
            "/admin/utenti/0",
        ):
            assert admin.get(page).status_code == 404, page
        assert admin.get("/admin/partner/1").status_code == 200, "an id in range still works"


def test_openapi_documents_every_error_status(app) -> None:  # type: ignore[no-untyped-def]
    schema = TestClient(app).get("/api/openapi.json").json()
    problem = {"$ref": "#/components/schemas/ProblemOut"}
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403", "413", "422"} <= set(responses), (method, path)
            if "requestBody" in operation:
                assert "400" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == problem, (method, path, status)
    assert "HTTPValidationError" not in json.dumps(schema)
