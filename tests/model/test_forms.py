"""The forms of the regional model: valid JSON Schema, Italian labels, UI schemas that match."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import forms
from engine.access.roles import LANE_ROLES, role_for_lane
from engine.definitions import check_bundle, read_bundle_paths
from tests.model.journey import BUNDLE, ROOT

SCHEMAS = sorted((ROOT / "forms" / "schemas").glob("*.schema.json"))
UI_SCHEMAS = sorted((ROOT / "forms" / "schemas").glob("*.uischema.json"))
PROCESSES = sorted((ROOT / "processes").glob("*.bpmn"))
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS, "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
UI_KEYS = {"ui:order", "ui:widget", "ui:options", "ui:help", "ui:placeholder"}
WIDGETS = {"radio", "checkboxes", "textarea", "select"}
ENGLISH = {"name", "date", "status", "notes", "yes", "type", "title", "description", "other", "none", "comment"}


def load(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


def walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every (path, property schema) of a form, nested groups and list items included."""
    found = []
    if isinstance(node, dict):
        for key, prop in (node.get("properties") or {}).items():
            found.append((f"{path}{key}", prop))
            found.extend(walk(prop, f"{path}{key}."))
        items = node.get("items")
        if isinstance(items, dict):
            found.extend(walk(items, f"{path}[]."))
    return found


def enums(prop: dict[str, Any]) -> list[tuple[list[Any], dict[str, str]]]:
    """(values, labels) of a choice field or of a list of choices."""
    out = []
    for candidate in (prop, prop.get("items") or {}):
        if isinstance(candidate, dict) and "enum" in candidate:
            out.append((candidate["enum"], candidate.get("x-inlav-labels") or {}))
    return out


def user_tasks() -> list[tuple[str, etree._Element]]:
    tasks = []
    for path in PROCESSES:
        root = etree.parse(str(path)).getroot()
        tasks.extend((path.name, task) for task in root.iter(f"{{{BPMN_NS}}}userTask"))
    return tasks


def prop_of(task: etree._Element, name: str) -> str | None:
    for prop in task.iterfind(".//spiffworkflow:property", NS):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def test_the_bundle_passes_the_deploy_lint() -> None:
    check = check_bundle(None, read_bundle_paths(BUNDLE))
    assert check.problems == []
    assert check.parsed is not None
    assert set(check.parsed.processes) == {
        "inlav_percorso",
        "inlav_valutazione",
        "inlav_pip",
        "inlav_monitoraggio",
        "inlav_intervento",
        "inlav_chiusura",
        "inlav_relazione_trimestrale",
    }
    assert check.parsed.processes["inlav_percorso"].start_messages == ["segnalazione_pua"]


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_every_form_is_valid_json_schema_with_italian_labels(path: Path) -> None:
    schema = load(path)
    assert forms.check_schema(schema) == []
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("title") and schema.get("description"), "ogni modulo ha titolo e descrizione"
    fields = walk(schema)
    assert fields
    for name, prop in fields:
        title = prop.get("title")
        assert isinstance(title, str) and title.strip(), f"{name}: manca l'etichetta"
        assert title.lower() not in ENGLISH, f"{name}: etichetta non in italiano ({title})"
        assert title != name.rsplit(".", 1)[-1], f"{name}: l'etichetta ripete il nome tecnico"
        for values, labels in enums(prop):
            assert set(labels) == set(values), f"{name}: ogni scelta ha un'etichetta italiana"
            assert all(isinstance(v, str) and v.strip() for v in labels.values())
            assert len(values) == len(set(values))
    # Every conditionally required field is a declared field (a submission may only carry declared fields).
    for rule in schema.get("allOf", []):
        for required in rule.get("then", {}).get("required", []):
            assert required in schema["properties"]


@pytest.mark.parametrize("path", UI_SCHEMAS, ids=lambda p: p.name)
def test_ui_schemas_use_known_keys_and_existing_fields(path: Path) -> None:
    ui = load(path)
    schema = load(path.with_name(path.name.replace(".uischema.json", ".schema.json")))
    assert forms.check_ui_schema(ui) == []
    assert sorted(ui["ui:order"]) == sorted(schema["properties"]), "l'ordine elenca tutti i campi, una volta"

    def check(node: dict[str, Any], props: dict[str, Any], where: str) -> None:
        for key, value in node.items():
            if key.startswith("ui:"):
                assert key in UI_KEYS, f"{where}: chiave {key} non documentata"
                if key == "ui:widget":
                    assert value in WIDGETS
                continue
            if key == "items":
                check(value, props.get("properties", {}) if "properties" in props else props, f"{where}[]")
                continue
            assert key in props, f"{where}: il campo «{key}» non è nel modulo"
            child = props[key]
            check(value, child.get("items", child).get("properties", child), f"{where}.{key}")

    check(ui, schema["properties"], path.name)


