"""The read-access log through the engine: one row per recorded read, the scope of who may read
the log (auditor: every Ambito; PUA director: her own; operator: nobody), filters, pages, and
the database refusing UPDATE and DELETE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from engine import Actor, Forbidden, NotFound, start_instance
from engine.audit import (
    CaseRef,
    ReadFilter,
    list_reads,
    reads_by_user,
    reads_of_case,
    record_read,
    record_reads,
)
from engine.config import Settings
from engine.models import ProcessInstance, ReadLog
from tests.conftest import OPERATOR, OTHER_AMBITO, add_ambiti, deploy

pytestmark = pytest.mark.db

AUDITOR = Actor("rita", grants=frozenset({("revisore", None)}))
DIRECTOR = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
MONITOR = Actor("mona", grants=frozenset({("monitoraggio_regionale", None)}))
REGION = Actor("regina", grants=frozenset({("coordinamento_regionale", None)}))
DATA = {"durata_sollecito": "PT1H"}


@pytest.fixture
def cases(db: Session, settings: Settings) -> dict[str, ProcessInstance]:
    """One case in MILANO and one in LECCO."""
    add_ambiti(db, "MILANO", "LECCO")
    deploy(db)
    return {
        "MILANO": start_instance(db, settings, "sample_case", "MILANO", OPERATOR, "RL-MI-1", DATA).instance,
        "LECCO": start_instance(db, settings, "sample_case", "LECCO", OTHER_AMBITO, "RL-LC-1", DATA).instance,
    }


def rows(db: Session) -> list[ReadLog]:
    return list(db.scalars(select(ReadLog).order_by(ReadLog.id)))


def test_a_read_names_who_which_case_what_and_channel(db: Session, cases: dict[str, ProcessInstance]) -> None:
    milano = cases["MILANO"]
    record_read(db, OPERATOR, milano, "case_file", "web")
    record_read(db, OPERATOR, "RL-LC-1", "history", "cli", "  con verifica  ")
    record_read(db, DIRECTOR, CaseRef.of(milano), "personal_export", "api")
    got = [(r.actor, r.instance_id, r.case_code, r.ambito_code, r.what, r.channel, r.detail) for r in rows(db)]
    assert got == [
        ("anna", milano.id, "RL-MI-1", "MILANO", "case_file", "web", None),
        ("anna", cases["LECCO"].id, "RL-LC-1", "LECCO", "history", "cli", "con verifica"),
        ("dario", milano.id, "RL-MI-1", "MILANO", "personal_export", "api", None),
    ]
    assert all(r.occurred_at is not None for r in rows(db))


def test_unknown_cases_kinds_and_channels_are_refused(db: Session, cases: dict[str, ProcessInstance]) -> None:
    with pytest.raises(NotFound, match="NESSUNO"):
        record_read(db, OPERATOR, "NESSUNO", "case_file", "web")
    with pytest.raises(ValueError, match="lettura sconosciuta"):
        record_read(db, OPERATOR, cases["MILANO"], "everything", "web")
    with pytest.raises(ValueError, match="canale sconosciuto"):
        record_read(db, OPERATOR, cases["MILANO"], "case_file", "fax")
    assert rows(db) == []


def test_a_refresh_within_the_window_is_not_a_new_read(db: Session, cases: dict[str, ProcessInstance]) -> None:
    milano = cases["MILANO"]
    window = timedelta(minutes=10)
    assert record_read(db, OPERATOR, milano, "case_file", "web", coalesce=window) is not None
    assert record_read(db, OPERATOR, milano, "case_file", "web", coalesce=window) is None
    # Another person, another kind of read, another channel or no window: each one is a read.
    assert record_read(db, DIRECTOR, milano, "case_file", "web", coalesce=window) is not None
    assert record_read(db, OPERATOR, milano, "personal_export", "web", coalesce=window) is not None
    assert record_read(db, OPERATOR, milano, "case_file", "api", coalesce=window) is not None
    assert record_read(db, OPERATOR, milano, "case_file", "web") is not None
    assert len(rows(db)) == 5


def test_a_bulk_export_leaves_one_row_per_case(db: Session, cases: dict[str, ProcessInstance]) -> None:
    assert record_reads(db, AUDITOR, cases.values(), "bulk_export", "web", "CSV") == 2
    assert record_reads(db, AUDITOR, [], "bulk_export", "web") == 0
    assert sorted((r.case_code, r.what, r.detail) for r in rows(db)) == [
        ("RL-LC-1", "bulk_export", "CSV"),
        ("RL-MI-1", "bulk_export", "CSV"),
    ]


def _read_everything(db: Session, cases: dict[str, ProcessInstance]) -> None:
    for case in cases.values():
        record_read(db, OPERATOR, case, "case_file", "web")
        record_read(db, OTHER_AMBITO, case, "case_summary", "cli")


def test_the_auditor_sees_every_ambito_the_director_her_own(db: Session, cases: dict[str, ProcessInstance]) -> None:
    _read_everything(db, cases)
    everything = list_reads(db, AUDITOR)
    assert everything.total == 4 and {r.ambito for r in everything.rows} == {"MILANO", "LECCO"}
    milano = list_reads(db, DIRECTOR)
    assert milano.total == 2 and {r.case_code for r in milano.rows} == {"RL-MI-1"}
    # Filtering on another Ambito's case finds nothing, exactly like an unknown case.
    assert list_reads(db, DIRECTOR, ReadFilter(case_code="RL-LC-1")).total == 0
    assert list_reads(db, DIRECTOR, ReadFilter(case_code="NESSUNO")).total == 0
    for nobody in (OPERATOR, MONITOR, REGION):
        with pytest.raises(Forbidden):
            list_reads(db, nobody)
        with pytest.raises(Forbidden):
            reads_of_case(db, nobody, "RL-MI-1")
        with pytest.raises(Forbidden):
            reads_by_user(db, nobody, "anna")


def test_reads_of_a_case_answer_not_found_for_another_ambito(db: Session, cases: dict[str, ProcessInstance]) -> None:
    _read_everything(db, cases)
    page = reads_of_case(db, DIRECTOR, "RL-MI-1")
    assert page.total == 2 and [r.what for r in page.rows] == ["case_summary", "case_file"]  # newest first
    assert reads_of_case(db, AUDITOR, "RL-LC-1").total == 2
    with pytest.raises(NotFound) as other:
        reads_of_case(db, DIRECTOR, "RL-LC-1")
    with pytest.raises(NotFound) as unknown:
        reads_of_case(db, DIRECTOR, "RL-XX-1")
    assert other.value.message.replace("RL-LC-1", "<id>") == unknown.value.message.replace("RL-XX-1", "<id>")


def test_reads_of_a_purged_case_keep_its_ambito(db: Session, cases: dict[str, ProcessInstance]) -> None:
    # A case retention has removed: only its reads remain, and they keep its Ambito's scope.
    db.add(
        ReadLog(
            occurred_at=datetime.now(UTC),
            actor="anna",
            instance_id=999_999,
            case_code="RL-LC-GONE",
            ambito_code="LECCO",
            what="case_file",
            channel="web",
        )
    )
    db.flush()
    assert reads_of_case(db, AUDITOR, "RL-LC-GONE").total == 1
    with pytest.raises(NotFound):
        reads_of_case(db, DIRECTOR, "RL-LC-GONE")


def test_reads_by_user_are_limited_to_the_ambiti_of_the_reader(db: Session, cases: dict[str, ProcessInstance]) -> None:
    _read_everything(db, cases)
    assert reads_by_user(db, AUDITOR, "olga").total == 2
    olga_in_milano = reads_by_user(db, DIRECTOR, " Olga ")
    assert olga_in_milano.total == 1 and olga_in_milano.rows[0].case_code == "RL-MI-1"
    assert reads_by_user(db, DIRECTOR, "nessuno").total == 0


def test_filters_by_what_channel_user_and_period(db: Session, cases: dict[str, ProcessInstance]) -> None:
    milano = cases["MILANO"]
    # Rows written as they would have been on given days (local time, Europe/Rome).
    for day, who, what, channel in [
        (datetime(2026, 3, 1, 10, tzinfo=UTC), "anna", "case_file", "web"),
        (datetime(2026, 3, 2, 23, 30, tzinfo=UTC), "anna", "personal_export", "api"),  # 3 March in Rome
        (datetime(2026, 3, 5, 9, tzinfo=UTC), "bruno", "case_file", "cli"),
    ]:
        db.add(
            ReadLog(
                occurred_at=day,
                actor=who,
                instance_id=milano.id,
                case_code=milano.case_code,
                ambito_code="MILANO",
                what=what,
                channel=channel,
            )
        )
    db.flush()

    def whats(flt: ReadFilter) -> list[str]:
        return [f"{r.actor}:{r.what}:{r.channel}" for r in list_reads(db, AUDITOR, flt).rows]

    assert whats(ReadFilter(what="case_file")) == ["bruno:case_file:cli", "anna:case_file:web"]
    assert whats(ReadFilter(channel="api")) == ["anna:personal_export:api"]
    assert whats(ReadFilter(actor="bruno")) == ["bruno:case_file:cli"]
    march = datetime(2026, 3, 3).date()
    assert whats(ReadFilter(date_from=march, date_to=march)) == ["anna:personal_export:api"]
    assert whats(ReadFilter(date_from=march)) == ["bruno:case_file:cli", "anna:personal_export:api"]
    assert whats(ReadFilter(date_to=datetime(2026, 3, 2).date())) == ["anna:case_file:web"]
    assert whats(ReadFilter(case_code=milano.case_code, what="case_file", actor="anna")) == ["anna:case_file:web"]


def test_pages_are_newest_first_and_count_everything(db: Session, cases: dict[str, ProcessInstance]) -> None:
    for _ in range(7):
        record_read(db, OPERATOR, cases["MILANO"], "case_file", "web")
    ids = [r.id for r in rows(db)]
    first, last = list_reads(db, AUDITOR, limit=3), list_reads(db, AUDITOR, limit=3, offset=6)
    assert first.total == last.total == 7
    assert [r.id for r in first.rows] == ids[::-1][:3]
    assert [r.id for r in last.rows] == [ids[0]]
    assert list_reads(db, AUDITOR, limit=3, offset=9).rows == []


def test_the_database_refuses_to_change_or_remove_a_read(db: Session, cases: dict[str, ProcessInstance]) -> None:
    row = record_read(db, OPERATOR, cases["MILANO"], "case_file", "web")
    assert row is not None
    for statement in (
        update(ReadLog).where(ReadLog.id == row.id).values(actor="nessuno"),
        delete(ReadLog).where(ReadLog.id == row.id),
        text("DELETE FROM read_log"),
    ):
        with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():
            db.execute(statement.execution_options(synchronize_session=False))
    db.expire_all()
    assert [r.actor for r in rows(db)] == ["anna"]
