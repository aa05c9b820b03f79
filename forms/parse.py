"""Submitted HTML form fields -> typed JSON data, walking the form's JSON Schema.

Browsers send every field as text. This turns them back into what the schema asks
for (integers, numbers, booleans, lists, groups, repeatable rows) and keeps the text
of anything that cannot be converted, so a re-rendered form shows exactly what was
typed. Fields hidden by their condition are dropped. The result still goes through
full validation (here for the page, and again in the engine on completion).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from forms.options import resolve_data_options
from forms.render import condition_holds, conditional_fields

_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_DATE_IT_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
LOCAL_ZONE = ZoneInfo("Europe/Rome")
TRUE = {"true", "on", "1", "si", "sì", "yes"}
FALSE = {"false", "off", "0", "no"}
MAX_ROWS = 200
PRESENT = ".__present"  # hidden marker: the field was on the page (empty lists, unchecked boxes)


@dataclass
class Parsed:
    """Typed data, the raw text of fields that could not be converted, and their errors."""

    data: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


class _Fields:
    """Submitted pairs grouped by name (a name may repeat: checkbox lists)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in pairs:
            self.values.setdefault(name, []).append(value if isinstance(value, str) else "")

    def first(self, name: str) -> str | None:
        got = self.values.get(name)
        return got[0] if got else None

    def all(self, name: str) -> list[str]:
        return [v for v in self.values.get(name, []) if v != ""]

    def has_prefix(self, prefix: str) -> bool:
        return any(name.startswith(prefix) for name in self.values)

    def row_indexes(self, path: str) -> list[int]:
        pattern = re.compile(re.escape(path) + r"\[(\d{1,4})\]\.")
        found = {int(m.group(1)) for name in self.values if (m := pattern.match(name))}
        return sorted(found)[:MAX_ROWS]


