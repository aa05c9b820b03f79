"""Retention of closed cases: policies (validated, every version kept), the dry run (nothing changes),
anonymisation (identity crypto-shredded, history still verifies), purge (every row that names the
case goes, history under a permit, the logs and the record stay), confirmation of a fresh dry run,
skipped cases, the worker once a day, and the database guards around history and the record."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from engine import Actor, Forbidden, complete_task, verify_chain
from engine.audit import (
    KEPT_ON_PURGE,
    PURGED_WITH_CASE,
    apply_retention,
    instance_columns,
    list_operations,
    plan_retention,
    purged_instance_ids,
    record_read,
    remove_policy,
    retention_work,
    set_policy,
)
from engine.clock import utcnow
from engine.config import Settings
from engine.db import read_transaction, transaction
from engine.errors import Conflict, FormInvalid
from engine.models import (
    Base,
    CaseRetention,
    Consent,
    HistoryEvent,
    HistoryPurgePermit,
    HumanTask,
    Message,
    ProcessInstance,
    ReadLog,
    RetentionPolicy,
    RetentionRun,
)
from engine.platform import Platform
from engine.privacy import ENVELOPE_MARK, ERASED, cipher_for, record_consent
from tests.conftest import OPERATOR, add_ambiti, deploy
from tests.engine.test_privacy import open_case, person_bundle

pytestmark = pytest.mark.db

REGION = Actor("regina", grants=frozenset({("coordinamento_regionale", None)}))
AUDITOR = Actor("rita", grants=frozenset({("revisore", None)}))
DIRECTOR = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
PROCESS = "accoglienza_riservata"
OLD = timedelta(days=400)


def closed_case(db: Session, settings: Settings, age: timedelta = OLD, **person: object) -> ProcessInstance:
    """A case with a person's identity, closed `age` ago (its referral acknowledged by the partner)."""
    instance = open_case(db, settings, **person)
    db.execute(update(Message).where(Message.origin_instance_id == instance.id).values(status="delivered"))
    task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    assert task is not None
    done = complete_task(db, settings, task.task_id, {"nota": "chiuso"}, OPERATOR)
    assert done.error is None and done.instance.status == "completed"
    backdate(db, instance, age)
    return instance


def backdate(db: Session, instance: ProcessInstance, age: timedelta) -> None:
    db.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance.id)
        .values(completed_at=utcnow() - age)
        .execution_options(synchronize_session=False)
    )
    db.expire_all()


