"""The render model and the HTML field parser of forms/ (no database)."""

from __future__ import annotations

import json
from pathlib import Path

import forms
from engine.taskview import fill_instructions

BUNDLE = Path(__file__).parent / "bundles" / "forms"
SCHEMA = json.loads((BUNDLE / "scheda.schema.json").read_text())
UI = json.loads((BUNDLE / "scheda.uischema.json").read_text())
CONTEXT = {"codice_interno": "INT-7", "servizi_disponibili": [{"value": "lingua", "label": "Corso di italiano"}]}


def by_key(model: forms.FormModel) -> dict[str, forms.Field]:
    return {f.key: f for f in model.fields}


def test_widgets_follow_schema_and_ui_schema() -> None:
    fields = by_key(forms.build_form(SCHEMA, UI, CONTEXT, context=CONTEXT))
    assert [f.key for f in forms.build_form(SCHEMA, UI, {}, context=CONTEXT).fields][:4] == [
        "codice_interno",
        "alias",
        "eta",
        "ore_settimanali",
    ]
    assert fields["codice_interno"].widget == "readonly" and fields["codice_interno"].display == "INT-7"
    assert fields["alias"].widget == "text" and fields["alias"].required and fields["alias"].help
    assert fields["eta"].widget == "number"
    assert (fields["eta"].attrs["min"], fields["eta"].attrs["max"]) == ("14", "99")
    assert fields["primo_colloquio"].widget == "date"
    assert fields["note"].widget == "textarea"
    assert fields["anonimo"].widget == "checkbox"
    assert fields["documenti"].widget == "radio" and [o.label for o in fields["documenti"].options] == ["Sì", "No"]
    assert fields["canale"].widget == "radio" and [o.label for o in fields["canale"].options] == [
        "Istituzionale",
        "Informale",
    ]
    assert fields["luogo"].widget == "select" and fields["luogo"].options[2].label == "Hub delle consegne"
    assert fields["bisogni"].widget == "checkboxes" and len(fields["bisogni"].options) == 5
    assert [(o.value, o.label) for o in fields["servizio"].options] == [("lingua", "Corso di italiano")]
    assert fields["familiari"].widget == "repeat" and fields["familiari"].add_label == "Aggiungi un familiare"
    assert [f.name for f in fields["familiari"].template] == ["familiari[__i__].nome", "familiari[__i__].eta"]


def test_conditional_field_follows_its_controller() -> None:
    hidden = by_key(forms.build_form(SCHEMA, UI, {"luogo": "mercato"}))["luogo_altro"]
    shown = by_key(forms.build_form(SCHEMA, UI, {"luogo": "altro"}))["luogo_altro"]
    assert hidden.condition is not None and hidden.condition.controller == "luogo"
    assert hidden.condition.values == ["altro"]
    assert not hidden.visible and shown.visible and shown.required


def test_errors_go_beside_fields_and_into_the_summary() -> None:
    errors = forms.validate_data(SCHEMA, {"alias": "", "eta": 120, "familiari": [{"eta": 3}]})
    model = forms.build_form(SCHEMA, UI, {"familiari": [{"eta": 3}]}, errors)
    fields = by_key(model)
    assert fields["alias"].errors == ["campo obbligatorio"]
    assert fields["eta"].errors == ["deve essere al massimo 99"]
    assert fields["familiari"].rows[0][0].errors == ["campo obbligatorio"]
    assert {(e.anchor, e.message) for e in model.summary} >= {
        ("f-alias", "campo obbligatorio"),
        ("f-familiari-0-nome", "campo obbligatorio"),
    }


