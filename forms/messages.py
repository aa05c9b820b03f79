"""Italian wording of JSON-Schema validation errors, one per keyword."""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import ValidationError

_TYPES = {
    "string": "un testo",
    "integer": "un numero intero",
    "number": "un numero",
    "boolean": "sì o no",
    "array": "un elenco",
    "object": "un gruppo di campi",
    "null": "vuoto",
}


def _type_name(value: Any) -> str:
    if isinstance(value, list):
        return " oppure ".join(_TYPES.get(v, str(v)) for v in value)
    return _TYPES.get(value, str(value))


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def italian_message(err: ValidationError) -> str:
    """A short Italian sentence for one validation error."""
    v, arg = err.validator, err.validator_value
    if v == "required":
        return "campo obbligatorio"
    if v == "type":
        return f"deve essere {_type_name(arg)}"
    if v == "minLength":
        return "campo obbligatorio" if arg == 1 else f"almeno {arg} caratteri"
    if v == "maxLength":
        return f"al massimo {arg} caratteri"
    if v == "minimum":
        return f"deve essere almeno {arg}"
    if v == "maximum":
        return f"deve essere al massimo {arg}"
    if v == "exclusiveMinimum":
        return f"deve essere maggiore di {arg}"
    if v == "exclusiveMaximum":
        return f"deve essere minore di {arg}"
    if v == "multipleOf":
        return f"deve essere un multiplo di {arg}"
    if v == "enum":
        return "scegliere uno dei valori proposti"
    if v == "const":
        return "valore non ammesso"
    if v == "pattern":
        return "formato non valido"
    if v == "format":
        formats = {
            "date": "una data (AAAA-MM-GG)",
            "date-time": "data e ora",
            "email": "un indirizzo e-mail",
            "time": "un orario",
            "uri": "un indirizzo web",
        }
        return f"deve essere {formats.get(arg, 'nel formato ' + str(arg))}"
    if v == "minItems":
        return f"scegliere o inserire almeno {arg} {_plural(arg, 'elemento', 'elementi')}"
    if v == "maxItems":
        return f"al massimo {arg} {_plural(arg, 'elemento', 'elementi')}"
    if v == "uniqueItems":
        return "gli elementi non possono ripetersi"
    if v in {"additionalProperties", "unevaluatedProperties"}:
        return "contiene campi non previsti"
    if v in {"dependentRequired", "dependencies"}:
        return "mancano campi collegati obbligatori"
    if v == "not":
        return "valore non ammesso"
    if v in {"anyOf", "oneOf"}:
        return "valore non valido per nessuna delle alternative"
    if v == "minProperties":
        return "compilare almeno un campo"
    return "valore non valido"