def counts(db: Session) -> dict[str, int]:
    return {t.name: db.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


def rows_naming(db: Session, instance_id: int, case_code: str) -> dict[str, int]:
    """Rows of every table that name the case, by table (tables that keep them on purge left out)."""
    found: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in KEPT_ON_PURGE:
            continue
        columns = ["id", "case_code"] if table.name == "process_instance" else instance_columns(table)
        if not columns:
            continue
        clauses = [table.c[c] == (case_code if c == "case_code" else instance_id) for c in columns]
        number = db.scalar(select(func.count()).select_from(table).where(or_(*clauses))) or 0
        if number:
            found[table.name] = number
    return found


# --------------------------------------------------------------------------- the lists


def test_every_table_that_names_a_case_is_purged_with_it_or_kept_on_purpose() -> None:
    forgotten = []
    uncovered = []
    for table in Base.metadata.sorted_tables:
        columns = instance_columns(table)
        if table.name == "process_instance" or not columns:
            continue
        if table.name not in PURGED_WITH_CASE and table.name not in KEPT_ON_PURGE:
            forgotten.append(table.name)
        elif table.name in PURGED_WITH_CASE:
            foreign = [
                c.name for c in table.columns if any(f.column.table.name == "process_instance" for f in c.foreign_keys)
            ]
            uncovered += [f"{table.name}.{c}" for c in foreign if c not in PURGED_WITH_CASE[table.name]]
    assert forgotten == [], "tables naming a case in neither PURGED_WITH_CASE nor KEPT_ON_PURGE"
    assert uncovered == [], "foreign keys to the case that a purge would not follow"
    assert set(PURGED_WITH_CASE) | KEPT_ON_PURGE <= set(Base.metadata.tables)
    assert not set(PURGED_WITH_CASE) & KEPT_ON_PURGE
    assert {"read_log", "operation_log", "case_retention", "history_purge_permit"} <= KEPT_ON_PURGE
    assert list(PURGED_WITH_CASE)[-1] == "process_instance", "the case itself goes last"


# --------------------------------------------------------------------------- policies


def test_policies_are_validated_in_italian(db: Session) -> None:
    add_ambiti(db)
    deploy(db, files=person_bundle())
    cases = [
        ({"days": "0"}, "giorni", "almeno un giorno"),
        ({"days": "-5"}, "giorni", "almeno un giorno"),
        ({"days": "36501"}, "giorni", "36500"),
        ({"days": "dieci"}, "giorni", "numero intero"),
        ({"days": ""}, "giorni", "Indicare"),
        ({"action": "brucia"}, "azione", "anonimizzarli o cancellarli"),
        ({"process_key": "inesistente"}, "processo", "non trovato"),
        ({"ambito": "ATLANTIDE"}, "ambito", "sconosciuto"),
        ({"note": "x" * 2001}, "nota", "2000"),
    ]
    for change, field, words in cases:
        values: dict[str, object] = {"process_key": PROCESS, "days": "365", "action": "anonymise", **change}
        with pytest.raises(FormInvalid) as caught:
            set_policy(db, REGION, **values)  # type: ignore[arg-type]
        assert words in caught.value.errors[field][0], (change, caught.value.errors)
    assert db.scalar(select(func.count()).select_from(RetentionPolicy)) == 0


def test_only_regional_coordination_sets_policies_and_every_version_stays(db: Session) -> None:
    add_ambiti(db)
    deploy(db, files=person_bundle())
    for who in (AUDITOR, DIRECTOR, OPERATOR):
        with pytest.raises(Forbidden):
            set_policy(db, who, PROCESS, 365, "anonymise")
    first = set_policy(db, REGION, PROCESS, 365, "anonymise", note="prima")
    second = set_policy(db, REGION, PROCESS, "730", "purge", automatic=True)
    milano = set_policy(db, REGION, PROCESS, 100, "anonymise", ambito="milano")
    rows = list(db.scalars(select(RetentionPolicy).order_by(RetentionPolicy.id)))
    assert [(r.scope, r.version, r.days, r.action, r.superseded_by) for r in rows] == [
        ("regione", 1, 365, "anonymise", "regina"),
        ("regione", 2, 730, "purge", None),
        ("MILANO", 1, 100, "anonymise", None),
    ]
    assert (first.id, second.automatic, milano.ambito) == (rows[0].id, True, "MILANO")
    remove_policy(db, REGION, PROCESS, "MILANO")
    assert db.get(RetentionPolicy, milano.id).superseded_at is not None  # type: ignore[union-attr]
    logged = list_operations(db, AUDITOR).rows
    assert [r.action for r in logged][:4] == [
        "retention.policy_removed",
        "retention.policy_set",
        "retention.policy_set",
        "retention.policy_set",
    ]
    assert logged[2].before == {"giorni": 365, "azione": "anonymise", "automatica": False, "nota": "prima"}


# --------------------------------------------------------------------------- the dry run


def test_the_dry_run_selects_closed_cases_past_their_period_and_changes_nothing(db: Session, settings) -> None:  # type: ignore[no-untyped-def]
    old = closed_case(db, settings)
    recent = closed_case(db, settings, timedelta(days=10))
    running = open_case(db, settings)
    errored = closed_case(db, settings)
    db.execute(update(ProcessInstance).where(ProcessInstance.id == errored.id).values(status="error"))
    lecco = closed_case(db, settings)
    db.execute(update(ProcessInstance).where(ProcessInstance.id == lecco.id).values(ambito_code="LECCO"))
    backdate(db, running, OLD)  # a running case has no closing date that counts, whatever it says
    db.execute(update(ProcessInstance).where(ProcessInstance.id == running.id).values(status="running"))
    set_policy(db, REGION, PROCESS, 365, "anonymise")
    set_policy(db, REGION, PROCESS, 30, "purge", ambito="LECCO")
    before = counts(db)
    plan = plan_retention(db, AUDITOR)
    assert counts(db) == before, "a dry run writes nothing"
    assert sorted((c.case_code, c.action) for c in plan.cases) == sorted(
        [(old.case_code, "anonymise"), (lecco.case_code, "purge")]
    )
    assert recent.case_code not in {c.case_code for c in plan.cases}
    assert (plan.to_anonymise, plan.to_purge, plan.skipped) == (1, 1, 0), [c.skip for c in plan.cases]
    assert sorted((p.policy.scope, p.due) for p in plan.policies) == [("LECCO", 1), ("regione", 1)]
    milano_only = plan_retention(db, DIRECTOR)
    assert [c.case_code for c in milano_only.cases] == [old.case_code], "a director sees her Ambito's cases"
    with pytest.raises(Forbidden):
        plan_retention(db, OPERATOR)


# --------------------------------------------------------------------------- anonymise


def test_anonymising_shreds_identity_keeps_the_facts_and_the_history_verifies(db: Session, settings) -> None:  # type: ignore[no-untyped-def]
    instance = closed_case(db, settings)
    record_consent(db, OPERATOR, instance.case_code, "trattamento", "orale", note="parla solo arabo, Zarqa")
    set_policy(db, REGION, PROCESS, 365, "anonymise")
    plan = plan_retention(db, REGION)
    with pytest.raises(Forbidden):
        apply_retention(db, AUDITOR, "web", plan.at_text, plan.token)
    run = apply_retention(db, REGION, "web", plan.at_text, plan.token)
    assert (run.anonymised, run.purged, run.skipped, run.mode) == (1, 0, 0, "applied")
    case = db.get(ProcessInstance, instance.id)
    assert case is not None and case.data_key is None and case.identity_erased_at is not None
    data = json.loads(case.case_data_json)
    assert not {"alias", "telefono", "soprannome_segreto"} & set(data), "identity fields dropped"
    assert data["nota"] == "chiuso" and data["condividi"] is True, "the facts stay for the reports"
    sealed = [
        diff
        for diff in db.scalars(select(HistoryEvent.data_diff_json).where(HistoryEvent.instance_id == case.id))
        if diff and ENVELOPE_MARK in diff
    ]
    assert sealed, "the history keeps its (sealed) data changes"
    assert ERASED in json.dumps(cipher_for(db, settings, case).open_text(sealed[0], ERASED), ensure_ascii=False)
    assert "Zarqa" not in json.dumps(cipher_for(db, settings, case).open_text(sealed[0], ERASED))
    assert verify_chain(db, case.id) == [], "the history still verifies"
    assert db.scalar(select(Consent.note).where(Consent.instance_id == case.id)) is None
    last = db.scalar(select(HistoryEvent).where(HistoryEvent.instance_id == case.id).order_by(HistoryEvent.seq.desc()))
    assert last is not None and last.kind == "retention_anonymised" and last.actor == "regina"
    record = db.scalar(select(CaseRetention).where(CaseRetention.instance_id == case.id))
    assert record is not None and (record.action, record.last_event_seq, record.last_event_hash) == (
        "anonymise",
        case.last_event_seq,
        case.last_event_hash,
    )
    again = plan_retention(db, REGION)
    assert again.cases == [], "an anonymised case is not selected again"
    assert list_operations(db, AUDITOR).rows[0].action == "retention.applied"
    assert list_operations(db, AUDITOR).rows[0].after["anonimizzati"] == 1  # type: ignore[index]


# --------------------------------------------------------------------------- purge


def test_purging_removes_every_row_naming_the_case_and_keeps_the_logs_and_the_record(db: Session, settings) -> None:  # type: ignore[no-untyped-def]
    gone = closed_case(db, settings)
    kept = closed_case(db, settings, timedelta(days=3))
    record_consent(db, OPERATOR, gone.case_code, "trattamento", "orale")
    record_read(db, OPERATOR, gone, "case_file", "web")
    gone_id, code, head = gone.id, gone.case_code, (gone.last_event_seq, gone.last_event_hash)
    assert rows_naming(db, gone_id, code).keys() >= {"history_event", "task_data", "case_index", "consent"}
    set_policy(db, REGION, PROCESS, 365, "purge")
    plan = plan_retention(db, REGION)
    assert [c.case_code for c in plan.cases] == [code]
    run = apply_retention(db, REGION, "cli", plan.at_text, plan.token)
    assert (run.purged, run.anonymised) == (1, 0)
    assert rows_naming(db, gone_id, code) == {}, "nothing but the logs and the record names the case"
    assert db.scalar(select(func.count()).select_from(ReadLog).where(ReadLog.case_code == code)) == 1
    record = db.scalar(select(CaseRetention).where(CaseRetention.case_code == code))
    assert record is not None
    assert (record.instance_id, record.action, record.last_event_seq, record.last_event_hash) == (
        gone_id,
        "purge",
        *head,
    )
    assert record.events_removed == head[0] and record.rows_removed > 0
    permit = db.scalar(select(HistoryPurgePermit).where(HistoryPurgePermit.instance_id == gone_id))
    assert permit is not None and permit.consumed_at is not None and permit.run_id == run.id
    assert purged_instance_ids(db) == {gone_id}
    assert verify_chain(db, kept.id) == [], "the other cases still verify"
    assert db.get(ProcessInstance, kept.id) is not None


def test_a_purge_waits_for_messages_still_on_their_way(db: Session, settings) -> None:  # type: ignore[no-untyped-def]
    instance = closed_case(db, settings)
    db.execute(update(Message).where(Message.origin_instance_id == instance.id).values(status="outbox"))
    set_policy(db, REGION, PROCESS, 365, "purge")
    plan = plan_retention(db, REGION)
    assert [c.skip for c in plan.cases] == [
        "Messaggi del caso ancora da consegnare: si riprova alla prossima esecuzione."
    ]
    run = apply_retention(db, REGION, "web", plan.at_text, plan.token)
    assert (run.purged, run.skipped) == (0, 1)
    assert db.get(ProcessInstance, instance.id) is not None


# --------------------------------------------------------------------------- confirmation


def test_applying_needs_the_token_of_a_fresh_dry_run_of_the_same_selection(db: Session, settings) -> None:  # type: ignore[no-untyped-def]
    first = closed_case(db, settings)
    set_policy(db, REGION, PROCESS, 365, "anonymise")
    plan = plan_retention(db, REGION)
    with pytest.raises(Conflict, match="cambiati"):
        apply_retention(db, REGION, "web", plan.at_text, "0" * 64)
    stale = plan_retention(db, REGION, utcnow() - timedelta(hours=2))
    with pytest.raises(Conflict, match="30 minuti"):
        apply_retention(db, REGION, "web", stale.at_text, stale.token)
    with pytest.raises(Conflict, match="non valida"):
        apply_retention(db, REGION, "web", "ieri", plan.token)
    closed_case(db, settings)  # one more case falls due after the dry run
    db.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id != first.id, ProcessInstance.status == "completed")
        .values(completed_at=utcnow() - OLD - timedelta(days=1))
    )
    with pytest.raises(Conflict, match="cambiati"):
        apply_retention(db, REGION, "web", plan.at_text, plan.token)
    assert db.scalar(select(func.count()).select_from(CaseRetention)) == 0
    assert db.scalar(select(func.count()).select_from(RetentionRun)) == 0


