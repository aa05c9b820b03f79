"""Drafts of the studio: opened from the right version, saved on the server, permissions, validation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import Conflict, DefinitionError, Forbidden, NotFound
from engine.access import Actor
from engine.db import read_transaction, transaction
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.models import OperationLog, ProcessDraft, ProcessDraftFile
from engine.studio import check_draft, discard_draft, open_draft, save_diagram, save_file
from tests.conftest import add_ambiti, bundle_files
from tests.web.test_browser import ROOT

DIRECTOR_MI = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
DIRECTOR_BG = Actor("bea", grants=frozenset({("direttore_pua", "BERGAMO")}))
REGIONAL = Actor("rita", grants=frozenset({("coordinamento_regionale", None)}))
AUDITOR = Actor("aldo", grants=frozenset({("revisore", None)}))
OPERATOR_MI = Actor("olga", grants=frozenset({("operatore_contatto", "MILANO")}))

MAIN = "sample_case.bpmn"


def _variant(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    changed = dict(files)
    changed[MAIN] = changed[MAIN].replace(b"Caso di esempio", name.encode())
    return changed


@pytest.fixture
def region(db):  # type: ignore[no-untyped-def]
    add_ambiti(db, "MILANO", "BERGAMO")
    deploy_bundle(db, bundle_files(), None, "rita", "Base")
    return db


def test_a_draft_opens_from_the_newest_version_the_scope_sees(region) -> None:
    db = region
    milano = deploy_bundle(db, _variant(bundle_files(), "Caso di Milano"), "MILANO", "dario", "Variante")
    draft = open_draft(db, DIRECTOR_MI, "MILANO", "sample_case")
    assert not draft.saved and draft.main_file == MAIN
    assert draft.base_definition_id == next(d.id for d in milano.definitions if d.process_key == "sample_case")
    assert draft.files == _variant(bundle_files(), "Caso di Milano") and not draft.base_regional
    # Bergamo has no variant: its draft starts from the regional base, every file of its bundle.
    bergamo = open_draft(db, DIRECTOR_BG, "BERGAMO", "sample_case")
    assert bergamo.files == bundle_files() and bergamo.base_regional and bergamo.base_version == 1
    regional = open_draft(db, REGIONAL, None, "sample_case")
    assert regional.files == bundle_files() and regional.base_regional
    assert db.scalars(select(ProcessDraft)).all() == []  # opening writes nothing


def test_saving_stores_the_diagram_with_who_and_when_and_refuses_a_stale_revision(region) -> None:
    db = region
    original = open_draft(db, DIRECTOR_MI, "MILANO", "sample_case")
    edited = original.files[MAIN].replace(b"Caso di esempio", b"Caso in bozza")
    saved = save_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", edited, 0)
    assert (saved.revision, saved.updated_by, saved.saved) == (1, "dario", True) and saved.updated_at is not None
    again = open_draft(db, DIRECTOR_MI, "MILANO", "sample_case")
    assert again.files[MAIN] == edited and again.files["approva.schema.json"] == original.files["approva.schema.json"]
    with pytest.raises(Conflict):  # someone saved after this editor opened revision 0
        save_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", original.files[MAIN], 0)
    assert open_draft(db, DIRECTOR_MI, "MILANO", "sample_case").files[MAIN] == edited
    # Drafts are per scope: the region and Bergamo still see the published files.
    assert open_draft(db, REGIONAL, None, "sample_case").files[MAIN] == original.files[MAIN]
    assert open_draft(db, DIRECTOR_BG, "BERGAMO", "sample_case").files[MAIN] == original.files[MAIN]


def test_a_save_conflicts_only_with_saves_of_the_same_file(region) -> None:
    """The diagram editor holding revision 1 may save after a form was saved (revision 2), not after a diagram."""
    db = region
    original = open_draft(db, DIRECTOR_MI, "MILANO", "sample_case")
    first = original.files[MAIN].replace(b"Caso di esempio", b"Prima")
    assert save_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", first, 0).revision == 1
    form = b'{"type": "object", "properties": {"nota": {"type": "string"}}}'
    assert save_file(db, DIRECTOR_MI, "MILANO", "sample_case", "nuovo.schema.json", form, 1).revision == 2
    second = first.replace(b"Prima", b"Seconda")
    saved = save_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", second, 1)
    assert saved.revision == 3 and saved.files[MAIN] == second and saved.files["nuovo.schema.json"] == form
    assert saved.file_revisions[MAIN] == 3 and saved.file_revisions["nuovo.schema.json"] == 2
    with pytest.raises(Conflict):  # the diagram was written at 3, after this editor's revision 2
        save_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", first, 2)
    with pytest.raises(Conflict):  # a revision the draft never reached (e.g. published and closed since)
        save_file(db, DIRECTOR_MI, "MILANO", "sample_case", "nuovo.schema.json", form, 7)
    assert open_draft(db, DIRECTOR_MI, "MILANO", "sample_case").files[MAIN] == second


def test_discarding_deletes_the_draft_logs_it_and_never_discards_unseen_work(region) -> None:
    db = region
    with pytest.raises(NotFound):  # nothing saved yet
        discard_draft(db, DIRECTOR_MI, "MILANO", "sample_case", None)
    original = open_draft(db, DIRECTOR_MI, "MILANO", "sample_case")
    edited = original.files[MAIN].replace(b"Caso di esempio", b"Da scartare")
    save_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", edited, 0)
    save_file(db, DIRECTOR_MI, "MILANO", "sample_case", "nuovo.schema.json", b'{"type": "object"}', 1)
    with pytest.raises(NotFound):  # another Ambito's draft is not hers
        discard_draft(db, DIRECTOR_BG, "MILANO", "sample_case", None)
    with pytest.raises(Forbidden):
        discard_draft(db, OPERATOR_MI, "MILANO", "sample_case", None)
    with pytest.raises(Conflict):  # the page showed revision 1: the form saved since is not discarded unseen
        discard_draft(db, DIRECTOR_MI, "MILANO", "sample_case", 1)
    assert open_draft(db, DIRECTOR_MI, "MILANO", "sample_case").revision == 2
    gone = discard_draft(db, DIRECTOR_MI, "MILANO", "sample_case", 2)
    assert gone.files[MAIN] == edited
    again = open_draft(db, DIRECTOR_MI, "MILANO", "sample_case")
    assert not again.saved and again.files == original.files  # starts over from the published version
    assert db.scalars(select(ProcessDraft)).all() == [] and db.scalars(select(ProcessDraftFile)).all() == []
    entry = db.scalars(select(OperationLog).where(OperationLog.action == "process.draft_discarded")).one()
    assert (entry.actor, entry.ambito_code, entry.target_id) == ("dario", "MILANO", "sample_case")


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (b"<bpmn:definitions", "XML non valido"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTD, entità e riferimenti esterni sono vietati"),
        (b"<x>" + b"a" * 2_000 + b"</x>", "file troppo grande"),
        (b"<x>\xff</x>", "UTF-8"),
    ],
)
def test_saving_refuses_unsafe_or_oversized_xml_and_keeps_the_draft(region, content: bytes, cause: str) -> None:
    db = region
    with pytest.raises(DefinitionError) as refused:
        save_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", content, None, max_bytes=1_000)
    assert cause in str(refused.value) and MAIN in str(refused.value)
    assert db.scalars(select(ProcessDraft)).all() == []


def test_only_the_scopes_coordinators_edit_and_others_get_not_found(region) -> None:
    db = region
    xml = bundle_files()[MAIN]
    for actor, ambito in [(DIRECTOR_BG, "MILANO"), (DIRECTOR_MI, None), (DIRECTOR_MI, "NESSUNO")]:
        with pytest.raises(NotFound):
            open_draft(db, actor, ambito, "sample_case")
        with pytest.raises(NotFound):
            save_diagram(db, actor, ambito, "sample_case", xml, None)
    for actor in (AUDITOR, OPERATOR_MI):  # they read the studio but edit nowhere
        with pytest.raises(Forbidden):
            open_draft(db, actor, "MILANO", "sample_case")
    with pytest.raises(NotFound):
        open_draft(db, DIRECTOR_MI, "MILANO", "nessun_processo")
    assert save_diagram(db, REGIONAL, None, "sample_case", xml, None).ambito is None
    assert save_diagram(db, REGIONAL, "MILANO", "sample_case", xml, None).ambito == "MILANO"


def test_a_saved_draft_survives_a_new_session(committed) -> None:  # type: ignore[no-untyped-def]
    with transaction(committed.sessions) as session:
        add_ambiti(session, "MILANO")
        deploy_bundle(session, bundle_files(), None, "rita")
        edited = bundle_files()[MAIN].replace(b"Caso di esempio", b"Caso salvato")
        save_diagram(session, DIRECTOR_MI, "MILANO", "sample_case", edited, 0)
    with read_transaction(committed.sessions) as session:
        draft = open_draft(session, DIRECTOR_MI, "MILANO", "sample_case")
    assert (draft.files[MAIN], draft.revision, draft.updated_by) == (edited, 1, "dario")


def test_validation_locates_each_problem_on_an_element_of_the_diagram(region) -> None:
    db = region
    xml = bundle_files()[MAIN]
    broken = xml.replace(b"fascia = '18-25' if", b"fascia = get_env()\nx = '18-25' if").replace(
        b"priorita == 'alta'", b"get_env() == 'alta'"
    )
    assert broken.count(b"get_env()") == 2
    assert check_draft(db, DIRECTOR_MI, "MILANO", "sample_case") == []  # the published files are clean
    save_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", broken, 0)
    problems = check_draft(db, DIRECTOR_MI, "MILANO", "sample_case")
    located = {(p.file, p.target) for p in problems}
    assert (MAIN, "calcola") in located  # the script task
    assert (MAIN, "f_alta") in located  # the gateway's condition: its flow, not the gateway
    assert all("get_env" in p.message for p in problems) and len(problems) == 2
    condition = next(p for p in problems if p.target == "f_alta")
    assert condition.element is not None and "→" in condition.element
    # A flow to an element that does not exist: reported and located.
    missing = xml.replace(b'sourceRef="registra" targetRef="calcola"', b'sourceRef="registra" targetRef="fantasma"')
    save_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", missing, 1)
    problems = check_draft(db, DIRECTOR_MI, "MILANO", "sample_case")
    assert problems and all(p.file == MAIN for p in problems), problems
    assert any(p.target is not None for p in problems), problems


def test_the_regional_model_validates_clean_as_a_draft(db) -> None:  # type: ignore[no-untyped-def]
    add_ambiti(db, "MILANO")
    files = read_bundle_paths([ROOT / "processes", ROOT / "forms" / "schemas"])
    result = deploy_bundle(db, files, None, "rita")
    for definition in result.definitions:
        assert check_draft(db, REGIONAL, None, definition.process_key) == [], definition.process_key
