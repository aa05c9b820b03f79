"""What the diagram editor's properties panel offers and shows for a draft.

- `editor_choices`: the values each panel field may pick, computed from the platform and the
  draft: the roles a lane may stand for (a lane is named after its role, as the engine reads it
  with `role_for_lane`), the forms in the draft, the processes a call activity may call from
  the scope, the decisions of the draft's DMN files, the messages its diagrams define.
- `preview_instructions`: a task's instructions (a Jinja template) rendered as the person
  doing the task sees them, in the sandbox with example data built from the draft's forms,
  or the Italian reason they cannot be.

Permission: as for the draft itself (`check_edit`, through `open_draft`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import forms
from engine.access.roles import LANE_ROLES, ROLES, Actor
from engine.definitions import KINDS
from engine.models import ProcessDefinition
from engine.safexml import UnsafeXml, parse_xml
from engine.sandbox import SandboxFailure, check_template, get_render_pool
from engine.studio.diagrams import local_name
from engine.studio.drafts import Draft, open_draft

SCHEMA_SUFFIX = ".schema.json"
UI_SUFFIX = ".uischema.json"
RESERVED_EXAMPLES: dict[str, Any] = {"codice_caso": "MILANO-2026-0001", "ambito_caso": "MILANO"}
PREVIEW_WAIT_SECONDS = 3.0
TOO_COSTLY = "Le istruzioni richiedono troppo tempo o memoria: semplificarle (meno cicli, numeri più piccoli)."


@dataclass(frozen=True)
class Choice:
    """One option of a panel field: the value written in the diagram and the label shown."""

    value: str
    label: str


@dataclass(frozen=True)
class RoleChoice:
    """A role a lane may stand for: the lane takes its label as name; `names` match existing lanes."""

    code: str
    label: str
    names: tuple[str, ...]
    """Every lane name the engine reads as this role, normalised as `normal_name` does."""


@dataclass(frozen=True)
class FormChoice:
    """A form of the draft: its JSON schema file, the UI schema beside it (if any), its title."""

    schema: str
    ui: str | None
    title: str


@dataclass(frozen=True)
class EditorChoices:
    """Everything the properties panel offers for one draft."""

    roles: list[RoleChoice]
    forms: list[FormChoice]
    processes: list[Choice]
    """Processes a call activity may call: the draft's own files and those published for the scope."""
    decisions: list[Choice]
    messages: list[Choice]
    """Message names the draft's diagrams define (value and label: the name the engine correlates on)."""

    def as_json(self) -> dict[str, Any]:
        """Plain JSON for the editor."""
        return {
            "roles": [{"code": r.code, "label": r.label, "names": list(r.names)} for r in self.roles],
            "forms": [{"schema": f.schema, "ui": f.ui, "title": f.title} for f in self.forms],
            "processes": [{"value": c.value, "label": c.label} for c in self.processes],
            "decisions": [{"value": c.value, "label": c.label} for c in self.decisions],
            "messages": [{"value": c.value, "label": c.label} for c in self.messages],
        }


@dataclass(frozen=True)
class InstructionPreview:
    """Instructions as the person doing the task would see them (`html`), or why not (`problem`)."""

    html: str
    problem: str | None = None
    example: dict[str, Any] = field(default_factory=dict)
    """The example data the template was filled with."""


def normal_name(text: str) -> str:
    """A lane name as the engine compares it: no accents, lower case, runs of other characters as «_»."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def editor_choices(session: Session, actor: Actor, ambito: str | None, key: str) -> EditorChoices:
    """The values the properties panel offers for the draft of `key` in the scope."""
    draft = open_draft(session, actor, ambito, key)
    roots = _xml_roots(draft)
    return EditorChoices(
        roles=role_choices(),
        forms=form_choices(draft.files),
        processes=_processes(session, ambito, key, roots),
        decisions=_decisions(roots),
        messages=_messages(roots),
    )


def role_choices() -> list[RoleChoice]:
    """The roles a lane may stand for (people who work cases), in the platform's order."""
    return [
        RoleChoice(
            role.code,
            role.label,
            tuple(dict.fromkeys(normal_name(n) for n in (role.code, role.label, *role.aliases))),
        )
        for role in ROLES
        if role.code in LANE_ROLES
    ]


def form_choices(files: dict[str, bytes]) -> list[FormChoice]:
    """The forms among the files: each `<name>.schema.json`, with `<name>.uischema.json` if present."""
    result: list[FormChoice] = []
    for name in sorted(files):
        if not name.endswith(SCHEMA_SUFFIX):
            continue
        ui = name[: -len(SCHEMA_SUFFIX)] + UI_SUFFIX
        schema = _json(files[name])
        title = schema.get("title") if isinstance(schema, dict) else None
        result.append(FormChoice(name, ui if ui in files else None, title if isinstance(title, str) else name))
    return result


