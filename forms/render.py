"""Render model of a form: JSON Schema + UI schema + data + errors -> fields a template walks.

The model is plain data (no HTML): every field knows its widget, its HTML name (the same
path the validator reports errors under: `esito.riuscito`, `famiglia[0].nome`), its
current value, its options, its errors and the condition that shows it. Templates only
lay it out; the same model serves the first render and the 422 re-render.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from forms.options import enum_labels, resolve_data_options

ROW = "__i__"  # index placeholder in the template row of a repeatable group


@dataclass
class Option:
    """One choice of a select, radio group or checkbox list."""

    value: str
    label: str
    selected: bool = False


@dataclass
class Condition:
    """A field is shown only while another field (`controller`, an HTML name) has one of `values`."""

    controller: str
    values: list[str]
    negate: bool = False

    @property
    def values_json(self) -> str:
        return json.dumps(self.values)


@dataclass
class Field:
    """One field (or group) of the render model."""

    key: str
    name: str
    id: str
    label: str
    widget: str
    value: str = ""
    values: list[str] = field(default_factory=list)
    required: bool = False
    help: str | None = None
    placeholder: str | None = None
    errors: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    readonly: bool = False
    display: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Field] = field(default_factory=list)
    rows: list[list[Field]] = field(default_factory=list)
    template: list[Field] = field(default_factory=list)
    condition: Condition | None = None
    visible: bool = True
    rows_count: int = 4
    add_label: str = "Aggiungi"

    @property
    def described_by(self) -> str:
        ids = []
        if self.help:
            ids.append(f"{self.id}-help")
        if self.errors:
            ids.append(f"{self.id}-error")
        return " ".join(ids)

    @property
    def has_errors(self) -> bool:
        return (
            bool(self.errors)
            or any(c.has_errors for c in self.children)
            or any(f.has_errors for row in self.rows for f in row)
        )


@dataclass
class ErrorLink:
    """An entry of the error summary: which field, what is wrong, where to jump."""

    label: str
    message: str
    anchor: str


@dataclass
class FormModel:
    """Everything a template needs to draw a form."""

    title: str
    description: str | None
    fields: list[Field]
    form_errors: list[str]
    summary: list[ErrorLink]

    @property
    def error_count(self) -> int:
        return len(self.summary) + len(self.form_errors)


def field_id(path: str) -> str:
    """HTML id of a field path (`famiglia[0].nome` -> `f-famiglia-0-nome`)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", path).strip("-")


