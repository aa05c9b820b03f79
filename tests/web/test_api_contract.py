"""The API keeps its OpenAPI contract: schemathesis calls every operation with generated
requests (a bounded, derandomized run) against a seeded database, with a valid token.

Each operation gets schema-valid requests, schema-violating ones (negative mode) and
schema-valid ones aimed at the seeded case and task. Checked for every response: no
server error, a documented status code, the documented content type and a body that
matches the documented schema.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.conftest import csrf_of, start

pytestmark = pytest.mark.db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 10  # per operation and kind of request: ~13 operations × 3 kinds, about half a minute


def test_every_operation_keeps_the_contract(app, clients, web_platform) -> None:  # type: ignore[no-untyped-def]
    client = clients("anna")
    page = client.post("/profilo/token", data={"csrf_token": csrf_of(client), "nome": "contratto", "giorni": "10"})
    token = re.search(r'<code class="app-token">([^<]+)</code>', page.text).group(1)  # type: ignore[union-attr]
    case_code, task_id = start(web_platform)
    real: dict[str, Any] = {"case_code": case_code, "task_id": task_id, "message_id": 1}
    with TestClient(app):  # run the app's lifespan once
        pass
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12, [op.label for op in operations]
    failures: list[str] = []
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        kinds: list[tuple[GenerationMode, dict[str, Any] | None]] = [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
        ]
        if names:
            kinds.append((GenerationMode.POSITIVE, {k: v for k, v in real.items() if k in names}))
        for mode, path_parameters in kinds:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
            def call(case: schemathesis.Case) -> None:
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS)

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong (no parameters, no body)
            except Exception as exc:  # one report for every operation
                failures.append(f"{operation.label} ({mode.value}, {path_parameters}): {exc}")
    assert not failures, "\n\n".join(failures)