def parse_form(
    schema: Mapping[str, Any] | None,
    pairs: Iterable[tuple[str, str]],
    ui_schema: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Parsed:
    """Typed data from submitted (name, value) pairs; unknown names are ignored."""
    schema = resolve_data_options(schema or {"type": "object", "properties": {}}, context or {})
    parsed = Parsed()
    fields = _Fields(pairs)
    parsed.data = _object(schema, ui_schema or {}, fields, "", parsed)
    return parsed


def _object(
    schema: Mapping[str, Any], ui: Mapping[str, Any], fields: _Fields, prefix: str, out: Parsed
) -> dict[str, Any]:
    props: dict[str, Any] = dict(schema.get("properties") or {})
    for block in [schema, *[b for b in schema.get("allOf") or [] if isinstance(b, dict)]]:
        for branch in ("then", "else"):
            sub = block.get(branch)
            if isinstance(sub, dict):
                for name, prop in (sub.get("properties") or {}).items():
                    props.setdefault(name, prop)
    required = set(schema.get("required") or [])
    result: dict[str, Any] = {}
    for key, prop in props.items():
        if not isinstance(prop, dict) or prop.get("readOnly"):
            continue
        prop_ui = _sub(ui, key)
        if prop_ui.get("ui:readonly") or prop_ui.get("ui:widget") == "hidden":
            continue
        path = f"{prefix}{key}"
        present, value = _value(prop, prop_ui, fields, path, out, key in required)
        if present:
            result[key] = value
    for key, (controller, values, negate) in conditional_fields(schema).items():
        if key in result and not condition_holds(result.get(controller), values, negate):
            del result[key]
        if not condition_holds(result.get(controller), values, negate):
            own = f"{prefix}{key}"
            for path in [p for p in out.errors if p == own or p.startswith((f"{own}.", f"{own}["))]:
                del out.errors[path]
                out.raw.pop(path, None)
    return result


def _value(
    prop: Mapping[str, Any], ui: Mapping[str, Any], fields: _Fields, path: str, out: Parsed, required: bool
) -> tuple[bool, Any]:
    kind = prop.get("type")
    marker = fields.first(f"{path}{PRESENT}") is not None
    if kind == "object":
        if not fields.has_prefix(f"{path}.") and not required:
            return False, None
        return True, _object(prop, ui, fields, f"{path}.", out)
    if kind == "array":
        items = _sub(prop, "items")
        if items.get("type") == "object":
            return _rows(items, ui, fields, path, out, required, marker)
        if _choice(items) or kind_of(items) != "string":
            values = fields.all(path)
            if not values:
                return (marker and not required), []
            converted = []
            for item_text in values:
                ok, value = _scalar(items, item_text)
                if not ok:
                    out.errors.setdefault(path, []).append(f"valore non valido: «{item_text}»")
                    out.raw[path] = item_text
                    continue
                converted.append(value)
            return True, converted
        block = fields.first(path)
        if block is None:
            return False, None
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines and required:
            return False, None
        return True, lines
    text = fields.first(path)
    if kind == "boolean" and ui.get("ui:widget") == "checkbox":
        if text is None and not marker:
            return False, None
        return True, (text or "").strip().lower() in TRUE
    if text is None or text.strip() == "":
        # An optional free-text field emptied on purpose becomes "", so it overwrites the old text.
        blank_ok = (
            kind == "string"
            and text is not None
            and not required
            and not _choice(prop)
            and prop.get("format") is None
            and not prop.get("minLength")
            and not prop.get("pattern")
        )
        return (True, "") if blank_ok else (False, None)
    ok, value = _scalar(prop, text)
    if not ok:
        out.errors.setdefault(path, []).append(value)
        out.raw[path] = text
        return False, None
    return True, value


def _rows(
    items: Mapping[str, Any],
    ui: Mapping[str, Any],
    fields: _Fields,
    path: str,
    out: Parsed,
    required: bool,
    marker: bool,
) -> tuple[bool, Any]:
    """Rows of a repeatable group, renumbered 0..n-1 in submitted order; blank rows are dropped."""
    item_ui = _sub(ui, "items")
    kept = []
    for index in fields.row_indexes(path):
        prefix = f"{path}[{index}]."
        if any(
            v.strip()
            for name, vals in fields.values.items()
            if name.startswith(prefix) and not name.endswith(PRESENT)
            for v in vals
        ):
            kept.append(index)
    rows = []
    for position, index in enumerate(kept):
        old, new = f"{path}[{index}].", f"{path}[{position}]."
        renamed = _Fields(
            (new + name[len(old) :], v) for name, vals in fields.values.items() if name.startswith(old) for v in vals
        )
        rows.append(_object(items, item_ui, renamed, new, out))
    if not rows and (required or not marker):
        return False, None
    return True, rows


def kind_of(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type")
    return kind if isinstance(kind, str) else "string"


def _choice(prop: Mapping[str, Any]) -> bool:
    return isinstance(prop.get("enum"), list) or bool(prop.get("oneOf"))


def _scalar(prop: Mapping[str, Any], text: str) -> tuple[bool, Any]:
    """(True, converted value) or (False, Italian error message)."""
    kind = kind_of(prop)
    stripped = text.strip()
    if kind in ("integer", "number"):
        if not _NUMBER_RE.match(stripped):
            return (
                False,
                "inserire un numero intero (solo cifre)"
                if kind == "integer"
                else "inserire un numero (es. 12 oppure 12,5)",
            )
        number = float(stripped.replace(",", "."))
        if kind == "integer":
            if not number.is_integer():
                return False, "inserire un numero intero, senza decimali"
            return True, int(number)
        return True, int(number) if number.is_integer() else number
    if kind == "boolean":
        lowered = stripped.lower()
        if lowered in TRUE:
            return True, True
        if lowered in FALSE:
            return True, False
        return False, "scegliere sì o no"
    fmt = prop.get("format")
    if fmt == "date":
        match = _DATE_IT_RE.match(stripped)
        if match:
            day, month, year = (int(g) for g in match.groups())
            try:
                return True, date(year, month, day).isoformat()
            except ValueError:
                return False, "data inesistente"
        try:
            return True, date.fromisoformat(stripped).isoformat()
        except ValueError:
            return False, "inserire una data valida (GG/MM/AAAA)"
    if fmt == "date-time":
        try:
            moment = datetime.fromisoformat(stripped)
        except ValueError:
            return False, "inserire data e ora valide (GG/MM/AAAA hh:mm)"
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=LOCAL_ZONE)
        return True, moment.isoformat()
    if kind == "string":
        # Keep what was typed, minus surrounding blanks of single-line fields.
        return True, text.strip() if "\n" not in text else text.replace("\r\n", "\n").strip()
    return True, text


def _sub(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A sub-mapping of a schema or UI schema, or an empty one when absent or malformed."""
    value = node.get(key)
    return value if isinstance(value, dict) else {}