def preview_instructions(
    session: Session, actor: Actor, ambito: str | None, key: str, template: str, form: str | None = None
) -> InstructionPreview:
    """Render instructions with example data from the draft's forms (`form`'s fields first), as HTML.

    The template is checked as at publication, then filled in the sandbox (never in this
    process), under the scripts' limits; any failure is an Italian problem, never an exception.
    """
    draft = open_draft(session, actor, ambito, key)
    data = example_data(draft.files, form)
    if not template.strip():
        return InstructionPreview("", "Nessuna istruzione da mostrare.", data)
    problems = check_template(template)
    if problems:
        return InstructionPreview("", "Istruzioni non valide: " + "; ".join(problems), data)
    try:
        text = get_render_pool().render(template, data, wait=PREVIEW_WAIT_SECONDS)
    except SandboxFailure as exc:
        if exc.kind == "busy":
            return InstructionPreview("", "Il sistema è occupato: riprovare l'anteprima tra poco.", data)
        if exc.kind in {"timeout", "memory", "crash"}:
            return InstructionPreview("", TOO_COSTLY, data)
        return InstructionPreview("", f"Le istruzioni non si completano con i dati di esempio: {exc}", data)
    return InstructionPreview(forms.instructions_html(text), None, data)


def example_data(files: dict[str, bytes], first: str | None = None) -> dict[str, Any]:
    """Example case data: each field of the draft's forms with a placeholder of its type.

    The fields of `first` (the task's own form) win over same-named fields of other forms.
    """
    data: dict[str, Any] = dict(RESERVED_EXAMPLES)
    names = [n for n in sorted(files) if n.endswith(SCHEMA_SUFFIX) and n != first]
    if first in files:
        names.append(first)  # last: its fields overwrite
    for name in names:
        schema = _json(files[name])
        if isinstance(schema, dict):
            for field_name, spec in (schema.get("properties") or {}).items():
                data[str(field_name)] = _example(spec, str(field_name), 0)
    return data


# --------------------------------------------------------------------------- helpers


def _example(spec: Any, name: str, depth: int) -> Any:
    """A placeholder value for a JSON schema property (the label in «‹ ›» for texts)."""
    if not isinstance(spec, dict) or depth > 4:
        return None
    if "const" in spec:
        return spec["const"]
    if isinstance(spec.get("enum"), list) and spec["enum"]:
        return spec["enum"][0]
    if isinstance(spec.get("default"), (str, int, float, bool)):
        return spec["default"]
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    title = spec.get("title") if isinstance(spec.get("title"), str) else name
    if kind == "string":
        if spec.get("format") == "date":
            return "2027-01-05"
        if spec.get("format") == "date-time":
            return "2027-01-05T09:00:00+01:00"
        return f"‹{title}›"
    if kind == "integer":
        return int(spec.get("minimum", 1)) if isinstance(spec.get("minimum"), int) else 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        item = _example(spec.get("items"), name, depth + 1)
        return [] if item is None else [item]
    if kind == "object" or isinstance(spec.get("properties"), dict):
        return {str(k): _example(v, str(k), depth + 1) for k, v in (spec.get("properties") or {}).items()}
    return f"‹{title}›"


def _json(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # nested too deep
        return None


def _xml_roots(draft: Draft) -> dict[str, Any]:
    """The parsed BPMN and DMN files of the draft (unreadable ones left out: the check reports them)."""
    roots: dict[str, Any] = {}
    for name, content in draft.files.items():
        if KINDS.get(Path(name).suffix.lower()) in {"bpmn", "dmn"}:
            try:
                roots[name] = parse_xml(content)
            except UnsafeXml:
                continue
    return roots


def _elements(roots: dict[str, Any], suffix: str, tag: str) -> list[Any]:
    return [
        element
        for name, root in sorted(roots.items())
        if name.lower().endswith(suffix)
        for element in root.iter()
        if isinstance(element.tag, str) and local_name(element.tag) == tag
    ]


def _processes(session: Session, ambito: str | None, key: str, roots: dict[str, Any]) -> list[Choice]:
    found: dict[str, str] = {}
    for element in _elements(roots, ".bpmn", "process"):
        process_id = element.get("id")
        if process_id and process_id != key:
            found.setdefault(process_id, element.get("name") or process_id)
    scope = (
        ProcessDefinition.ambito_code.is_(None)
        if ambito is None
        else or_(ProcessDefinition.ambito_code.is_(None), ProcessDefinition.ambito_code == ambito)
    )
    rows = session.execute(
        select(ProcessDefinition.process_key, ProcessDefinition.name)
        .where(scope, ProcessDefinition.process_key != key)
        .order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())
    )
    for process_key, name in rows:
        found.setdefault(str(process_key), str(name))
    return sorted((Choice(k, v) for k, v in found.items()), key=lambda c: (c.label.casefold(), c.value))


def _decisions(roots: dict[str, Any]) -> list[Choice]:
    found: dict[str, str] = {}
    for element in _elements(roots, ".dmn", "decision"):
        decision_id = element.get("id")
        if decision_id:
            found.setdefault(decision_id, element.get("name") or decision_id)
    return [Choice(k, v) for k, v in sorted(found.items())]


def _messages(roots: dict[str, Any]) -> list[Choice]:
    names = {element.get("name") for element in _elements(roots, ".bpmn", "message")}
    return [Choice(n, n) for n in sorted(n for n in names if n)]
