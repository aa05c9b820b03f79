"""Comparing two versions of a process: which two, both diagrams, and what changed in forms and decisions.

The diagrams themselves are compared in the browser by bpmn-js-differ (the page receives
both BPMN files); this module resolves the two sides within what the person may read,
and compares what is not BPMN: the JSON forms the tasks use, field by field, and the DMN
decision tables the process calls (decisions, inputs, outputs, rules).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.roles import Actor
from engine.errors import NotFound
from engine.models import BundleFile, DefinitionFile, ProcessDefinition
from engine.safexml import UnsafeXml, parse_xml
from engine.studio.catalogue import Catalogue, ProcessEntry, Version, catalogue
from engine.studio.diagrams import local_name, process_element
from forms import Field, build_form

Change = Literal["added", "removed", "changed"]
SCHEMA_PROPERTY = "formJsonSchemaFilename"
UI_PROPERTY = "formUiSchemaFilename"

WIDGETS = {
    "text": "testo breve",
    "textarea": "testo lungo",
    "number": "numero",
    "date": "data",
    "datetime": "data e ora",
    "email": "indirizzo email",
    "tel": "telefono",
    "select": "elenco a tendina",
    "radio": "scelta singola",
    "checkbox": "casella di spunta",
    "checkboxes": "scelta multipla",
    "multiselect": "elenco a scelta multipla",
    "repeat": "elenco di voci ripetibili",
    "group": "gruppo di campi",
    "readonly": "testo in sola lettura",
}
PRESENTATION = {
    "title",
    "description",
    "type",
    "enum",
    "oneOf",
    "anyOf",
    "const",
    "items",
    "properties",
    "required",
    "default",
    "readOnly",
    "x-inlav-labels",
    "x-inlav-options",
    "if",
    "then",
    "else",
    "allOf",
    "$schema",
    "$id",
    "examples",
}
"""Schema keywords the field's other facets already describe; every other one is a rule (limits, dates…)."""


@dataclass(frozen=True)
class Side:
    """One of the two versions compared: the version, its BPMN file, and its text for the page."""

    version: Version
    label: str
    file_name: str
    xml: str


@dataclass(frozen=True)
class FieldChange:
    """A field of a form added, removed or changed, described in Italian."""

    path: str
    label: str
    change: Change
    details: list[str]


@dataclass(frozen=True)
class FormChange:
    """A form of the process (its JSON schema file) added, removed or changed between the two versions."""

    file_name: str
    title: str
    change: Change
    tasks: list[tuple[str, str]]
    """(element id, name) of the tasks that use it, on either side."""
    details: list[str] = field(default_factory=list)
    """Form-level differences (title, description, layout file)."""
    fields: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class DecisionChange:
    """A DMN decision the process calls, added, removed or changed."""

    decision: str
    name: str
    file_name: str
    change: Change
    details: list[str]


@dataclass(frozen=True)
class Comparison:
    """Two versions of a process side by side, with what changed outside the diagram."""

    catalogue: Catalogue
    entry: ProcessEntry
    old: Side
    new: Side
    regional_base: bool
    """The pair is the «variant vs regional model» shortcut (newest variant, newest regional)."""
    forms: list[FormChange]
    decisions: list[DecisionChange]

    @property
    def identical_files(self) -> bool:
        """The two BPMN files are byte for byte the same (the diagrams cannot differ)."""
        return self.old.xml == self.new.xml


@dataclass(frozen=True)
class _Bundle:
    """The files of one version's bundle: name → (kind, content hash, content)."""

    files: dict[str, tuple[str, str, str]]


def comparison(
    session: Session, actor: Actor, ambito: str | None, key: str, old_id: int | None, new_id: int | None
) -> Comparison:
    """Two versions of `key` the studio of `ambito` shows, compared (NotFound outside the actor's reach).

    Without ids: the Ambito's newest variant against the newest regional version when it has a
    variant, else the two newest versions; NotFound when there is nothing to compare.
    """
    view = catalogue(session, actor, ambito, key)
    entry = view.get(key)
    if entry is None:
        raise NotFound(f"Processo «{key}» non trovato.")
    old_version, new_version, regional = _pair(entry, old_id, new_id)
    old_bundle, new_bundle = _bundle(session, old_version), _bundle(session, new_version)
    old_side = _side(view, entry, old_version, old_bundle)
    new_side = _side(view, entry, new_version, new_bundle)
    old_process = process_element(old_side.xml, key)
    new_process = process_element(new_side.xml, key)
    return Comparison(
        catalogue=view,
        entry=entry,
        old=old_side,
        new=new_side,
        regional_base=regional,
        forms=compare_forms(_task_forms(old_process), old_bundle.files, _task_forms(new_process), new_bundle.files),
        decisions=compare_decisions(
            _called_decisions(old_process) | _called_decisions(new_process), old_bundle.files, new_bundle.files
        ),
    )