def build_form(
    schema: Mapping[str, Any] | None,
    ui_schema: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
    raw: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> FormModel:
    """The render model of a form.

    `data` is what the fields show, `raw` the text typed into fields that could not be
    converted (kept on re-render), `context` the task data (options taken from it).
    """
    schema = resolve_data_options(schema or {"type": "object", "properties": {}}, context or {})
    ui = ui_schema or {}
    errors = dict(errors or {})
    builder = _Builder(errors, dict(raw or {}))
    fields = builder.object_fields(schema, ui, data or {}, prefix="")
    summary: list[ErrorLink] = []
    _collect(fields, summary)
    used = builder.used
    form_errors = [
        (f"{path}: {m}" if path else m) for path, messages in errors.items() if path not in used for m in messages
    ]
    return FormModel(
        title=str(ui.get("ui:title") or schema.get("title") or ""),
        description=ui.get("ui:description") or schema.get("description"),
        fields=fields,
        form_errors=form_errors,
        summary=summary,
    )


def _collect(fields: list[Field], out: list[ErrorLink]) -> None:
    for f in fields:
        for message in f.errors:
            out.append(ErrorLink(f.label, message, f.id))
        _collect(f.children, out)
        for row in f.rows:
            _collect(row, out)


def display_value(value: Any, prop: Mapping[str, Any]) -> str:
    """A value as a person reads it (labels for codes, Sì/No, dates in Italian order)."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "Sì" if value else "No"
    if isinstance(value, list):
        items = _sub(prop, "items")
        return ", ".join(display_value(v, items or {}) for v in value)
    if isinstance(value, dict):
        props = prop.get("properties") or {}
        parts = []
        for k, v in value.items():
            sub = props.get(k) or {}
            parts.append(f"{sub.get('title', k)}: {display_value(v, sub)}")
        return "; ".join(parts)
    labels = enum_labels(prop)
    if str(value) in labels:
        return labels[str(value)]
    if prop.get("format") == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if prop.get("format") == "date-time" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%d/%m/%Y %H:%M")
        except ValueError:
            return value
    return str(value)


# --------------------------------------------------------------------------- conditions


def conditional_fields(schema: Mapping[str, Any]) -> dict[str, tuple[str, list[Any], bool]]:
    """Fields shown only under a condition on a sibling: name -> (controller, values, negate).

    Read from `if`/`then`/`else` (also inside `allOf`): `if` names one sibling with `const`,
    `enum` or `contains`; the fields `then` adds (properties or required) are shown when it
    matches, the fields `else` adds when it does not.
    """
    out: dict[str, tuple[str, list[Any], bool]] = {}
    blocks = [schema, *[b for b in schema.get("allOf") or [] if isinstance(b, dict)]]
    for block in blocks:
        cond = block.get("if")
        if not isinstance(cond, dict):
            continue
        tests = cond.get("properties") or {}
        if len(tests) != 1:
            continue
        controller, test = next(iter(tests.items()))
        if not isinstance(test, dict):
            continue
        if "const" in test:
            values = [test["const"]]
        elif isinstance(test.get("enum"), list):
            values = list(test["enum"])
        elif isinstance(test.get("contains"), dict) and "const" in test["contains"]:
            values = [test["contains"]["const"]]
        elif isinstance(test.get("contains"), dict) and isinstance(test["contains"].get("enum"), list):
            values = list(test["contains"]["enum"])
        else:
            continue
        for branch, negate in (("then", False), ("else", True)):
            sub = block.get(branch)
            if not isinstance(sub, dict):
                continue
            names = set(sub.get("properties") or {}) | set(sub.get("required") or [])
            for name in names - {controller}:
                out[name] = (controller, values, negate)
    return out


def condition_holds(controller_value: Any, values: list[Any], negate: bool) -> bool:
    """Whether a conditional field is visible given its controller's current value."""
    if isinstance(controller_value, list):
        hit = any(v in values for v in controller_value)
    else:
        hit = controller_value in values
    return hit != negate


def _html_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- builder


class _Builder:
    def __init__(self, errors: dict[str, list[str]], raw: dict[str, str]) -> None:
        self.errors = errors
        self.raw = raw
        self.used: set[str] = set()

    def _errors(self, path: str) -> list[str]:
        if path in self.errors:
            self.used.add(path)
            return list(self.errors[path])
        return []

    def object_fields(
        self, schema: Mapping[str, Any], ui: Mapping[str, Any], data: Mapping[str, Any], prefix: str
    ) -> list[Field]:
        props: Mapping[str, Any] = schema.get("properties") or {}
        # Fields that only appear in a then/else branch are declared there.
        extra: dict[str, Any] = {}
        for block in [schema, *[b for b in schema.get("allOf") or [] if isinstance(b, dict)]]:
            for branch in ("then", "else"):
                sub = block.get(branch)
                if isinstance(sub, dict):
                    for name, prop in (sub.get("properties") or {}).items():
                        if name not in props and isinstance(prop, dict):
                            extra[name] = prop
        all_props = {**props, **extra}
        required = set(schema.get("required") or [])
        order = _ordered(list(all_props), ui.get("ui:order"))
        conditions = conditional_fields(schema)
        fields = []
        for key in order:
            prop = all_props[key]
            if not isinstance(prop, dict):
                continue
            prop_ui = _sub(ui, key)
            if prop_ui.get("ui:widget") == "hidden":
                continue
            path = f"{prefix}{key}"
            f = self.field(key, path, prop, prop_ui, data.get(key), key in required)
            if key in conditions:
                controller, values, negate = conditions[key]
                f.condition = Condition(f"{prefix}{controller}", [_html_value(v) for v in values], negate)
                f.visible = condition_holds(data.get(controller), values, negate)
                then_required = _branch_required(schema, key, negate)
                f.required = f.required or then_required
            fields.append(f)
        return fields

    def field(
        self, key: str, path: str, prop: Mapping[str, Any], ui: Mapping[str, Any], value: Any, required: bool
    ) -> Field:
        f = Field(
            key=key,
            name=path,
            id=field_id(path),
            label=str(ui.get("ui:title") or prop.get("title") or key),
            widget="text",
            required=required,
            help=ui.get("ui:help") or prop.get("description"),
            placeholder=ui.get("ui:placeholder"),
            errors=self._errors(path),
        )
        kind = prop.get("type")
        widget = ui.get("ui:widget")
        if prop.get("readOnly") or ui.get("ui:readonly"):
            f.widget = "readonly"
            f.readonly = True
            f.display = display_value(value, prop)
            return f
        if kind == "object":
            f.widget = "group"
            inner = value if isinstance(value, dict) else {}
            f.children = self.object_fields(prop, ui, inner, prefix=f"{path}.")
            return f
        if kind == "array":
            return self._array(f, path, prop, ui, value)
        labels = enum_labels(prop)
        choices = _choices(prop)
        if choices is not None:
            current = self.raw.get(path, _html_value(value))
            few = len(choices) <= 3 and prop.get("x-inlav-options") is None
            f.widget = "radio" if widget == "radio" or (widget is None and few) else "select"
            f.options = [
                Option(_html_value(c), labels.get(str(c), _html_value(c)), _html_value(c) == current) for c in choices
            ]
            f.value = current
            return f
        if kind == "boolean":
            current = self.raw.get(path, _html_value(value))
            if widget == "checkbox":
                f.widget = "checkbox"
                f.value = current
                return f
            f.widget = "radio"
            f.options = [Option("true", "Sì", current == "true"), Option("false", "No", current == "false")]
            f.value = current
            return f
        f.value = self.raw.get(path, _html_value(value))
        if kind in ("integer", "number"):
            f.widget = "number"
            f.attrs["inputmode"] = "numeric" if kind == "integer" else "decimal"
            for attr, keyword in (("min", "minimum"), ("max", "maximum")):
                if keyword in prop:
                    f.attrs[attr] = _html_value(prop[keyword])
            f.attrs["step"] = "1" if kind == "integer" else _html_value(prop.get("multipleOf", "any"))
            return f
        fmt = prop.get("format")
        if fmt == "date":
            f.widget = "date"
        elif fmt == "date-time":
            f.widget = "datetime"
            f.value = f.value[:16]
        elif fmt == "email":
            f.widget = "email"
        elif widget == "textarea" or (isinstance(prop.get("maxLength"), int) and prop["maxLength"] > 200):
            f.widget = "textarea"
            f.rows_count = int(ui.get("ui:rows") or (ui.get("ui:options") or {}).get("rows") or 4)
        else:
            f.widget = "text"
            if fmt == "tel" or widget == "tel":
                f.widget = "tel"
        if isinstance(prop.get("maxLength"), int):
            f.attrs["maxlength"] = str(prop["maxLength"])
        return f

    def _array(self, f: Field, path: str, prop: Mapping[str, Any], ui: Mapping[str, Any], value: Any) -> Field:
        items = _sub(prop, "items")
        current = value if isinstance(value, list) else []
        choices = _choices(items)
        if choices is not None:
            labels = enum_labels(items)
            selected = {_html_value(v) for v in current}
            f.widget = "multiselect" if ui.get("ui:widget") == "select" else "checkboxes"
            f.options = [
                Option(_html_value(c), labels.get(str(c), _html_value(c)), _html_value(c) in selected) for c in choices
            ]
            f.values = sorted(selected)
            return f
        if items.get("type") == "object":
            f.widget = "repeat"
            item_ui = _sub(ui, "items")
            for index, row in enumerate(current):
                f.rows.append(
                    self.object_fields(items, item_ui, row if isinstance(row, dict) else {}, prefix=f"{path}[{index}].")
                )
            if not f.rows and f.required:
                f.rows.append(self.object_fields(items, item_ui, {}, prefix=f"{path}[0]."))
            f.template = self.object_fields(items, item_ui, {}, prefix=f"{path}[{ROW}].")
            options = _sub(ui, "ui:options")
            f.add_label = str(ui.get("ui:addLabel") or options.get("addLabel") or "Aggiungi una riga")
            return f
        f.widget = "lines"
        f.value = self.raw.get(path, "\n".join(_html_value(v) for v in current))
        f.rows_count = max(3, len(current) + 1)
        if not f.help:
            f.help = "Un elemento per riga."
        return f


def _choices(prop: Mapping[str, Any]) -> list[Any] | None:
    if isinstance(prop.get("enum"), list):
        return list(prop["enum"])
    for key in ("oneOf", "anyOf"):
        alts = prop.get(key)
        if isinstance(alts, list) and alts and all(isinstance(a, dict) and "const" in a for a in alts):
            return [a["const"] for a in alts]
    return None


def _branch_required(schema: Mapping[str, Any], key: str, negate: bool) -> bool:
    branch = "else" if negate else "then"
    for block in [schema, *[b for b in schema.get("allOf") or [] if isinstance(b, dict)]]:
        sub = block.get(branch)
        if isinstance(sub, dict) and key in (sub.get("required") or []):
            return True
    return False


def _ordered(keys: list[str], order: Any) -> list[str]:
    if not isinstance(order, list):
        return keys
    head = [k for k in order if k in keys]
    if "*" in order:
        star = order.index("*")
        before = [k for k in order[:star] if k in keys]
        after = [k for k in order[star + 1 :] if k in keys]
        middle = [k for k in keys if k not in before and k not in after]
        return before + middle + after
    return head + [k for k in keys if k not in head]


def _sub(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A sub-mapping of a schema or UI schema, or an empty one when absent or malformed."""
    value = node.get(key)
    return value if isinstance(value, dict) else {}