# --------------------------------------------------------------------------- database guards


def test_history_rows_go_only_under_an_open_permit_and_records_stay(db: Session, settings) -> None:  # type: ignore[no-untyped-def]
    instance = closed_case(db, settings)
    other = closed_case(db, settings)
    run = RetentionRun(mode="applied", trigger="cli", actor="x", started_at=utcnow())
    db.add(run)
    db.flush()

    def refused(statement: object) -> None:
        with pytest.raises(DatabaseError, match=r"append-only|kept"), db.begin_nested():
            db.execute(statement)  # type: ignore[call-overload]

    refused(delete(HistoryEvent).where(HistoryEvent.instance_id == instance.id))
    permit = HistoryPurgePermit(instance_id=other.id, run_id=run.id, granted_at=utcnow(), granted_by="x")
    if db.get_bind().dialect.name == "postgresql":
        permit.txid = db.scalar(text("SELECT txid_current()"))
    db.add(permit)
    db.flush()
    refused(delete(HistoryEvent).where(HistoryEvent.instance_id == instance.id))  # a permit for another case
    refused(update(HistoryEvent).where(HistoryEvent.instance_id == other.id).values(actor="io"))  # never UPDATE
    with db.begin_nested():
        db.execute(delete(HistoryEvent).where(HistoryEvent.instance_id == other.id).where(HistoryEvent.seq == 1))
    permit.consumed_at = utcnow()
    db.flush()
    refused(delete(HistoryEvent).where(HistoryEvent.instance_id == other.id))  # consumed
    refused(delete(HistoryPurgePermit))
    refused(update(HistoryPurgePermit).values(consumed_at=None))
    refused(update(HistoryPurgePermit).values(instance_id=instance.id))
    seq, digest = instance.last_event_seq, instance.last_event_hash
    db.add(
        CaseRetention(
            instance_id=instance.id,
            case_code=instance.case_code,
            ambito_code="MILANO",
            process_key=PROCESS,
            action="purge",
            run_id=run.id,
            policy_id=set_policy(db, REGION, PROCESS, 1, "purge").id,
            started_at=utcnow(),
            closed_at=utcnow(),
            acted_at=utcnow(),
            last_event_seq=seq,
            last_event_hash=digest,
            events_removed=0,
            rows_removed=0,
        )
    )
    db.flush()
    refused(update(CaseRetention).values(last_event_seq=0))
    refused(delete(CaseRetention))