def regional_pair(entry: ProcessEntry) -> tuple[Version, Version] | None:
    """The shortcut «variant vs regional model»: (newest regional version, newest variant version)."""
    if entry.variant and entry.base:
        return entry.base[0], entry.variant[0]
    return None


def _pair(entry: ProcessEntry, old_id: int | None, new_id: int | None) -> tuple[Version, Version, bool]:
    """The two versions asked for (or the default pair), and whether they are the regional shortcut."""
    if old_id is None and new_id is None:
        shortcut = regional_pair(entry)
        if shortcut is not None:
            return shortcut[0], shortcut[1], True
        versions = entry.versions
        if len(versions) < 2:
            raise NotFound(f"Il processo «{entry.key}» ha una sola versione: non c'è nulla da confrontare.")
        return versions[1], versions[0], False
    by_id = {v.definition_id: v for v in entry.versions}
    found: list[Version] = []
    for asked, which in ((old_id, "di partenza"), (new_id, "di arrivo")):
        version = by_id.get(asked) if asked is not None else None
        if version is None:
            shown = "non indicata" if asked is None else str(asked)
            raise NotFound(f"Versione {which} ({shown}) del processo «{entry.key}» non trovata.")
        found.append(version)
    shortcut = regional_pair(entry)
    regional = shortcut is not None and (found[0], found[1]) == shortcut
    return found[0], found[1], regional


def _bundle(session: Session, version: Version) -> _Bundle:
    rows = session.execute(
        select(BundleFile.name, BundleFile.kind, BundleFile.sha256, DefinitionFile.content)
        .join(DefinitionFile, DefinitionFile.sha256 == BundleFile.sha256)
        .join(ProcessDefinition, ProcessDefinition.bundle_id == BundleFile.bundle_id)
        .where(ProcessDefinition.id == version.definition_id)
        .order_by(BundleFile.name)
    ).all()
    return _Bundle({str(name): (str(kind), str(sha), str(content)) for name, kind, sha, content in rows})


def _side(view: Catalogue, entry: ProcessEntry, version: Version, bundle: _Bundle) -> Side:
    owner = "modello regionale" if version.regional else f"variante di {view.ambito_name}"
    label = f"v{version.version} · {owner}"
    for name, (kind, _sha, content) in bundle.files.items():
        if kind == "bpmn" and process_element(content, entry.key) is not None:
            return Side(version, label, name, content)
    raise NotFound(f"Il diagramma del processo «{entry.key}» non è nel pacchetto della versione {version.version}.")


# --------------------------------------------------------------------------- forms


def _task_forms(process: Any) -> dict[str, tuple[str | None, list[tuple[str, str]]]]:
    """Schema file → (UI schema file, [(task id, task name)]) for the user tasks of a process."""
    found: dict[str, tuple[str | None, list[tuple[str, str]]]] = {}
    if process is None:
        return found
    for element in process.iter():
        if local_name(element.tag) != "userTask":
            continue
        properties = {
            el.get("name"): el.get("value")
            for el in element.iter()
            if local_name(el.tag) == "property" and el.get("name")
        }
        schema = properties.get(SCHEMA_PROPERTY)
        if not schema:
            continue
        _ui, tasks = found.setdefault(schema, (properties.get(UI_PROPERTY), []))
        tasks.append((element.get("id") or "", element.get("name") or element.get("id") or ""))
    return found


