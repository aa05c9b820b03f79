"""The studio's form editor: a form of a draft as a list of fields a coordinator edits without code.

A form is a JSON Schema (draft 2020-12) plus a UI schema, two files of the draft's bundle
(`<nome>.schema.json`, `<nome>.uischema.json`), so a form is published, and versioned, with its
process. This module reads them as typed fields (kind, label, help, required, options fixed or
taken from the task data, visibility condition, date rule, repeatable group with its
sub-fields) and applies one operation at a time (add, edit, move, remove a field; replace the
raw JSON), each validated with a specific Italian message.

Edits are minimal: an operation writes only the keywords of what it changes, so everything
the editor does not model (other keywords, `x-` extensions, `ui:` options) stays as it was, and
reading a form and writing back its fields unchanged gives the same files.
"""

from __future__ import annotations

import copy
import json
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

import forms
from engine.access.roles import Actor
from engine.definitions import FORM_PROPERTY, KINDS, UI_PROPERTY
from engine.errors import FormInvalid, NotFound
from engine.partners import resolve_options
from engine.safexml import UnsafeXml, parse_xml
from engine.spiff import json_syntax
from engine.studio.diagrams import local_name
from engine.studio.drafts import Draft, check_revision, open_draft, save_files

SCHEMA_SUFFIX = ".schema.json"
UI_SUFFIX = ".uischema.json"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
OPTIONS_KEY = "x-inlav-options"
LABELS_KEY = "x-inlav-labels"
DATA_PREFIX = "data:"

KIND_LABELS: dict[str, str] = {
    "testo": "Testo breve",
    "testo_lungo": "Testo lungo",
    "numero": "Numero",
    "data": "Data",
    "scelta": "Scelta singola",
    "scelta_multipla": "Scelta multipla",
    "si_no": "Sì / No",
    "gruppo": "Gruppo ripetibile",
}
"""The kinds of field the editor creates, with their Italian names."""
OTHER_KIND = "altro"
"""A field the editor shows and moves but whose kind it does not model (kept as it is)."""
DATE_RULES: dict[str, str] = {"date": "Solo la data", "date-time": "Data e ora"}
"""The date rules of the form schema (`format`): a calendar day, or a day and a time."""

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
FORM_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_NAME = 60
RESERVED = {"codice_caso", "ambito_caso"}
_TYPE_KEYS = (
    "type",
    "format",
    "enum",
    "const",
    "oneOf",
    "anyOf",
    "items",
    "properties",
    "required",
    "uniqueItems",
    "minItems",
    LABELS_KEY,
    OPTIONS_KEY,
    "x-inlav-option-value",
    "x-inlav-option-label",
)


class FormEditError(FormInvalid):
    """An operation on a form was refused: Italian problems, each keyed by the input it concerns.

    Keys: `nome`, `etichetta`, `tipo`, `scelte`, `data`, `condizione`, `schema`, `uischema`,
    `titolo`, or '' for the whole operation. Nothing was saved. A FormInvalid, so a page that
    does not catch it still answers 422 with the messages.
    """

    def __init__(self, problems: dict[str, list[str]]) -> None:
        flat = [m for messages in problems.values() for m in messages]
        super().__init__("Modifica non applicata: " + "; ".join(flat), problems)

    @property
    def problems(self) -> dict[str, list[str]]:
        """The messages by input (the same as `errors`)."""
        return self.errors


def _refuse(where: str, message: str) -> FormEditError:
    return FormEditError({where: [message]})


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Visibility:
    """Show the field only while `controller` (a sibling field) has one of `values` (or none, if `negate`)."""

    controller: str
    values: tuple[Any, ...]
    negate: bool = False


@dataclass(frozen=True)
class FieldSpec:
    """One field as the editor shows and edits it."""

    name: str
    kind: str
    label: str
    help: str = ""
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    """Fixed options (code, label) of a choice field."""
    options_from: str = ""
    """The task data variable the options come from ('' = fixed options)."""
    options_source: str = ""
    """Another source the form names (`x-inlav-options`, e.g. `partners`): kept, not edited."""
    date_rule: str = "date"
    condition: Visibility | None = None
    readonly: bool = False
    fields: tuple[FieldSpec, ...] = ()
    """The sub-fields of a repeatable group."""

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, "Altro (modificabile nel JSON)")

    @property
    def options_text(self) -> str:
        """The fixed options as the editor's text box shows them: «codice = Etichetta» per line."""
        return "\n".join(f"{code} = {label}" for code, label in self.options)


@dataclass(frozen=True)
class FormFiles:
    """A form's two documents (schema and UI schema) as parsed JSON."""

    schema: dict[str, Any]
    ui: dict[str, Any]