def test_every_user_task_has_a_form_a_lane_role_and_a_due_date() -> None:
    used = set()
    for file, task in user_tasks():
        form = prop_of(task, "formJsonSchemaFilename")
        ui = prop_of(task, "formUiSchemaFilename")
        assert form and (ROOT / "forms" / "schemas" / form).exists(), f"{file} {task.get('id')}"
        assert ui and (ROOT / "forms" / "schemas" / ui).exists(), f"{file} {task.get('id')}"
        assert prop_of(task, "dueIn"), f"{file} {task.get('id')}: manca la scadenza (dueIn)"
        assert re.fullmatch(r"[a-z_]+", task.get("id", "")), "id leggibili"
        used.update({form, ui})
    on_disk = {p.name for p in (ROOT / "forms" / "schemas").glob("*.json")}
    assert on_disk == used, f"moduli non usati: {on_disk - used}"


def test_lanes_are_the_professional_roles() -> None:
    lanes = set()
    for path in PROCESSES:
        root = etree.parse(str(path)).getroot()
        lanes.update(lane.get("name") for lane in root.iter(f"{{{BPMN_NS}}}lane"))
    assert {role_for_lane(name) for name in lanes} == LANE_ROLES
    assert all(role_for_lane(name) for name in lanes)


def _script(process: str, element: str) -> str:
    root = etree.parse(str(ROOT / "processes" / f"{process}.bpmn")).getroot()
    node = root.find(f".//*[@id='{element}']/bpmn:script", NS)
    assert node is not None and node.text
    return node.text


def _literal(script: str, name: str) -> Any:
    for statement in ast.parse(script).body:
        if isinstance(statement, ast.Assign) and getattr(statement.targets[0], "id", None) == name:
            return ast.literal_eval(statement.value)
    raise AssertionError(f"{name} non assegnato")


def test_intervention_catalogue_matches_the_forms() -> None:
    catalogue = _literal(_script("inlav_pip", "prepara_interventi"), "catalogo")
    pip = load(ROOT / "forms" / "schemas" / "pip.schema.json")
    item = pip["properties"]["interventi_nuovi"]["items"]["properties"]
    assert list(catalogue) == item["tipo"]["enum"]
    assert {k: v[0] for k, v in catalogue.items()} == item["tipo"]["x-inlav-labels"]
    assert {v[1] for v in catalogue.values()} <= set(item["ruolo"]["enum"])
    assert set(item["ruolo"]["enum"]) <= LANE_ROLES
    # The seeds' services are all in the catalogue.
    for service in (
        "accompagnamento_empowerment",
        "orientamento_lavoro",
        "consulenza_legale",
        "mediazione",
        "prima_necessita",
        "abitare",
        "accompagnamento_sanitario",
        "formazione",
        "protezione",
        "mobilita",
        "bilancio_competenze",
        "politica_attiva_cpi",
        "tirocinio",
        "percorso_antitratta",
        "servizi_sanitari",
        "assegno_inclusione",
        "borsa_lavoro",
    ):
        assert service in catalogue


def test_contact_contexts_and_channels_agree() -> None:
    informali = _literal(_script("inlav_percorso", "registra_fatti_contatto"), "informali")
    contesto = load(ROOT / "forms" / "schemas" / "contatto.schema.json")["properties"]["contesto"]
    labels = contesto["x-inlav-labels"]
    assert set(informali) <= set(contesto["enum"])
    for code, label in labels.items():
        assert label.startswith("Luogo informale") == (code in informali), code
    for seed_context in (
        "sai",
        "cas",
        "cpia",
        "cpi",
        "mercato",
        "negozio_etnico",
        "stazione",
        "snodo_delivery",
        "quartiere",
        "luogo_di_culto",
        "luogo_di_ritrovo",
        "festa_religiosa",
    ):
        assert seed_context in contesto["enum"]


def test_the_first_contact_form_is_light() -> None:
    contatto = load(ROOT / "forms" / "schemas" / "contatto.schema.json")
    # Completable on a phone in under a minute: few required fields, all one tap except the date (prefilled).
    assert len(contatto["required"]) <= 6
    assert "alias" not in contatto["required"] and "recapito" not in contatto["required"]