def compare_forms(
    old_tasks: Mapping[str, tuple[str | None, list[tuple[str, str]]]],
    old_files: Mapping[str, tuple[str, str, str]],
    new_tasks: Mapping[str, tuple[str | None, list[tuple[str, str]]]],
    new_files: Mapping[str, tuple[str, str, str]],
) -> list[FormChange]:
    """The forms the two versions' tasks use, compared by schema file name and then field by field."""
    changes: list[FormChange] = []
    for name in sorted(set(old_tasks) | set(new_tasks)):
        old_ui, old_users = old_tasks.get(name, (None, []))
        new_ui, new_users = new_tasks.get(name, (None, []))
        tasks = list(dict.fromkeys([*new_users, *old_users]))
        old_schema, new_schema = _json(old_files, name), _json(new_files, name)
        if name not in old_tasks or old_schema is None:
            if name in new_tasks:
                changes.append(FormChange(name, _title(new_schema, name), "added", tasks))
            continue
        if name not in new_tasks or new_schema is None:
            changes.append(FormChange(name, _title(old_schema, name), "removed", tasks))
            continue
        if (
            _same(old_files, new_files, name)
            and old_ui == new_ui
            and (old_ui is None or _same(old_files, new_files, old_ui))
        ):
            continue
        old_layout = _json(old_files, old_ui) if old_ui else None
        new_layout = _json(new_files, new_ui) if new_ui else None
        details = _form_details(old_schema, new_schema, old_ui, new_ui)
        fields = compare_fields(old_schema, old_layout, new_schema, new_layout)
        if _reordered(_order(old_schema, old_layout), _order(new_schema, new_layout)):
            details.append("ordine dei campi cambiato")
        if details or fields:
            changes.append(FormChange(name, _title(new_schema, name), "changed", tasks, details, fields))
    return changes


def _same(old: Mapping[str, tuple[str, str, str]], new: Mapping[str, tuple[str, str, str]], name: str) -> bool:
    return name in old and name in new and old[name][1] == new[name][1]


def _json(files: Mapping[str, tuple[str, str, str]], name: str) -> dict[str, Any] | None:
    entry = files.get(name)
    if entry is None:
        return None
    try:
        value = json.loads(entry[2])
    except ValueError:
        return None  # stored files passed the deployment's checks; never fail the page on one
    return value if isinstance(value, dict) else None


def _title(schema: Mapping[str, Any] | None, name: str) -> str:
    title = (schema or {}).get("title")
    return str(title) if title else name


def _form_details(old: Mapping[str, Any], new: Mapping[str, Any], old_ui: str | None, new_ui: str | None) -> list[str]:
    details = []
    if old.get("title") != new.get("title"):
        details.append(f"titolo: {_quote(old.get('title'))} → {_quote(new.get('title'))}")
    if old.get("description") != new.get("description"):
        details.append("descrizione del modulo modificata")
    if old_ui != new_ui:
        details.append(f"file di impaginazione: {_quote(old_ui)} → {_quote(new_ui)}")
    return details


@dataclass(frozen=True)
class _FieldFacets:
    """What a person sees of a field, and the rules it enforces, in comparable form."""

    label: str
    widget: str
    required: bool
    readonly: bool
    help: str | None
    options: tuple[str, ...]
    visibility: str | None
    rules: tuple[tuple[str, str], ...]


def compare_fields(
    old_schema: Mapping[str, Any],
    old_ui: Mapping[str, Any] | None,
    new_schema: Mapping[str, Any],
    new_ui: Mapping[str, Any] | None,
) -> list[FieldChange]:
    """Fields added, removed or changed (label, type, required, options, help, visibility, rules)."""
    old = _facets(old_schema, old_ui)
    new = _facets(new_schema, new_ui)
    changes: list[FieldChange] = []
    for path, facets in new.items():
        if path not in old:
            changes.append(FieldChange(path, facets.label, "added", _describe_new(facets)))
    for path, facets in old.items():
        if path not in new:
            changes.append(FieldChange(path, facets.label, "removed", []))
        elif facets != new[path]:
            changes.append(FieldChange(path, new[path].label, "changed", _describe_change(facets, new[path])))
    order = {path: index for index, path in enumerate([*new, *old])}
    return sorted(changes, key=lambda c: order[c.path])


def _order(schema: Mapping[str, Any], ui: Mapping[str, Any] | None) -> list[str]:
    """The fields' paths in the order a person meets them."""
    return list(_facets(schema, ui))


def _reordered(old: list[str], new: list[str]) -> bool:
    """The fields both forms hold come in another order (added and removed ones aside)."""
    common = set(old) & set(new)
    return [p for p in old if p in common] != [p for p in new if p in common]


def _facets(schema: Mapping[str, Any], ui: Mapping[str, Any] | None) -> dict[str, _FieldFacets]:
    """Every field of a form by path (`group.field`), nested ones included, in the form's order."""
    out: dict[str, _FieldFacets] = {}
    model = build_form(schema, ui or {})
    _walk(model.fields, _raw_properties(schema), "", "", out)
    return out


