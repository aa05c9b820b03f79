"""The inbox page costs the same number of queries whatever the number of tasks."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.web.conftest import start

pytestmark = pytest.mark.db


def count_queries(platform, call) -> int:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            statements.append(statement)

    event.listen(platform.db, "before_cursor_execute", record)
    try:
        response = call()
    finally:
        event.remove(platform.db, "before_cursor_execute", record)
    assert response.status_code == 200
    return len(statements)


def test_inbox_query_count_is_flat(clients, web_platform) -> None:
    anna = clients("anna")
    start(web_platform)
    anna.get("/attivita")  # warm up (session touch, caches)
    few = count_queries(web_platform, lambda: anna.get("/attivita"))
    for _ in range(12):
        start(web_platform, "sample_case")
    many = count_queries(web_platform, lambda: anna.get("/attivita"))
    htmx = count_queries(web_platform, lambda: anna.get("/attivita?vista=libere", headers={"HX-Request": "true"}))
    assert few == many == htmx
    assert many <= 10, f"{many} queries for one inbox page"
    print(f"inbox page: {many} queries")
