"""Decision tables of a studio draft: the DMN files of the draft, a new table, saving, checking.

A draft holds every file of the process's bundle (`engine.studio.drafts`), DMN files
included. The decision-table editor lists them with their decisions and the rule tasks of
the draft's diagrams that call each one, creates a new file with one empty table the
engine accepts, saves a file into the draft under the rules of `save_diagram` (permission,
size, safe XML, stale revision refused, nothing overwritten) and validates the draft as a
deployment would, keeping the problems of the decisions, each pinned to the element of the
table (decision, column, rule, cell) the editor selects.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from sqlalchemy.orm import Session

from engine.access.roles import Actor
from engine.errors import DefinitionError, NotFound, Problem
from engine.safexml import UnsafeXml, parse_xml
from engine.spiff.decisions import DMN_VERSIONS
from engine.studio.diagrams import local_name
from engine.studio.drafts import Draft, check_base, check_draft, open_draft, save_file

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}\.dmn$")


@dataclass(frozen=True)
class Column:
    """An input or output column of a table: its id, label, and expression (input) or variable (output)."""

    id: str
    label: str
    expression: str
    type_ref: str


@dataclass(frozen=True)
class RuleTask:
    """A rule task (businessRuleTask) of the draft's diagrams that calls a decision."""

    file: str
    id: str
    name: str


@dataclass(frozen=True)
class Decision:
    """One decision of a DMN file, as the list shows it."""

    id: str
    name: str
    table: bool
    """Whether it is a decision table (the engine runs nothing else)."""
    hit_policy: str
    inputs: tuple[Column, ...]
    outputs: tuple[Column, ...]
    rules: int
    used_by: tuple[RuleTask, ...]


@dataclass(frozen=True)
class DecisionFile:
    """A DMN file of the draft with its decisions (`error`: why it could not be read)."""

    name: str
    title: str
    decisions: tuple[Decision, ...]
    error: str | None


@dataclass(frozen=True)
class DecisionOverview:
    """The decision tables of a draft, and the decisions its rule tasks call that no file defines."""

    draft: Draft
    files: tuple[DecisionFile, ...]
    missing: tuple[tuple[str, RuleTask], ...]


@dataclass(frozen=True)
class DecisionProblem:
    """A problem of the decisions: file, element as reported, decision and element to select, message."""

    file: str | None
    element: str | None
    """As the check reports it (for a table «decisione › regola › cella»)."""
    decision: str | None
    """The decision whose table shows the problem (None: not in a decision of a DMN file)."""
    target: str | None
    """The id of the table element to select: the decision, a column, a rule or a cell."""
    message: str


@dataclass(frozen=True)
class DecisionCheck:
    """What «Verifica» found on the decisions, and how many other problems the draft has."""

    problems: tuple[DecisionProblem, ...]
    others: int


# --------------------------------------------------------------------------- reading


def decision_files(
    session: Session, actor: Actor, ambito: str | None, key: str, max_bytes: int = 2_000_000
) -> DecisionOverview:
    """The DMN files of the draft with their decisions and the rule tasks calling each one."""
    draft = open_draft(session, actor, ambito, key)
    calls = _rule_tasks(draft.files, max_bytes)
    files = []
    defined: set[str] = set()
    for name in sorted(draft.files):
        if Path(name).suffix.lower() != ".dmn":
            continue
        described = _describe(name, draft.files[name], calls, max_bytes)
        defined.update(d.id for d in described.decisions)
        files.append(described)
    missing = tuple(
        (decision_id, task)
        for decision_id, tasks in sorted(calls.items())
        if decision_id not in defined
        for task in tasks
    )
    return DecisionOverview(draft, tuple(files), missing)


def decision_file(session: Session, actor: Actor, ambito: str | None, key: str, name: str) -> tuple[Draft, str]:
    """The draft and the text of one of its DMN files (NotFound if the draft has no such file)."""
    draft = open_draft(session, actor, ambito, key)
    return draft, _content(draft, name).decode("utf-8")


def _content(draft: Draft, name: str) -> bytes:
    if Path(name).suffix.lower() != ".dmn" or name not in draft.files:
        raise NotFound(f"La bozza non ha il file di decisioni «{name}».")
    return draft.files[name]


# --------------------------------------------------------------------------- writing


def save_decision_file(
    session: Session,
    actor: Actor,
    ambito: str | None,
    key: str,
    name: str,
    content: bytes,
    revision: int | None,
    max_bytes: int = 2_000_000,
    base: int | None = None,
) -> Draft:
    """Store a DMN file of the draft (creating the draft at its first save); returns the saved draft.

    The rules of `save_diagram`: permission, size, UTF-8, safe XML, and a DMN root (the editor
    must be able to open it again); the rest is the validation's job. `revision` is the one the
    editor opened: if someone saved since, Conflict and nothing is overwritten; `base`, the
    version its draft started from (`check_base`).
    """
    draft = open_draft(session, actor, ambito, key)
    check_base(draft, base)
    _content(draft, name)
    return _store(session, actor, draft, name, content, revision, max_bytes)