def _walk(
    fields: Iterable[Field], raw: Mapping[str, Any], prefix: str, label_prefix: str, out: dict[str, _FieldFacets]
) -> None:
    for f in fields:
        found = raw.get(f.key)
        prop: dict[str, Any] = found if isinstance(found, dict) else {}
        path = f"{prefix}{f.key}"
        label = f"{label_prefix}{f.label or f.key}"
        visibility = None
        if f.condition is not None:
            controller = f.condition.controller.rsplit(".", 1)[-1]
            values = ", ".join(f.condition.values)
            visibility = f"{'se' if not f.condition.negate else 'se non'} «{controller}» vale {values}"
        rules = {k: json.dumps(v, ensure_ascii=False, sort_keys=True) for k, v in prop.items() if k not in PRESENTATION}
        rules.update({f"html:{k}": v for k, v in f.attrs.items() if k not in ("inputmode", "step")})
        out[path] = _FieldFacets(
            label=label,
            widget=f.widget,
            required=f.required,
            readonly=f.readonly,
            help=f.help,
            options=tuple(o.label for o in f.options),
            visibility=visibility,
            rules=tuple(sorted(rules.items())),
        )
        inner = f.template or f.children
        if inner:
            items = prop.get("items")
            sub: Mapping[str, Any] = items if isinstance(items, dict) else prop
            _walk(inner, _raw_properties(sub), f"{path}.", f"{label} › ", out)


def _raw_properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of an object schema, those declared in if/then/else branches included."""
    props: dict[str, Any] = {}
    for block in [schema, *[b for b in schema.get("allOf") or [] if isinstance(b, dict)]]:
        for branch in ("then", "else"):
            sub = block.get(branch)
            if isinstance(sub, dict):
                props.update({k: v for k, v in (sub.get("properties") or {}).items() if isinstance(v, dict)})
    props.update({k: v for k, v in (schema.get("properties") or {}).items() if isinstance(v, dict)})
    return props


def _describe_new(facets: _FieldFacets) -> list[str]:
    details = [f"tipo: {_widget(facets.widget)}", "obbligatorio" if facets.required else "facoltativo"]
    if facets.options:
        details.append(f"opzioni: {', '.join(facets.options)}")
    if facets.visibility:
        details.append(f"visibile solo {facets.visibility}")
    return details


def _describe_change(old: _FieldFacets, new: _FieldFacets) -> list[str]:
    details = []
    if old.label != new.label:
        details.append(f"etichetta: {_quote(old.label)} → {_quote(new.label)}")
    if old.widget != new.widget:
        details.append(f"tipo: {_widget(old.widget)} → {_widget(new.widget)}")
    if old.required != new.required:
        details.append("ora obbligatorio" if new.required else "ora facoltativo")
    if old.readonly != new.readonly:
        details.append("ora in sola lettura" if new.readonly else "ora modificabile")
    if old.help != new.help:
        details.append(f"testo di aiuto: {_quote(old.help)} → {_quote(new.help)}")
    if old.options != new.options:
        added = [o for o in new.options if o not in old.options]
        removed = [o for o in old.options if o not in new.options]
        if added:
            details.append(f"opzioni aggiunte: {', '.join(added)}")
        if removed:
            details.append(f"opzioni tolte: {', '.join(removed)}")
        if not added and not removed:
            details.append("ordine delle opzioni cambiato")
    if old.visibility != new.visibility:
        before = f"visibile {old.visibility}" if old.visibility else "sempre visibile"
        after = f"visibile {new.visibility}" if new.visibility else "sempre visibile"
        details.append(f"visibilità: {before} → {after}")
    old_rules, new_rules = dict(old.rules), dict(new.rules)
    for rule in sorted(set(old_rules) | set(new_rules)):
        if old_rules.get(rule) != new_rules.get(rule):
            name = rule.removeprefix("html:")
            details.append(f"regola «{name}»: {_quote(old_rules.get(rule))} → {_quote(new_rules.get(rule))}")
    return details


def _widget(widget: str) -> str:
    return WIDGETS.get(widget, widget)


def _quote(value: Any) -> str:
    if value is None or value == "":
        return "(nessuno)"
    text = str(value).strip('"')
    return f"«{text if len(text) <= 120 else text[:117] + '…'}»"


# --------------------------------------------------------------------------- decisions


def _called_decisions(process: Any) -> set[str]:
    """Ids of the DMN decisions the process's business rule tasks call."""
    if process is None:
        return set()
    return {
        (el.text or "").strip()
        for el in process.iter()
        if local_name(el.tag) == "calledDecisionId" and (el.text or "").strip()
    }


