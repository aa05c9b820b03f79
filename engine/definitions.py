"""Bundles of BPMN, DMN and forms: validate, deploy as immutable versions, resolve.

A bundle is deployed for the region (ambito None) or for one Ambito. Each executable
process becomes a definition; its version increases only when its content (spec,
embedded subprocesses, DMN tables and the forms its tasks use) changes. Lookup of
"the latest X for Ambito A" falls back from the Ambito to the region.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import forms
from engine import codec
from engine.access.roles import role_for_lane
from engine.clock import utcnow
from engine.errors import DefinitionError, NotFound, Problem
from engine.models import Ambito, Bundle, BundleFile, DefinitionFile, ProcessDefinition
from engine.safexml import UnsafeXml, parse_xml
from engine.sandbox import (
    build_builtins,
    bundle_names,
    check_code,
    check_template,
    name_problems,
    reserved_problems,
)
from engine.spiff import ParsedBundle, check_constructs, check_timer_value, code_message, json_syntax, parse_bundle

KINDS = {".bpmn": "bpmn", ".dmn": "dmn", ".json": "json"}
FORM_PROPERTY = "formJsonSchemaFilename"
UI_PROPERTY = "formUiSchemaFilename"


@dataclass
class BundleCheck:
    """Result of validating a bundle: parsed processes and every problem found."""

    files: dict[str, bytes]
    parsed: ParsedBundle | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class DeployedDefinition:
    """One process of a deployment and whether it produced a new version."""

    id: int
    process_key: str
    version: int
    created: bool


@dataclass
class DeployResult:
    """Outcome of a deployment."""

    bundle_id: int
    created: bool
    definitions: list[DeployedDefinition]


# --------------------------------------------------------------------------- reading files


def read_bundle_paths(
    paths: Iterable[str | Path], max_files: int = 500, max_bytes: int = 2_000_000
) -> dict[str, bytes]:
    """Read .bpmn/.dmn/.json files from files or directories (recursively), by base name."""
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            problems.append(Problem(str(path), None, "percorso inesistente"))
            continue
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in candidates:
            if file.suffix.lower() not in KINDS:
                continue
            if file.name in files:
                problems.append(Problem(str(file), None, f"nome di file ripetuto nel pacchetto: {file.name}"))
                continue
            size = file.stat().st_size
            if size > max_bytes:
                problems.append(Problem(file.name, None, f"file troppo grande ({size} byte, massimo {max_bytes})"))
                continue
            files[file.name] = file.read_bytes()
    if len(files) > max_files:
        problems.append(Problem(None, None, f"troppi file nel pacchetto ({len(files)}, massimo {max_files})"))
    if not files and not problems:
        problems.append(Problem(None, None, "nessun file .bpmn, .dmn o .json trovato"))
    if problems:
        raise DefinitionError(problems)
    return files


# --------------------------------------------------------------------------- validation


def check_bundle(
    session: Session | None, files: dict[str, bytes], ambito: str | None = None, max_bytes: int = 2_000_000
) -> BundleCheck:
    """Parse and lint a bundle; `session` (optional) resolves call targets outside it."""
    check = BundleCheck(files=files, parsed=None)
    problems = check.problems
    bpmn: dict[str, Any] = {}
    dmn: dict[str, Any] = {}
    json_files: dict[str, Any] = {}
    for name, content in sorted(files.items()):
        kind = KINDS.get(Path(name).suffix.lower())
        if kind is None:
            problems.append(Problem(name, None, "tipo di file non supportato"))
            continue
        if kind == "json":
            try:
                json_files[name] = json.loads(content.decode("utf-8"))
            except UnicodeDecodeError:
                problems.append(Problem(name, None, "il file non è in codifica UTF-8: salvarlo come UTF-8"))
            except json.JSONDecodeError as exc:
                problems.append(Problem(name, None, json_syntax(exc)))
            except RecursionError:
                problems.append(Problem(name, None, "JSON annidato troppo in profondità"))
            continue
        try:
            root = parse_xml(content, max_bytes)
        except UnsafeXml as exc:
            problems.append(Problem(name, None, str(exc)))
            continue
        (bpmn if kind == "bpmn" else dmn)[name] = root
    if problems:
        return check
    refused = check_constructs(bpmn)
    parsed = parse_bundle(bpmn, dmn)
    check.parsed = parsed
    problems.extend(refused)
    problems.extend(_besides_refused(parsed.problems, refused))
    if parsed.problems:
        return check

    for process in parsed.processes.values():
        for task in process.human_tasks:
            _lint_human_task(task, json_files, problems)
    _lint_forms(parsed, json_files, problems)
    for item in parsed.code:
        for message in check_code(item.source, item.mode):
            problems.append(Problem(item.file, item.element, code_message(item.what, message)))
    for item in parsed.timers:
        _lint_timer(item, problems)
    _lint_names(parsed, json_files, problems)
    known = set(parsed.processes)
    for file, element, target in parsed.calls:
        if target in known:
            continue
        if session is not None and _latest(session, target, ambito) is not None:
            continue
        problems.append(
            Problem(
                file,
                element,
                f"l'attività di chiamata punta al processo «{target}», che non esiste: aggiungerlo al pacchetto, "
                "pubblicarlo prima o correggere calledElement",
            )
        )
    unique: dict[str, Problem] = {}
    for problem in problems:  # the same finding reached by two paths is reported once
        unique.setdefault(str(problem), problem)
    problems[:] = unique.values()
    return check


def _besides_refused(found: list[Problem], refused: list[Problem]) -> list[Problem]:
    """Parser problems on elements not already refused as unsupported constructs (one cause each)."""
    places = {(p.file, p.element) for p in refused}
    return [p for p in found if (p.file, p.element) not in places]


def _lint_human_task(task: Any, json_files: dict[str, Any], problems: list[Problem]) -> None:
    if not task.lane:
        problems.append(
            Problem(
                task.file,
                task.element,
                "l'attività non è in nessuna corsia (lane), quindi nessuno la vedrebbe: metterla nella corsia del "
                "ruolo che la svolge",
            )
        )
    elif role_for_lane(task.lane) is None:
        problems.append(
            Problem(
                task.file,
                task.element,
                f"la corsia «{task.lane}» non corrisponde a nessun ruolo noto: rinominarla con il nome di un ruolo "
                "(es. operatore_contatto, direttore_pua)",
            )
        )
    form = task.properties.get(FORM_PROPERTY)
    if task.kind == "user" and not form:
        problems.append(
            Problem(
                task.file,
                task.element,
                f"l'attività utente non ha un modulo: indicare il file JSON del modulo nella proprietà {FORM_PROPERTY}",
            )
        )
    if form and form not in json_files:
        problems.append(
            Problem(
                task.file,
                task.element,
                f"il modulo «{form}» non è nel pacchetto: aggiungere il file o correggere il nome",
            )
        )
    ui = task.properties.get(UI_PROPERTY)
    if ui and ui not in json_files:
        problems.append(
            Problem(
                task.file,
                task.element,
                f"lo schema di interfaccia «{ui}» non è nel pacchetto: aggiungere il file o correggere il nome",
            )
        )
    instructions = task.properties.get("instructionsForEndUser")
    if instructions:
        for message in check_template(instructions):
            problems.append(Problem(task.file, task.element, f"istruzioni non valide: {message}"))
    due = task.properties.get("dueIn")
    if due:
        error = check_timer_value("duration", due)
        if error:
            problems.append(Problem(task.file, task.element, f"la scadenza (dueIn) non è valida: {error}"))


def _lint_forms(parsed: ParsedBundle, json_files: dict[str, Any], problems: list[Problem]) -> None:
    """Check each form and UI schema once, naming every task that uses it (not once per task)."""
    users: dict[tuple[str, str], list[str]] = {}
    for process in parsed.processes.values():
        for task in process.human_tasks:
            for prop in (FORM_PROPERTY, UI_PROPERTY):
                name = task.properties.get(prop)
                if name and name in json_files and task.element not in users.setdefault((prop, name), []):
                    users[(prop, name)].append(task.element)
    for (prop, name), elements in sorted(users.items(), key=lambda item: item[0][1]):
        check = forms.check_schema if prop == FORM_PROPERTY else forms.check_ui_schema
        names = ", ".join(elements)
        used_by = f"lo usa l'attività {names}" if len(elements) == 1 else f"lo usano le attività {names}"
        for message in check(json_files[name]):
            problems.append(Problem(name, None, f"{message}; {used_by}"))


def _lint_names(parsed: ParsedBundle, json_files: dict[str, Any], problems: list[Problem]) -> None:
    """Calls of functions that exist nowhere (`get_env()`), located on their element."""
    items = [*parsed.code, *parsed.timers]
    fields = {k for form in json_files.values() if isinstance(form, dict) for k in form.get("properties") or {}}
    reserved = {"codice_caso", "ambito_caso"}  # given to every case at start (engine.instances)
    bundle = bundle_names([(i.source, i.mode) for i in items], parsed.names | fields | reserved)
    builtins = set(build_builtins())
    for item in items:
        findings = reserved_problems(item.source, item.mode) + name_problems(item.source, item.mode, builtins, bundle)
        for finding in findings:
            problems.append(Problem(item.file, item.element, f"{item.what}: {finding}"))


def _lint_timer(item: Any, problems: list[Problem]) -> None:
    if not item.source.strip():
        problems.append(Problem(item.file, item.element, "timer senza espressione"))
        return
    messages = check_code(item.source, "eval")
    if messages:
        problems.extend(Problem(item.file, item.element, code_message("timer", m)) for m in messages)
        return
    try:
        value = ast.literal_eval(item.source.strip())
    except (ValueError, SyntaxError):
        return  # computed from case data: checked when it runs
    error = check_timer_value(item.what, value)
    if error:
        problems.append(Problem(item.file, item.element, f"il timer non è valido: {error}"))


# --------------------------------------------------------------------------- deployment


def deploy_bundle(
    session: Session,
    files: dict[str, bytes],
    ambito: str | None,
    actor: str,
    note: str | None = None,
    max_bytes: int = 2_000_000,
) -> DeployResult:
    """Validate and store a bundle; raises DefinitionError listing every problem."""
    if ambito is not None and session.get(Ambito, ambito) is None:
        raise DefinitionError([Problem(None, None, f"Ambito sconosciuto: {ambito}")])
    check = check_bundle(session, files, ambito, max_bytes)
    if not check.ok or check.parsed is None:
        raise DefinitionError(check.problems)
    parsed = check.parsed

    hashes = {name: codec.digest_bytes(content) for name, content in files.items()}
    content_hash = codec.digest(codec.dumps(sorted(hashes.items())))
    existing = session.scalar(
        select(Bundle)
        .where(Bundle.content_hash == content_hash, _scope(Bundle.ambito_code, ambito))
        .order_by(Bundle.id.desc())
    )
    if existing is not None:
        defs = [
            DeployedDefinition(d.id, d.process_key, d.version, False)
            for d in (_latest(session, key, ambito, exact=True) for key in parsed.processes)
            if d is not None
        ]
        return DeployResult(existing.id, False, defs)

    now = utcnow()
    bundle = Bundle(ambito_code=ambito, content_hash=content_hash, created_at=now, created_by=actor, note=note)
    session.add(bundle)
    session.flush()
    known = set(session.scalars(select(DefinitionFile.sha256).where(DefinitionFile.sha256.in_(set(hashes.values())))))
    for name, content in files.items():
        sha = hashes[name]
        if sha not in known:
            known.add(sha)
            session.add(DefinitionFile(sha256=sha, size=len(content), content=content.decode("utf-8")))
    session.flush()
    for name, sha in hashes.items():
        session.add(BundleFile(bundle_id=bundle.id, name=name, kind=KINDS[Path(name).suffix.lower()], sha256=sha))
    session.flush()

    deployed = []
    for key, process in sorted(parsed.processes.items()):
        used_forms = sorted(
            {
                f
                for t in process.human_tasks
                for f in (t.properties.get(FORM_PROPERTY), t.properties.get(UI_PROPERTY))
                if f
            }
        )
        # The diagram file is part of a version: a change only to the drawing (a shape moved, a
        # text annotation, a pool renamed) is saved work, and a version that dropped it would show
        # the old drawing while the publication answered «identical».
        drawing = [(process.file, hashes[process.file])] if process.file in hashes else []
        digest = codec.digest(codec.dumps([process.spec_json, [(f, hashes[f]) for f in used_forms], *drawing]))
        latest = _latest(session, key, ambito, exact=True)
        if latest is not None and latest.content_hash == digest:
            deployed.append(DeployedDefinition(latest.id, key, latest.version, False))
            continue
        definition = ProcessDefinition(
            bundle_id=bundle.id,
            ambito_code=ambito,
            process_key=key,
            name=process.name,
            version=(latest.version + 1) if latest is not None else 1,
            content_hash=digest,
            spec_json=process.spec_json,
            calls_json=codec.dumps(process.calls),
            start_messages_json=codec.dumps(process.start_messages),
            personal_fields_json=codec.dumps(_personal_fields(process, files)),
            created_at=now,
        )
        session.add(definition)
        session.flush()
        deployed.append(DeployedDefinition(definition.id, key, definition.version, True))
    return DeployResult(bundle.id, True, deployed)


def _personal_fields(process: Any, files: dict[str, bytes]) -> list[str]:
    """Fields the forms of a process mark as identity data (`"x-personal": true`)."""
    names: set[str] = set()
    for task in process.human_tasks:
        form = task.properties.get(FORM_PROPERTY)
        if form and form in files:
            try:
                names |= forms.personal_fields(json.loads(files[form]))
            except ValueError:
                continue
    return sorted(names)


# --------------------------------------------------------------------------- lookup


def _scope(column: Any, ambito: str | None) -> Any:
    return column.is_(None) if ambito is None else column == ambito


def _latest(session: Session, key: str, ambito: str | None, exact: bool = False) -> ProcessDefinition | None:
    def newest(scope: str | None) -> ProcessDefinition | None:
        return session.scalar(
            select(ProcessDefinition)
            .where(ProcessDefinition.process_key == key, _scope(ProcessDefinition.ambito_code, scope))
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )

    found = newest(ambito)
    if found is None and ambito is not None and not exact:
        found = newest(None)
    return found


def resolve(session: Session, key: str, ambito: str | None) -> ProcessDefinition:
    """Latest definition of `key` for an Ambito, falling back to the regional one."""
    found = _latest(session, key, ambito)
    if found is None:
        where = f"per l'Ambito {ambito} né per la Regione" if ambito else "per la Regione"
        raise NotFound(f"Nessuna versione del processo «{key}» pubblicata {where}.")
    return found


def manifest_for(session: Session, main: ProcessDefinition, ambito: str | None) -> dict[str, ProcessDefinition]:
    """Definitions an instance of `main` runs on: main plus every called process, resolved now."""
    manifest: dict[str, ProcessDefinition] = {main.process_key: main}
    pending = [main]
    while pending:
        current = pending.pop()
        for key in json.loads(current.calls_json):
            if key not in manifest:
                called = resolve(session, key, ambito)
                manifest[key] = called
                pending.append(called)
    return manifest


def definitions_by_id(session: Session, ids: Iterable[int]) -> dict[int, ProcessDefinition]:
    """Load definitions by id."""
    rows = session.scalars(select(ProcessDefinition).where(ProcessDefinition.id.in_(list(ids))))
    return {row.id: row for row in rows}


def bundle_file_text(session: Session, definition_id: int, name: str) -> str:
    """Content of a file in the bundle that holds a definition."""
    content = session.scalar(
        select(DefinitionFile.content)
        .join(BundleFile, BundleFile.sha256 == DefinitionFile.sha256)
        .join(ProcessDefinition, ProcessDefinition.bundle_id == BundleFile.bundle_id)
        .where(ProcessDefinition.id == definition_id, BundleFile.name == name)
    )
    if content is None:
        raise NotFound(f"Il file «{name}» non è nel pacchetto della definizione {definition_id}.")
    return content


def form_schema(session: Session, definition_id: int, name: str) -> dict[str, Any]:
    """A JSON form of a definition's bundle, parsed."""
    value = json.loads(bundle_file_text(session, definition_id, name))
    if not isinstance(value, dict):
        raise NotFound(f"Il modulo «{name}» non è un oggetto JSON.")
    return value


def start_definitions_for_message(session: Session, message: str, ambito: str | None) -> list[ProcessDefinition]:
    """Latest definitions (Ambito first, then region) whose start event catches `message`."""
    keys = session.scalars(
        select(ProcessDefinition.process_key)
        .where(ProcessDefinition.start_messages_json.contains(json.dumps(message)))
        .where((ProcessDefinition.ambito_code == ambito) | ProcessDefinition.ambito_code.is_(None))
        .distinct()
    ).all()
    found = []
    for key in keys:
        definition = _latest(session, key, ambito)
        if definition is not None and message in json.loads(definition.start_messages_json):
            found.append(definition)
    return found


def list_definitions(session: Session) -> list[ProcessDefinition]:
    """Every definition, newest version first within each process key and scope."""
    return list(
        session.scalars(
            select(ProcessDefinition).order_by(
                ProcessDefinition.process_key,
                func.coalesce(ProcessDefinition.ambito_code, ""),
                ProcessDefinition.version.desc(),
            )
        )
    )
