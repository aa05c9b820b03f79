"""Decision tables of a studio draft: listed with their callers, created, saved, checked and located."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import Conflict, DefinitionError, Forbidden, NotFound
from engine.access import Actor
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.models import ProcessDraft
from engine.studio import (
    check_decisions,
    check_draft,
    decision_file,
    decision_files,
    new_decision_file,
    open_draft,
    save_decision_file,
)
from tests.conftest import add_ambiti, bundle_files
from tests.web.test_browser import ROOT

DIRECTOR_MI = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
DIRECTOR_BG = Actor("bea", grants=frozenset({("direttore_pua", "BERGAMO")}))
REGIONAL = Actor("rita", grants=frozenset({("coordinamento_regionale", None)}))
OPERATOR_MI = Actor("olga", grants=frozenset({("operatore_contatto", "MILANO")}))

DMN = "decide_priorita.dmn"
KEY = "sample_case"


@pytest.fixture
def region(db):  # type: ignore[no-untyped-def]
    add_ambiti(db, "MILANO", "BERGAMO")
    deploy_bundle(db, bundle_files(), None, "rita", "Base")
    return db


def test_the_list_shows_each_decision_with_its_table_and_the_rule_tasks_calling_it(region) -> None:
    overview = decision_files(region, DIRECTOR_MI, "MILANO", KEY)
    assert [f.name for f in overview.files] == [DMN] and overview.missing == ()
    (decision,) = overview.files[0].decisions
    assert (decision.id, decision.name, decision.hit_policy, decision.rules) == (
        "decide_priorita",
        "Decidi la priorità",
        "FIRST",
        3,
    )
    assert [(c.label, c.expression) for c in decision.inputs] == [("Grado", "grado"), ("Età", "eta")]
    assert [(c.label, c.expression) for c in decision.outputs] == [("Priorità", "priorita")]
    assert [(t.file, t.id, t.name) for t in decision.used_by] == [
        ("sample_case.bpmn", "priorita_task", "Decidi la priorità")
    ]


def test_a_new_table_is_valid_for_the_engine_and_listed(region) -> None:
    draft, name = new_decision_file(region, DIRECTOR_MI, "MILANO", KEY, "Urgenza dell'intervento")
    assert name == "urgenza_dell_intervento.dmn" and name in draft.files and draft.revision == 1
    assert draft.files[DMN] == bundle_files()[DMN]  # the other files are kept
    assert check_draft(region, DIRECTOR_MI, "MILANO", KEY) == []
    listed = {f.name: f for f in decision_files(region, DIRECTOR_MI, "MILANO", KEY).files}
    (decision,) = listed[name].decisions
    assert (decision.id, decision.name, decision.rules, decision.used_by) == (
        "urgenza_dell_intervento",
        "Urgenza dell'intervento",
        0,
        (),
    )
    with pytest.raises(DefinitionError, match="ha già una decisione"):  # the same name twice
        new_decision_file(region, DIRECTOR_MI, "MILANO", KEY, "URGENZA dell'intervento")
    with pytest.raises(DefinitionError, match="ha già una decisione"):  # an id the draft already has
        new_decision_file(region, DIRECTOR_MI, "MILANO", KEY, "Decide priorità")
    with pytest.raises(DefinitionError, match="almeno una lettera"):
        new_decision_file(region, DIRECTOR_MI, "MILANO", KEY, "¿?")


def test_saving_stores_the_file_and_refuses_a_stale_revision(region) -> None:
    original = bundle_files()[DMN]
    edited = original.replace(b'"normale"', b'"bassa"')
    saved = save_decision_file(region, DIRECTOR_MI, "MILANO", KEY, DMN, edited, 0)
    assert (saved.revision, saved.updated_by, saved.files[DMN]) == (1, "dario", edited)
    assert saved.files["sample_case.bpmn"] == bundle_files()["sample_case.bpmn"]
    with pytest.raises(Conflict, match="dopo che l'hai aperta"):
        save_decision_file(region, DIRECTOR_MI, "MILANO", KEY, DMN, original, 0)
    draft, text = decision_file(region, DIRECTOR_MI, "MILANO", KEY, DMN)
    assert text.encode() == edited and draft.revision == 1
    assert save_decision_file(region, DIRECTOR_MI, "MILANO", KEY, DMN, original, 1).revision == 2
    # Other scopes keep the published file.
    assert open_draft(region, DIRECTOR_BG, "BERGAMO", KEY).files[DMN] == original
    with pytest.raises(NotFound):  # only files the draft has, and only DMN ones
        save_decision_file(region, DIRECTOR_MI, "MILANO", KEY, "altro.dmn", original, None)
    with pytest.raises(NotFound):
        decision_file(region, DIRECTOR_MI, "MILANO", KEY, "sample_case.bpmn")


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (b"<definitions", "XML non valido"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTD, entità e riferimenti esterni sono vietati"),
        (b"<x>" + b"a" * 2_000 + b"</x>", "file troppo grande"),
        (b"<x>\xff</x>", "UTF-8"),
        (b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>', "non è un file DMN"),
    ],
)
def test_invalid_dmn_is_refused_in_italian_and_nothing_is_saved(region, content: bytes, cause: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        save_decision_file(region, DIRECTOR_MI, "MILANO", KEY, DMN, content, None, max_bytes=1_000)
    assert cause in str(refused.value) and DMN in str(refused.value)
    assert region.scalars(select(ProcessDraft)).all() == []


def test_only_the_scopes_coordinators_edit_its_decisions(region) -> None:
    content = bundle_files()[DMN]
    for actor, ambito in [(DIRECTOR_BG, "MILANO"), (DIRECTOR_MI, None), (DIRECTOR_MI, "NESSUNO")]:
        with pytest.raises(NotFound):
            decision_files(region, actor, ambito, KEY)
        with pytest.raises(NotFound):
            save_decision_file(region, actor, ambito, KEY, DMN, content, None)
        with pytest.raises(NotFound):
            new_decision_file(region, actor, ambito, KEY, "Nuova")
        with pytest.raises(NotFound):
            check_decisions(region, actor, ambito, KEY)
    with pytest.raises(Forbidden):  # an operator reads the studio, edits nothing
        save_decision_file(region, OPERATOR_MI, "MILANO", KEY, DMN, content, None)
    with pytest.raises(Forbidden):
        decision_files(region, OPERATOR_MI, "MILANO", KEY)
    assert region.scalars(select(ProcessDraft)).all() == []
    assert save_decision_file(region, REGIONAL, None, KEY, DMN, content, None).ambito is None


def test_the_check_pins_each_problem_of_a_table_on_its_rule_or_cell(region) -> None:
    assert check_decisions(region, DIRECTOR_MI, "MILANO", KEY).problems == ()
    cell = bundle_files()[DMN].replace(
        b'<outputEntry id="r_minore_o"><text>"alta"</text>', b'<outputEntry id="r_minore_o"><text>get_env()</text>'
    )
    save_decision_file(region, DIRECTOR_MI, "MILANO", KEY, DMN, cell, 0)
    check = check_decisions(region, DIRECTOR_MI, "MILANO", KEY)
    assert [(p.decision, p.target) for p in check.problems] == [("decide_priorita", "r_minore_o")], check.problems
    assert check.problems[0].file == DMN and check.others == 0 and "get_env" in check.problems[0].message
    assert check.problems[0].element == "decide_priorita › r_minore › r_minore_o"
    short = bundle_files()[DMN].replace(b'<inputEntry id="r_altro_2"><text>-</text></inputEntry>', b"")
    save_decision_file(region, DIRECTOR_MI, "MILANO", KEY, DMN, short, 1)
    check = check_decisions(region, DIRECTOR_MI, "MILANO", KEY)
    assert [(p.decision, p.target) for p in check.problems] == [("decide_priorita", "r_altro")], check.problems
    assert "la regola 3 ha 1 cella di ingresso" in check.problems[0].message


def test_a_rule_task_calling_a_missing_decision_is_reported_on_the_task(region) -> None:
    renamed = bundle_files()[DMN].replace(b'decision id="decide_priorita"', b'decision id="altra_priorita"')
    save_decision_file(region, DIRECTOR_MI, "MILANO", KEY, DMN, renamed, 0)
    overview = decision_files(region, DIRECTOR_MI, "MILANO", KEY)
    assert [(d, t.id) for d, t in overview.missing] == [("decide_priorita", "priorita_task")]
    check = check_decisions(region, DIRECTOR_MI, "MILANO", KEY)
    assert [(p.file, p.element, p.target) for p in check.problems] == [("sample_case.bpmn", "priorita_task", None)]
    assert "decide_priorita" in check.problems[0].message


def test_the_regional_decisions_validate_clean(db) -> None:  # type: ignore[no-untyped-def]
    add_ambiti(db, "MILANO")
    deploy_bundle(db, read_bundle_paths([ROOT / "processes", ROOT / "forms" / "schemas"]), None, "rita")
    overview = decision_files(db, REGIONAL, "MILANO", "inlav_valutazione")
    assert "inlav_ammissibilita.dmn" in {f.name for f in overview.files}
    used = {d.id: d.used_by for f in overview.files for d in f.decisions}
    assert [t.id for t in used["ammissibilita"]] == ["suggerisci_ammissibilita"]
    assert check_decisions(db, REGIONAL, "MILANO", "inlav_valutazione") == check_decisions(
        db, REGIONAL, "MILANO", "inlav_valutazione"
    )
    assert check_decisions(db, REGIONAL, "MILANO", "inlav_valutazione").problems == ()
