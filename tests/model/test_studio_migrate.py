"""Moving running regional-model cases of Milano onto a Milano variant: dry run, batches, history, undo."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from engine import Conflict, Forbidden, NotFound
from engine.access import Actor
from engine.casefile import case_file
from engine.definitions import DeployResult, deploy_bundle, read_bundle_paths
from engine.history import verify_chain
from engine.models import HistoryEvent, HumanTask, MigrationJob, MigrationJobCase, OperationLog, ProcessInstance
from engine.studio import dry_run, get_job, list_jobs, run_batch, start_job, undo_case, undo_job
from tests.conftest import add_ambiti
from tests.model.journey import BUNDLE, DIRETTORE

DIRECTOR_MI = Actor("dir.milano", grants=frozenset({("direttore_pua", "MILANO")}))
DIRECTOR_BG = Actor("dir.bergamo", grants=frozenset({("direttore_pua", "BERGAMO")}))
OPERATOR_MI = Actor("op.milano", grants=frozenset({("operatore_contatto", "MILANO")}))
REGIONAL = Actor("coord.regione", grants=frozenset({("coordinamento_regionale", None)}))
MAIN = "inlav_percorso.bpmn"


def milano_variant() -> dict[str, bytes]:
    """The regional bundle where Milano dropped «Registra il contatto»: a new case goes straight
    from «prepara_caso» to the script that records the contact."""
    files = read_bundle_paths(BUNDLE)
    xml = files[MAIN].decode()
    xml = re.sub(r'\s*<bpmn:userTask id="registra_contatto".*?</bpmn:userTask>', "", xml, flags=re.S)
    xml = re.sub(r'\s*<bpmn:sequenceFlow id="f_contatto_registrato"[^>]*/>', "", xml)
    xml = re.sub(r"\s*<bpmn:flowNodeRef>registra_contatto</bpmn:flowNodeRef>", "", xml)
    xml = re.sub(r'\s*<bpmndi:BPMNShape id="registra_contatto_di".*?</bpmndi:BPMNShape>', "", xml, flags=re.S)
    xml = re.sub(r'\s*<bpmndi:BPMNEdge id="f_contatto_registrato_di".*?</bpmndi:BPMNEdge>', "", xml, flags=re.S)
    xml = xml.replace('targetRef="registra_contatto"', 'targetRef="registra_fatti_contatto"')
    assert "registra_contatto" not in xml
    files[MAIN] = xml.encode()
    return files


@pytest.fixture
def milano(model: DeployResult, db, start_case):  # type: ignore[no-untyped-def]
    """Three Milano cases on the regional v1: two waiting at «Registra il contatto», one in the assessment;
    one Lecco case; then a Milano variant without «Registra il contatto»."""
    add_ambiti(db, "BERGAMO")
    waiting = [start_case(), start_case()]
    assessed = start_case().contact()
    lecco = start_case()
    lecco.instance.ambito_code = "LECCO"
    db.flush()
    deploy_bundle(db, milano_variant(), "MILANO", DIRETTORE.username, "Contatto rinominato")
    return waiting, assessed, lecco


def test_dry_run_lists_who_can_move_and_names_the_missing_task(milano, db, settings) -> None:
    waiting, assessed, _lecco = milano
    plan = dry_run(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso")
    assert not plan.target_regional and plan.target_version == 1
    by_code = {c.case_code: c for c in plan.cases}
    assert set(by_code) == {w.case_code for w in waiting} | {assessed.case_code}  # Lecco is not Milano's
    assert [c.case_code for c in plan.movable] == [assessed.case_code]
    for case in waiting:
        check = by_code[case.case_code]
        assert not check.movable and check.from_regional and check.from_version == 1
        assert check.reason == "l'attività «Registra il contatto» in corso non esiste nella versione 1"
    # A case in error and a case someone is working on are listed with their reason.
    broken = waiting[0].instance
    broken.status, broken.error_message = "error", "divisione per zero"
    busy = assessed.instance
    from datetime import timedelta

    from engine.clock import utcnow

    busy.lock_owner, busy.lock_expires_at = "altro", utcnow() + timedelta(minutes=5)
    db.flush()
    again = {c.case_code: c for c in dry_run(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso").cases}
    assert "errore del modello («divisione per zero»)" in (again[broken.case_code].reason or "")
    assert again[busy.case_code].reason == "il caso è in lavorazione in questo momento: riprovare tra poco"


def test_a_job_moves_the_movable_cases_in_batches_with_history_and_oplog(milano, db, settings, start_case) -> None:
    waiting, assessed, _lecco = milano
    plan = dry_run(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso")
    assert {c.case_code for c in plan.cases} == {w.case_code for w in waiting} | {assessed.case_code}
    job = start_job(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso")
    assert (job.total, job.counts, job.running) == (1, {"pending": 1}, True)
    # While it waits in the job, a new dry run says so and a second job cannot take it.
    waiting_check = next(
        c
        for c in dry_run(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso").cases
        if c.case_code == assessed.case_code
    )
    assert waiting_check.reason == f"il caso è già in attesa nella migrazione n. {job.id}, ancora in corso"
    with pytest.raises(Conflict, match="Nessun caso da migrare"):
        start_job(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso")
    assert run_batch(db, settings, job.id, size=1) == 1
    done = get_job(db, DIRECTOR_MI, "MILANO", "inlav_percorso", job.id)
    assert (done.state, done.counts, done.done, done.percent) == ("finished", {"moved": 1}, 1, 100)
    instance = assessed.instance
    target = plan.target_definition_id
    assert instance.definition_id == target
    # The case goes on on the new version: its open task is still there and can be done.
    assert assessed.names() == ["colloquio_valutazione"]
    assessed.assess()
    events = db.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "migrated")
    ).all()
    assert len(events) == 1 and events[0].actor == "dir.milano"
    detail = json.loads(events[0].detail_json or "{}")
    assert (detail["from_version"], detail["to_version"], detail["job"]) == (1, 1, job.id)
    assert verify_chain(db, instance.id) == []
    timeline = case_file(db, settings, instance.case_code, DIRECTOR_MI).timeline
    assert any(e.kind == "migrated" and "migrazione n." in (e.detail or "") for e in timeline)
    logged = db.scalars(select(OperationLog).where(OperationLog.target_kind == "migration")).all()
    assert [row.action for row in logged] == ["migration.started", "migration.finished"]
    assert json.loads(logged[1].after_json or "{}") == {"migrati": 1, "non migrati": 0, "riportati indietro": 0}


def test_batches_settle_a_few_cases_at_a_time_and_count_progress(model, db, settings, start_case) -> None:
    cases = [start_case().contact() for _ in range(5)]
    deploy_bundle(db, milano_variant(), "MILANO", "dir.milano", "Variante")
    job = start_job(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso")
    assert job.total == 5
    assert run_batch(db, settings, job.id, size=2) == 2
    mid = get_job(db, DIRECTOR_MI, "MILANO", "inlav_percorso", job.id)
    assert (mid.counts, mid.done, mid.percent, mid.running) == ({"moved": 2, "pending": 3}, 2, 40, True)
    # A case that changed since the dry run is checked again: now it is in error, so it stays.
    stuck = db.scalar(
        select(MigrationJobCase).where(MigrationJobCase.job_id == job.id, MigrationJobCase.status == "pending")
    )
    assert stuck is not None
    broken = db.get(ProcessInstance, stuck.instance_id)
    assert broken is not None
    broken.status = "error"
    db.flush()
    assert run_batch(db, settings, job.id, size=2) == 2
    assert run_batch(db, settings, job.id, size=2) == 1
    end = get_job(db, DIRECTOR_MI, "MILANO", "inlav_percorso", job.id)
    assert (end.counts, end.running) == ({"moved": 4, "refused": 1}, False)
    refused = next(c for c in end.cases if c.status == "refused")
    assert refused.case_code == broken.case_code and "errore del modello" in (refused.message or "")
    assert db.get(ProcessInstance, broken.id).definition_id != job.id  # type: ignore[union-attr]
    assert len(cases) == 5
    assert run_batch(db, settings, job.id) == 0  # a finished job does nothing


def test_undo_one_case_and_the_whole_job_and_say_why_not(model, db, settings, start_case) -> None:
    cases = [start_case().contact() for _ in range(3)]
    regional = cases[0].instance.definition_id
    deploy_bundle(db, milano_variant(), "MILANO", "dir.milano", "Variante")
    job = start_job(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso")
    run_batch(db, settings, job.id)
    first, second, third = cases
    row = undo_case(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso", job.id, first.case_code)
    assert row.status == "undone" and first.instance.definition_id == regional
    assert first.names() == ["colloquio_valutazione"]
    kinds = [e.kind for e in first.history()]
    assert kinds.count("migrated") == 1 and kinds[-1] == "migration_undone"
    with pytest.raises(Conflict, match="nulla da annullare"):
        undo_case(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso", job.id, first.case_code)
    # The second case moved on after the migration: it is now somewhere its old version also has,
    # so it can go back; the third is moved again by hand, so its undo says why not.
    second.assess()
    third_instance = third.instance
    third_instance.manifest_json = json.dumps({"inlav_percorso": [regional, "x"]})
    db.flush()
    undo_job(db, DIRECTOR_MI, "MILANO", "inlav_percorso", job.id)
    run_batch(db, settings, job.id)
    end = get_job(db, DIRECTOR_MI, "MILANO", "inlav_percorso", job.id)
    by_code = {c.case_code: c for c in end.cases}
    assert by_code[second.case_code].status == "undone"
    assert by_code[third.case_code].status == "moved"
    assert by_code[third.case_code].message == "il caso è stato spostato di nuovo dopo questa migrazione"
    assert second.instance.definition_id == regional
    actions = [r.action for r in db.scalars(select(OperationLog).where(OperationLog.target_kind == "migration")).all()]
    assert actions == [
        "migration.started",
        "migration.finished",
        "migration.undone",
        "migration.undone",
        "migration.finished",
    ]


def test_undo_is_refused_when_the_case_reached_a_task_its_old_version_lacks(model, db, settings, start_case) -> None:
    case = start_case()
    regional = case.instance.definition_id
    # Milano adds «Conferma il contatto» after «Registra il contatto».
    files = read_bundle_paths(BUNDLE)
    xml = files[MAIN].decode()
    task = re.search(r'<bpmn:userTask id="registra_contatto".*?</bpmn:userTask>', xml, flags=re.S)
    assert task is not None
    added = task.group(0).replace('id="registra_contatto"', 'id="conferma_contatto"')
    added = added.replace('name="Registra il contatto"', 'name="Conferma il contatto"')
    flow = '<bpmn:sequenceFlow id="f_contatto_registrato" sourceRef="registra_contatto" targetRef="{}"/>'
    xml = xml.replace(
        flow.format("registra_fatti_contatto"),
        flow.format("conferma_contatto")
        + added
        + '<bpmn:sequenceFlow id="f_confermato" sourceRef="conferma_contatto" targetRef="registra_fatti_contatto"/>',
    )
    xml = xml.replace(
        "<bpmn:flowNodeRef>registra_contatto</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>registra_contatto</bpmn:flowNodeRef><bpmn:flowNodeRef>conferma_contatto</bpmn:flowNodeRef>",
    )
    files[MAIN] = xml.encode()
    deploy_bundle(db, files, "MILANO", "dir.milano", "Conferma del contatto")
    job = start_job(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso")
    run_batch(db, settings, job.id)
    assert case.instance.definition_id != regional
    case.contact()
    assert case.names() == ["conferma_contatto"]
    with pytest.raises(Conflict) as refused:
        undo_case(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso", job.id, case.case_code)
    assert "il caso è passato a «Conferma il contatto», che non esiste nella versione 1" in str(refused.value)
    assert case.instance.definition_id != regional and case.names() == ["conferma_contatto"]
    row = get_job(db, DIRECTOR_MI, "MILANO", "inlav_percorso", job.id).cases[0]
    assert row.status == "moved"


def test_only_coordinators_of_the_ambito_or_the_region_may_migrate(milano, db, settings) -> None:
    with pytest.raises(NotFound):
        dry_run(db, settings, DIRECTOR_BG, "MILANO", "inlav_percorso")
    with pytest.raises(NotFound):
        start_job(db, settings, DIRECTOR_BG, "MILANO", "inlav_percorso")
    with pytest.raises(Forbidden):  # may read the processes, may publish nowhere
        dry_run(db, settings, OPERATOR_MI, "MILANO", "inlav_percorso")
    with pytest.raises(NotFound):  # the regional base needs a regional grant
        dry_run(db, settings, DIRECTOR_MI, None, "inlav_percorso")
    assert dry_run(db, settings, REGIONAL, "MILANO", "inlav_percorso").cases
    job = start_job(db, settings, DIRECTOR_MI, "MILANO", "inlav_percorso")
    with pytest.raises(NotFound):
        get_job(db, DIRECTOR_BG, "MILANO", "inlav_percorso", job.id)
    with pytest.raises(NotFound):  # a job belongs to its scope and process
        get_job(db, DIRECTOR_MI, "MILANO", "inlav_chiusura", job.id)
    with pytest.raises(NotFound):
        get_job(db, DIRECTOR_MI, "MILANO", "inlav_percorso", 10**12)
    assert [j.id for j in list_jobs(db, DIRECTOR_MI, "MILANO", "inlav_percorso")] == [job.id]
    assert db.scalars(select(MigrationJob)).all()


def test_region_scope_moves_cases_of_ambiti_following_the_base(model, db, settings, start_case) -> None:
    milano_case = start_case().contact()
    lecco_case = start_case().contact()
    lecco_case.instance.ambito_code = "LECCO"
    db.flush()
    deploy_bundle(db, milano_variant(), "MILANO", "dir.milano", "Variante")
    files = read_bundle_paths(BUNDLE)
    files[MAIN] = files[MAIN].replace(b'name="Registra il contatto"', b'name="Registra il contatto (v2)"')
    deploy_bundle(db, files, None, "coord.regione", "Base v2")
    plan = dry_run(db, settings, REGIONAL, None, "inlav_percorso")
    assert plan.target_regional and plan.target_version == 2
    assert [c.case_code for c in plan.cases] == [lecco_case.case_code]
    assert plan.elsewhere == ["MILANO"] and milano_case.case_code
    with pytest.raises(Conflict, match="Nessuno dei casi scelti"):
        start_job(db, settings, REGIONAL, None, "inlav_percorso", ["NON-ESISTE"])
    open_tasks = db.scalars(select(HumanTask).where(HumanTask.case_code == lecco_case.case_code)).all()
    assert open_tasks