def test_parse_types_every_kind_of_field() -> None:
    pairs = [
        ("alias", "  Amir "),
        ("eta", "30"),
        ("ore_settimanali", "12,5"),
        ("primo_colloquio", "20/11/2026"),
        ("anonimo.__present", "1"),
        ("anonimo", "true"),
        ("documenti", "false"),
        ("canale", "informale"),
        ("luogo", "mercato"),
        ("luogo_altro", "da scartare"),
        ("bisogni.__present", "1"),
        ("bisogni", "lingua"),
        ("bisogni", "casa"),
        ("familiari.__present", "1"),
        ("familiari[3].nome", "Ali"),
        ("familiari[3].eta", "4"),
        ("familiari[7].nome", ""),
        ("familiari[9].nome", "Sara"),
        ("csrf_token", "x"),
        ("codice_interno", "HACK"),
    ]
    parsed = forms.parse_form(SCHEMA, pairs, UI, CONTEXT)
    assert parsed.errors == {}
    assert parsed.data == {
        "alias": "Amir",
        "eta": 30,
        "ore_settimanali": 12.5,
        "primo_colloquio": "2026-11-20",
        "anonimo": True,
        "documenti": False,
        "canale": "informale",
        "luogo": "mercato",
        "bisogni": ["lingua", "casa"],
        "familiari": [{"nome": "Ali", "eta": 4}, {"nome": "Sara"}],
    }


def test_parse_keeps_what_could_not_be_converted() -> None:
    parsed = forms.parse_form(
        SCHEMA,
        [
            ("eta", "trenta"),
            ("ore_settimanali", "1.5.2"),
            ("primo_colloquio", "31/02/2026"),
            ("familiari[0].eta", "x"),
            ("familiari[0].nome", "Ali"),
        ],
        UI,
    )
    assert parsed.raw == {
        "eta": "trenta",
        "ore_settimanali": "1.5.2",
        "primo_colloquio": "31/02/2026",
        "familiari[0].eta": "x",
    }
    assert parsed.errors["eta"] == ["inserire un numero intero (solo cifre)"]
    assert parsed.errors["primo_colloquio"] == ["data inesistente"]
    assert parsed.errors["familiari[0].eta"] == ["inserire un numero intero (solo cifre)"]
    model = forms.build_form(SCHEMA, UI, parsed.data, parsed.errors, parsed.raw)
    assert by_key(model)["eta"].value == "trenta"
    assert by_key(model)["familiari"].rows[0][1].value == "x"


def test_emptied_optional_text_overwrites_and_unchecked_lists_are_empty() -> None:
    parsed = forms.parse_form(SCHEMA, [("note", ""), ("anonimo.__present", "1"), ("alias", "")], UI)
    assert parsed.data == {"note": "", "anonimo": False}  # required alias left out: "campo obbligatorio"
    assert "bisogni" not in forms.parse_form(SCHEMA, [("bisogni.__present", "1")], UI).data


def test_instructions_are_rendered_safely() -> None:
    text, problem = fill_instructions(
        "Ciao **{{ alias }}** <script>alert(1)</script> [x](javascript:alert(1))",
        {"alias": "<b>Amir</b>"},
    )
    assert problem is None
    html = forms.instructions_html(text)
    assert "<strong>&lt;b&gt;Amir&lt;/b&gt;</strong>" in html
    assert "<script>" not in html and 'href="javascript:' not in html
    hostile = "{{ ''.__class__.__mro__ }}"
    shown, problem = fill_instructions(hostile, {})
    assert problem and "operazione non consentita" in problem
    assert shown == hostile and "&lt;class" not in forms.instructions_html(shown), "shown as written, never filled"
    broken, problem = fill_instructions("{% for %}", {})
    assert problem and "{% for %}" in forms.instructions_html(broken)


def test_options_from_task_data_become_an_enum() -> None:
    schema = {
        "type": "object",
        "properties": {
            "s": {
                "type": "string",
                "title": "S",
                "x-inlav-options": "data:opz",
                "x-inlav-option-value": "id",
                "x-inlav-option-label": "nome",
            }
        },
    }
    resolved = forms.resolve_data_options(schema, {"opz": [{"id": "a", "nome": "Alfa"}, "b", {"nome": "senza"}]})
    assert resolved["properties"]["s"]["enum"] == ["a", "b"]
    assert forms.validate_data(resolved, {"s": "z"}) == {"s": ["scegliere uno dei valori proposti"]}
    assert "enum" not in schema["properties"]["s"], "the original schema is not touched"
