"""Publishing a studio draft of the regional model: validation, reporting-facts contract, permissions,
the Ambito's variant, immutable versions, the operation log (runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Conflict, DefinitionError, Forbidden, FormInvalid, NotFound
from engine.access import Actor
from engine.definitions import DeployResult, resolve
from engine.models import Bundle, BundleFile, OperationLog, ProcessDefinition, ProcessDraft
from engine.studio import open_draft, save_diagram
from engine.studio.publish import plan_publication, publish_draft
from tests.conftest import add_ambiti

pytestmark = pytest.mark.db

KEY = "inlav_chiusura"
MAIN = "inlav_chiusura.bpmn"
LINE = b"ts_chiusura = datetime.now(timezone.utc).isoformat(timespec='seconds')\n"
DIRECTOR_MI = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
DIRECTOR_BG = Actor("bea", grants=frozenset({("direttore_pua", "BERGAMO")}))
REGIONAL = Actor("rita", grants=frozenset({("coordinamento_regionale", None)}))
OPERATOR_MI = Actor("olga", grants=frozenset({("operatore_contatto", "MILANO")}))
NAME = re.compile(rb'(<bpmn:scriptTask id="registra_chiusura" name=")[^"]*"')
REASON = "Milano registra la chiusura nel proprio gestionale fino a marzo"


@pytest.fixture
def region(db: Session, model: DeployResult) -> Session:
    add_ambiti(db, "BERGAMO")
    return db


def _edit(db: Session, actor: Actor, ambito: str | None, change: bytes = b"Registra la chiusura") -> int:
    """Save a draft of the closing process with the element's name changed (returns the revision)."""
    draft = open_draft(db, actor, ambito, KEY)
    xml = NAME.sub(rb"\g<1>" + change + rb'"', draft.files[MAIN], 1)
    assert xml != draft.files[MAIN]
    return save_diagram(db, actor, ambito, KEY, xml, draft.revision).revision


def _drop_closing_time(db: Session, actor: Actor, ambito: str | None) -> int:
    draft = open_draft(db, actor, ambito, KEY)
    assert LINE in draft.files[MAIN]
    return save_diagram(db, actor, ambito, KEY, draft.files[MAIN].replace(LINE, b""), draft.revision).revision


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_milano_publishes_its_first_variant_and_bergamo_keeps_the_regional_version(region: Session) -> None:
    db = region
    regional = resolve(db, KEY, None)
    revision = _edit(db, DIRECTOR_MI, "MILANO", b"Registra la chiusura (Milano)")
    bundles = _count(db, Bundle)
    plan = plan_publication(db, DIRECTOR_MI, "MILANO", KEY)
    assert _count(db, Bundle) == bundles  # the plan stores nothing
    assert plan.valid and plan.losses == [] and plan.changes
    assert [(v.key, v.version, v.created, v.first_variant) for v in plan.versions] == [(KEY, 1, True, True)]
    assert MAIN in plan.files and "inlav_percorso.bpmn" not in plan.files  # only the edited process's file
    assert db.scalars(select(ProcessDefinition).where(ProcessDefinition.ambito_code == "MILANO")).all() == []

    done = publish_draft(db, DIRECTOR_MI, "MILANO", KEY, "Nome più chiaro", revision=revision)
    assert done.created and [(v.key, v.version) for v in done.versions] == [(KEY, 1)]
    assert "Pubblicato per l'Ambito MILANO: inlav_chiusura v1" in done.message
    milano = resolve(db, KEY, "MILANO")
    assert (milano.ambito_code, milano.version) == ("MILANO", 1)
    assert resolve(db, KEY, "BERGAMO").id == regional.id  # Bergamo still runs the regional base
    assert resolve(db, "inlav_percorso", "MILANO").ambito_code is None  # other processes stay regional
    assert db.get(Bundle, done.bundle_id).note == "Nome più chiaro"  # type: ignore[union-attr]
    assert db.scalars(select(ProcessDraft)).all() == []  # the draft is closed
    log = db.scalars(select(OperationLog).where(OperationLog.action == "process.published")).one()
    after = json.loads(log.after_json or "{}")
    assert (log.actor, log.ambito_code, log.target_id) == ("dario", "MILANO", KEY)
    assert after["versioni"] == [{"processo": KEY, "versione": 1}] and after["nota"] == "Nome più chiaro"


