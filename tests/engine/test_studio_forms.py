"""The studio's form editor: fields read from schema + UI schema, each operation, losslessness, drafts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import forms
from engine import Conflict, Forbidden, NotFound
from engine.access import Actor
from engine.definitions import check_bundle, deploy_bundle
from engine.studio import create_form, draft_forms, edit_form, open_draft, open_form
from engine.studio.forms import (
    AddField,
    EditField,
    FieldSpec,
    FormEditError,
    FormFiles,
    MoveField,
    RemoveField,
    ReplaceJson,
    Visibility,
    apply,
    form_fields,
    new_form,
    parse_options,
)
from tests.conftest import add_ambiti, bundle_files

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "forms" / "schemas"
# The regional forms and the test bundles' (oneOf choices, partner and data options, «*» in ui:order…).
FORM_PATHS = sorted(
    [*SCHEMAS.glob("*.schema.json"), *(ROOT / "tests").glob("**/bundles/**/*.schema.json")],
    key=lambda p: str(p.relative_to(ROOT)),
)

DIRECTOR_MI = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
DIRECTOR_BG = Actor("bea", grants=frozenset({("direttore_pua", "BERGAMO")}))
OPERATOR_MI = Actor("olga", grants=frozenset({("operatore_contatto", "MILANO")}))


def _form(name: str, folder: Path = SCHEMAS) -> FormFiles:
    schema = json.loads((folder / f"{name}.schema.json").read_text(encoding="utf-8"))
    ui_path = folder / f"{name}.uischema.json"
    ui = json.loads(ui_path.read_text(encoding="utf-8")) if ui_path.exists() else {}
    return FormFiles(schema, ui)


def _texts(files: FormFiles) -> tuple[str, str]:
    return json.dumps(files.schema, ensure_ascii=False), json.dumps(files.ui, ensure_ascii=False)


def _refused(files: FormFiles, operation: Any) -> dict[str, list[str]]:
    with pytest.raises(FormEditError) as caught:
        apply(files, operation)
    return caught.value.problems


def _widgets(files: FormFiles, context: dict[str, Any] | None = None) -> dict[str, str]:
    model = forms.build_form(files.schema, files.ui, context=context)
    return {f.key: f.widget for f in model.fields}


# --------------------------------------------------------------------------- losslessness


@pytest.mark.parametrize("path", FORM_PATHS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_form_round_trips_through_the_model_unchanged(path: Path) -> None:
    original = _form(path.name[: -len(".schema.json")], path.parent)
    fields = form_fields(original)
    assert fields, path
    text = _texts(original)
    for spec in fields:
        again = apply(original, EditField(spec.name, spec))
        assert _texts(again) == text, spec.name  # same keys, same values, same order
        for sub in spec.fields:
            again = apply(original, EditField(sub.name, sub, group=spec.name))
            assert _texts(again) == text, f"{spec.name}.{sub.name}"
    # Moving a field down and back up leaves the files as they were (when they have an explicit ui:order).
    first = fields[0].name
    if len(fields) == 1:
        return
    moved = apply(apply(original, MoveField(first, +1)), MoveField(first, -1))
    order = original.ui.get("ui:order")
    if isinstance(order, list) and "*" not in order and len(order) == len(fields):
        assert (moved.schema, moved.ui) == (original.schema, original.ui)
    assert [f.name for f in form_fields(moved)] == [f.name for f in fields]
    # And the model reads every field the operator's renderer shows.
    shown = {f.key for f in forms.build_form(original.schema, original.ui).fields}
    assert shown <= {f.name for f in fields}


def test_an_edit_keeps_keywords_the_editor_does_not_model() -> None:
    files = _form("ricontatto")
    alias = next(f for f in form_fields(files) if f.name == "alias")
    before = files.schema["properties"]["alias"]
    assert before.get("x-personal") is True
    edited = apply(files, EditField("alias", FieldSpec(**{**alias.__dict__, "label": "Nome d'uso"})))
    after = edited.schema["properties"]["alias"]
    assert after["title"] == "Nome d'uso"
    assert {k: v for k, v in after.items() if k != "title"} == {k: v for k, v in before.items() if k != "title"}
    assert {k: v for k, v in edited.schema.items() if k != "properties"} == {
        k: v for k, v in files.schema.items() if k != "properties"
    }


def test_fields_are_read_with_kind_options_condition_and_group() -> None:
    fields = {f.name: f for f in form_fields(_form("approvazione_pip"))}
    assert fields["esito_approvazione_pip"].kind == "scelta" and fields["esito_approvazione_pip"].required
    assert fields["esito_approvazione_pip"].options == (("approvato", "Approvato"), ("da_rivedere", "Da rivedere"))
    note = fields["note_direttore"]
    assert note.kind == "testo_lungo" and note.required  # required in the «then» branch
    assert note.condition == Visibility("esito_approvazione_pip", ("da_rivedere",))
    assert fields["riepilogo_pip"].readonly
    pip = {f.name: f for f in form_fields(_form("pip"))}
    group = next(f for f in pip.values() if f.kind == "gruppo")
    assert group.fields and {f.kind for f in group.fields} >= {"scelta", "data"}
    partner = next(f for f in group.fields if f.options_source or f.options_from)
    assert partner.kind == "scelta" and not partner.options


# --------------------------------------------------------------------------- operations


def _sample() -> FormFiles:
    files = new_form("Prova")
    files = apply(files, AddField(FieldSpec("urgente", "si_no", "È urgente?", required=True)))
    files = apply(
        files,
        AddField(FieldSpec("motivo", "testo_lungo", "Motivo", required=True, condition=Visibility("urgente", (True,)))),
    )
    esito = FieldSpec("esito", "scelta", "Esito", options=parse_options("ok = Va bene\nDa rivedere"))
    return apply(files, AddField(esito))


def test_adding_each_kind_gives_a_valid_form_the_renderer_draws() -> None:
    files = new_form("Tutti i tipi")
    specs = [
        FieldSpec("nome", "testo", "Nome", help="Come si presenta"),
        FieldSpec("storia", "testo_lungo", "Storia"),
        FieldSpec("ore", "numero", "Ore"),
        FieldSpec("giorno", "data", "Giorno"),
        FieldSpec("momento", "data", "Momento", date_rule="date-time"),
        FieldSpec("esito", "scelta", "Esito", options=(("a", "A"), ("b", "B"))),
        FieldSpec("servizi", "scelta_multipla", "Servizi", options=(("x", "X"), ("y", "Y"))),
        FieldSpec("ok", "si_no", "Va bene?"),
        FieldSpec("partner", "scelta", "Partner", options_from="partner_disponibili"),
        FieldSpec("righe", "gruppo", "Righe"),
    ]
    for spec in specs:
        files = apply(files, AddField(spec))
    files = apply(files, AddField(FieldSpec("quando", "data", "Quando", required=True), group="righe"))
    assert forms.check_schema(files.schema) == []
    assert [f.name for f in form_fields(files)] == [s.name for s in specs]
    assert _widgets(files) == {
        "nome": "text",
        "storia": "textarea",
        "ore": "number",
        "giorno": "date",
        "momento": "datetime",
        "esito": "radio",
        "servizi": "checkboxes",
        "ok": "radio",
        "partner": "select",
        "righe": "repeat",
    }
    model = forms.build_form(files.schema, files.ui, context={"partner_disponibili": ["CPI", "SAI"]})
    partner = next(f for f in model.fields if f.key == "partner")
    assert [o.value for o in partner.options] == ["CPI", "SAI"]
    assert next(f for f in model.fields if f.key == "nome").help == "Come si presenta"
    group = next(f for f in model.fields if f.key == "righe")
    assert [(f.key, f.widget, f.required) for f in group.template] == [("quando", "date", True)]
    # The sub-field is listed under its group, not among the form's fields.
    assert [f.name for f in next(f for f in form_fields(files) if f.name == "righe").fields] == ["quando"]


def test_a_conditional_field_is_shown_and_required_only_under_its_condition() -> None:
    files = _sample()
    motivo = next(f for f in forms.build_form(files.schema, files.ui).fields if f.key == "motivo")
    assert motivo.condition is not None and motivo.condition.controller == "urgente"
    assert motivo.condition.values == ["true"] and motivo.required
    assert forms.validate_data(files.schema, {"urgente": False}) == {}
    assert "motivo" in forms.validate_data(files.schema, {"urgente": True})
    # Dropping the condition makes it an ordinary required field.
    plain = apply(files, EditField("motivo", FieldSpec("motivo", "testo_lungo", "Motivo", required=True)))
    assert "allOf" not in plain.schema and plain.schema["required"] == ["urgente", "motivo"]
    assert "motivo" in forms.validate_data(plain.schema, {"urgente": False})


def test_move_reorders_and_refuses_past_the_ends() -> None:
    files = _sample()
    moved = apply(files, MoveField("esito", -1))
    assert [f.name for f in form_fields(moved)] == ["urgente", "esito", "motivo"]
    assert moved.ui["ui:order"] == ["urgente", "esito", "motivo"]
    assert _refused(files, MoveField("urgente", -1)) == {"": ["«È urgente?» è già il primo campo"]}
    assert _refused(files, MoveField("esito", +1)) == {"": ["«Esito» è già l'ultimo campo"]}


def test_remove_takes_the_field_out_everywhere_and_refuses_a_field_others_depend_on() -> None:
    files = _sample()
    problems = _refused(files, RemoveField("urgente"))
    assert "decide quando mostrare «Motivo»" in problems[""][0]
    without = apply(files, RemoveField("motivo"))
    assert "motivo" not in json.dumps(without.schema) and "motivo" not in json.dumps(without.ui)
    assert "allOf" not in without.schema
    assert _refused(files, RemoveField("nessuno")) == {"": ["il campo «nessuno» non esiste nel modulo"]}


def test_rename_follows_the_field_into_conditions_required_and_order() -> None:
    files = _sample()
    renamed = apply(files, EditField("urgente", FieldSpec("urgenza", "si_no", "È urgente?", required=True)))
    text = json.dumps(renamed.schema) + json.dumps(renamed.ui)
    assert '"urgente"' not in text and renamed.ui["ui:order"][0] == "urgenza"
    motivo = next(f for f in form_fields(renamed) if f.name == "motivo")
    assert motivo.condition == Visibility("urgenza", (True,))


@pytest.mark.parametrize(
    ("operation", "key", "message"),
    [
        (AddField(FieldSpec("esito", "testo", "Altro esito")), "nome", "esiste già un campo «esito»"),
        (AddField(FieldSpec("Nome Proprio", "testo", "Nome")), "nome", "non è un nome valido"),
        (AddField(FieldSpec("1campo", "testo", "Nome")), "nome", "non è un nome valido"),
        (AddField(FieldSpec("class", "testo", "Classe")), "nome", "parola riservata"),
        (AddField(FieldSpec("codice_caso", "testo", "Codice")), "nome", "dato del caso"),
        (AddField(FieldSpec("", "testo", "Senza nome")), "nome", "indicare il nome del campo"),
        (AddField(FieldSpec("nota", "testo", "  ")), "etichetta", "indicare l'etichetta"),
        (AddField(FieldSpec("nota", "misterioso", "Nota")), "tipo", "sconosciuto"),
        (AddField(FieldSpec("scelta", "scelta", "Scelta")), "scelte", "indicare almeno una scelta"),
        (
            AddField(FieldSpec("scelta", "scelta", "Scelta", options=(("a", "A"), ("a", "Ancora")))),
            "scelte",
            "codici ripetuti tra le scelte: «a»",
        ),
        (
            AddField(FieldSpec("scelta", "scelta", "Scelta", options_from="non valida!")),
            "scelte",
            "non è il nome di una variabile",
        ),
        (AddField(FieldSpec("giorno", "data", "Giorno", date_rule="time")), "data", "regola di data"),
        (
            AddField(FieldSpec("nota", "testo", "Nota", condition=Visibility("assente", ("x",)))),
            "condizione",
            "si riferisce al campo «assente», che non esiste",
        ),
        (
            AddField(FieldSpec("nota", "testo", "Nota", condition=Visibility("motivo", ("x",)))),
            "condizione",
            "solo da un campo a scelta o Sì / No",
        ),
        (
            AddField(FieldSpec("nota", "testo", "Nota", condition=Visibility("esito", ("forse",)))),
            "condizione",
            "«Esito» non prevede «forse»",
        ),
        (
            AddField(FieldSpec("nota", "testo", "Nota", condition=Visibility("esito", ()))),
            "condizione",
            "scegliere per quali valori",
        ),
        (
            EditField("urgente", FieldSpec("urgente", "testo", "È urgente?")),
            "tipo",
            "«Motivo» si mostra secondo questo campo",
        ),
        (
            EditField("esito", FieldSpec("esito", "scelta", "Esito", options=(("ok", "Va bene"),))),
            "",
            "",
        ),
        (AddField(FieldSpec("sotto", "testo", "Sotto"), group="esito"), "", "il gruppo ripetibile «esito» non esiste"),
    ],
)
def test_bad_operations_are_refused_with_a_specific_italian_message(operation: Any, key: str, message: str) -> None:
    files = _sample()
    if not message:  # a legitimate edit, for contrast: nothing depends on the removed option
        apply(files, operation)
        return
    problems = _refused(files, operation)
    assert any(message in m for m in problems.get(key, [])), problems


def test_an_option_a_condition_uses_cannot_be_dropped_and_a_group_cannot_nest() -> None:
    files = apply(
        _sample(),
        AddField(FieldSpec("perche", "testo", "Perché da rivedere", condition=Visibility("esito", ("da_rivedere",)))),
    )
    problems = _refused(files, EditField("esito", FieldSpec("esito", "scelta", "Esito", options=(("ok", "Va bene"),))))
    assert "«Perché da rivedere» si mostra quando questo campo vale «da_rivedere»" in problems["scelte"][0]
    grouped = apply(files, AddField(FieldSpec("righe", "gruppo", "Righe")))
    problems = _refused(grouped, AddField(FieldSpec("dentro", "gruppo", "Dentro"), group="righe"))
    assert "non può stare dentro un altro gruppo" in problems["tipo"][0]
    # A controller cannot change kind (its conditions would stop matching), a group with fields neither.
    multiple = FieldSpec("esito", "scelta_multipla", "Esito", options=(("ok", "Va bene"), ("da_rivedere", "No")))
    assert "si mostra secondo questo campo" in _refused(files, EditField("esito", multiple))["tipo"][0]
    grouped = apply(grouped, AddField(FieldSpec("nome", "testo", "Nome"), group="righe"))
    problems = _refused(grouped, EditField("righe", FieldSpec("righe", "testo", "Righe")))
    assert "il gruppo ha 1 campo per riga: toglierli" in problems["tipo"][0]


def test_the_json_view_is_parsed_and_checked_against_the_meta_schema() -> None:
    bad_json = _refused(_sample(), ReplaceJson('{"type": "object",', "{}"))
    assert bad_json["schema"][0].startswith("lo schema: JSON non valido alla riga 1")
    meta = _refused(_sample(), ReplaceJson('{"type": "object", "properties": {"a": {"type": "testo"}}}', "{}"))
    assert "il tipo «testo» non esiste" in meta["schema"][0]
    untitled = _refused(_sample(), ReplaceJson('{"type": "object", "properties": {"a": {"type": "string"}}}', "[]"))
    assert untitled["schema"] == ["il campo «a» non ha un'etichetta (title)"]
    assert untitled["uischema"] == ["lo schema di interfaccia deve essere un oggetto JSON"]
    good = apply(
        _sample(), ReplaceJson('{"type": "object", "properties": {"a": {"type": "string", "title": "A"}}}', "")
    )
    assert good.ui == {} and [f.name for f in form_fields(good)] == ["a"]


# --------------------------------------------------------------------------- forms of a draft


@pytest.fixture
def region(db):  # type: ignore[no-untyped-def]
    add_ambiti(db, "MILANO", "BERGAMO")
    deploy_bundle(db, bundle_files(), None, "rita", "Base")
    return db


@pytest.mark.db
def test_a_form_is_created_edited_and_saved_in_the_draft_with_its_process(region) -> None:
    db = region
    draft, listed = draft_forms(db, DIRECTOR_MI, "MILANO", "sample_case")
    by_name = {f.name: f for f in listed}
    assert {u.element for u in by_name["approva"].used_by} == {"approva", "sollecito"}
    assert by_name["registra"].has_ui and by_name["registra"].used_by[0].ui_file == "registra.uischema.json"
    assert not by_name["approva"].has_ui and by_name["approva"].ui_file == "approva.uischema.json"
    created = create_form(db, DIRECTOR_MI, "MILANO", "sample_case", "approvazione_milano", "Approvazione", 0)
    assert created.draft.revision == 1 and created.fields == () and created.form.used_by == ()
    assert json.loads(created.draft.files["approvazione_milano.schema.json"])["title"] == "Approvazione"
    assert json.loads(created.draft.files["approvazione_milano.uischema.json"]) == {"ui:order": []}
    saved = edit_form(
        db,
        DIRECTOR_MI,
        "MILANO",
        "sample_case",
        "approvazione_milano",
        AddField(FieldSpec("ok", "si_no", "Approvato?", required=True)),
        1,
    )
    assert saved.draft.revision == 2 and [f.name for f in saved.fields] == ["ok"]
    reopened = open_form(db, DIRECTOR_MI, "MILANO", "sample_case", "approvazione_milano")
    assert reopened.files.schema["properties"]["ok"] == {"title": "Approvato?", "type": "boolean"}
    # The draft still validates as a bundle, and its other files are untouched.
    draft = open_draft(db, DIRECTOR_MI, "MILANO", "sample_case")
    assert draft.files["sample_case.bpmn"] == bundle_files()["sample_case.bpmn"]
    assert check_bundle(db, draft.files, "MILANO").problems == []
    # A stale revision and a refused operation save nothing.
    with pytest.raises(Conflict):
        edit_form(db, DIRECTOR_MI, "MILANO", "sample_case", "approvazione_milano", MoveField("ok", +1), 1)
    with pytest.raises(FormEditError):
        edit_form(
            db,
            DIRECTOR_MI,
            "MILANO",
            "sample_case",
            "approvazione_milano",
            AddField(FieldSpec("ok", "testo", "Doppio")),
            2,
        )
    assert open_draft(db, DIRECTOR_MI, "MILANO", "sample_case").revision == 2
    # A form without a UI schema gets one only when something is put in it.
    relabel = EditField("approvato", _label(db, "approva", "approvato"))
    approva = edit_form(db, DIRECTOR_MI, "MILANO", "sample_case", "approva", relabel, 2)
    assert "approva.uischema.json" not in approva.draft.files
    # The published base and Bergamo's draft do not see Milano's form.
    assert "approvazione_milano.schema.json" not in open_draft(db, DIRECTOR_BG, "BERGAMO", "sample_case").files


def _label(db: Any, name: str, field: str) -> FieldSpec:
    spec = next(f for f in open_form(db, DIRECTOR_MI, "MILANO", "sample_case", name).fields if f.name == field)
    return FieldSpec(**{**spec.__dict__, "label": "Esito della decisione"})


@pytest.mark.db
def test_create_form_refuses_bad_or_taken_names_and_other_people(region) -> None:
    db = region
    with pytest.raises(FormEditError) as bad:
        create_form(db, DIRECTOR_MI, "MILANO", "sample_case", "Approvazione Milano", "", 0)
    assert "non è un nome di modulo valido" in bad.value.problems["nome"][0]
    assert "indicare il titolo" in bad.value.problems["titolo"][0]
    with pytest.raises(FormEditError) as taken:
        create_form(db, DIRECTOR_MI, "MILANO", "sample_case", "approva", "Doppione", 0)
    assert "la bozza ha già un modulo «approva»" in taken.value.problems["nome"][0]
    with pytest.raises(NotFound):
        create_form(db, DIRECTOR_BG, "MILANO", "sample_case", "nuovo", "Nuovo", 0)
    with pytest.raises(Forbidden):
        create_form(db, OPERATOR_MI, "MILANO", "sample_case", "nuovo", "Nuovo", 0)
    with pytest.raises(NotFound):
        open_form(db, DIRECTOR_MI, "MILANO", "sample_case", "nessuno")
    assert open_draft(db, DIRECTOR_MI, "MILANO", "sample_case").revision == 0
