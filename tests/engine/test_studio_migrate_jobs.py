"""Migration jobs on a database that commits: a crash mid-batch, a failing case, two workers at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import Platform, start_instance
from engine.access import Actor
from engine.db import is_postgres, read_transaction, transaction
from engine.definitions import deploy_bundle
from engine.models import HistoryEvent, MigrationJob, MigrationJobCase, ProcessInstance
from engine.studio import migrate_jobs as migrate
from engine.studio import start_job
from engine.worker import tick
from tests.conftest import OPERATOR, add_ambiti, bundle_files, deploy

DIRECTOR = Actor("dir.milano", grants=frozenset({("direttore_pua", "MILANO")}))


def _setup(platform: Platform, cases: int) -> tuple[list[str], int]:
    """`cases` Milano cases on the regional sample, a Milano variant, and a job for all of them."""
    with transaction(platform.sessions) as session:
        add_ambiti(session)
        deploy(session)
        codes = [
            start_instance(
                session, platform.settings, "sample_case", "MILANO", OPERATOR, data={"durata_sollecito": "PT1H"}
            ).instance.case_code
            for _ in range(cases)
        ]
        files = bundle_files()
        files["sample_case.bpmn"] = files["sample_case.bpmn"].replace(b"Caso di esempio", b"Caso di Milano")
        deploy_bundle(session, files, "MILANO", "dir.milano", "Variante")
        job = start_job(session, platform.settings, DIRECTOR, "MILANO", "sample_case")
    return codes, job.id


def _state(platform: Platform, job_id: int) -> tuple[dict[str, int], dict[str, int], int]:
    """(item status → count, case code → definition id, migrated events)."""
    with read_transaction(platform.sessions) as session:
        statuses = dict(
            session.execute(
                select(MigrationJobCase.status, func.count())
                .where(MigrationJobCase.job_id == job_id)
                .group_by(MigrationJobCase.status)
            ).all()
        )
        definitions = dict(session.execute(select(ProcessInstance.case_code, ProcessInstance.definition_id)).all())
        events = session.scalar(select(func.count()).where(HistoryEvent.kind == "migrated")) or 0
    return statuses, definitions, int(events)


def test_a_crash_mid_batch_leaves_every_case_either_moved_or_not(
    committed: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes, job_id = _setup(committed, 3)
    _statuses, before, _events = _state(committed, job_id)
    real = migrate.move_case
    calls = {"n": 0}

    def dies_on_the_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process is stopped mid-batch
        return real(*args, **kwargs)

    monkeypatch.setattr(migrate, "move_case", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        migrate.work(committed.sessions, committed.settings)
    # Nothing of the batch was committed: every case where it was, every row still waiting.
    assert _state(committed, job_id) == ({"pending": 3}, before, 0)
    monkeypatch.setattr(migrate, "move_case", real)
    result = tick(committed.sessions, committed.settings, "w1", (migrate.work,))
    assert result.other_work == 3 and result.busy
    statuses, after, events = _state(committed, job_id)
    assert statuses == {"moved": 3} and events == 3
    assert all(after[c] != before[c] for c in codes)


def test_an_unexpected_failure_of_one_case_does_not_stop_the_others(
    committed: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes, job_id = _setup(committed, 3)
    _statuses, before, _events = _state(committed, job_id)
    real = migrate.move_case

    def breaks_one(session: Any, settings: Any, instance: ProcessInstance, *args: Any, **kwargs: Any) -> Any:
        result = real(session, settings, instance, *args, **kwargs)
        if instance.case_code == codes[1]:
            raise RuntimeError("disco pieno")  # after the case was written: its savepoint takes it back
        return result

    monkeypatch.setattr(migrate, "move_case", breaks_one)
    migrate.work(committed.sessions, committed.settings)
    statuses, after, events = _state(committed, job_id)
    assert statuses == {"moved": 2, "refused": 1} and events == 2
    assert after[codes[1]] == before[codes[1]] and after[codes[0]] != before[codes[0]]
    with read_transaction(committed.sessions) as session:
        refused = session.scalar(select(MigrationJobCase).where(MigrationJobCase.status == "refused"))
        assert refused is not None and refused.case_code == codes[1]
        assert refused.message == "errore imprevisto (RuntimeError): il caso è rimasto com'era"
        assert (
            session.scalar(
                select(func.count()).where(
                    HistoryEvent.kind == "migrated",
                    HistoryEvent.instance_id == refused.instance_id,
                )
            )
            == 0
        )


def test_two_workers_at_once_move_each_case_exactly_once(committed: Platform) -> None:
    if not is_postgres(committed.db):
        pytest.skip("several workers at once are a PostgreSQL set-up (SKIP LOCKED)")
    _codes, job_id = _setup(committed, 12)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(50):  # a worker finding the job taken tries again, as on its next pass
                with transaction(committed.sessions) as session:
                    migrate.run_batch(session, committed.settings, job_id, size=3)
                    if session.scalar(select(MigrationJob.state).where(MigrationJob.id == job_id)) != "running":
                        return
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    statuses, _after, events = _state(committed, job_id)
    assert statuses == {"moved": 12} and events == 12