def new_decision_file(
    session: Session,
    actor: Actor,
    ambito: str | None,
    key: str,
    title: str,
    max_bytes: int = 2_000_000,
) -> tuple[Draft, str]:
    """Add a DMN file with one empty decision table named `title` to the draft; the draft and the file's name.

    The decision's id (and the file's name) come from the title; an id another decision of
    the draft already has, or a file that exists, is refused.
    """
    draft = open_draft(session, actor, ambito, key)
    title = " ".join(title.split())
    if not title or len(title) > 120:
        raise DefinitionError([Problem(None, None, "indicare il nome della decisione (al massimo 120 caratteri)")])
    ident = _identifier(title)
    name = f"{ident}.dmn"
    taken = {d.id for f in decision_files(session, actor, ambito, key, max_bytes).files for d in f.decisions}
    if name in draft.files or ident in taken:
        raise DefinitionError(
            [
                Problem(
                    name,
                    ident,
                    f"la bozza ha già una decisione o un file «{ident}»: scegliere un altro nome per la nuova tabella",
                )
            ]
        )
    saved = _store(session, actor, draft, name, empty_table(ident, title), None, max_bytes)
    return saved, name


def empty_table(ident: str, title: str) -> bytes:
    """A DMN 1.3 file with one decision table the engine accepts: one input, one output, no rules."""
    label = quoteattr(title)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<definitions xmlns="{DMN13}" xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" '
        'xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" '
        f'id="{ident}_definizioni" name={label} namespace="https://inlav-flow.example/dmn">\n'
        f'  <decision id="{ident}" name={label}>\n'
        f'    <decisionTable id="{ident}_tabella" hitPolicy="FIRST">\n'
        f'      <input id="{ident}_ingresso" label="Ingresso">\n'
        f'        <inputExpression id="{ident}_espressione" typeRef="string">\n'
        "          <text>valore</text>\n"
        "        </inputExpression>\n"
        "      </input>\n"
        f'      <output id="{ident}_uscita" label="Risultato" name="{ident}_esito" typeRef="string" />\n'
        "    </decisionTable>\n"
        "  </decision>\n"
        "  <dmndi:DMNDI>\n"
        '    <dmndi:DMNDiagram id="diagramma">\n'
        f'      <dmndi:DMNShape id="{ident}_forma" dmnElementRef="{ident}">\n'
        '        <dc:Bounds height="80" width="180" x="160" y="100" />\n'
        "      </dmndi:DMNShape>\n"
        "    </dmndi:DMNDiagram>\n"
        "  </dmndi:DMNDI>\n"
        "</definitions>\n"
    ).encode()


