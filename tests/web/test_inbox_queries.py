"""The inbox page costs the same number of queries whatever the number of tasks."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

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


def test_tasks_of_every_process_version_appear(clients, web_platform) -> None:
    from engine.db import read_transaction, transaction
    from engine.definitions import read_bundle_paths
    from engine.models import HumanTask, ProcessDefinition
    from tests.conftest import deploy
    from tests.web.conftest import WEB_BUNDLES

    _old_code, old_task = start(web_platform)
    files = read_bundle_paths([WEB_BUNDLES / "forms"])
    files["prova_moduli.bpmn"] = files["prova_moduli.bpmn"].replace(b"Prova dei moduli", b"Prova dei moduli (v2)")
    with transaction(web_platform.sessions) as session:
        deploy(session, files=files)
    _new_code, new_task = start(web_platform)
    with read_transaction(web_platform.sessions) as session:
        versions = {
            task_id: session.scalar(
                select(ProcessDefinition.version)
                .join(HumanTask, HumanTask.definition_id == ProcessDefinition.id)
                .where(HumanTask.task_id == task_id)
            )
            for task_id in (old_task, new_task)
        }
    assert versions[old_task] != versions[new_task]
    page = clients("anna").get("/attivita?processo=prova_moduli&attivita=scheda").text
    assert old_task in page and new_task in page
