"""Form schemas (JSON Schema draft 2020-12) and server-side validation of submissions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from forms.messages import italian_message

FORM_ROOT = ""  # key for errors that concern the whole form rather than one field


class FormDefinitionError(ValueError):
    """A form file is not a usable schema."""


def check_schema(schema: object) -> list[str]:
    """Problems that make `schema` unusable as a form; empty when it is fine."""
    if not isinstance(schema, dict):
        return ["il modulo deve essere un oggetto JSON"]
    problems: list[str] = []
    for err in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema):
        problem = _meta_problem(err)
        if problem not in problems:
            problems.append(problem)
    if problems:
        return problems
    if schema.get("type") != "object":
        problems.append('il modulo deve avere "type": "object"')
    if not isinstance(schema.get("properties", {}), dict):
        problems.append('"properties" deve essere un oggetto')
    for name, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict) and not prop.get("title"):
            problems.append(f"il campo «{name}» non ha un'etichetta (title)")
    return problems


_JSON_TYPES = "string, number, integer, boolean, array, object, null"


def _meta_problem(err: ValidationError) -> str:
    """«campo «a», chiave «type»: il tipo «testo» non esiste (…)» for a meta-schema error."""
    path = list(err.absolute_path)
    where = _schema_place(path)
    if path and path[-1] == "type" and err.validator in {"anyOf", "enum", "type"}:
        values = err.instance if isinstance(err.instance, list) else [err.instance]
        unknown = [str(v) for v in values if v not in _JSON_TYPES.split(", ")] or ["?"]
        return f"{where}: il tipo «{', '.join(unknown)}» non esiste (tipi ammessi: {_JSON_TYPES})"
    leaf = next(iter(_leaves(err)))
    return f"{where}: {italian_message(leaf)}"


def _schema_place(path: list[Any]) -> str:
    """Where in a form schema: «campo «a», chiave «type»», «chiave «required»», «radice»."""
    fields: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(path):
        if path[index] == "properties" and index + 1 < len(path) and not rest:
            fields.append(str(path[index + 1]))
            index += 2
            continue
        if path[index] == "items" and fields and not rest:
            fields[-1] += "[]"
            index += 1
            continue
        rest.append(str(path[index]))
        index += 1
    parts = []
    if fields:
        parts.append(f"campo «{'.'.join(fields)}»")
    if rest:
        parts.append(f"chiave «{'/'.join(rest)}»")
    return ", ".join(parts) or "radice"


def check_ui_schema(ui_schema: object) -> list[str]:
    """Problems of a UI schema: it must be an object whose keys are fields or `ui:` options."""
    if not isinstance(ui_schema, dict):
        return ["lo schema di interfaccia deve essere un oggetto JSON"]
    return []


def validate_data(schema: Mapping[str, Any], data: Any) -> dict[str, list[str]]:
    """Errors of `data` against `schema`, keyed by field path ('' for the whole form)."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors: dict[str, list[str]] = {}
    for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        for leaf in _leaves(err):
            path = _path(leaf.absolute_path)
            if leaf.validator == "required" and isinstance(leaf.instance, dict):
                missing = _missing_property(leaf)
                if missing:
                    path = f"{path}.{missing}" if path else missing
            message = italian_message(leaf)
            bucket = errors.setdefault(path, [])
            if message not in bucket:
                bucket.append(message)
    return errors


def clean_submission(
    schema: Mapping[str, Any], submitted: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Keep only the fields the form declares; refuse unknown and read-only changes.

    A client may not slip extra variables into the case data, nor change a field the
    form shows as read-only. Returns (accepted data, errors).
    """
    properties: Mapping[str, Any] = schema.get("properties") or {}
    allow_extra = schema.get("additionalProperties") not in (None, False)
    accepted: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in submitted.items():
        prop = properties.get(key)
        if prop is None:
            if not allow_extra:
                errors.setdefault(key, []).append("campo non previsto dal modulo")
            else:
                accepted[key] = value
            continue
        if isinstance(prop, dict) and prop.get("readOnly"):
            if key in current and current[key] != value:
                errors.setdefault(key, []).append("campo in sola lettura: non può essere modificato")
            continue
        accepted[key] = value
    return accepted, errors


def _leaves(err: ValidationError) -> Iterable[ValidationError]:
    """For anyOf/oneOf, report the most specific sub-errors instead of a generic line."""
    if err.context and err.validator in {"anyOf", "oneOf"}:
        best = min(err.context, key=lambda e: len(list(e.absolute_path)) * -1)
        return [best]
    return [err]


def _missing_property(err: ValidationError) -> str | None:
    message = err.message
    if message.endswith(" is a required property") and message.startswith("'"):
        return str(message[1 : message.index("'", 1)])
    return None


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


PERSONAL_KEY = "x-personal"


def personal_fields(schema: object) -> set[str]:
    """Names of the properties a form marks as identity data (`"x-personal": true`), at any depth."""
    found: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and prop.get(PERSONAL_KEY) is True:
                    found.add(name)
            for key, value in node.items():
                if key != PERSONAL_KEY:
                    visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return found
