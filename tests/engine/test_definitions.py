"""Deployment: parse, lint with located errors, immutable content-hashed versions, Ambito fallback."""

from __future__ import annotations

import json

import pytest

from engine import DefinitionError, NotFound, check_bundle, resolve
from engine.definitions import form_schema
from tests import builders
from tests.conftest import add_ambiti, bundle_files, deploy


def problems_of(db, files: dict[str, bytes], ambito: str | None = None) -> list[tuple[str | None, str | None, str]]:
    check = check_bundle(db, files, ambito)
    return [(p.file, p.element, p.message) for p in check.problems]


def test_deploy_creates_versions_only_for_changed_content(db) -> None:
    add_ambiti(db)
    first = deploy(db)
    assert first.created and {(d.process_key, d.version, d.created) for d in first.definitions} == {
        ("sample_case", 1, True),
        ("sample_servizi", 1, True),
    }
    again = deploy(db)
    assert not again.created and again.bundle_id == first.bundle_id
    files = bundle_files()
    schema = json.loads(files["eroga.schema.json"])
    schema["properties"]["esito"]["description"] = "Descrivere l'esito"
    files["eroga.schema.json"] = json.dumps(schema).encode()
    changed = deploy(db, files=files)
    versions = {d.process_key: (d.version, d.created) for d in changed.definitions}
    # Only the process whose form changed gets a new version.
    assert versions == {"sample_case": (1, False), "sample_servizi": (2, True)}
    assert resolve(db, "sample_servizi", None).version == 2
    new_form = form_schema(db, resolve(db, "sample_servizi", None).id, "eroga.schema.json")
    old_form = form_schema(db, first.definitions[1].id, "eroga.schema.json")
    assert "description" in new_form["properties"]["esito"] and "description" not in old_form["properties"]["esito"]


def test_ambito_variant_wins_and_region_is_the_fallback(db) -> None:
    add_ambiti(db, "MILANO", "LECCO")
    deploy(db)
    files = bundle_files()
    files["sample_case.bpmn"] = files["sample_case.bpmn"].replace(b"Caso di esempio", b"Caso di Milano")
    deploy(db, ambito="MILANO", files=files)
    assert resolve(db, "sample_case", "MILANO").name == "Caso di Milano"
    assert resolve(db, "sample_case", "MILANO").ambito_code == "MILANO"
    assert resolve(db, "sample_case", "LECCO").ambito_code is None
    with pytest.raises(NotFound, match="nessuna_tale"):
        resolve(db, "nessuna_tale", "LECCO")
    with pytest.raises(DefinitionError, match="Ambito sconosciuto"):
        deploy(db, ambito="ATLANTIDE")


def test_every_problem_names_file_element_and_cause(db) -> None:
    files = bundle_files()
    case = files["sample_case.bpmn"].decode()
    case = case.replace("<bpmn:flowNodeRef>chiusura</bpmn:flowNodeRef>", "")  # chiusura leaves its lane
    case = case.replace('name="direttore_pua"', 'name="Capo cantiere"')  # unknown role
    case = case.replace("priorita == 'alta'", "__import__('os').system('id')")
    case = case.replace("esiti_positivi = len(", "esiti_positivi = len((")  # syntax error
    case = case.replace('value="chiusura.schema.json"', 'value="manca.schema.json"')
    case = case.replace('calledElement="sample_servizi"', 'calledElement="non_esiste"')
    case = case.replace('"dueIn" value="P2D"', '"dueIn" value="due giorni"')
    files["sample_case.bpmn"] = case.encode()
    files["approva.schema.json"] = b'{"type": "object", "properties": {"approvato": {"type": "booleano"}}}'
    found = problems_of(db, files)
    expected = [
        ("sample_case.bpmn", "chiusura", "non è in nessuna corsia"),
        ("sample_case.bpmn", "approva", "«Capo cantiere» non corrisponde a nessun ruolo"),
        ("sample_case.bpmn", "gw_priorita → approva", '"__import__" non è consentito'),
        ("sample_case.bpmn", "conta", "errore di sintassi"),
        ("sample_case.bpmn", "chiusura", "«manca.schema.json» non è nel pacchetto"),
        ("sample_case.bpmn", "servizi", "«non_esiste», che non esiste"),
        ("sample_case.bpmn", "registra", "la scadenza (dueIn) non è valida"),
        ("approva.schema.json", None, "il tipo «booleano» non esiste"),
    ]
    for file, element, text in expected:
        assert any(f == file and e == element and text in m for f, e, m in found), (file, element, text, found)


