"""The auditor's story of an instance: every event labelled, values before → after, identity opened,
the data after any step, and the path on the diagrams read from the engine's stored tasks."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import complete_task, deliver, send_message, start_instance
from engine.access.roles import SYSTEM, Actor
from engine.audit import (
    KIND_LABELS,
    data_after,
    instance_diagram,
    instance_story,
    kind_label,
    model_file,
    model_files,
)
from engine.casefile import case_data
from engine.errors import NotFound
from engine.instances import run_step
from engine.models import HumanTask, ProcessInstance
from engine.privacy import ENVELOPE_MARK, ERASED, cipher_for, erase_identity
from tests import builders
from tests.conftest import DIRECTOR, OPERATOR, TUTOR, add_ambiti, deploy
from tests.engine.test_privacy import SECRETS, open_case

AUDITOR = Actor("rita", frozenset({"revisore"}), frozenset())
LECCO_DIRECTOR = Actor("luca", frozenset({"direttore_pua"}), frozenset({"LECCO"}))
ENGINE = Path(__file__).resolve().parents[2] / "engine"
CONTACT = {"alias": "Amir", "eta": 30, "grado": "lavoro_nero", "tipi_intervento": ["orientamento", "legale"]}


def _open_task(db, instance: ProcessInstance) -> HumanTask:
    return db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.created_at))


def test_every_event_kind_the_engine_writes_has_a_label() -> None:
    """Kinds are found in the source (NewEvent kind=…, the step kinds of engine/spiff, logged kinds)."""
    found: set[str] = set()
    for path in ENGINE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "NewEvent" in source or path.name in ("case.py", "migrate_jobs.py"):
            found.update(re.findall(r'kind(?:: str)? ?= ?"([a-z_]+)"', source))
            found.update(re.findall(r'_log\(session, \w+, \w+, "([a-z_]+)"', source))
            found.update(re.findall(r'^[A-Z_]+ = "([a-z_]+)"$', source, re.M) if "supervision" in str(path) else [])
        if path.name == "case.py":
            body = source[source.index("def _kind(") : source.index("def _inherited(")]
            found.update(re.findall(r'return "([a-z_]+)"', body))
    found -= {"user", "manual", "engine", "data"}  # human task kinds and error kinds, not events
    assert {
        "task_claimed",
        "task_released",
        "timer_fired",
        "migrated",
        "retried",
        "stalled",
        "migration_undone",
    } <= found
    assert found - set(KIND_LABELS) == set()
    assert kind_label("nuovo_tipo") == "Evento «nuovo_tipo»"


def _two_notes_bundle() -> dict[str, bytes]:
    body = (
        '<bpmn:startEvent id="start"/>'
        + builders.user_task("prima", "nota.schema.json", "Prima nota")
        + builders.user_task("seconda", "nota.schema.json", "Seconda nota")
        + builders.script_task("pulisci", "del nota")
        + '<bpmn:endEvent id="fine"/>'
        + builders.flow("f1", "start", "prima")
        + builders.flow("f2", "prima", "seconda")
        + builders.flow("f3", "seconda", "pulisci")
        + builders.flow("f4", "pulisci", "fine")
    )
    xml = builders.document(builders.process("due_note", body, ["prima", "seconda"]))
    return {"due_note.bpmn": xml, "nota.schema.json": builders.form_json()}


def test_field_changes_before_after_with_form_labels_and_data_after_each_step(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=_two_notes_bundle())
    instance = start_instance(db, settings, "due_note", "MILANO", OPERATOR).instance
    complete_task(db, settings, _open_task(db, instance).task_id, {"nota": "prima versione"}, OPERATOR)
    complete_task(db, settings, _open_task(db, instance).task_id, {"nota": "seconda versione"}, OPERATOR)
    story = instance_story(db, settings, AUDITOR, instance.case_code)
    assert [e.seq for e in story.events] == list(range(1, story.summary.last_seq + 1)), "oldest first, all of them"
    done = [e for e in story.events if e.kind == "task_completed"]
    assert [(e.title, e.actor, e.role, e.version) for e in done] == [
        ("Prima nota", "anna", "Operatore di contatto", 1),
        ("Seconda nota", "anna", "Operatore di contatto", 1),
    ]
    added, changed = done[0].changes[0], done[1].changes[0]
    assert (added.name, added.label, added.change, added.after) == ("nota", "Nota", "added", "prima versione")
    assert (changed.label, changed.change, changed.before, changed.after) == (
        "Nota",
        "changed",
        "prima versione",
        "seconda versione",
    )
    removed = next(e for e in story.events if e.kind == "script").changes[0]
    assert (removed.change, removed.before, removed.change_label) == ("removed", "seconda versione", "rimosso")
    assert story.events[-1].kind == "instance_completed" and story.summary.status_label == "Conclusa"
    # The data as it stood after each step, and after the last one: the current case data.
    assert data_after(db, settings, AUDITOR, instance.case_code, done[0].seq)["nota"] == "prima versione"
    assert data_after(db, settings, AUDITOR, instance.case_code, done[1].seq)["nota"] == "seconda versione"
    last = data_after(db, settings, AUDITOR, instance.case_code, story.summary.last_seq)
    assert "nota" not in last
    assert last == case_data(db, instance, cipher_for(db, settings, instance))
    with pytest.raises(NotFound, match="non esiste"):
        data_after(db, settings, AUDITOR, instance.case_code, story.summary.last_seq + 1)


def test_claim_and_release_are_in_the_history_with_actor_and_lane(db, settings) -> None:
    from engine import claim_task, release_task

    add_ambiti(db)
    deploy(db, files=_two_notes_bundle())
    instance = start_instance(db, settings, "due_note", "MILANO", OPERATOR).instance
    task = _open_task(db, instance)
    claim_task(db, task.task_id, OPERATOR)
    release_task(db, task.task_id, OPERATOR)
    events = instance_story(db, settings, AUDITOR, instance.case_code).events
    assert [(e.kind, e.label, e.actor, e.lane) for e in events[1:3]] == [
        ("task_claimed", "Attività presa in carico", "anna", "operatore_contatto"),
        ("task_released", "Attività rilasciata", "anna", "operatore_contatto"),
    ]


def test_identity_is_opened_and_an_erased_one_reads_as_a_marker(db, settings) -> None:
    instance = open_case(db, settings)
    story = instance_story(db, settings, AUDITOR, instance.case_code)
    values = {c.name: c.after for e in story.events for c in e.changes}
    assert values["alias"] == "Zarqa Testalias" and values["telefono"] == "3331234567"
    erase_identity(db, settings, DIRECTOR, instance.case_code, "richiesta della persona", instance.case_code)
    story = instance_story(db, settings, AUDITOR, instance.case_code)
    text = repr([(c.before, c.after) for e in story.events for c in e.changes]) + repr(
        [e.details for e in story.events]
    )
    assert all(secret not in text for secret in SECRETS)
    assert ENVELOPE_MARK not in text
    values = {c.name: c.after for e in story.events for c in e.changes}
    assert values["alias"] == ERASED and values["nota"] == "colloquio al mercato"
    assert story.events[-1].kind == "identity_erased" and story.summary.identity_erased
    assert data_after(db, settings, AUDITOR, instance.case_code, story.summary.last_seq)["alias"] == ERASED


def test_scope_other_ambito_is_the_same_not_found_as_unknown(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=_two_notes_bundle())
    instance = start_instance(db, settings, "due_note", "MILANO", OPERATOR).instance
    with pytest.raises(NotFound) as other:
        instance_story(db, settings, LECCO_DIRECTOR, instance.case_code)
    with pytest.raises(NotFound) as unknown:
        instance_story(db, settings, LECCO_DIRECTOR, "NESSUNO-1")
    assert str(other.value).replace(instance.case_code, "X") == str(unknown.value).replace("NESSUNO-1", "X")
    assert instance_story(db, settings, DIRECTOR, instance.case_code).summary.ambito_code == "MILANO"


# --------------------------------------------------------------------------- the path on the diagram


def test_path_with_gateway_call_activity_message_and_parallel_join(db, settings) -> None:
    add_ambiti(db)
    deploy(db)
    instance = start_instance(
        db, settings, "sample_case", "MILANO", OPERATOR, data={"durata_sollecito": "PT1H"}
    ).instance
    complete_task(db, settings, _open_task(db, instance).task_id, CONTACT, OPERATOR)
    top = instance_diagram(db, settings, AUDITOR, instance.case_code)
    assert {"start", "registra", "calcola", "priorita_task", "gw_priorita", "gw_merge"} <= set(top.completed)
    assert top.current == ["servizi"] and top.failed == []
    assert set(top.taken_flows) == {"f1", "f2", "f3", "f4", "f_normale", "f5"}, "the default branch, not f_alta"
    (call,) = top.calls
    assert (call.element, call.process_key, call.version) == ("servizi", "sample_servizi", 1)
    called = instance_diagram(db, settings, AUDITOR, instance.case_code, call.workflow_id)
    assert called.process_key == "sample_servizi" and called.caller == "top" and "eroga" in called.current
    for task in db.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).all():
        complete_task(db, settings, task.task_id, {"esito": {"riuscito": True}}, TUTOR)
    message = send_message(db, "risposta_partner", {"accettato": True}, instance.case_code, source="test")
    deliver(db, settings, message.id)
    complete_task(db, settings, _open_task(db, instance).task_id, {"esito_finale": "inserimento"}, OPERATOR)
    top = instance_diagram(db, settings, AUDITOR, instance.case_code)
    assert top.current == [] and {"servizi", "attendi_risposta", "split", "chiusura", "conta", "join", "fine"} <= set(
        top.completed
    )
    assert {"f6", "f7", "f8", "f9", "f10", "f11", "f12"} <= set(top.taken_flows)
    assert "f_alta" not in top.taken_flows and "approva" not in top.completed
    # The called process's run is still there after it finished and was pruned from the live tree.
    (call,) = top.calls
    called = instance_diagram(db, settings, AUDITOR, instance.case_code, call.workflow_id)
    assert "eroga" in called.completed and called.current == []
    steps = {s.element: s.state_label for s in top.steps}
    assert steps["registra"] == "completato" and steps["f2"] == "flusso percorso"
    assert "Registra il contatto → Calcola la fascia d'età" in [s.name for s in top.steps if s.state == "flow"]


def test_path_through_a_boundary_timer(db, settings) -> None:
    add_ambiti(db)
    deploy(db)
    instance = start_instance(
        db, settings, "sample_case", "MILANO", OPERATOR, data={"durata_sollecito": "PT1S"}
    ).instance
    complete_task(db, settings, _open_task(db, instance).task_id, {**CONTACT, "grado": "grave_sfruttamento"}, OPERATOR)
    waiting = instance_diagram(db, settings, AUDITOR, instance.case_code)
    assert {"approva", "timer_approva"} <= set(waiting.current) and "f_alta" in waiting.taken_flows
    time.sleep(1.2)
    assert run_step(db, settings, instance.id, SYSTEM, lambda c: c.fire_timers()).error is None
    fired = instance_diagram(db, settings, AUDITOR, instance.case_code)
    assert "timer_approva" in fired.completed and fired.current == ["sollecito"]
    assert "f_timeout" in fired.taken_flows and "f_approvato" not in fired.taken_flows
    assert "approva" not in fired.completed, "interrupted by the timer, never completed"
    kinds = [e.kind for e in instance_story(db, settings, AUDITOR, instance.case_code).events]
    assert "timer_fired" in kinds and "task_cancelled" in kinds


def test_failed_script_is_marked(db, settings) -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        + builders.user_task("compila", "nota.schema.json")
        + builders.script_task("rompe", "x = 1 / 0")
        + '<bpmn:endEvent id="fine"/>'
        + builders.flow("f1", "start", "compila")
        + builders.flow("f2", "compila", "rompe")
        + builders.flow("f3", "rompe", "fine")
    )
    files = {
        "guasto.bpmn": builders.document(builders.process("guasto", body, ["compila"])),
        "nota.schema.json": builders.form_json(),
    }
    add_ambiti(db)
    deploy(db, files=files)
    instance = start_instance(db, settings, "guasto", "MILANO", OPERATOR).instance
    outcome = complete_task(db, settings, _open_task(db, instance).task_id, {"nota": "x"}, OPERATOR)
    assert outcome.error is not None
    diagram = instance_diagram(db, settings, AUDITOR, instance.case_code)
    assert diagram.failed == ["rompe"]
    assert [s.state for s in diagram.steps if s.element == "rompe"] == ["failed"]
    incident = next(e for e in instance_story(db, settings, AUDITOR, instance.case_code).events if e.kind == "incident")
    assert incident.label == "Errore" and any(
        label == "Errore" and "division" in text for label, text in incident.details
    )


def test_long_loop_keeps_every_transition_after_pruning(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=builders.loop_bundle())
    outcome = start_instance(db, settings, "ciclo", "MILANO", OPERATOR, data={"i": 0, "n": 400, "storico": []})
    assert outcome.completed and outcome.instance.archived_task_count >= 1200
    diagram = instance_diagram(db, settings, AUDITOR, outcome.instance.case_code)
    assert set(diagram.completed) == {"start", "conta", "annota", "ancora", "fine"}
    assert set(diagram.taken_flows) == {"f1", "f2", "f2b", "di_nuovo", "basta"}


def test_user_loop_after_many_cycles(db, settings) -> None:
    add_ambiti(db)
    deploy(db, files=builders.user_loop_bundle())
    instance = start_instance(db, settings, "revisioni", "MILANO", OPERATOR, data={"giro": 0}).instance
    for cycle in range(12):
        complete_task(
            db, settings, _open_task(db, instance).task_id, {"finito": False, "nota": f"giro {cycle}"}, OPERATOR
        )
    diagram = instance_diagram(db, settings, AUDITOR, instance.case_code)
    assert diagram.current == ["revisione"] and {"segna", "continua"} <= set(diagram.completed)
    assert {"f1", "f2", "f3", "ancora"} <= set(diagram.taken_flows)


def test_model_files_of_the_pinned_bundle(db, settings) -> None:
    add_ambiti(db)
    deploy(db)
    instance = start_instance(
        db, settings, "sample_case", "MILANO", OPERATOR, data={"durata_sollecito": "PT1H"}
    ).instance
    files = model_files(db, AUDITOR, instance.case_code)
    names = [f.name for f in files]
    assert len(names) == len(set(names)), "a bundle shared by two processes is listed once"
    assert {"sample_case.bpmn", "decide_priorita.dmn", "registra.schema.json"} <= set(names)
    shown, text = model_file(db, AUDITOR, instance.case_code, files[0].definition_id, "decide_priorita.dmn")
    assert shown.kind == "dmn" and "<" in text
    with pytest.raises(NotFound):
        model_file(db, AUDITOR, instance.case_code, files[0].definition_id, "altro.bpmn")
    with pytest.raises(NotFound):
        model_files(db, LECCO_DIRECTOR, instance.case_code)


def test_csv_cells_never_run_as_formulas() -> None:
    from engine.audit import neutralise

    for cell in ("=SUM(A1)", "+39 333", "-2", "@cmd", "\tx"):
        assert neutralise(cell) == "'" + cell
    assert neutralise("Amir") == "Amir" and neutralise("") == ""