def _identifier(title: str) -> str:
    """An XML id (and file name) from a title: ASCII letters, digits and underscores, lower case."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    ident = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:60].strip("_")
    if not ident:
        raise DefinitionError(
            [Problem(None, None, "il nome della decisione deve contenere almeno una lettera o una cifra")]
        )
    return ident if ident[0].isalpha() else f"decisione_{ident}"


def _store(
    session: Session,
    actor: Actor,
    draft: Draft,
    name: str,
    content: bytes,
    revision: int | None,
    max_bytes: int,
) -> Draft:
    """Check the file is a DMN file the editor can open again, then store it with `save_file` (one more revision)."""
    if not FILE_NAME.match(name):
        raise DefinitionError([Problem(name, None, "nome di file non valido: lettere, cifre, _ . - e «.dmn» finale")])
    if len(content) > max_bytes:
        raise DefinitionError([Problem(name, None, f"file troppo grande ({len(content)} byte, massimo {max_bytes})")])
    try:
        content.decode("utf-8")
        root = parse_xml(content, max_bytes)
    except UnicodeDecodeError:
        raise DefinitionError([Problem(name, None, "il file non è in codifica UTF-8: salvarlo come UTF-8")]) from None
    except UnsafeXml as exc:
        raise DefinitionError([Problem(name, None, str(exc))]) from None
    namespace = _namespace(root)
    if local_name(root.tag) != "definitions" or namespace not in DMN_VERSIONS:
        raise DefinitionError(
            [
                Problem(
                    name,
                    None,
                    f"non è un file DMN (elemento radice «{local_name(root.tag)}», spazio dei nomi «{namespace}»): "
                    "la tabella non è stata salvata",
                )
            ]
        )
    # Revision, author and time as any save of the draft (a conflict only with a later save of this file).
    return save_file(session, actor, draft.ambito, draft.process_key, name, content, revision, max_bytes)


# --------------------------------------------------------------------------- checking


def check_decisions(
    session: Session, actor: Actor, ambito: str | None, key: str, max_bytes: int = 2_000_000
) -> DecisionCheck:
    """Validate the draft as a deployment would; the problems of its decisions, each located in its table.

    Kept: the problems of the DMN files and those of the rule tasks (a call to a decision that
    does not exist). The others (diagram, forms) are counted: the diagram editor shows them.
    """
    draft = open_draft(session, actor, ambito, key)
    rule_tasks = {task.id for tasks in _rule_tasks(draft.files, max_bytes).values() for task in tasks}
    rule_tasks |= _rule_task_ids(draft.files, max_bytes)
    places = {
        name: _places(content, max_bytes)
        for name, content in draft.files.items()
        if Path(name).suffix.lower() == ".dmn"
    }
    problems = []
    others = 0
    for p in check_draft(session, actor, ambito, key, max_bytes):
        if p.file in places:
            decision, target = _locate(p.element, places[p.file])
            problems.append(DecisionProblem(p.file, p.element, decision, target, p.message))
        elif p.element is not None and p.element in rule_tasks:
            problems.append(DecisionProblem(p.file, p.element, None, None, p.message))
        else:
            others += 1
    return DecisionCheck(tuple(problems), others)


def _places(content: bytes, max_bytes: int) -> dict[str, str]:
    """Each id of a DMN file's decisions (the decision, its columns, rules, cells) → its decision's id."""
    try:
        root = parse_xml(content, max_bytes)
    except UnsafeXml:
        return {}
    found: dict[str, str] = {}
    for decision in root:
        if not isinstance(decision.tag, str) or local_name(decision.tag) != "decision" or not decision.get("id"):
            continue
        for element in decision.iter():
            element_id = element.get("id") if isinstance(element.tag, str) else None
            if element_id:
                found.setdefault(element_id, decision.get("id"))
    return found


def _locate(element: str | None, places: dict[str, str]) -> tuple[str | None, str | None]:
    """(decision, element to select) for «decisione › regola › cella»: the innermost id the file has."""
    if not element:
        return None, None
    parts = [part.strip() for part in element.split("›")]
    for part in reversed(parts):
        if part in places:
            return places[part], part
    return None, None


# --------------------------------------------------------------------------- helpers


def _namespace(root: Any) -> str:
    tag = root.tag if isinstance(root.tag, str) else ""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _input(column: Any, namespace: str) -> Column:
    expression = column.find(f"{{{namespace}}}inputExpression")
    text = "" if expression is None else expression.findtext(f"{{{namespace}}}text") or ""
    type_ref = "" if expression is None else expression.get("typeRef") or ""
    return Column(column.get("id") or "", column.get("label") or "", " ".join(text.split()), type_ref)


def _describe(name: str, content: bytes, calls: dict[str, list[RuleTask]], max_bytes: int) -> DecisionFile:
    try:
        root = parse_xml(content, max_bytes)
    except UnsafeXml as exc:
        return DecisionFile(name, name, (), str(exc))
    namespace = _namespace(root)
    if local_name(root.tag) != "definitions" or namespace not in DMN_VERSIONS:
        return DecisionFile(name, name, (), "non è un file DMN 1.1, 1.2 o 1.3")
    decisions = []
    for node in root.findall(f"{{{namespace}}}decision"):
        ident = node.get("id") or ""
        table = node.find(f"{{{namespace}}}decisionTable")
        inputs: tuple[Column, ...] = ()
        outputs: tuple[Column, ...] = ()
        rules = 0
        if table is not None:
            inputs = tuple(_input(i, namespace) for i in table.findall(f"{{{namespace}}}input"))
            outputs = tuple(
                Column(o.get("id") or "", o.get("label") or "", o.get("name") or "", o.get("typeRef") or "")
                for o in table.findall(f"{{{namespace}}}output")
            )
            rules = len(table.findall(f"{{{namespace}}}rule"))
        decisions.append(
            Decision(
                id=ident,
                name=node.get("name") or ident,
                table=table is not None,
                hit_policy=(table.get("hitPolicy") or "UNIQUE") if table is not None else "",
                inputs=inputs,
                outputs=outputs,
                rules=rules,
                used_by=tuple(calls.get(ident, ())),
            )
        )
    return DecisionFile(name, root.get("name") or name, tuple(decisions), None)


def _bpmn_roots(files: dict[str, bytes], max_bytes: int) -> list[tuple[str, Any]]:
    roots = []
    for name, content in sorted(files.items()):
        if Path(name).suffix.lower() != ".bpmn":
            continue
        try:
            roots.append((name, parse_xml(content, max_bytes)))
        except UnsafeXml:
            continue
    return roots


def _rule_tasks(files: dict[str, bytes], max_bytes: int) -> dict[str, list[RuleTask]]:
    """Decision id → the rule tasks of the draft's diagrams that call it (spiffworkflow:calledDecisionId)."""
    calls: dict[str, list[RuleTask]] = {}
    for name, root in _bpmn_roots(files, max_bytes):
        for task in root.iter():
            if not isinstance(task.tag, str) or local_name(task.tag) != "businessRuleTask":
                continue
            called = "".join(node.text or "" for node in task.iter(f"{{{SPIFF}}}calledDecisionId")).strip()
            if called:
                task_id = task.get("id") or ""
                calls.setdefault(called, []).append(RuleTask(name, task_id, task.get("name") or task_id))
    return calls


def _rule_task_ids(files: dict[str, bytes], max_bytes: int) -> set[str]:
    return {
        task.get("id") or ""
        for _name, root in _bpmn_roots(files, max_bytes)
        for task in root.iter()
        if isinstance(task.tag, str) and local_name(task.tag) == "businessRuleTask"
    }