def test_timer_literals_and_dmn_cells_are_checked(db) -> None:
    files = bundle_files()
    files["sample_case.bpmn"] = files["sample_case.bpmn"].replace(b">durata_sollecito<", b">'tra un'ora'<")
    assert any(e == "timer_approva" for _f, e, _m in problems_of(db, files))
    files = bundle_files()
    files["sample_case.bpmn"] = files["sample_case.bpmn"].replace(b">durata_sollecito<", b">'PT1X'<")
    assert ("sample_case.bpmn", "timer_approva") in [(f, e) for f, e, m in problems_of(db, files) if "ISO 8601" in m]
    files = bundle_files()
    files["decide_priorita.dmn"] = files["decide_priorita.dmn"].replace(b"&lt; 18", b"&lt; _segreto")
    assert [(f, e) for f, e, _m in problems_of(db, files)] == [
        ("decide_priorita.dmn", "decide_priorita › r_minore › r_minore_2")
    ]
    files = bundle_files()
    files["sample_case.bpmn"] = files["sample_case.bpmn"].replace(
        b"decide_priorita</spiffworkflow", b"decide_x</spiffworkflow"
    )
    assert any("decide_x" in m for _f, _e, m in problems_of(db, files))


def test_schema_and_xml_safety_problems(db) -> None:
    files = bundle_files()
    files["sample_case.bpmn"] = files["sample_case.bpmn"].replace(
        b"<bpmn:endEvent", b"<bpmn:nonEsiste/><bpmn:endEvent", 1
    )
    found = problems_of(db, files)
    assert found and found[0][0] == "sample_case.bpmn" and "«nonEsiste» non è ammesso" in found[0][2]
    files = bundle_files()
    files["sample_case.bpmn"] = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + files["sample_case.bpmn"][38:]
    )
    assert [(f, "DTD" in m) for f, _e, m in problems_of(db, files)] == [("sample_case.bpmn", True)]
    files = bundle_files()
    files["registra.schema.json"] = b"{ non json"
    assert problems_of(db, files)[0][:2] == ("registra.schema.json", None)


def test_deploy_refuses_and_stores_nothing(db) -> None:
    add_ambiti(db)
    bundle = builders.form_then_script("x = (")
    with pytest.raises(DefinitionError) as err:
        deploy(db, files=bundle)
    assert err.value.problems[0].element == "calcola"
    with pytest.raises(NotFound):
        resolve(db, "calcolo", None)


def test_event_subprocesses_are_refused_with_an_alternative(db) -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        + builders.user_task("prima")
        + '<bpmn:endEvent id="fine"/>'
        + builders.flow("f1", "start", "prima")
        + builders.flow("f2", "prima", "fine")
        + '<bpmn:subProcess id="su_evento" triggeredByEvent="true"><bpmn:startEvent id="s2">'
        '<bpmn:timerEventDefinition id="t">'
        "<bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">'P1D'</bpmn:timeDuration>"
        '</bpmn:timerEventDefinition></bpmn:startEvent><bpmn:endEvent id="e2"/>'
        '<bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="e2"/></bpmn:subProcess>'
    )
    files = {
        "ev.bpmn": builders.document(builders.process("ev", body, ["prima"])),
        "nota.schema.json": builders.form_json(),
    }
    found = problems_of(db, files)
    assert [(f, e) for f, e, _m in found] == [("ev.bpmn", "su_evento")]
    assert "evento di confine" in found[0][2]