def _sub(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = node.get(key)
    return value if isinstance(value, dict) else {}


def _blocks(node: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [node, *[b for b in node.get("allOf") or [] if isinstance(b, dict)]]  # type: ignore[list-item]


def _all_props(node: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields of an object node in declaration order, with those declared only in then/else."""
    props: dict[str, dict[str, Any]] = {k: v for k, v in _sub(node, "properties").items() if isinstance(v, dict)}
    for block in _blocks(node):
        for branch in ("then", "else"):
            for name, prop in _sub(_sub(block, branch), "properties").items():
                if name not in props and isinstance(prop, dict):
                    props[name] = prop
    return props


def _order(node: Mapping[str, Any], ui: Mapping[str, Any]) -> list[str]:
    keys = list(_all_props(node))
    order = ui.get("ui:order")
    if not isinstance(order, list):
        return keys
    if "*" in order:
        star = order.index("*")
        before = [k for k in order[:star] if k in keys]
        after = [k for k in order[star + 1 :] if k in keys]
        return before + [k for k in keys if k not in before and k not in after] + after
    head = [k for k in order if k in keys]
    return head + [k for k in keys if k not in head]


def _choices(prop: Mapping[str, Any]) -> list[Any] | None:
    if isinstance(prop.get("enum"), list):
        return list(prop["enum"])
    for key in ("oneOf", "anyOf"):
        alts = prop.get(key)
        if isinstance(alts, list) and alts and all(isinstance(a, dict) and "const" in a for a in alts):
            return [a["const"] for a in alts]
    return None


def _is_choice(prop: Mapping[str, Any]) -> bool:
    return _choices(prop) is not None or isinstance(prop.get(OPTIONS_KEY), str)


def kind_of(prop: Mapping[str, Any], ui: Mapping[str, Any]) -> str:
    """The editor's kind of a property (OTHER_KIND for what it does not model)."""
    kind = prop.get("type")
    if kind == "array":
        items = _sub(prop, "items")
        if items.get("type") == "object":
            return "gruppo"
        if _is_choice(items):
            return "scelta_multipla"
        return OTHER_KIND
    if kind == "boolean":
        return "si_no"
    if kind in ("number", "integer"):
        return "numero"
    if kind == "string":
        if _is_choice(prop):
            return "scelta"
        if prop.get("format") in DATE_RULES:
            return "data"
        if prop.get("format") is not None:
            return OTHER_KIND
        if ui.get("ui:widget") == "textarea" or (isinstance(prop.get("maxLength"), int) and prop["maxLength"] > 200):
            return "testo_lungo"
        if ui.get("ui:widget") not in (None, "text"):
            return OTHER_KIND
        return "testo"
    return OTHER_KIND


def _conditions(node: Mapping[str, Any]) -> dict[str, Visibility]:
    from forms.render import conditional_fields

    return {name: Visibility(c, tuple(v), n) for name, (c, v, n) in conditional_fields(node).items()}


def _branch_required(node: Mapping[str, Any], name: str, negate: bool) -> bool:
    branch = "else" if negate else "then"
    return any(name in (_sub(block, branch).get("required") or []) for block in _blocks(node))


def _options_of(prop: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    choices = _choices(prop) or []
    labels = forms.enum_labels(prop)
    return tuple((str(c), labels.get(str(c), str(c))) for c in choices)


def read_fields(node: Mapping[str, Any], ui: Mapping[str, Any]) -> list[FieldSpec]:
    """The fields of an object node (the form, or a repeatable group's rows), in display order."""
    props = _all_props(node)
    required = set(node.get("required") or [])
    conditions = _conditions(node)
    out = []
    for name in _order(node, ui):
        prop = props[name]
        prop_ui = _sub(ui, name)
        kind = kind_of(prop, prop_ui)
        condition = conditions.get(name)
        choice_node = _sub(prop, "items") if kind == "scelta_multipla" else prop
        source = choice_node.get(OPTIONS_KEY)
        options_from = source[len(DATA_PREFIX) :] if isinstance(source, str) and source.startswith(DATA_PREFIX) else ""
        other_source = source if isinstance(source, str) and not options_from else ""
        out.append(
            FieldSpec(
                name=name,
                kind=kind,
                label=str(prop.get("title") or ""),
                help=str(prop.get("description") or ""),
                required=name in required or (condition is not None and _branch_required(node, name, condition.negate)),
                options=_options_of(choice_node) if kind in ("scelta", "scelta_multipla") and not source else (),
                options_from=options_from,
                options_source=other_source,
                date_rule=str(prop.get("format")) if kind == "data" else "date",
                condition=condition,
                readonly=bool(prop.get("readOnly") or prop_ui.get("ui:readonly")),
                fields=tuple(read_fields(_sub(prop, "items"), _sub(prop_ui, "items"))) if kind == "gruppo" else (),
            )
        )
    return out


def form_fields(files: FormFiles) -> list[FieldSpec]:
    """The fields of a form, in the order the operator sees them."""
    return read_fields(files.schema, files.ui)


# --------------------------------------------------------------------------- locating a node


def _node(files: FormFiles, group: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The object node (and its UI node) an operation works in: the form, or a group's rows.

    The UI node is created when missing (it is written only if something is put in it).
    """
    if not group:
        return files.schema, files.ui
    prop = _all_props(files.schema).get(group)
    if prop is None or kind_of(prop, _sub(files.ui, group)) != "gruppo":
        raise _refuse("", f"il gruppo ripetibile «{group}» non esiste nel modulo")
    group_ui = files.ui.setdefault(group, {})
    return prop["items"], group_ui.setdefault("items", {})


def _prop(node: dict[str, Any], name: str) -> dict[str, Any]:
    """The dict that declares a field: in properties, else in the then/else branch that adds it."""
    found = _sub(node, "properties").get(name)
    if isinstance(found, dict):
        return found
    for block in _blocks(node):
        for branch in ("then", "else"):
            candidate = _sub(_sub(block, branch), "properties").get(name)
            if isinstance(candidate, dict):
                return candidate
    raise _refuse("", f"il campo «{name}» non esiste nel modulo")


# --------------------------------------------------------------------------- validation


def check_name(name: str) -> str | None:
    """Why `name` cannot be a field name (it becomes a variable of the case data), or None."""
    if not name:
        return "indicare il nome del campo"
    if len(name) > MAX_NAME:
        return f"il nome del campo è troppo lungo (massimo {MAX_NAME} caratteri)"
    if not NAME_RE.match(name):
        return (
            f"«{name}» non è un nome valido: usare lettere minuscole senza accenti, cifre e trattino basso "
            "(_), iniziando con una lettera (es. esito_colloquio)"
        )
    if keyword.iskeyword(name) or name in {"true", "false", "none", "null"}:
        return f"«{name}» è una parola riservata: scegliere un altro nome"
    if name in RESERVED:
        return f"«{name}» è un dato del caso che nessun modulo può scrivere: scegliere un altro nome"
    return None


def parse_options(text: str) -> tuple[tuple[str, str], ...]:
    """Options from the editor's text box: one per line, «codice = Etichetta» or just «Etichetta».

    A line without a code gets one from its label (lower case, letters and digits joined by _).
    """
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        code, sep, label = line.partition("=")
        if sep:
            out.append((code.strip(), label.strip() or code.strip()))
        else:
            out.append((_slug(line), line))
    return tuple(out)


def _slug(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def _check_spec(spec: FieldSpec, siblings: list[FieldSpec], own: str | None, in_group: bool) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    if own is None or spec.name != own:
        bad = check_name(spec.name)
        if bad:
            add("nome", bad)
        elif any(f.name == spec.name for f in siblings if f.name != own):
            add("nome", f"esiste già un campo «{spec.name}» in questo modulo: scegliere un altro nome")
    if not spec.label.strip():
        add("etichetta", "indicare l'etichetta che l'operatore vede")
    if spec.kind not in KIND_LABELS and spec.kind != OTHER_KIND:
        add("tipo", f"tipo di campo «{spec.kind}» sconosciuto")
    if spec.kind == "gruppo" and in_group:
        add("tipo", "un gruppo ripetibile non può stare dentro un altro gruppo")
    if spec.kind in ("scelta", "scelta_multipla") and not spec.options_source:
        if spec.options_from:
            if not NAME_RE.match(spec.options_from) and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", spec.options_from):
                add("scelte", f"«{spec.options_from}» non è il nome di una variabile dei dati dell'attività")
        elif not spec.options:
            add("scelte", "indicare almeno una scelta (una per riga) o la variabile da cui prenderle")
        else:
            codes = [c for c, _ in spec.options]
            for code in codes:
                if not code:
                    add("scelte", "ogni scelta deve avere un codice: scrivere «codice = Etichetta»")
                    break
            duplicates = sorted({c for c in codes if c and codes.count(c) > 1})
            if duplicates:
                add("scelte", "codici ripetuti tra le scelte: " + ", ".join(f"«{c}»" for c in duplicates))
    if spec.kind == "data" and spec.date_rule not in DATE_RULES:
        add("data", f"regola di data «{spec.date_rule}» sconosciuta (ammesse: solo la data, data e ora)")
    if spec.condition is not None:
        cond = spec.condition
        controller = next((f for f in siblings if f.name == cond.controller), None)
        if cond.controller == spec.name or cond.controller == own:
            add("condizione", "un campo non può dipendere da sé stesso")
        elif controller is None:
            add("condizione", f"la condizione si riferisce al campo «{cond.controller}», che non esiste nel modulo")
        elif controller.kind not in ("scelta", "scelta_multipla", "si_no"):
            add(
                "condizione",
                f"la condizione può dipendere solo da un campo a scelta o Sì / No; «{controller.label}» è "
                f"«{controller.kind_label}»",
            )
        elif controller.condition is not None and controller.condition.controller in (spec.name, own):
            add(
                "condizione",
                f"«{controller.label}» dipende già da questo campo: le condizioni non possono girare in tondo",
            )
        elif not cond.values:
            add("condizione", f"scegliere per quali valori di «{controller.label}» il campo si vede")
        else:
            allowed = _controller_values(controller)
            if allowed is not None:
                unknown = [v for v in cond.values if v not in allowed]
                if unknown:
                    add(
                        "condizione",
                        f"«{controller.label}» non prevede " + ", ".join(f"«{_value_text(v)}»" for v in unknown),
                    )
    return problems


def _controller_values(controller: FieldSpec) -> list[Any] | None:
    """The values a condition on `controller` may test (None: not known in advance)."""
    if controller.kind == "si_no":
        return [True, False]
    if controller.options_from or controller.options_source:
        return None
    return [code for code, _ in controller.options]


def _value_text(value: Any) -> str:
    if value is True:
        return "Sì"
    if value is False:
        return "No"
    return str(value)


def condition_values(controller: FieldSpec, texts: list[str]) -> tuple[Any, ...]:
    """The typed values of a condition from the texts a page sends (`true`/`false` for Sì / No)."""
    if controller.kind == "si_no":
        return tuple(t == "true" for t in texts if t in ("true", "false"))
    return tuple(t for t in texts if t)


# --------------------------------------------------------------------------- the editor's input


@dataclass(frozen=True)
class FieldInput:
    """A field as the editor's form sends it: text as typed, before any check."""

    name: str = ""
    label: str = ""
    kind: str = "testo"
    help: str = ""
    required: bool = False
    options: str = ""
    """Fixed options, one per line: «codice = Etichetta» (or just «Etichetta»)."""
    options_from: str = ""
    date_rule: str = "date"
    condition: tuple[str, ...] = ()
    """Chosen condition values, each «campo=valore JSON» (e.g. «esito="da_rivedere"», «urgente=true»)."""
    negate: bool = False


def condition_token(controller: str, value: Any) -> str:
    """How the editor's form names one value of a condition: «campo=valore JSON»."""
    return f"{controller}={json.dumps(value, ensure_ascii=False)}"


@dataclass(frozen=True)
class ConditionChoice:
    """One value a field's visibility may depend on, as the editor offers it."""

    token: str
    controller: str
    label: str


def condition_choices(fields: list[FieldSpec] | tuple[FieldSpec, ...], name: str | None) -> list[ConditionChoice]:
    """The values of the sibling choice and yes/no fields a field (`name`, None: a new one) may depend on."""
    out: list[ConditionChoice] = []
    for other in fields:
        if other.name == name or other.kind not in ("scelta", "scelta_multipla", "si_no"):
            continue
        if other.condition is not None and other.condition.controller == name:
            continue  # no circles
        values: list[tuple[Any, str]]
        if other.kind == "si_no":
            values = [(True, "Sì"), (False, "No")]
        else:
            values = [(code, label) for code, label in other.options]
        for value, text in values:
            out.append(ConditionChoice(condition_token(other.name, value), other.name, f"{other.label} è «{text}»"))
    return out


def describe_condition(fields: list[FieldSpec] | tuple[FieldSpec, ...], spec: FieldSpec) -> str:
    """The field's condition in words: «visibile solo se «Esito» è «Da rivedere»» ('' without one)."""
    cond = spec.condition
    if cond is None:
        return ""
    controller = next((f for f in fields if f.name == cond.controller), None)
    labels = dict(controller.options) if controller is not None else {}
    names = [_value_text(v) if isinstance(v, bool) else labels.get(str(v), str(v)) for v in cond.values]
    verb = "non è" if cond.negate else "è"
    who = controller.label if controller is not None and controller.label else cond.controller
    return f"visibile solo se «{who}» {verb} " + " o ".join(f"«{n}»" for n in names)


def input_of(spec: FieldSpec) -> FieldInput:
    """The editor's form filled with a field as it is."""
    cond = spec.condition
    return FieldInput(
        name=spec.name,
        label=spec.label,
        kind=spec.kind,
        help=spec.help,
        required=spec.required,
        options=spec.options_text,
        options_from=spec.options_from,
        date_rule=spec.date_rule,
        condition=tuple(condition_token(cond.controller, v) for v in cond.values) if cond else (),
        negate=bool(cond and cond.negate),
    )


def spec_from_input(data: FieldInput, old: FieldSpec | None) -> FieldSpec:
    """The field an input describes (what the form does not edit is kept from `old`).

    FormEditError for a condition that mixes fields or names a value that is not JSON; the
    rest (names, options, the condition's field and values) is checked by the operation.
    """
    controllers = []
    values: list[Any] = []
    for token in data.condition:
        controller, sep, raw = token.partition("=")
        try:
            value = json.loads(raw) if sep else None
        except (json.JSONDecodeError, RecursionError):  # nested too deep
            value = None
        if not sep or not controller or value is None:
            raise _refuse("condizione", f"valore di condizione non riconosciuto: «{token}»")
        if controller not in controllers:
            controllers.append(controller)
        values.append(value)
    if len(controllers) > 1:
        raise _refuse(
            "condizione",
            "la condizione può dipendere da un solo campo: scegliere valori di "
            + " oppure di ".join(f"«{c}»" for c in controllers),
        )
    condition = Visibility(controllers[0], tuple(values), data.negate) if controllers else None
    kind = data.kind.strip()
    same_kind = old is not None and old.kind == kind
    return FieldSpec(
        name=data.name.strip(),
        kind=kind,
        label=data.label.strip(),
        help=data.help.strip(),
        required=data.required,
        options=parse_options(data.options),
        options_from=data.options_from.strip(),
        options_source=old.options_source if old is not None and same_kind and not data.options_from.strip() else "",
        date_rule=data.date_rule.strip() or "date",
        condition=condition,
        readonly=old.readonly if old is not None else False,
        fields=old.fields if old is not None else (),
    )


# --------------------------------------------------------------------------- writing


def _write(node: dict[str, Any], ui: dict[str, Any], spec: FieldSpec, old: FieldSpec | None) -> None:
    """Write `spec` into the node, touching only what differs from `old` (None: a new field)."""
    name = spec.name
    if old is None:
        node.setdefault("properties", {})[name] = {"title": spec.label}
    prop = _prop(node, name)
    prop_ui = _sub(ui, name)
    kind_changed = old is None or old.kind != spec.kind
    if kind_changed:
        for key in _TYPE_KEYS:
            prop.pop(key, None)
        for key in ("maxLength", "minLength", "minimum", "maximum", "multipleOf", "pattern"):
            prop.pop(key, None)
        prop_ui.pop("ui:widget", None)
        prop_ui.pop("items", None)
        _write_kind(prop, prop_ui, spec)
    else:
        assert old is not None
        if spec.kind == "data" and spec.date_rule != old.date_rule:
            prop["format"] = spec.date_rule
        if spec.kind in ("scelta", "scelta_multipla") and (
            spec.options != old.options or spec.options_from != old.options_from
        ):
            target = prop.setdefault("items", {"type": "string"}) if spec.kind == "scelta_multipla" else prop
            _write_options(target, spec)
    if old is None or spec.label != old.label:
        prop["title"] = spec.label
    if old is None or spec.help != old.help:
        if spec.help:
            prop["description"] = spec.help
        else:
            prop.pop("description", None)
    if prop_ui:
        ui[name] = prop_ui
    elif name in ui and not ui[name]:
        del ui[name]
    if old is None or spec.condition != old.condition or spec.required != old.required:
        _write_condition_and_required(node, name, spec, old)


def _write_kind(prop: dict[str, Any], prop_ui: dict[str, Any], spec: FieldSpec) -> None:
    if spec.kind in ("testo", "testo_lungo"):
        prop["type"] = "string"
        if spec.kind == "testo_lungo":
            prop_ui["ui:widget"] = "textarea"
    elif spec.kind == "numero":
        prop["type"] = "number"
    elif spec.kind == "data":
        prop["type"] = "string"
        prop["format"] = spec.date_rule
    elif spec.kind == "si_no":
        prop["type"] = "boolean"
    elif spec.kind == "scelta":
        prop["type"] = "string"
        _write_options(prop, spec)
    elif spec.kind == "scelta_multipla":
        prop["type"] = "array"
        prop["items"] = {"type": "string"}
        prop["uniqueItems"] = True
        _write_options(prop["items"], spec)
        prop_ui["ui:widget"] = "checkboxes"
    elif spec.kind == "gruppo":
        prop["type"] = "array"
        prop["items"] = {"type": "object", "properties": {}}


def _write_options(target: dict[str, Any], spec: FieldSpec) -> None:
    for key in ("enum", "oneOf", "anyOf", LABELS_KEY, OPTIONS_KEY, "x-inlav-option-value", "x-inlav-option-label"):
        target.pop(key, None)
    if spec.options_source:
        target[OPTIONS_KEY] = spec.options_source
    elif spec.options_from:
        target[OPTIONS_KEY] = DATA_PREFIX + spec.options_from
    else:
        target["enum"] = [code for code, _ in spec.options]
        target[LABELS_KEY] = dict(spec.options)


def _if_test(values: tuple[Any, ...], multiple: bool) -> dict[str, Any]:
    test: dict[str, Any] = {"const": values[0]} if len(values) == 1 else {"enum": list(values)}
    return {"contains": test} if multiple else test


def _write_condition_and_required(node: dict[str, Any], name: str, spec: FieldSpec, old: FieldSpec | None) -> None:
    """Place the field's condition and requiredness (a conditional field is required in its branch)."""
    old_condition = old.condition if old is not None else None
    if old_condition is not None and (spec.condition != old_condition or spec.required != (old and old.required)):
        _unlink(node, name)
    top = node.get("required")
    if spec.condition is None:
        if spec.required and name not in (top or []):
            node.setdefault("required", []).append(name)
        if not spec.required and isinstance(top, list) and name in top:
            top.remove(name)
            if not top:
                del node["required"]
        return
    if isinstance(top, list) and name in top:
        top.remove(name)
        if not top:
            del node["required"]
    cond = spec.condition
    if old_condition == cond and old is not None and spec.required == old.required:
        return
    branch_name = "else" if cond.negate else "then"
    props = _all_props(node)
    multiple = props.get(cond.controller, {}).get("type") == "array"
    wanted = {"properties": {cond.controller: _if_test(cond.values, multiple)}, "required": [cond.controller]}
    blocks = node.setdefault("allOf", [])
    block = next((b for b in blocks if isinstance(b, dict) and b.get("if") == wanted), None)
    if block is None:
        block = {"if": wanted}
        blocks.append(block)
    branch = block.setdefault(branch_name, {})
    if name in _sub(node, "properties"):
        branch.setdefault("properties", {}).setdefault(name, {})
    if spec.required and name not in (branch.get("required") or []):
        branch.setdefault("required", []).append(name)


def _unlink(node: dict[str, Any], name: str) -> None:
    """Take the field out of every then/else branch (moving a definition found only there to properties)."""
    declared = name in _sub(node, "properties")
    for block in list(_blocks(node)):
        for branch_name in ("then", "else"):
            branch = block.get(branch_name)
            if not isinstance(branch, dict):
                continue
            branch_props = branch.get("properties")
            if isinstance(branch_props, dict) and name in branch_props:
                moved = branch_props.pop(name)
                if not declared and isinstance(moved, dict):
                    node.setdefault("properties", {})[name] = moved
                    declared = True
                elif isinstance(moved, dict) and moved:
                    # Extra rules that hold only under the condition (e.g. minLength) stay with the field.
                    for key, value in moved.items():
                        node["properties"][name].setdefault(key, value)
                if not branch_props:
                    del branch["properties"]
            required = branch.get("required")
            if isinstance(required, list) and name in required:
                required.remove(name)
                if not required:
                    del branch["required"]
            if not branch:
                del block[branch_name]
    _drop_empty_blocks(node)


def _drop_empty_blocks(node: dict[str, Any]) -> None:
    blocks = node.get("allOf")
    if isinstance(blocks, list):
        blocks[:] = [b for b in blocks if not (isinstance(b, dict) and set(b) <= {"if"})]
        if not blocks:
            del node["allOf"]
    if set(node) & {"if"} and not set(node) & {"then", "else"}:
        del node["if"]


def _set_order(node: dict[str, Any], ui: dict[str, Any], order: list[str]) -> None:
    """Write the field order; a wildcard («*»: fields not listed) the author used stays, at the end."""
    current = ui.get("ui:order")
    ui["ui:order"] = [*order, "*"] if isinstance(current, list) and "*" in current else order


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class AddField:
    """Add a field at the end of the form (or of a repeatable group's rows)."""

    spec: FieldSpec
    group: str | None = None


@dataclass(frozen=True)
class EditField:
    """Change a field (its name too): `spec` is the whole field as it should become."""

    name: str
    spec: FieldSpec
    group: str | None = None


@dataclass(frozen=True)
class MoveField:
    """Move a field one place up (-1) or down (+1)."""

    name: str
    offset: int
    group: str | None = None


@dataclass(frozen=True)
class RemoveField:
    """Remove a field (refused while another field's condition depends on it)."""

    name: str
    group: str | None = None


@dataclass(frozen=True)
class ReplaceJson:
    """Replace both documents with the raw JSON texts typed in the JSON view."""

    schema_text: str
    ui_text: str


FormOperation = AddField | EditField | MoveField | RemoveField | ReplaceJson


def apply(files: FormFiles, operation: FormOperation) -> FormFiles:
    """The form after the operation (a new copy); FormEditError (nothing changed) if it is refused."""
    if isinstance(operation, ReplaceJson):
        return parse_raw(operation.schema_text, operation.ui_text)
    result = FormFiles(copy.deepcopy(files.schema), copy.deepcopy(files.ui))
    had_ui = {k: copy.deepcopy(v) for k, v in files.ui.items()}
    node, ui = _node(result, operation.group)
    in_group = bool(operation.group)
    fields = read_fields(node, ui)
    if isinstance(operation, AddField):
        spec = _clean(operation.spec)
        problems = _check_spec(spec, fields, None, in_group)
        if problems:
            raise FormEditError(problems)
        _write(node, ui, spec, None)
        _set_order(node, ui, [f.name for f in fields] + [spec.name])
    elif isinstance(operation, EditField):
        old = _find(fields, operation.name)
        spec = _clean(replace(operation.spec, fields=old.fields))
        if old.kind == OTHER_KIND and spec.kind == OTHER_KIND:
            spec = replace(spec, options=old.options, options_from=old.options_from, date_rule=old.date_rule)
        problems = _check_spec(spec, fields, old.name, in_group)
        problems.update(_dependents_problems(fields, old, spec))
        if problems:
            raise FormEditError(problems)
        if spec.name != old.name:
            _rename(node, ui, old.name, spec.name)
            old = replace(old, name=spec.name)
        _write(node, ui, spec, old)  # a rename already renamed the field in ui:order
    elif isinstance(operation, MoveField):
        old = _find(fields, operation.name)
        order = [f.name for f in fields]
        index = order.index(old.name)
        target = index + (1 if operation.offset > 0 else -1)
        if not 0 <= target < len(order):
            where = "il primo" if target < 0 else "l'ultimo"
            raise _refuse("", f"«{old.label or old.name}» è già {where} campo")
        order[index], order[target] = order[target], order[index]
        _set_order(node, ui, order)
    elif isinstance(operation, RemoveField):
        old = _find(fields, operation.name)
        users = [f.label or f.name for f in fields if f.condition is not None and f.condition.controller == old.name]
        if users:
            raise _refuse(
                "",
                f"non si può togliere «{old.label or old.name}»: decide quando mostrare "
                + ", ".join(f"«{u}»" for u in users)
                + " (togliere prima quelle condizioni)",
            )
        if old.condition is not None:
            _unlink(node, old.name)
        _sub(node, "properties").pop(old.name, None)
        top = node.get("required")
        if isinstance(top, list) and old.name in top:
            top.remove(old.name)
            if not top:
                del node["required"]
        ui.pop(old.name, None)
        if isinstance(ui.get("ui:order"), list):
            ui["ui:order"] = [k for k in ui["ui:order"] if k != old.name]
    if operation.group:
        _drop_empty_ui(result.ui, had_ui, operation.group)
    meta = forms.check_schema(result.schema)
    if meta:
        raise FormEditError({"": meta})
    return result


def _drop_empty_ui(ui: dict[str, Any], before: dict[str, Any], group: str) -> None:
    """Take away the empty UI nodes `_node` made for a group's rows, if the operation left them empty."""
    group_ui = ui.get(group)
    old = before.get(group)
    if not isinstance(group_ui, dict):
        return
    if group_ui.get("items") == {} and not (isinstance(old, dict) and "items" in old):
        del group_ui["items"]
    if group_ui == {} and group not in before:
        del ui[group]


def _clean(spec: FieldSpec) -> FieldSpec:
    return replace(spec, name=spec.name.strip(), label=spec.label.strip(), help=spec.help.strip())


def _find(fields: list[FieldSpec], name: str) -> FieldSpec:
    found = next((f for f in fields if f.name == name), None)
    if found is None:
        raise _refuse("", f"il campo «{name}» non esiste nel modulo")
    return found


def _dependents_problems(fields: list[FieldSpec], old: FieldSpec, spec: FieldSpec) -> dict[str, list[str]]:
    """Fields whose condition depends on `old` must still make sense after the edit."""
    problems: dict[str, list[str]] = {}
    if old.kind == "gruppo" and spec.kind != "gruppo" and old.fields:
        problems["tipo"] = [
            f"il gruppo ha {len(old.fields)} {'campo' if len(old.fields) == 1 else 'campi'} per riga: toglierli "
            "prima di cambiarne il tipo (si perderebbero)"
        ]
    for other in fields:
        cond = other.condition
        if cond is None or cond.controller != old.name:
            continue
        who = f"«{other.label or other.name}»"
        if spec.kind != old.kind:
            problems.setdefault("tipo", []).append(
                f"{who} si mostra secondo questo campo: per cambiarne il tipo togliere prima quella condizione"
            )
            continue
        allowed = _controller_values(spec)
        if allowed is not None:
            missing = [v for v in cond.values if v not in allowed]
            if missing:
                problems.setdefault("scelte", []).append(
                    f"{who} si mostra quando questo campo vale "
                    + ", ".join(f"«{_value_text(v)}»" for v in missing)
                    + ": lasciare quelle scelte o cambiare prima la condizione"
                )
    return problems


def _rename(node: dict[str, Any], ui: dict[str, Any], old: str, new: str) -> None:
    """Rename a field everywhere in its node: properties, required, branches, conditions, UI."""

    def rename_key(mapping: dict[str, Any]) -> None:
        if old in mapping:
            items = [(new if k == old else k, v) for k, v in mapping.items()]
            mapping.clear()
            mapping.update(items)

    def rename_list(values: Any) -> None:
        if isinstance(values, list):
            values[:] = [new if v == old else v for v in values]

    rename_key(node.setdefault("properties", {}))
    rename_list(node.get("required"))
    for block in _blocks(node):
        cond = block.get("if")
        if isinstance(cond, dict):
            rename_key(_sub(cond, "properties"))
            rename_list(cond.get("required"))
        for branch_name in ("then", "else"):
            branch = _sub(block, branch_name)
            rename_key(_sub(branch, "properties"))
            rename_list(branch.get("required"))
    rename_key(ui)
    rename_list(ui.get("ui:order"))


def parse_raw(schema_text: str, ui_text: str) -> FormFiles:
    """Both documents from the JSON view's texts: valid JSON, a usable form; FormEditError otherwise."""
    problems: dict[str, list[str]] = {}
    parsed: dict[str, Any] = {}
    for key, text, label in (("schema", schema_text, "lo schema"), ("uischema", ui_text, "lo schema di interfaccia")):
        if not text.strip() and key == "uischema":
            parsed[key] = {}
            continue
        try:
            parsed[key] = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.setdefault(key, []).append(f"{label}: {json_syntax(exc)}")
        except RecursionError:
            problems.setdefault(key, []).append(f"{label}: JSON annidato troppo in profondità")
    if "schema" in parsed:
        for message in forms.check_schema(parsed["schema"]):
            problems.setdefault("schema", []).append(message)
    if "uischema" in parsed:
        for message in forms.check_ui_schema(parsed["uischema"]):
            problems.setdefault("uischema", []).append(message)
    if problems:
        raise FormEditError(problems)
    return FormFiles(parsed["schema"], parsed["uischema"])


def dumps(document: Mapping[str, Any]) -> str:
    """A form document as the bundle stores it (two-space indent, accents kept, final newline)."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def new_form(title: str) -> FormFiles:
    """An empty form: a schema with a title and no fields, an empty field order."""
    return FormFiles(
        {"$schema": SCHEMA_DIALECT, "title": title, "type": "object", "properties": {}},
        {"ui:order": []},
    )


# --------------------------------------------------------------------------- forms of a draft


@dataclass(frozen=True)
class TaskUse:
    """A user task of the draft that shows the form."""

    element: str
    name: str
    ui_file: str | None
    """The UI schema file the task names (None: none)."""


@dataclass(frozen=True)
class DraftForm:
    """A form of a draft: its files and the tasks that use it."""

    name: str
    schema_file: str
    ui_file: str
    has_ui: bool
    title: str
    used_by: tuple[TaskUse, ...]


@dataclass(frozen=True)
class FormDocument:
    """A form of a draft opened in the editor."""

    draft: Draft
    form: DraftForm
    files: FormFiles
    fields: tuple[FieldSpec, ...]
    problems: tuple[str, ...]
    """What the meta-schema check finds in the stored form (the editor still opens it)."""
    preview_schema: dict[str, Any]
    """The schema as a task of the draft's scope would serve it (partner options filled in)."""

    @property
    def schema_text(self) -> str:
        return dumps(self.files.schema)

    @property
    def ui_text(self) -> str:
        return dumps(self.files.ui)


def _task_uses(draft: Draft) -> list[tuple[str, TaskUse]]:
    """(form schema file, use) for every task of the draft's diagrams that names a form."""
    found: list[tuple[str, TaskUse]] = []
    for file_name, content in draft.files.items():
        if KINDS.get(Path(file_name).suffix.lower()) != "bpmn":
            continue
        try:
            root = parse_xml(content)
        except UnsafeXml:
            continue
        for element in root.iter():
            if not isinstance(element.tag, str) or local_name(element.tag) not in ("userTask", "manualTask"):
                continue
            props = {
                p.get("name"): p.get("value")
                for p in element.iter()
                if isinstance(p.tag, str) and local_name(p.tag) == "property"
            }
            schema = props.get(FORM_PROPERTY)
            if schema:
                found.append(
                    (schema, TaskUse(element.get("id") or "", element.get("name") or "", props.get(UI_PROPERTY)))
                )
    return found


def _forms_of(draft: Draft) -> list[DraftForm]:
    uses = _task_uses(draft)
    out = []
    for file_name in sorted(draft.files):
        if not file_name.endswith(SCHEMA_SUFFIX) or "/" in file_name:
            continue
        name = file_name[: -len(SCHEMA_SUFFIX)]
        used = tuple(use for schema, use in uses if schema == file_name)
        named_ui = next((u.ui_file for u in used if u.ui_file), None)
        ui_file = named_ui or name + UI_SUFFIX
        try:
            schema = json.loads(draft.files[file_name].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            schema = {}
        title = str(schema.get("title") or "") if isinstance(schema, dict) else ""
        out.append(DraftForm(name, file_name, ui_file, ui_file in draft.files, title, used))
    return out


def draft_forms(session: Session, actor: Actor, ambito: str | None, key: str) -> tuple[Draft, list[DraftForm]]:
    """The draft and its forms (every `*.schema.json` of its files) with the tasks that use each."""
    draft = open_draft(session, actor, ambito, key)
    return draft, _forms_of(draft)


def _document(session: Session, draft: Draft, name: str) -> FormDocument:
    form = next((f for f in _forms_of(draft) if f.name == name), None)
    if form is None:
        raise NotFound(f"Il modulo «{name}» non è nella bozza.")
    files = FormFiles(_load(draft, form.schema_file, required=True), _load(draft, form.ui_file, required=False))
    return FormDocument(
        draft=draft,
        form=form,
        files=files,
        fields=tuple(form_fields(files)),
        problems=tuple(forms.check_schema(files.schema)),
        preview_schema=resolve_options(session, files.schema, draft.ambito),
    )


def _load(draft: Draft, file_name: str, required: bool) -> dict[str, Any]:
    content = draft.files.get(file_name)
    if content is None:
        if required:
            raise NotFound(f"Il file «{file_name}» non è nella bozza.")
        return {}
    try:
        value = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # nested too deep
        value = None
    if not isinstance(value, dict):
        # Not editable as fields: the JSON view shows it, the check names the problem.
        return {}
    return value


def open_form(session: Session, actor: Actor, ambito: str | None, key: str, name: str) -> FormDocument:
    """A form of the draft, read as fields for the editor (NotFound if the draft has no such form)."""
    return _document(session, open_draft(session, actor, ambito, key), name)


def edit_form(
    session: Session,
    actor: Actor,
    ambito: str | None,
    key: str,
    name: str,
    operation: FormOperation,
    revision: int | None,
) -> FormDocument:
    """Apply one operation to a form of the draft and save both files into it (one new revision).

    FormEditError (Italian, by input) when the operation is refused; Conflict when the draft was
    saved by someone after `revision`. In both cases nothing is saved.
    """
    document = open_form(session, actor, ambito, key, name)
    # A stale editor hears it before any other complaint (only saves of this form's files count).
    check_revision(document.draft, revision, (document.form.schema_file, document.form.ui_file))
    changed = apply(document.files, operation)
    files = {document.form.schema_file: dumps(changed.schema).encode("utf-8")}
    if changed.ui or document.form.has_ui:
        files[document.form.ui_file] = dumps(changed.ui).encode("utf-8")
    draft = save_files(session, actor, ambito, key, files, revision)
    return _document(session, draft, name)


def check_form_name(name: str) -> str | None:
    """Why `name` cannot name a new form (its files are `<name>.schema.json`/`.uischema.json`), or None."""
    if not name:
        return "indicare il nome del modulo"
    if len(name) > MAX_NAME:
        return f"il nome del modulo è troppo lungo (massimo {MAX_NAME} caratteri)"
    if not FORM_NAME_RE.match(name):
        return (
            f"«{name}» non è un nome di modulo valido: usare lettere minuscole senza accenti, cifre e "
            "trattino basso (_), iniziando con una lettera (es. approvazione_milano)"
        )
    return None


def create_form(
    session: Session,
    actor: Actor,
    ambito: str | None,
    key: str,
    name: str,
    title: str,
    revision: int | None,
) -> FormDocument:
    """A new empty form in the draft: `<name>.schema.json` and `<name>.uischema.json`, saved.

    FormEditError for a bad or taken name or a missing title; Conflict on a stale revision.
    A task uses it once its properties name the two files.
    """
    name = name.strip()
    title = title.strip()
    draft = open_draft(session, actor, ambito, key)
    check_revision(draft, revision, (name + SCHEMA_SUFFIX, name + UI_SUFFIX))
    problems: dict[str, list[str]] = {}
    bad = check_form_name(name)
    if bad:
        problems["nome"] = [bad]
    elif name + SCHEMA_SUFFIX in draft.files or name + UI_SUFFIX in draft.files:
        problems["nome"] = [f"la bozza ha già un modulo «{name}»: scegliere un altro nome o modificarlo"]
    if not title:
        problems["titolo"] = ["indicare il titolo del modulo (l'operatore lo vede sopra i campi)"]
    if problems:
        raise FormEditError(problems)
    form = new_form(title)
    saved = save_files(
        session,
        actor,
        ambito,
        key,
        {name + SCHEMA_SUFFIX: dumps(form.schema).encode("utf-8"), name + UI_SUFFIX: dumps(form.ui).encode("utf-8")},
        revision,
    )
    return _document(session, saved, name)


__all__ = [
    "DATE_RULES",
    "KIND_LABELS",
    "AddField",
    "ConditionChoice",
    "DraftForm",
    "EditField",
    "FieldInput",
    "FieldSpec",
    "FormDocument",
    "FormEditError",
    "FormFiles",
    "FormOperation",
    "MoveField",
    "RemoveField",
    "ReplaceJson",
    "TaskUse",
    "Visibility",
    "apply",
    "check_form_name",
    "check_name",
    "condition_choices",
    "condition_token",
    "condition_values",
    "create_form",
    "describe_condition",
    "draft_forms",
    "edit_form",
    "form_fields",
    "input_of",
    "new_form",
    "open_form",
    "parse_options",
    "parse_raw",
    "read_fields",
    "spec_from_input",
]