@dataclass(frozen=True)
class _Decision:
    name: str
    file_name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    rules: tuple[str, ...]
    """Each rule as text (its input and output entries), to tell rules edited from rules moved."""
    hit_policy: str


def compare_decisions(
    called: set[str], old_files: Mapping[str, tuple[str, str, str]], new_files: Mapping[str, tuple[str, str, str]]
) -> list[DecisionChange]:
    """The decisions the process calls, compared by id: hit policy, inputs, outputs and rules."""
    old, new = _decisions(old_files), _decisions(new_files)
    changes = []
    for decision in sorted(called):
        before, after = old.get(decision), new.get(decision)
        if before is None and after is None:
            continue
        if before is None and after is not None:
            details = [f"{len(after.rules)} regole"]
            changes.append(DecisionChange(decision, after.name, after.file_name, "added", details))
        elif after is None and before is not None:
            changes.append(DecisionChange(decision, before.name, before.file_name, "removed", []))
        elif before is not None and after is not None and before != after:
            changes.append(
                DecisionChange(decision, after.name, after.file_name, "changed", _decision_details(before, after))
            )
    return changes


def _decision_details(old: _Decision, new: _Decision) -> list[str]:
    details = []
    if old.name != new.name:
        details.append(f"nome: {_quote(old.name)} → {_quote(new.name)}")
    if old.hit_policy != new.hit_policy:
        details.append(f"criterio di scelta della regola: {old.hit_policy} → {new.hit_policy}")
    for what, before, after in (("ingressi", old.inputs, new.inputs), ("uscite", old.outputs, new.outputs)):
        added = [x for x in after if x not in before]
        removed = [x for x in before if x not in after]
        if added:
            details.append(f"{what} aggiunti: {', '.join(added)}")
        if removed:
            details.append(f"{what} tolti: {', '.join(removed)}")
    if len(old.rules) != len(new.rules):
        details.append(f"regole: {len(old.rules)} → {len(new.rules)}")
    edited = len([r for r in new.rules if r not in old.rules])
    if edited and len(old.rules) == len(new.rules):
        details.append(f"{edited} {'regola modificata' if edited == 1 else 'regole modificate'}")
    elif old.rules != new.rules and sorted(old.rules) == sorted(new.rules):
        details.append("ordine delle regole cambiato")
    if old.file_name != new.file_name:
        details.append(f"file: {old.file_name} → {new.file_name}")
    return details or ["definizione modificata"]


def _decisions(files: Mapping[str, tuple[str, str, str]]) -> dict[str, _Decision]:
    found: dict[str, _Decision] = {}
    for name, (kind, _sha, content) in files.items():
        if kind != "dmn":
            continue
        data = content.encode("utf-8")
        try:
            root = parse_xml(data, max_bytes=len(data) + 1)
        except UnsafeXml:
            continue
        for decision in root.iter():
            if local_name(decision.tag) != "decision" or not decision.get("id"):
                continue
            table = next((el for el in decision.iter() if local_name(el.tag) == "decisionTable"), None)
            if table is None:
                continue
            found[decision.get("id")] = _Decision(
                name=decision.get("name") or decision.get("id"),
                file_name=name,
                inputs=tuple(el.get("label") or el.get("id") or "" for el in table if local_name(el.tag) == "input"),
                outputs=tuple(
                    el.get("label") or el.get("name") or el.get("id") or ""
                    for el in table
                    if local_name(el.tag) == "output"
                ),
                rules=tuple(_rule_text(rule) for rule in table if local_name(rule.tag) == "rule"),
                hit_policy=table.get("hitPolicy") or "UNIQUE",
            )
    return found


def _rule_text(rule: Any) -> str:
    entries = [
        (local_name(entry.tag), " ".join((t.text or "").split()))
        for entry in rule
        if local_name(entry.tag) in ("inputEntry", "outputEntry")
        for t in entry
        if local_name(t.tag) == "text"
    ]
    return json.dumps(entries, ensure_ascii=False)
