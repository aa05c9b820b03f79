"""Form schemas are checked against the meta-schema; submissions get Italian, per-field errors."""

from __future__ import annotations

from forms import check_schema, clean_submission, validate_data

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["nome", "nascita"],
    "properties": {
        "nome": {"type": "string", "title": "Nome", "minLength": 1},
        "nascita": {"type": "string", "title": "Data di nascita", "format": "date"},
        "ore": {"type": "number", "title": "Ore", "minimum": 0, "maximum": 40},
        "codice": {"type": "string", "title": "Codice", "readOnly": True},
        "figli": {
            "type": "array",
            "title": "Figli",
            "items": {
                "type": "object",
                "required": ["eta"],
                "properties": {"eta": {"type": "integer", "title": "Età"}},
            },
        },
    },
}


def test_schema_checks() -> None:
    assert check_schema(SCHEMA) == []
    assert check_schema([]) == ["il modulo deve essere un oggetto JSON"]
    assert any("type" in p for p in check_schema({"type": "object", "properties": {"a": {"type": "testo"}}}))
    assert check_schema({"type": "array"}) == ['il modulo deve avere "type": "object"']
    assert check_schema({"type": "object", "properties": {"a": {"type": "string"}}}) == [
        "il campo «a» non ha un'etichetta (title)"
    ]


def test_errors_are_italian_and_per_field() -> None:
    errors = validate_data(SCHEMA, {"nome": "", "nascita": "31/12/2000", "ore": 50, "figli": [{"eta": "due"}, {}]})
    assert errors == {
        "nome": ["campo obbligatorio"],
        "nascita": ["deve essere una data (AAAA-MM-GG)"],
        "ore": ["deve essere al massimo 40"],
        "figli[0].eta": ["deve essere un numero intero"],
        "figli[1].eta": ["campo obbligatorio"],
    }
    assert validate_data(SCHEMA, {"nome": "A", "nascita": "2000-12-31"}) == {}


def test_unknown_and_read_only_fields_are_refused() -> None:
    accepted, errors = clean_submission(SCHEMA, {"nome": "A", "extra": 1, "codice": "X"}, {"codice": "Y"})
    assert accepted == {"nome": "A"}
    assert errors == {
        "extra": ["campo non previsto dal modulo"],
        "codice": ["campo in sola lettura: non può essere modificato"],
    }
    accepted, errors = clean_submission(SCHEMA, {"codice": "Y"}, {"codice": "Y"})
    assert accepted == {} and errors == {}