def test_on_postgres_a_permit_left_open_by_another_transaction_lets_nothing_go(committed: Platform) -> None:
    if committed.db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer and no transaction ids: the open permit alone is checked there")
    with transaction(committed.sessions) as session:
        instance = closed_case(session, committed.settings)
        run = RetentionRun(mode="applied", trigger="cli", actor="x", started_at=utcnow())
        session.add(run)
        session.flush()
        txid = session.scalar(text("SELECT txid_current()"))
        session.add(
            HistoryPurgePermit(instance_id=instance.id, run_id=run.id, txid=txid, granted_at=utcnow(), granted_by="x")
        )
        instance_id = instance.id
    with pytest.raises(DatabaseError, match="append-only"), transaction(committed.sessions) as session:
        session.execute(delete(HistoryEvent).where(HistoryEvent.instance_id == instance_id))


# --------------------------------------------------------------------------- the worker


def test_the_worker_applies_automatic_policies_once_a_day(committed: Platform) -> None:
    settings = committed.settings
    with transaction(committed.sessions) as session:
        add_ambiti(session)
        deploy(session, files=person_bundle())
        set_policy(session, REGION, PROCESS, 365, "anonymise")
        first = closed_case(session, settings).id
    assert retention_work(committed.sessions, settings) == 0, "a policy that is not automatic waits for a person"
    with transaction(committed.sessions) as session:
        assert session.scalar(select(func.count()).select_from(RetentionRun)) == 0
        set_policy(session, REGION, PROCESS, 365, "anonymise", automatic=True)
    assert retention_work(committed.sessions, settings) == 1
    with transaction(committed.sessions) as session:
        closed_case(session, settings)
    assert retention_work(committed.sessions, settings) == 0, "at most once a day"
    with read_transaction(committed.sessions) as session:
        runs = list(session.scalars(select(RetentionRun)))
        assert [(r.trigger, r.actor, r.anonymised, r.finished_at is not None) for r in runs] == [
            ("worker", "sistema", 1, True)
        ]
        assert session.get(ProcessInstance, first).data_key is None  # type: ignore[union-attr]
        assert verify_chain(session, first) == []
    with transaction(committed.sessions) as session:
        session.execute(update(RetentionRun).values(started_at=utcnow() - timedelta(hours=25)))
    assert retention_work(committed.sessions, settings) == 1, "the next day, the next case"