def test_facts_lost_refuse_publishing_without_a_reason_and_the_reason_is_logged(region: Session) -> None:
    db = region
    _drop_closing_time(db, DIRECTOR_MI, "MILANO")
    plan = plan_publication(db, DIRECTOR_MI, "MILANO", KEY)
    assert [(loss.fact, [w.element for w in loss.where]) for loss in plan.losses] == [
        ("ts_chiusura", ["registra_chiusura"])
    ]
    with pytest.raises(FormInvalid) as refused:
        publish_draft(db, DIRECTOR_MI, "MILANO", KEY, "Senza ora di chiusura")
    assert "indicare il motivo" in refused.value.message
    reasons = refused.value.errors["motivo"]
    assert "«ts_chiusura»" in reasons[0] and "registra_chiusura" in reasons[0]
    with pytest.raises(FormInvalid) as short:
        publish_draft(db, DIRECTOR_MI, "MILANO", KEY, None, override_reason="  perché sì  ")
    assert "troppo breve" in short.value.message
    assert db.scalars(select(ProcessDefinition).where(ProcessDefinition.ambito_code == "MILANO")).all() == []

    done = publish_draft(db, DIRECTOR_MI, "MILANO", KEY, "Senza ora di chiusura", override_reason=REASON)
    assert done.created and done.override_reason == REASON and "motivo registrato" in done.message
    rows = db.scalars(select(OperationLog).where(OperationLog.action == "process.contract_override")).all()
    assert len(rows) == 1
    after = json.loads(rows[0].after_json or "{}")
    assert after["motivo"] == REASON and after["fatti_persi"][0]["fatto"] == "ts_chiusura"
    assert "registra_chiusura" in after["fatti_persi"][0]["dove"]
    note = db.get(Bundle, done.bundle_id).note  # type: ignore[union-attr]
    assert note is not None and note.startswith("Senza ora di chiusura\n") and REASON in note


def test_who_may_publish(region: Session) -> None:
    db = region
    _edit(db, DIRECTOR_MI, "MILANO", b"Chiusura di Milano")
    with pytest.raises(NotFound):  # another Ambito answers as an unknown one
        publish_draft(db, DIRECTOR_BG, "MILANO", KEY, None)
    with pytest.raises(NotFound):
        plan_publication(db, DIRECTOR_BG, "MILANO", KEY)
    with pytest.raises(Forbidden):  # an operator reads the studio, publishes nothing
        publish_draft(db, OPERATOR_MI, "MILANO", KEY, None)
    with pytest.raises(NotFound):  # the regional base needs a regional grant
        publish_draft(db, DIRECTOR_MI, None, KEY, None)
    assert _count(db, ProcessDefinition) == 7
    # Regional coordination publishes the base: version 2 for every Ambito without a variant.
    _edit(db, REGIONAL, None, b"Registra la chiusura del percorso")
    done = publish_draft(db, REGIONAL, None, KEY, "Nome regionale")
    assert [(v.key, v.version, v.first_variant) for v in done.versions] == [(KEY, 2, False)]
    assert resolve(db, KEY, "BERGAMO").version == 2 and resolve(db, KEY, "BERGAMO").ambito_code is None
    assert resolve(db, "inlav_percorso", None).version == 1  # the other regional processes are untouched
    # Milano's draft is still there, its own.
    assert open_draft(db, DIRECTOR_MI, "MILANO", KEY).saved


def test_a_version_never_changes_and_the_same_files_twice_create_nothing(region: Session) -> None:
    db = region
    _edit(db, DIRECTOR_MI, "MILANO", b"Prima versione")
    first = publish_draft(db, DIRECTOR_MI, "MILANO", KEY, "v1")
    v1 = resolve(db, KEY, "MILANO")
    spec, digest, files = v1.spec_json, v1.content_hash, _count(db, BundleFile)
    # Opening again starts from Milano's v1; publishing it unchanged creates nothing.
    again = publish_draft(db, DIRECTOR_MI, "MILANO", KEY, "di nuovo")
    assert not again.created and again.bundle_id is None and "Nessuna nuova versione" in again.message
    assert _count(db, BundleFile) == files and resolve(db, KEY, "MILANO").id == v1.id
    # A draft identical to the regional base gives Bergamo nothing new either (no empty variant).
    same = publish_draft(db, DIRECTOR_BG, "BERGAMO", KEY, None)
    assert (
        not same.created
        and db.scalars(select(ProcessDefinition).where(ProcessDefinition.ambito_code == "BERGAMO")).all() == []
    )
    # A new edit is a new version; the first one is as it was.
    _edit(db, DIRECTOR_MI, "MILANO", b"Seconda versione")
    second = publish_draft(db, DIRECTOR_MI, "MILANO", KEY, "v2")
    assert [(v.version, v.created) for v in second.versions] == [(2, True)] and second.bundle_id != first.bundle_id
    db.expire_all()
    kept = db.get(ProcessDefinition, v1.id)
    assert kept is not None and (kept.spec_json, kept.content_hash, kept.version) == (spec, digest, 1)
    assert b"Seconda versione" not in kept.spec_json.encode() and "Prima versione" in kept.spec_json


