"""Import and export of process models: Camunda and SpiffArena files, zips refused when unsafe, round trip."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from engine import Conflict, DefinitionError, NotFound
from engine.access import Actor
from engine.definitions import check_bundle, deploy_bundle
from engine.models import ProcessDraft
from engine.studio.transfer import (
    NO_LANE,
    apply_mapping,
    carry,
    export_version,
    import_draft,
    mapping_from_pairs,
    pack,
    plan_import,
    unpack,
    unpack_carried,
)
from tests.conftest import add_ambiti, bundle_files

DIRECTOR_MI = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
DIRECTOR_BG = Actor("bea", grants=frozenset({("direttore_pua", "BERGAMO")}))
REGIONAL = Actor("rita", grants=frozenset({("coordinamento_regionale", None)}))
OPERATOR_MI = Actor("olga", grants=frozenset({("operatore_contatto", "MILANO")}))

# A diagram as Camunda Modeler saves it: no lanes, candidate groups, a Camunda form and form fields.
CAMUNDA = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.0.0">
  <bpmn:process id="approva_spesa" name="Approvazione spesa" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" camunda:formKey="camunda-forms:app:start.form">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Approva" name="Approva la spesa" camunda:formKey="embedded:app:forms/approva.html"
        camunda:candidateGroups="management">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="approvata" label="Approvata?" type="boolean" />
          <camunda:formField id="importo" label="Importo" type="long" />
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="Registra" name="Registra" camunda:assignee="demo">
      <bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Approva" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Approva" targetRef="Registra" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Registra" targetRef="EndEvent_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="approva_spesa">
      <bpmndi:BPMNShape id="S_start" bpmnElement="StartEvent_1"><dc:Bounds x="152" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="S_approva" bpmnElement="Approva"><dc:Bounds x="240" y="80" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="S_registra" bpmnElement="Registra"><dc:Bounds x="400" y="80" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="S_end" bpmnElement="EndEvent_1"><dc:Bounds x="562" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="E_1" bpmnElement="Flow_1"><di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="E_2" bpmnElement="Flow_2"><di:waypoint x="340" y="120" /><di:waypoint x="400" y="120" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="E_3" bpmnElement="Flow_3"><di:waypoint x="500" y="120" /><di:waypoint x="562" y="120" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

SERVICE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="invia" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:serviceTask id="Chiama" name="Chiama il servizio" camunda:class="org.example.Chiama" />
    <bpmn:endEvent id="e" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Chiama" />
    <bpmn:sequenceFlow id="f2" sourceRef="Chiama" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""


def _spiff(process_id: str, lane: str, form: str, call: str | None = None) -> bytes:
    """A diagram as SpiffArena's editor saves it: a lane, a user task with a JSON-Schema form, maybe a call."""
    called = (
        f'<bpmn:callActivity id="chiama_{call}" calledElement="{call}" />'
        f'<bpmn:sequenceFlow id="f3" sourceRef="compila" targetRef="chiama_{call}" />'
        f'<bpmn:sequenceFlow id="f4" sourceRef="chiama_{call}" targetRef="fine" />'
        if call
        else '<bpmn:sequenceFlow id="f3" sourceRef="compila" targetRef="fine" />'
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d_{process_id}"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{process_id}" name="Processo {process_id}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="{lane}"><bpmn:flowNodeRef>compila</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="inizio" />
    <bpmn:userTask id="compila" name="Compila">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="{form}" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="fine" />
    <bpmn:sequenceFlow id="f1" sourceRef="inizio" targetRef="compila" />
    {called}
  </bpmn:process>
</bpmn:definitions>
""".encode()


def _form(title: str) -> bytes:
    schema = {"title": title, "type": "object", "properties": {"nota": {"type": "string", "title": "Nota"}}}
    return json.dumps(schema).encode()


def _model(display: str, primary_file: str, primary_id: str) -> bytes:
    return json.dumps(
        {
            "display_name": display,
            "description": f"{display} (SpiffArena)",
            "primary_file_name": primary_file,
            "primary_process_id": primary_id,
            "files": [],
        }
    ).encode()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


TWO_FOLDERS = {
    "gruppo/richiesta/process_model.json": _model("Richiesta", "richiesta.bpmn", "richiesta"),
    "gruppo/richiesta/richiesta.bpmn": _spiff("richiesta", "Process Initiator", "modulo.json", call="verifica"),
    "gruppo/richiesta/modulo.json": _form("Richiesta"),
    "gruppo/verifica/process_model.json": _model("Verifica", "verifica.bpmn", "verifica"),
    "gruppo/verifica/verifica.bpmn": _spiff("verifica", "reviewers", "modulo.json"),
    "gruppo/verifica/modulo.json": _form("Verifica"),
    "gruppo/process_group.json": b'{"display_name": "Gruppo"}',
}


@pytest.fixture
def ambiti(db):  # type: ignore[no-untyped-def]
    add_ambiti(db, "MILANO", "BERGAMO")
    return db


# --------------------------------------------------------------------------- Camunda


def test_a_camunda_diagram_lists_groups_forms_and_assignees_and_maps_to_roles_that_deploy(ambiti) -> None:
    db = ambiti
    unpacked = unpack([("approva.bpmn", CAMUNDA)])
    plan = plan_import(db, unpacked, "MILANO")
    assert plan.primary == "approva_spesa" and plan.name == "Approvazione spesa"
    names = {(n.name, n.source): n for n in plan.names}
    assert names[("management", "gruppo candidato")].elements == ("Approva",)
    assert names[("management", "gruppo candidato")].role is None
    assert names[(NO_LANE, "senza corsia")].elements == ("Registra",)
    where = {(f.element, f.message) for f in plan.findings}
    assert (
        "Approva",
        "il modulo «embedded:app:forms/approva.html» è un modulo Camunda, che la piattaforma non mostra",
    ) in where
    assert ("Registra", "l'assegnazione alla persona «demo» non è usata") in where
    assert any(f.element == "Approva" and "corsia" in f.message and "procedura guidata" in f.fix for f in plan.findings)
    assert plan.forms_missing == ["Approva", "Registra"]

    mapping = {"management": "direttore_pua", NO_LANE: "operatore_contatto"}
    planned = plan_import(db, unpack([("approva.bpmn", CAMUNDA)]), "MILANO", mapping, make_forms=True)
    assert not [f for f in planned.findings if "corsia" in f.message or "non ha un modulo" in f.message]
    draft = import_draft(db, DIRECTOR_MI, "MILANO", planned, mapping, make_forms=True)
    assert (draft.process_key, draft.main_file, draft.revision, draft.saved) == (
        "approva_spesa",
        "approva.bpmn",
        1,
        True,
    )
    xml = draft.files["approva.bpmn"]
    assert b'camunda:formKey="embedded:app:forms/approva.html"' in xml, "what the platform cannot run stays"
    assert b"Direttore PUA" in xml and b"Operatore di contatto" in xml
    form = json.loads(draft.files["Approva.schema.json"])
    assert form["properties"]["approvata"]["type"] == "boolean" and form["properties"]["importo"]["type"] == "integer"
    result = deploy_bundle(db, draft.files, "MILANO", "dario")
    assert [d.process_key for d in result.definitions] == ["approva_spesa"]


def test_a_lane_added_for_tasks_without_one_goes_where_the_bpmn_schema_wants_it() -> None:
    # In a process, laneSet comes after the elements of a callable element (ioSpecification…).
    xml = CAMUNDA.replace(
        b'isExecutable="true">',
        b'isExecutable="true"><bpmn:documentation>Spese</bpmn:documentation>'
        b'<bpmn:ioSpecification id="io"><bpmn:inputSet id="i" /><bpmn:outputSet id="o" /></bpmn:ioSpecification>',
    )
    mapping = {"management": "direttore_pua", NO_LANE: "operatore_contatto"}
    plan = plan_import(None, unpack([("approva.bpmn", xml)]), None, mapping, make_forms=True)
    assert [f.message for f in plan.findings if "schema BPMN" in f.message] == []
    assert check_bundle(None, apply_mapping(plan.files, mapping, True)).ok


def test_what_cannot_run_is_listed_with_a_fix_and_kept_in_the_draft(ambiti) -> None:
    db = ambiti
    plan = plan_import(db, unpack([("invia.bpmn", SERVICE)]), "MILANO")
    found = [f for f in plan.findings if f.element == "Chiama"]
    assert any("service task" in f.message and "messaggio" in f.fix for f in found)
    assert any("classe Java «org.example.Chiama»" in f.message for f in found)
    draft = import_draft(db, DIRECTOR_MI, "MILANO", plan, {})
    assert draft.files["invia.bpmn"] == SERVICE, "nothing to map: the file is stored as uploaded"
    assert not check_bundle(db, draft.files, "MILANO").ok


# --------------------------------------------------------------------------- SpiffArena folders


def test_two_spiffarena_folders_merge_with_colliding_names_renamed_and_the_call_resolved(ambiti) -> None:
    db = ambiti
    plan = plan_import(db, unpack([("gruppo.zip", _zip(TWO_FOLDERS))]), "MILANO")
    assert [label for _, label in plan.folders] == ["Richiesta", "Verifica"]
    assert (plan.primary, plan.name, plan.description) == ("richiesta", "Richiesta", "Richiesta (SpiffArena)")
    assert plan.renamed == [("gruppo/gruppo/verifica", "modulo.json", "verifica-modulo.json")]
    assert sorted(plan.files) == ["modulo.json", "richiesta.bpmn", "verifica-modulo.json", "verifica.bpmn"]
    assert b'value="verifica-modulo.json"' in plan.files["verifica.bpmn"]
    assert plan.files["richiesta.bpmn"] == TWO_FOLDERS["gruppo/richiesta/richiesta.bpmn"]
    assert json.loads(plan.files["verifica-modulo.json"])["title"] == "Verifica"
    assert [(c.target, c.where is not None) for c in plan.calls] == [("verifica", True)]
    assert "Verifica" in (plan.calls[0].where or "")
    assert {n.name for n in plan.names if n.role is None} == {"Process Initiator", "reviewers"}
    assert "gruppo/process_group.json" in " ".join(plan.ignored)

    mapping = mapping_from_pairs([("ruolo_0", "operatore_contatto"), ("ruolo_1", "direttore_pua")], plan)
    assert mapping == {plan.names[0].name: "operatore_contatto", plan.names[1].name: "direttore_pua"}
    draft = import_draft(db, DIRECTOR_MI, "MILANO", plan, mapping)
    assert draft.process_key == "richiesta" and draft.main_file == "richiesta.bpmn"
    assert "Corsia importata con il nome «reviewers»" in draft.files["verifica.bpmn"].decode()
    result = deploy_bundle(db, draft.files, "MILANO", "dario")
    assert sorted(d.process_key for d in result.definitions) == ["richiesta", "verifica"]


def test_folders_without_process_model_json_are_told_apart_too() -> None:
    plain = {k.replace("/process_model.json", "/leggimi.txt"): v for k, v in TWO_FOLDERS.items()}
    plan = plan_import(None, unpack([("gruppo.zip", _zip(plain))]))
    assert sorted(plan.files) == ["modulo.json", "richiesta.bpmn", "verifica-modulo.json", "verifica.bpmn"]
    assert plan.primary == "richiesta", "the process nobody calls"


def test_the_plan_page_carries_the_upload_back_unchanged() -> None:
    unpacked = unpack([("gruppo.zip", _zip(TWO_FOLDERS)), ("approva.bpmn", CAMUNDA)])
    first = plan_import(None, unpacked)
    again = plan_import(
        None, unpack_carried(carry(unpack([("gruppo.zip", _zip(TWO_FOLDERS)), ("approva.bpmn", CAMUNDA)])))
    )
    assert again.files == first.files and again.primary == first.primary and again.names == first.names
    assert [label for _, label in again.folders] == [label for _, label in first.folders]
    with pytest.raises(DefinitionError):
        unpack_carried("non è base64")


def test_a_call_to_a_process_already_published_is_found(ambiti) -> None:
    db = ambiti
    deploy_bundle(
        db,
        {"verifica.bpmn": _spiff("verifica", "operatore_contatto", "modulo.json"), "modulo.json": _form("V")},
        None,
        "rita",
    )
    only = {k: v for k, v in TWO_FOLDERS.items() if "/richiesta/" in k}
    plan = plan_import(db, unpack([("richiesta.zip", _zip(only))]), "MILANO")
    assert [(c.target, c.where) for c in plan.calls] == [("verifica", "già pubblicato")]
    plan = plan_import(None, unpack([("richiesta.zip", _zip(only))]))
    assert [(c.target, c.where) for c in plan.calls] == [("verifica", None)]
    assert any("«verifica», che non esiste" in f.message for f in plan.findings)


def test_an_unknown_role_in_the_wizard_is_refused_in_italian() -> None:
    plan = plan_import(None, unpack([("gruppo.zip", _zip(TWO_FOLDERS))]))
    with pytest.raises(DefinitionError) as err:
        mapping_from_pairs([("ruolo_0", "amministratore")], plan)
    assert "ruolo sconosciuto scelto per «Process Initiator»" in str(err.value.problems[0])


# --------------------------------------------------------------------------- unsafe uploads


@pytest.mark.parametrize("path", ["../fuori.bpmn", "/etc/assoluto.bpmn", "a/../../fuori.bpmn", "C:/windows.bpmn"])
def test_a_zip_whose_path_leaves_the_archive_is_refused(path: str) -> None:
    with pytest.raises(DefinitionError) as err:
        unpack([("pacchetto.zip", _zip({path: SERVICE}))])
    assert "percorso non ammesso nell'archivio" in str(err.value.problems[0])


def test_a_zip_bomb_is_refused_before_it_is_expanded() -> None:
    bomb = _zip({"bomba.bpmn": b"<a>" + b" " * 1_900_000 + b"</a>"})
    assert len(bomb) < 10_000
    with pytest.raises(DefinitionError) as err:
        unpack([("bomba.zip", bomb)])
    assert "zip bomb" in str(err.value.problems[0])
    big = _zip({"grande.bpmn": b"<a>" + b" " * 3_000_000 + b"</a>"})
    with pytest.raises(DefinitionError) as err:
        unpack([("grande.zip", big)])
    assert "troppo grande" in str(err.value.problems[0])


def test_a_zip_that_lies_about_its_sizes_is_refused() -> None:
    content = _zip({"x.bpmn": b"<a>" + bytes(range(256)) * 40 + b"</a>"})
    # Declared size patched down in both headers: reading stops at the limit, not at the claim.
    real = (10_247).to_bytes(4, "little")
    assert content.count(real) == 2
    lying = content.replace(real, (500).to_bytes(4, "little"))
    with pytest.raises(DefinitionError) as err:
        unpack([("bugiardo.zip", lying)], max_bytes=1_000)
    assert "la voce «x.bpmn» non si può leggere (archivio danneggiato)" in str(err.value.problems[0])


def test_other_bad_uploads_get_italian_messages() -> None:
    cases = [
        ([("rotto.zip", b"PK\x03\x04 non e' uno zip")], "l'archivio zip non è valido o è danneggiato"),
        ([("foto.png", b"\x89PNG")], "tipo di file non supportato"),
        ([("vuoto.zip", _zip({"leggimi.txt": b"ciao"}))], "nessun file .bpmn o .dmn trovato"),
        ([("latino.bpmn", '<?xml version="1.0" encoding="ISO-8859-1"?><a>è</a>'.encode("latin-1"))], "UTF-8"),
    ]
    for uploads, message in cases:
        with pytest.raises(DefinitionError) as err:
            unpack(uploads)
        assert message in str(err.value.problems[0])


def test_malformed_and_hostile_xml_is_listed_not_raised() -> None:
    broken = b'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
    plan = plan_import(None, unpack([("rotto.bpmn", broken)]))
    assert plan.primary is None
    assert any(f.file == "rotto.bpmn" and "XML non valido alla riga 1" in f.message for f in plan.findings)
    entity = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    plan = plan_import(None, unpack([("entita.bpmn", entity)]))
    assert any("DTD, entità e riferimenti esterni sono vietati" in f.message for f in plan.findings)


# --------------------------------------------------------------------------- export and round trip


def test_export_then_import_gives_back_the_same_files(ambiti) -> None:
    db = ambiti
    deployed = deploy_bundle(db, bundle_files(), None, "rita", "Base")
    definition = next(d for d in deployed.definitions if d.process_key == "sample_case")
    exported = export_version(db, REGIONAL, None, "sample_case", definition.id)
    assert exported.filename == "sample_case-v1.zip"
    assert exported.content == export_version(db, REGIONAL, None, "sample_case", definition.id).content
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        meta = json.loads(archive.read("process_model.json"))
        assert all(archive.read(name) == data for name, data in bundle_files().items())
    assert (meta["primary_process_id"], meta["primary_file_name"]) == ("sample_case", "sample_case.bpmn")
    assert meta["description"].startswith("Versione 1 del modello regionale, pubblicata il ") and meta["display_name"]
    spiffarena_keys = {  # ProcessModelInfo refuses any other key
        "display_name",
        "description",
        "primary_file_name",
        "primary_process_id",
        "is_executable",
        "fault_or_suspend_on_exception",
        "exception_notification_addresses",
        "metadata_extraction_paths",
        "files",
        "display_order",
        "process_group",
        "parent_groups",
        "bpmn_version_control_identifier",
        "actions",
    }
    assert set(meta) <= spiffarena_keys

    plan = plan_import(db, unpack([(exported.filename, exported.content)]), "MILANO")
    assert plan.files == bundle_files() and plan.primary == "sample_case"
    assert all(n.role for n in plan.names) and apply_mapping(plan.files, plan.default_mapping()) == bundle_files()
    draft = import_draft(db, DIRECTOR_MI, "MILANO", plan, plan.default_mapping())
    assert draft.files == bundle_files()
    assert draft.base_definition_id == definition.id, "the draft continues the version the scope sees"
    assert pack(draft.files) == pack(bundle_files())


def test_export_needs_read_access_to_the_scope(ambiti) -> None:
    db = ambiti
    deployed = deploy_bundle(db, bundle_files(), "MILANO", "dario")
    definition = deployed.definitions[0]
    with pytest.raises(NotFound):
        export_version(db, DIRECTOR_BG, "MILANO", definition.process_key, definition.id)
    with pytest.raises(NotFound):
        export_version(db, DIRECTOR_MI, "MILANO", definition.process_key, definition.id + 999)


# --------------------------------------------------------------------------- permission and existing drafts


def test_importing_needs_process_edit_in_the_scope_and_never_overwrites_a_draft(ambiti) -> None:
    db = ambiti
    plan = plan_import(db, unpack([("invia.bpmn", SERVICE)]), "MILANO")
    with pytest.raises(NotFound):
        import_draft(db, DIRECTOR_BG, "MILANO", plan, {})
    with pytest.raises(NotFound):
        import_draft(db, DIRECTOR_MI, None, plan, {})
    with pytest.raises(Exception) as err:
        import_draft(db, OPERATOR_MI, "MILANO", plan, {})
    assert type(err.value).__name__ in {"Forbidden", "NotFound"}
    assert db.scalars(select(ProcessDraft)).all() == []
    import_draft(db, DIRECTOR_MI, "MILANO", plan, {})
    with pytest.raises(Conflict) as conflict:
        import_draft(db, DIRECTOR_MI, "MILANO", plan, {})
    assert "Esiste già una bozza del processo «invia»" in str(conflict.value)


def test_expressions_written_for_other_engines_are_listed_with_a_fix() -> None:
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="attese" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:intermediateCatchEvent id="Attendi"><bpmn:timerEventDefinition id="T1">
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">timedelta(seconds=30)</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="Scegli" default="altrimenti" />
    <bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Attendi" />
    <bpmn:sequenceFlow id="f2" sourceRef="Attendi" targetRef="Scegli" />
    <bpmn:sequenceFlow id="grande" sourceRef="Scegli" targetRef="e1">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${importo &gt; 1000}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="altrimenti" sourceRef="Scegli" targetRef="e2" />
  </bpmn:process>
</bpmn:definitions>
"""
    xml = xml.replace(
        b'<bpmn:startEvent id="s" />',
        b'<bpmn:startEvent id="s"><bpmn:messageEventDefinition id="M1" /></bpmn:startEvent>',
    )
    plan = plan_import(None, unpack([("attese.bpmn", xml)]))
    found = {(f.element, f.fix) for f in plan.findings}
    assert (
        "Attendi",
        'scrivere una durata o data ISO 8601 tra virgolette, per esempio "PT30S" o "2026-01-31T09:00:00Z"',
    ) in found
    assert ("grande", "riscriverla in Python (per esempio ${importo > 1000} diventa importo > 1000)") in found
    assert any(f.element == "s" and "non indica quale messaggio (messageRef)" in f.message for f in plan.findings)
