"""The studio home: processes per Ambito, versions with publisher and note, cases per version, scoping."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from engine import Forbidden, NotFound, resolve, start_instance
from engine.access import MATRIX, Action, Actor, Scope, permits_in
from engine.definitions import deploy_bundle
from engine.models import ProcessInstance
from engine.studio import catalogue, default_scope, version_diagram
from tests import builders
from tests.conftest import OPERATOR, add_ambiti, bundle_files, deploy

DIRECTOR_MI = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
DIRECTOR_BG = Actor("bea", grants=frozenset({("direttore_pua", "BERGAMO")}))
REGIONAL = Actor("rita", grants=frozenset({("coordinamento_regionale", None)}))
AUDITOR = Actor("aldo", grants=frozenset({("revisore", None)}))
ADMIN = Actor("ada", grants=frozenset({("amministratore", None)}))


def _renamed(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    """The sample bundle with the main process renamed (new content: a new version)."""
    changed = dict(files)
    changed["sample_case.bpmn"] = changed["sample_case.bpmn"].replace(b"Caso di esempio", name.encode())
    return changed


def _start(db, settings, ambito: str) -> ProcessInstance:  # type: ignore[no-untyped-def]
    actor = Actor("op", frozenset({"operatore_contatto"}), frozenset({ambito}))
    return start_instance(db, settings, "sample_case", ambito, actor, data={"durata_sollecito": "PT1H"}).instance


@pytest.fixture
def region(db):  # type: ignore[no-untyped-def]
    add_ambiti(db, "MILANO", "BERGAMO", "LECCO")
    deploy_bundle_as(db, bundle_files(), None, "rita", "Prima versione regionale")
    return db


def deploy_bundle_as(db, files, ambito, who, note):  # type: ignore[no-untyped-def]
    return deploy_bundle(db, files, ambito, who, note)


def test_versions_carry_publisher_time_note_and_running_cases_counted_from_the_cases(region, settings) -> None:
    db = region
    v1_cases = [_start(db, settings, "MILANO") for _ in range(2)]
    deploy_bundle_as(db, _renamed(bundle_files(), "Caso v2"), None, "rita", "Seconda versione")
    v2_case = _start(db, settings, "MILANO")
    _start(db, settings, "BERGAMO")
    finished = _start(db, settings, "MILANO")
    finished.status = "completed"  # a concluded case no longer counts
    db.flush()

    view = catalogue(db, DIRECTOR_MI, "MILANO")
    entry = view.get("sample_case")
    assert entry is not None and [v.version for v in entry.base] == [2, 1] and entry.variant == []
    newest, oldest = entry.base
    assert (newest.published_by, newest.note, newest.regional) == ("rita", "Seconda versione", True)
    assert oldest.note == "Prima versione regionale" and oldest.published_at <= newest.published_at
    expected = {
        d: sum(1 for c in [*v1_cases, v2_case] if c.definition_id == d)
        for d in (newest.definition_id, oldest.definition_id)
    }
    assert {newest.definition_id: newest.running, oldest.definition_id: oldest.running} == expected
    assert (oldest.running, newest.running) == (2, 1)  # Bergamo's case and the concluded one are not Milano's
    assert entry.current == newest and entry.current.definition_id == resolve(db, "sample_case", "MILANO").id
    # The region counts its base versions in every Ambito.
    regional = catalogue(db, REGIONAL, None).get("sample_case")
    assert regional is not None and [v.running for v in regional.base] == [2, 2]


def test_a_milano_variant_changes_what_new_milano_cases_get_and_not_bergamo(region, settings) -> None:
    db = region
    deploy_bundle_as(db, _renamed(bundle_files(), "Caso di Milano"), "MILANO", "dario", "Variante milanese")
    milano = catalogue(db, DIRECTOR_MI, "MILANO").get("sample_case")
    bergamo = catalogue(db, DIRECTOR_BG, "BERGAMO").get("sample_case")
    assert milano is not None and bergamo is not None
    assert milano.current is not None and milano.current.ambito == "MILANO" and milano.name == "Caso di Milano"
    assert (milano.current.published_by, milano.current.note) == ("dario", "Variante milanese")
    assert bergamo.current is not None and bergamo.current.regional and bergamo.variant == []
    for ambito, entry in (("MILANO", milano), ("BERGAMO", bergamo)):
        assert entry.current is not None
        assert entry.current.definition_id == resolve(db, "sample_case", ambito).id
        assert _start(db, settings, ambito).definition_id == entry.current.definition_id
    # The regional view shows which Ambiti have a variant, and only the base versions.
    regional = catalogue(db, REGIONAL, None).get("sample_case")
    assert regional is not None and regional.variants_elsewhere == {"MILANO": 1} and regional.variant == []
    # A process called by the main one is listed too, from the base.
    assert catalogue(db, DIRECTOR_MI, "MILANO").get("sample_servizi") is not None


def test_scoping_follows_the_matrix(region) -> None:
    db = region
    with pytest.raises(NotFound, match="Ambito «BERGAMO» non trovato"):
        catalogue(db, DIRECTOR_MI, "BERGAMO")
    with pytest.raises(NotFound, match="Ambito «ATLANTIDE» non trovato"):
        catalogue(db, REGIONAL, "ATLANTIDE")
    with pytest.raises(NotFound):
        catalogue(db, DIRECTOR_MI, None)  # the regional view takes a regional grant
    with pytest.raises(Forbidden):
        catalogue(db, ADMIN, "MILANO")
    # Operators and the auditor read; only the Ambito's coordinators edit its variant, a regional grant the base.
    assert not catalogue(db, OPERATOR, "MILANO").can_edit
    assert catalogue(db, DIRECTOR_MI, "MILANO").can_edit and not catalogue(db, DIRECTOR_MI, "MILANO").can_edit_base
    assert not catalogue(db, AUDITOR, "BERGAMO").can_edit and catalogue(db, AUDITOR, None).processes
    assert catalogue(db, REGIONAL, None).can_edit and catalogue(db, REGIONAL, "LECCO").can_edit_base
    assert default_scope(db, DIRECTOR_MI) == "MILANO" and default_scope(db, REGIONAL) is None
    with pytest.raises(NotFound, match="Processo «nessuno» non trovato"):
        catalogue(db, DIRECTOR_MI, "MILANO", "nessuno")


def test_edit_and_publish_are_granted_alike_and_the_base_needs_a_regional_grant() -> None:
    for role, actions in MATRIX.items():
        assert actions.get(Action.PROCESS_EDIT, Scope.NONE) == actions.get(Action.PROCESS_DEPLOY, Scope.NONE), role
    assert permits_in(DIRECTOR_MI, Action.PROCESS_DEPLOY, "MILANO")
    assert not permits_in(DIRECTOR_MI, Action.PROCESS_DEPLOY, None)
    assert not permits_in(DIRECTOR_MI, Action.PROCESS_DEPLOY, "BERGAMO")
    assert permits_in(REGIONAL, Action.PROCESS_EDIT, None) and not permits_in(AUDITOR, Action.PROCESS_EDIT, None)


def test_counts_take_the_same_queries_whatever_the_number_of_processes(region, settings) -> None:
    db = region

    def queries(ambito: str | None, actor: Actor) -> int:
        seen: list[str] = []
        engine = db.get_bind()
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            catalogue(db, actor, ambito)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    before = queries("MILANO", DIRECTOR_MI), queries(None, REGIONAL)
    assert min(before) > 0
    for n in range(6):
        files = {"nota.schema.json": builders.form_json()}
        body = (
            '<bpmn:startEvent id="s"/>'
            + builders.user_task("t")
            + '<bpmn:endEvent id="e"/>'
            + builders.flow("f1", "s", "t")
            + builders.flow("f2", "t", "e")
        )
        files[f"altro_{n}.bpmn"] = builders.document(builders.process(f"altro_{n}", body, ["t"]))
        deploy(db, ambito="MILANO" if n % 2 else None, files=files)
        start_instance(db, settings, f"altro_{n}", "MILANO", OPERATOR)
    assert (queries("MILANO", DIRECTOR_MI), queries(None, REGIONAL)) == before
    assert len(catalogue(db, DIRECTOR_MI, "MILANO").processes) == 8


def test_a_version_diagram_is_its_bpmn_file_with_its_activities(region) -> None:
    db = region
    entry = catalogue(db, DIRECTOR_MI, "MILANO").get("sample_case")
    assert entry is not None
    diagram = version_diagram(db, DIRECTOR_MI, "MILANO", "sample_case", entry.base[0].definition_id)
    assert diagram.file_name == "sample_case.bpmn" and 'id="sample_case"' in diagram.xml
    names = {a.element: (a.kind, a.lane) for a in diagram.activities}
    assert names["approva"] == ("Attività utente", "Direttore PUA")
    assert names["servizi"][0] == "Chiamata di processo"
    # The called process's version is found in the same bundle, in its own file.
    servizi = catalogue(db, DIRECTOR_MI, "MILANO").get("sample_servizi")
    assert servizi is not None
    assert version_diagram(db, AUDITOR, "MILANO", "sample_servizi", servizi.base[0].definition_id).file_name == (
        "sample_servizi.bpmn"
    )
    # A version of another process, or seen from an Ambito out of reach, is not found.
    with pytest.raises(NotFound):
        version_diagram(db, DIRECTOR_MI, "MILANO", "sample_servizi", entry.base[0].definition_id)
    with pytest.raises(NotFound):
        version_diagram(db, DIRECTOR_BG, "MILANO", "sample_case", entry.base[0].definition_id)
    assert db.scalar(select(ProcessInstance.id)) is None  # reading started nothing