def test_an_invalid_draft_or_a_stale_revision_is_not_published(region: Session) -> None:
    db = region
    draft = open_draft(db, DIRECTOR_MI, "MILANO", KEY)
    broken = draft.files[MAIN].replace(b"esito_percorso = 'concluso'", b"esito_percorso = (")
    revision = save_diagram(db, DIRECTOR_MI, "MILANO", KEY, broken, 0).revision
    plan = plan_publication(db, DIRECTOR_MI, "MILANO", KEY)
    assert not plan.valid and plan.versions == []
    assert any(p.target == "registra_chiusura" for p in plan.problems)
    with pytest.raises(DefinitionError) as invalid:
        publish_draft(db, DIRECTOR_MI, "MILANO", KEY, None)
    assert "registra_chiusura" in invalid.value.message and "prima di pubblicarla" in invalid.value.message
    fixed = save_diagram(db, DIRECTOR_MI, "MILANO", KEY, draft.files[MAIN].replace(b"Registra", b"Annota"), revision)
    with pytest.raises(Conflict):  # the page showed revision 1; the draft is now at 2
        publish_draft(db, DIRECTOR_MI, "MILANO", KEY, None, revision=revision)
    assert publish_draft(db, DIRECTOR_MI, "MILANO", KEY, None, revision=fixed.revision).created


def test_texts_too_long_are_refused_by_field(region: Session) -> None:
    db = region
    _edit(db, DIRECTOR_MI, "MILANO", b"Chiusura")
    with pytest.raises(FormInvalid) as long:
        publish_draft(db, DIRECTOR_MI, "MILANO", KEY, "x" * 2001, override_reason="y" * 2001)
    assert set(long.value.errors) == {"nota", "motivo"}


def test_a_drawing_only_change_is_published_as_a_new_version_not_dropped(region: Session) -> None:
    """Moving a shape or adding a text annotation changes no executable step, but it is saved work:
    publishing it must make a version that shows it, never answer «identical» and close the draft."""
    db = region
    before = resolve(db, KEY, None)
    draft = open_draft(db, REGIONAL, None, KEY)
    moved = re.sub(
        rb'(<dc:Bounds x=")(\d+)', lambda m: m.group(1) + str(int(m.group(2)) + 40).encode(), draft.files[MAIN], count=1
    )
    moved = moved.replace(
        b"</bpmn:process>",
        b'<bpmn:textAnnotation id="nota_disegno"><bpmn:text>Nota per chi legge</bpmn:text></bpmn:textAnnotation>'
        b"</bpmn:process>",
        1,
    )
    assert moved != draft.files[MAIN]
    revision = save_diagram(db, REGIONAL, None, KEY, moved, draft.revision).revision
    plan = plan_publication(db, REGIONAL, None, KEY)
    assert plan.changes and [(v.version, v.created) for v in plan.versions] == [(2, True)]
    done = publish_draft(db, REGIONAL, None, KEY, "solo il disegno", revision=revision)
    assert done.created and "Nessuna nuova versione" not in done.message
    after = resolve(db, KEY, None)
    assert after.version == 2 and after.id != before.id
    shown = db.scalars(select(BundleFile).where(BundleFile.bundle_id == after.bundle_id, BundleFile.name == MAIN)).one()
    assert (
        shown.sha256
        != db.scalars(select(BundleFile).where(BundleFile.bundle_id == before.bundle_id, BundleFile.name == MAIN))
        .one()
        .sha256
    )
