"""Comparing two versions of a process: which two a person may compare, and the form and decision differences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import NotFound
from engine.access import Actor
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.studio import catalogue, compare_fields, compare_forms, comparison
from tests.conftest import add_ambiti

ROOT = Path(__file__).resolve().parents[2]
DIRECTOR_MI = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
DIRECTOR_BG = Actor("bea", grants=frozenset({("direttore_pua", "BERGAMO")}))
REGIONAL = Actor("rita", grants=frozenset({("coordinamento_regionale", None)}))

NEW_TASK = "colloquio_milano"
NEW_TASK_NAME = "Colloquio di restituzione del piano"
NEW_FIELD = "lingua_colloquio"
NEW_FIELD_LABEL = "Lingua del colloquio"
NEW_CONDITION = "esito_approvazione_pip in ('da_rivedere', 'da_integrare')"
NEW_SCRIPT_LINE = "pip_milano = True"


def regional_files() -> dict[str, bytes]:
    """The regional base model: every process, decision and form."""
    return read_bundle_paths([ROOT / "processes", ROOT / "forms" / "schemas"])


def milano_pip_variant(files: dict[str, bytes]) -> dict[str, bytes]:
    """A Milano variant of «inlav_pip» built from the regional files.

    It adds a user task (with a form of its own) before the end, widens the condition of the
    «da rivedere» flow, adds a line to the script of «Aggiorna il piano», moves the approval
    gateway to another lane and adds a field to the PIP form.
    """
    variant = dict(files)
    bpmn = files["inlav_pip.bpmn"].decode("utf-8")
    task = (
        f'    <bpmn:userTask id="{NEW_TASK}" name="{NEW_TASK_NAME}">\n'
        "      <bpmn:extensionElements>\n"
        "        <spiffworkflow:properties>\n"
        '          <spiffworkflow:property name="formJsonSchemaFilename" value="colloquio_milano.schema.json"/>\n'
        "        </spiffworkflow:properties>\n"
        "      </bpmn:extensionElements>\n"
        "    </bpmn:userTask>\n"
        f'    <bpmn:sequenceFlow id="f_colloquio" sourceRef="{NEW_TASK}" targetRef="fine_pip"/>\n'
    )
    replacements = [
        (
            '<bpmn:sequenceFlow id="f_piano_aggiornato" sourceRef="aggiorna_piano" targetRef="fine_pip"/>',
            f'<bpmn:sequenceFlow id="f_piano_aggiornato" sourceRef="aggiorna_piano" targetRef="{NEW_TASK}"/>\n{task}',
        ),
        (
            "<bpmn:flowNodeRef>prepara_interventi</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>prepara_interventi</bpmn:flowNodeRef>\n"
            f"        <bpmn:flowNodeRef>{NEW_TASK}</bpmn:flowNodeRef>",
        ),
        ("esito_approvazione_pip == 'da_rivedere'", NEW_CONDITION.replace("'", "&apos;")),
        # The approval gateway moves to the tutor's lane (membership only: the drawing stays).
        ("        <bpmn:flowNodeRef>gw_pip_approvato</bpmn:flowNodeRef>\n", ""),
        (
            "<bpmn:flowNodeRef>piano_reinserimento</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>piano_reinserimento</bpmn:flowNodeRef>\n"
            "        <bpmn:flowNodeRef>gw_pip_approvato</bpmn:flowNodeRef>",
        ),
        (
            "<bpmn:script>interventi = interventi + interventi_proposti",
            f"<bpmn:script>interventi = interventi + interventi_proposti\n{NEW_SCRIPT_LINE}",
        ),
        (
            '<bpmndi:BPMNEdge id="f_piano_aggiornato_di" bpmnElement="f_piano_aggiornato">\n'
            '        <di:waypoint x="1330" y="130"/>\n'
            '        <di:waypoint x="1412" y="130"/>\n'
            "      </bpmndi:BPMNEdge>",
            '<bpmndi:BPMNShape id="colloquio_milano_di" bpmnElement="colloquio_milano">\n'
            '        <dc:Bounds x="1230" y="255" width="100" height="80"/>\n'
            "      </bpmndi:BPMNShape>\n"
            '      <bpmndi:BPMNEdge id="f_piano_aggiornato_di" bpmnElement="f_piano_aggiornato">\n'
            '        <di:waypoint x="1280" y="170"/>\n'
            '        <di:waypoint x="1280" y="255"/>\n'
            "      </bpmndi:BPMNEdge>\n"
            '      <bpmndi:BPMNEdge id="f_colloquio_di" bpmnElement="f_colloquio">\n'
            '        <di:waypoint x="1330" y="295"/>\n'
            '        <di:waypoint x="1430" y="295"/>\n'
            '        <di:waypoint x="1430" y="148"/>\n'
            "      </bpmndi:BPMNEdge>",
        ),
    ]
    for old, new in replacements:
        assert bpmn.count(old) == 1, old
        bpmn = bpmn.replace(old, new)
    variant["inlav_pip.bpmn"] = bpmn.encode("utf-8")
    pip = json.loads(files["pip.schema.json"])
    pip["properties"][NEW_FIELD] = {"type": "string", "title": NEW_FIELD_LABEL, "enum": ["italiano", "inglese"]}
    variant["pip.schema.json"] = json.dumps(pip, ensure_ascii=False, indent=2).encode("utf-8")
    ui = json.loads(files["pip.uischema.json"])
    ui["ui:order"].append(NEW_FIELD)
    variant["pip.uischema.json"] = json.dumps(ui, ensure_ascii=False, indent=2).encode("utf-8")
    colloquio = {
        "type": "object",
        "title": NEW_TASK_NAME,
        "required": ["esito_colloquio"],
        "properties": {"esito_colloquio": {"type": "string", "title": "Com'è andato il colloquio", "maxLength": 500}},
    }
    variant["colloquio_milano.schema.json"] = json.dumps(colloquio, ensure_ascii=False).encode("utf-8")
    return variant


@pytest.fixture
def model(db):  # type: ignore[no-untyped-def]
    """The regional model deployed and a Milano variant of «inlav_pip»; returns (regional id, variant id)."""
    add_ambiti(db, "MILANO", "BERGAMO")
    files = regional_files()
    deploy_bundle(db, files, None, "rita", "Modello regionale")
    deploy_bundle(db, milano_pip_variant(files), "MILANO", "dario", "Variante di Milano")
    entry = catalogue(db, DIRECTOR_MI, "MILANO", "inlav_pip").processes[0]
    return db, entry.base[0].definition_id, entry.variant[0].definition_id


def test_the_shortcut_compares_the_newest_variant_with_the_newest_regional_version(model) -> None:
    db, regional, variant = model
    result = comparison(db, DIRECTOR_MI, "MILANO", "inlav_pip", None, None)
    assert result.regional_base
    assert (result.old.version.definition_id, result.new.version.definition_id) == (regional, variant)
    assert result.old.label == "v1 · modello regionale" and result.new.label.startswith("v1 · variante di ")
    assert NEW_TASK in result.new.xml and NEW_TASK not in result.old.xml
    assert not result.identical_files
    # Asked explicitly in the other direction, it is not the shortcut.
    reverse = comparison(db, DIRECTOR_MI, "MILANO", "inlav_pip", variant, regional)
    assert not reverse.regional_base and reverse.old.version.definition_id == variant


def test_forms_differ_field_by_field_and_are_mapped_to_their_tasks(model) -> None:
    db, _regional, _variant = model
    result = comparison(db, DIRECTOR_MI, "MILANO", "inlav_pip", None, None)
    by_file = {f.file_name: f for f in result.forms}
    assert set(by_file) == {"pip.schema.json", "colloquio_milano.schema.json"}
    added = by_file["colloquio_milano.schema.json"]
    assert added.change == "added" and added.tasks == [(NEW_TASK, NEW_TASK_NAME)]
    pip = by_file["pip.schema.json"]
    assert pip.change == "changed" and pip.tasks == [("redigi_pip", "Redigi il PIP")]
    assert [(f.path, f.label, f.change) for f in pip.fields] == [(NEW_FIELD, NEW_FIELD_LABEL, "added")]
    assert "opzioni: italiano, inglese" in pip.fields[0].details
    assert result.decisions == []  # the variant keeps the regional decisions


def test_field_changes_are_described_in_italian() -> None:
    old = {
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": {"type": "string", "title": "Nome"},
            "b": {"type": "string", "enum": ["x", "y"], "title": "Scelta"},
            "c": {"type": "string", "format": "date", "title": "Data"},
            "d": {"type": "string", "title": "Vecchio"},
            "gruppo": {
                "type": "array",
                "title": "Righe",
                "items": {"type": "object", "properties": {"e": {"type": "string", "title": "E"}}},
            },
        },
    }
    new = json.loads(json.dumps(old))
    new["required"] = []
    new["properties"]["a"]["title"] = "Nome completo"
    new["properties"]["a"]["description"] = "Come lo scrive la persona"
    new["properties"]["b"]["enum"] = ["x", "z"]
    new["properties"]["c"]["formatMinimum"] = "2024-01-01"
    del new["properties"]["d"]
    new["properties"]["gruppo"]["items"]["properties"]["e"]["type"] = "integer"
    changes = {c.path: c for c in compare_fields(old, None, new, None)}
    assert set(changes) == {"a", "b", "c", "d", "gruppo.e"}
    assert changes["a"].details == [
        "etichetta: «Nome» → «Nome completo»",
        "ora facoltativo",
        "testo di aiuto: (nessuno) → «Come lo scrive la persona»",
    ]
    assert changes["b"].details == ["opzioni aggiunte: z", "opzioni tolte: y"]
    assert changes["c"].details == ["regola «formatMinimum»: (nessuno) → «2024-01-01»"]
    assert changes["d"].change == "removed" and changes["d"].label == "Vecchio"
    assert changes["gruppo.e"].label == "Righe › E" and changes["gruppo.e"].details[0] == "tipo: testo breve → numero"
    assert compare_fields(old, None, json.loads(json.dumps(old)), None) == []


def test_a_form_whose_fields_only_change_order_is_reported() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}
    files = {"f.schema.json": ("json", "1", json.dumps(schema)), "f.ui.json": ("json", "2", '{"ui:order": ["a", "b"]}')}
    moved = dict(files, **{"f.ui.json": ("json", "3", '{"ui:order": ["b", "a"]}')})
    tasks = {"f.schema.json": ("f.ui.json", [("t", "Compito")])}
    [change] = compare_forms(tasks, files, tasks, moved)
    assert (change.change, change.details, change.fields) == ("changed", ["ordine dei campi cambiato"], [])
    assert compare_forms(tasks, files, tasks, dict(files)) == []
    # A field added at the end is not a change of order.
    longer = dict(schema, properties={**schema["properties"], "c": {"type": "string"}})
    grown = dict(files, **{"f.schema.json": ("json", "4", json.dumps(longer))})
    [change] = compare_forms(tasks, files, tasks, grown)
    assert change.details == [] and [f.path for f in change.fields] == ["c"]


def test_a_changed_decision_table_is_reported_by_rule_counts(db) -> None:  # type: ignore[no-untyped-def]
    add_ambiti(db, "MILANO")
    files = regional_files()
    deploy_bundle(db, files, None, "rita", "Modello regionale")
    dmn = files["inlav_ammissibilita.dmn"].decode("utf-8")
    start = dmn.index("<rule ")
    end = dmn.index("</rule>", start) + len("</rule>")
    variant = dict(files)
    variant["inlav_ammissibilita.dmn"] = (dmn[:start] + dmn[end:]).encode("utf-8")  # the first rule dropped
    deploy_bundle(db, variant, "MILANO", "dario", "Accesso più ampio")
    keys = [p.key for p in catalogue(db, DIRECTOR_MI, "MILANO").processes if p.variant]
    callers = [k for k in keys if comparison(db, DIRECTOR_MI, "MILANO", k, None, None).decisions]
    assert callers, keys
    change = comparison(db, DIRECTOR_MI, "MILANO", callers[0], None, None).decisions[0]
    assert change.decision == "ammissibilita" and change.change == "changed"
    rules = dmn.count("<rule ")
    assert f"regole: {rules} → {rules - 1}" in change.details


def test_versions_outside_the_persons_reach_are_not_found(model) -> None:
    db, regional, variant = model
    # Bergamo's director may not open Milano's studio, nor name Milano's variant from her own.
    with pytest.raises(NotFound):
        comparison(db, DIRECTOR_BG, "MILANO", "inlav_pip", regional, variant)
    with pytest.raises(NotFound, match="non trovata"):
        comparison(db, DIRECTOR_BG, "BERGAMO", "inlav_pip", regional, variant)
    # The regional view holds the base only.
    with pytest.raises(NotFound):
        comparison(db, REGIONAL, None, "inlav_pip", regional, variant)
    # Bergamo has no variant and a single regional version: nothing to compare by default.
    with pytest.raises(NotFound, match="una sola versione"):
        comparison(db, DIRECTOR_BG, "BERGAMO", "inlav_pip", None, None)
    with pytest.raises(NotFound, match="non trovata"):
        comparison(db, DIRECTOR_MI, "MILANO", "inlav_pip", regional, None)
    # The regional coordination reads Milano's studio, so it may compare there.
    assert comparison(db, REGIONAL, "MILANO", "inlav_pip", regional, variant).forms
