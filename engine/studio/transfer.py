"""Import and export of process models: zips of a version, SpiffArena folders, Camunda and bpmn.io files.

Export: a published version (a definition id) becomes a zip of its bundle's files plus a
`process_model.json` with SpiffArena's keys only (display_name, description — which says the
version, scope and date —, primary_file_name, primary_process_id…). Importing that zip gives
back the same files, byte for byte: a file is only rewritten when the import has to change it.

Import runs in three steps, each a function the wizard's pages call:

1. `unpack` reads what was uploaded — .bpmn/.dmn/.json files, or zips of one or more SpiffArena
   process-model folders (each with its `process_model.json`) — refusing paths that leave the
   archive, links, encrypted entries, oversized or over-compressed entries (zip bombs) with an
   Italian message;
2. `plan_import` merges the folders into one bundle (a file name two folders use for different
   content is renamed after its folder and the references to it rewritten), and lists what the
   wizard shows: the processes and the primary one, the lanes and Camunda assignments
   (`candidateGroups`, `candidateUsers`, `assignee`) with the platform role each stands for or
   none, the forms Camunda names (`formKey`), every construct the platform will not execute with
   its element and a suggested fix, and where each call target is found;
3. `apply_mapping` rewrites the lanes to the roles chosen (an unknown lane takes the role's
   name and keeps its old one as documentation; tasks without a lane are put in a lane of the
   role their candidate group, or the wizard's default, maps to) and may give the user tasks
   without a form a JSON-Schema form built from their Camunda form fields; `import_draft` stores
   the result as the draft of the primary process for the scope, which the editor opens.

Nothing the platform cannot run is dropped from the XML: it stays, listed in the plan, for the
coordinator to fix in the editor. Permission: `process.edit` in the scope (`check_edit`).
"""

from __future__ import annotations

import base64
import io
import json
import re
import stat
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.roles import BY_CODE, LANE_ROLES, Actor, role_for_lane, role_label
from engine.clock import utcnow
from engine.definitions import FORM_PROPERTY, KINDS, UI_PROPERTY, check_bundle, resolve
from engine.errors import Conflict, DefinitionError, NotFound, Problem
from engine.models import BundleFile, DefinitionFile, ProcessDefinition, ProcessDraft, ProcessDraftFile
from engine.safexml import UnsafeXml, parse_xml
from engine.studio.diagrams import local_name, version_diagram
from engine.studio.drafts import Draft, check_edit, open_draft

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
MODEL_FILE = "process_model.json"
"""SpiffArena's description of a process-model folder (name, description, primary process)."""
NO_LANE = ""
"""The mapping key of the human tasks that have neither a lane nor a candidate group."""
NO_LANE_LABEL = "attività senza corsia"
"""How the plan names the tasks with neither a lane nor a candidate group."""

ZIP_MAX_RATIO = 200
"""A zip entry that declares more than this expansion is refused as a zip bomb."""
ZIP_MAX_ENTRIES = 2000
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_HUMAN = {"userTask", "manualTask"}
_SKIPPED = {"process_group.json"}  # SpiffArena's description of a group of models: nothing to import


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class Export:
    """A zip to download: its file name and bytes."""

    filename: str
    content: bytes


def export_version(session: Session, actor: Actor, ambito: str | None, key: str, definition_id: int) -> Export:
    """The bundle of a published version as a zip with a SpiffArena `process_model.json` (read permission)."""
    diagram = version_diagram(session, actor, ambito, key, definition_id)
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:  # pragma: no cover - version_diagram found it
        raise NotFound(f"Versione {definition_id} del processo «{key}» non trovata.")
    files = bundle_files(session, definition.bundle_id)
    where = f"dell'Ambito {ambito}" if definition.ambito_code else "del modello regionale"
    published = definition.created_at.strftime("%Y-%m-%d %H:%M UTC")
    # Only keys SpiffArena's ProcessModelInfo accepts (it refuses unknown ones), so the folder loads there too.
    meta = {
        "display_name": definition.name or key,
        "description": f"Versione {definition.version} {where}, pubblicata il {published} (n. {definition.id})",
        "primary_file_name": diagram.file_name,
        "primary_process_id": key,
        "is_executable": True,
        "fault_or_suspend_on_exception": "fault",
        "exception_notification_addresses": [],
        "metadata_extraction_paths": None,
        "files": [],
    }
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{key}-v{definition.version}.zip")
    return Export(name, pack({**files, MODEL_FILE: json.dumps(meta, indent=2, ensure_ascii=False).encode() + b"\n"}))


def bundle_files(session: Session, bundle_id: int) -> dict[str, bytes]:
    """The files of a deployed bundle, by name."""
    rows = session.execute(
        select(BundleFile.name, DefinitionFile.content)
        .join(DefinitionFile, DefinitionFile.sha256 == BundleFile.sha256)
        .where(BundleFile.bundle_id == bundle_id)
        .order_by(BundleFile.name)
    )
    return {name: content.encode("utf-8") for name, content in rows}


def pack(files: dict[str, bytes]) -> bytes:
    """A deterministic zip of `files` (sorted names, fixed time stamps): the same files give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


# --------------------------------------------------------------------------- unpacking an upload


@dataclass
class ModelFolder:
    """The files of one model folder of an upload (path "" for loose files), with its `process_model.json`."""

    path: str
    meta: dict[str, Any] | None
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How the plan names the folder."""
        shown = self.meta.get("display_name") if self.meta else None
        return str(shown) if shown else (self.path or "file caricati")


@dataclass
class Unpacked:
    """What an upload holds: its model folders and the files it left aside."""

    folders: list[ModelFolder]
    ignored: list[str]


def unpack(
    uploads: Sequence[tuple[str, bytes]],
    max_files: int = 500,
    max_bytes: int = 2_000_000,
    max_total: int = 20_000_000,
) -> Unpacked:
    """Read uploaded files and zips into model folders; DefinitionError (Italian) for anything unsafe."""
    entries: list[tuple[str, bytes]] = []
    ignored: list[str] = []
    problems: list[Problem] = []
    total = 0
    for name, content in uploads:
        base = PurePosixPath(name.replace("\\", "/")).name or "file"
        if base.lower().endswith(".zip") or content[:4] == b"PK\x03\x04":
            found, skipped = _read_zip(base, content, max_bytes, max_total - total, problems)
            entries.extend((f"{Path(base).stem}/{path}", data) for path, data in found)
            ignored.extend(f"{base} › {path}" for path in skipped)
            total += sum(len(d) for _, d in found)
            continue
        if Path(base).suffix.lower() not in KINDS:
            problems.append(
                Problem(base, None, "tipo di file non supportato: caricare file .bpmn, .dmn, .json o un archivio .zip")
            )
            continue
        if len(content) > max_bytes:
            problems.append(Problem(base, None, f"file troppo grande ({len(content)} byte, massimo {max_bytes})"))
            continue
        total += len(content)
        entries.append((base, content))
    if total > max_total:
        problems.append(Problem(None, None, f"il caricamento è troppo grande ({total} byte, massimo {max_total})"))
    if problems:
        raise DefinitionError(problems)
    folders = _folders(entries, problems)
    count = sum(len(f.files) for f in folders)
    if count > max_files:
        problems.append(Problem(None, None, f"troppi file nel caricamento ({count}, massimo {max_files})"))
    if not problems and not any(name.endswith((".bpmn", ".dmn")) for f in folders for name in f.files):
        problems.append(Problem(None, None, "nessun file .bpmn o .dmn trovato nel caricamento"))
    if problems:
        raise DefinitionError(problems)
    return Unpacked(folders, ignored)


def _read_zip(
    archive_name: str, content: bytes, max_bytes: int, room: int, problems: list[Problem]
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Entries of a zip worth importing (path, bytes) and those left aside; refusals go to `problems`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        problems.append(Problem(archive_name, None, "l'archivio zip non è valido o è danneggiato"))
        return [], []
    if len(infos) > ZIP_MAX_ENTRIES:
        problems.append(
            Problem(archive_name, None, f"l'archivio ha troppe voci ({len(infos)}, massimo {ZIP_MAX_ENTRIES})")
        )
        return [], []
    found: list[tuple[str, bytes]] = []
    skipped: list[str] = []
    declared = 0
    for info in infos:
        path = info.filename.replace("\\", "/")
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or ".." in parts:
            problems.append(
                Problem(
                    archive_name, None, f"percorso non ammesso nell'archivio: «{info.filename}» (esce dalla cartella)"
                )
            )
            continue
        if info.is_dir():
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(Problem(archive_name, None, f"l'archivio contiene un collegamento: «{info.filename}»"))
            continue
        if info.flag_bits & 0x1:
            problems.append(Problem(archive_name, None, f"la voce «{info.filename}» è cifrata: caricarla in chiaro"))
            continue
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        clean = "/".join(parts)
        if PurePosixPath(clean).suffix.lower() not in KINDS or PurePosixPath(clean).name in _SKIPPED:
            skipped.append(clean)
            continue
        if info.file_size > max_bytes:
            problems.append(
                Problem(archive_name, None, f"«{clean}» è troppo grande ({info.file_size} byte, massimo {max_bytes})")
            )
            continue
        if info.file_size > 1_000 and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
            problems.append(
                Problem(
                    archive_name,
                    None,
                    f"«{clean}» si espande {info.file_size // max(info.compress_size, 1)} volte: archivio sospetto "
                    "(zip bomb), rifiutato",
                )
            )
            continue
        declared += info.file_size
        if declared > room:
            problems.append(Problem(archive_name, None, "il contenuto dell'archivio supera la dimensione massima"))
            break
        try:
            with archive.open(info) as handle:
                data = handle.read(max_bytes + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, ValueError):
            problems.append(Problem(archive_name, None, f"la voce «{clean}» non si può leggere (archivio danneggiato)"))
            continue
        if len(data) > max_bytes:  # the header lied about the size
            problems.append(Problem(archive_name, None, f"«{clean}» è più grande di quanto dichiara: rifiutato"))
            continue
        found.append((clean, data))
    return found, skipped


def _folders(entries: list[tuple[str, bytes]], problems: list[Problem]) -> list[ModelFolder]:
    """Group files by the nearest folder that has a `process_model.json` (else by their own folder)."""
    model_dirs = {str(PurePosixPath(p).parent) for p, _ in entries if PurePosixPath(p).name == MODEL_FILE}
    by_dir: dict[str, ModelFolder] = {}
    for path, data in sorted(entries):
        pure = PurePosixPath(path)
        # The nearest folder with a process_model.json, else the file's own folder: files of two
        # folders that share a name are then told apart (and renamed) like two models' files.
        owner = next((str(a) for a in pure.parents if str(a) in model_dirs), str(pure.parent))
        owner = "" if owner == "." else owner
        folder = by_dir.get(owner)
        if folder is None:
            folder = by_dir[owner] = ModelFolder(owner, None)
        if pure.name == MODEL_FILE and str(pure.parent) == (owner or "."):
            try:
                meta = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # nested too deep
                meta = None
            if not isinstance(meta, dict):
                problems.append(Problem(path, None, "process_model.json non è un oggetto JSON valido"))
            else:
                folder.meta = meta
            continue
        if pure.name in folder.files:
            if folder.files[pure.name] != data:
                problems.append(Problem(path, None, f"nome di file ripetuto nella stessa cartella: {pure.name}"))
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:  # drafts and versions keep text: never store a file changed by a guess
            problems.append(Problem(path, None, "il file non è in codifica UTF-8: salvarlo come UTF-8"))
            continue
        folder.files[pure.name] = data
    return [by_dir[k] for k in sorted(by_dir, key=lambda k: (k != "", k)) if by_dir[k].files]


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class ProcessFound:
    """A process of the upload."""

    id: str
    name: str
    file: str
    executable: bool


@dataclass(frozen=True)
class NameToMap:
    """A lane or candidate group (or, with name NO_LANE, the tasks with neither) and the role it stands for."""

    name: str
    source: str
    """«corsia», «gruppo candidato» or «senza corsia»."""
    role: str | None
    """The platform role it already stands for (by code, label or alias), else None: the wizard asks."""
    elements: tuple[str, ...]


@dataclass(frozen=True)
class Finding:
    """Something of the upload the platform will not execute as it is: where, what, and a suggested fix."""

    file: str | None
    element: str | None
    message: str
    fix: str


@dataclass(frozen=True)
class CallFound:
    """A call activity and where its target is."""

    file: str
    element: str
    target: str
    where: str | None
    """«nel caricamento (cartella …)», «pubblicato» or None (missing)."""


@dataclass
class ImportPlan:
    """Everything the wizard shows before creating the draft, computed from the upload."""

    files: dict[str, bytes]
    """The merged bundle, before any mapping."""
    folders: list[tuple[str, str]]
    """(folder path, display name) of each model folder."""
    name: str
    description: str
    primary: str | None
    processes: list[ProcessFound]
    names: list[NameToMap]
    findings: list[Finding]
    calls: list[CallFound]
    renamed: list[tuple[str, str, str]]
    """(folder, original name, name in the bundle) of each file renamed because two folders used its name."""
    ignored: list[str]
    forms_missing: list[str]
    """User tasks without a form (the wizard can give them one)."""

    @property
    def executable(self) -> list[ProcessFound]:
        """The processes a case can run."""
        return [p for p in self.processes if p.executable]

    def default_mapping(self) -> dict[str, str]:
        """The roles already recognised, by name (what the wizard preselects)."""
        return {n.name: n.role for n in self.names if n.role}


def plan_import(
    session: Session | None,
    unpacked: Unpacked,
    ambito: str | None = None,
    mapping: dict[str, str] | None = None,
    make_forms: bool = False,
    max_bytes: int = 2_000_000,
    primary: str | None = None,
) -> ImportPlan:
    """Merge the folders and analyse the result (with `mapping` applied, to list what would still not run).

    `primary`: the process the wizard chose as the primary one (default: the upload's own).
    """
    files, renamed, origin = _merge(unpacked.folders, max_bytes)
    roots = _roots(files, max_bytes)
    processes = _processes(roots)
    found, name, description = _primary(unpacked.folders, processes, roots)
    primary = primary if primary in {p.id for p in processes} else found
    names, forms_missing = _names(roots)
    findings = _camunda_findings(roots)
    for process in processes:
        if process.id == primary and not process.executable:
            findings.append(
                Finding(
                    process.file,
                    process.id,
                    'il processo principale è segnato come non eseguibile (isExecutable="false")',
                    "la procedura guidata lo rende eseguibile nella bozza",
                )
            )
    applied = apply_mapping(files, mapping if mapping is not None else {}, make_forms, max_bytes, primary)
    check = check_bundle(session, applied, ambito, max_bytes)
    findings.extend(Finding(p.file, p.element, p.message, _fix(p.message)) for p in check.problems)
    calls = _calls(session, roots, origin, processes, ambito)
    return ImportPlan(
        files=files,
        folders=[(f.path, f.label) for f in unpacked.folders],
        name=name,
        description=description,
        primary=primary,
        processes=processes,
        names=names,
        findings=findings,
        calls=calls,
        renamed=renamed,
        ignored=unpacked.ignored,
        forms_missing=forms_missing,
    )


def _merge(
    folders: list[ModelFolder], max_bytes: int
) -> tuple[dict[str, bytes], list[tuple[str, str, str]], dict[str, str]]:
    """One bundle from the folders; a name two folders use for different files is made distinct."""
    files: dict[str, bytes] = {}
    renamed: list[tuple[str, str, str]] = []
    origin: dict[str, str] = {}
    for folder in folders:
        names: dict[str, str] = {}
        for name, data in folder.files.items():
            if name not in files or files[name] == data:
                names[name] = name
                continue
            stem = re.sub(r"[^A-Za-z0-9_-]+", "-", PurePosixPath(folder.path).name or "cartella").strip("-")
            new = f"{stem}-{name}"
            counter = 2
            while new in files or new in folder.files:
                new = f"{stem}-{counter}-{name}"
                counter += 1
            names[name] = new
            renamed.append((folder.path, name, new))
        changed = {old: new for old, new in names.items() if old != new}
        for name, data in folder.files.items():
            content = _rewrite_references(data, changed, max_bytes) if changed and name.endswith(".bpmn") else data
            files[names[name]] = content
            origin.setdefault(names[name], folder.label)
        if folder.meta and changed.get(str(folder.meta.get("primary_file_name"))):
            folder.meta = {**folder.meta, "primary_file_name": changed[str(folder.meta["primary_file_name"])]}
    return files, renamed, origin


def _rewrite_references(content: bytes, changed: dict[str, str], max_bytes: int) -> bytes:
    """A BPMN file whose form references follow the renamed files (unchanged bytes if none is used)."""
    try:
        root = parse_xml(content, max_bytes)
    except UnsafeXml:
        return content
    touched = False
    for prop in root.iter(_q(SPIFF_NS, "property")):
        if prop.get("name") in (FORM_PROPERTY, UI_PROPERTY) and prop.get("value") in changed:
            prop.set("value", changed[prop.get("value")])
            touched = True
    return _serialize(root) if touched else content


def _serialize(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8")) + b"\n"


def _roots(files: dict[str, bytes], max_bytes: int) -> dict[str, Any]:
    roots = {}
    for name, data in sorted(files.items()):
        if name.lower().endswith(".bpmn"):
            try:
                roots[name] = parse_xml(data, max_bytes)
            except UnsafeXml:
                continue  # check_bundle reports it, located on the file
    return roots


def _processes(roots: dict[str, Any]) -> list[ProcessFound]:
    found = []
    for name, root in roots.items():
        for process in root.iter(_q(BPMN_NS, "process")):
            executable = process.get("isExecutable", "true") == "true"
            pid = process.get("id") or ""
            found.append(ProcessFound(pid, process.get("name") or pid, name, executable))
    return found


def _primary(
    folders: list[ModelFolder],
    processes: list[ProcessFound],
    roots: dict[str, Any],
) -> tuple[str | None, str, str]:
    """The primary process (the first folder's `primary_process_id`, else a process nobody calls), name, description."""
    ids = {p.id for p in processes if p.executable}
    for folder in folders:
        meta = folder.meta or {}
        wanted = meta.get("primary_process_id")
        if isinstance(wanted, str) and wanted in ids:
            return wanted, str(meta.get("display_name") or wanted), str(meta.get("description") or "")
        primary_file = meta.get("primary_file_name")
        in_file = [p for p in processes if p.executable and p.file == primary_file]
        if in_file:
            return in_file[0].id, str(meta.get("display_name") or in_file[0].name), str(meta.get("description") or "")
    called = {el.get("calledElement") for root in roots.values() for el in root.iter(_q(BPMN_NS, "callActivity"))}
    for process in processes:
        if process.executable and process.id not in called:
            return process.id, process.name, ""
    first = next((p for p in processes if p.executable), processes[0] if processes else None)
    return (first.id, first.name, "") if first else (None, "", "")


def _human_tasks(process: Any) -> list[Any]:
    return [el for el in process.iter() if local_name(el.tag) in _HUMAN]


def _lanes_of(root: Any) -> dict[str, Any]:
    """flow node id → its lane element (document-wide, as SpiffWorkflow reads lanes)."""
    lanes = {}
    for lane in root.iter(_q(BPMN_NS, "lane")):
        for ref in lane.findall(_q(BPMN_NS, "flowNodeRef")):
            if ref.text:
                lanes[ref.text.strip()] = lane
    return lanes


def _groups(task: Any) -> list[str]:
    """Candidate groups of a task (Camunda 7 attribute or Camunda 8 assignment definition)."""
    found = [g.strip() for g in (task.get(_q(CAMUNDA_NS, "candidateGroups")) or "").split(",") if g.strip()]
    for assignment in task.iter(_q(ZEEBE_NS, "assignmentDefinition")):
        found += [g.strip() for g in (assignment.get("candidateGroups") or "").split(",") if g.strip()]
    return found


def _has_form(task: Any) -> bool:
    return any(p.get("name") == FORM_PROPERTY and p.get("value") for p in task.iter(_q(SPIFF_NS, "property")))


def _names(roots: dict[str, Any]) -> tuple[list[NameToMap], list[str]]:
    """Lanes and candidate groups to map, with the elements behind each; user tasks without a form."""
    seen: dict[tuple[str, str], list[str]] = {}
    forms_missing: list[str] = []
    for root in roots.values():
        lanes = _lanes_of(root)
        for lane in root.iter(_q(BPMN_NS, "lane")):
            if lane.find(_q(BPMN_NS, "childLaneSet")) is None:
                seen.setdefault((lane.get("name") or lane.get("id") or "", "corsia"), [])
        for process in root.iter(_q(BPMN_NS, "process")):
            for task in _human_tasks(process):
                task_id = task.get("id") or ""
                if local_name(task.tag) == "userTask" and not _has_form(task):
                    forms_missing.append(task_id)
                lane = lanes.get(task_id)
                if lane is not None:
                    seen.setdefault((lane.get("name") or lane.get("id") or "", "corsia"), []).append(task_id)
                elif _groups(task):
                    seen.setdefault((_groups(task)[0], "gruppo candidato"), []).append(task_id)
                else:
                    seen.setdefault((NO_LANE, "senza corsia"), []).append(task_id)
    names = [
        NameToMap(name, source, role_for_lane(name) if name else None, tuple(elements))
        for (name, source), elements in seen.items()
        if elements or source != "corsia"
    ]
    return names, forms_missing


_CAMUNDA_ATTRIBUTES = {
    "formKey": (
        "il modulo «{value}» è un modulo Camunda, che la piattaforma non mostra",
        "indicare un modulo JSON Schema (proprietà formJsonSchemaFilename) o farlo creare dalla procedura guidata",
    ),
    "assignee": (
        "l'assegnazione alla persona «{value}» non è usata",
        "la piattaforma assegna le attività per ruolo: mettere l'attività nella corsia del ruolo",
    ),
    "candidateUsers": (
        "gli utenti candidati «{value}» non sono usati",
        "la piattaforma assegna le attività per ruolo: mettere l'attività nella corsia del ruolo",
    ),
    "class": (
        "la classe Java «{value}» non viene eseguita",
        "sostituirla con un'attività script in Python o con un messaggio ai sistemi dei partner",
    ),
    "delegateExpression": (
        "l'espressione delegata «{value}» non viene eseguita",
        "sostituirla con un'attività script in Python",
    ),
    "expression": ("l'espressione «{value}» non viene eseguita", "sostituirla con un'attività script in Python"),
    "decisionRef": (
        "la decisione «{value}» è indicata con l'attributo di Camunda",
        "la procedura guidata la collega come decisione della piattaforma (calledDecisionId)",
    ),
}
_CAMUNDA_ELEMENTS = {
    "executionListener": ("un ascoltatore di esecuzione Camunda non viene eseguito", "usare pre/post-script"),
    "taskListener": ("un ascoltatore di attività Camunda non viene eseguito", "usare pre/post-script"),
    "formData": (
        "i campi del modulo Camunda non sono mostrati così come sono",
        "la procedura guidata può convertirli in un modulo JSON Schema",
    ),
    "inputOutput": (
        "la mappatura di ingresso/uscita Camunda non viene eseguita",
        "assegnare le variabili con un'attività script",
    ),
    "connector": ("un connettore Camunda non viene eseguito", "usare un messaggio ai sistemi dei partner"),
    "taskDefinition": ("un lavoro esterno (Zeebe) non viene eseguito", "usare un messaggio ai sistemi dei partner"),
    "formDefinition": (
        "il modulo Camunda 8 non è mostrato",
        "indicare un modulo JSON Schema (proprietà formJsonSchemaFilename)",
    ),
}


_TIMER_TAGS = {"timeDuration", "timeDate", "timeCycle"}


def _expression_findings(name: str, el: Any) -> list[Finding]:
    """Expressions written for another engine: Camunda's `${…}`, SpiffArena's timedelta timers."""
    tag = local_name(el.tag)
    text = (el.text or "").strip()
    owner = next(
        (a for a in el.iterancestors() if a.get("id") and not local_name(a.tag).endswith("EventDefinition")), None
    )
    element = owner.get("id") if owner is not None else None
    if tag in _TIMER_TAGS and re.search(r"\b(timedelta|datetime)\s*\(", text):
        return [
            Finding(
                name,
                element,
                f"il timer è calcolato con «{text[:80]}», che la piattaforma non accetta come durata o data",
                'scrivere una durata o data ISO 8601 tra virgolette, per esempio "PT30S" o "2026-01-31T09:00:00Z"',
            )
        ]
    if tag in _TIMER_TAGS | {"conditionExpression"} and text.startswith(("${", "#{")):
        return [
            Finding(
                name,
                element if tag in _TIMER_TAGS else el.getparent().get("id"),
                f"l'espressione «{text[:80]}» è scritta nel linguaggio di Camunda (JUEL)",
                "riscriverla in Python (per esempio ${importo > 1000} diventa importo > 1000)",
            )
        ]
    return []


def _message_findings(name: str, el: Any) -> list[Finding]:
    """A message event that names no message: nothing could start or reach it by name."""
    if local_name(el.tag) != "messageEventDefinition" or el.get("messageRef"):
        return []
    event = el.getparent()
    if any(local_name(a.tag) == "process" and a.get("isExecutable", "true") != "true" for a in event.iterancestors()):
        return []
    return [
        Finding(
            name,
            event.get("id"),
            "l'evento messaggio non indica quale messaggio (messageRef): nessun messaggio lo raggiungerebbe",
            "indicare il messaggio (con il suo nome e la chiave di correlazione) o usare un evento senza tipo",
        )
    ]


def _camunda_findings(roots: dict[str, Any]) -> list[Finding]:
    """Camunda extensions that mean nothing here (kept in the XML, listed with a fix)."""
    found = []
    for name, root in roots.items():
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            found.extend(_expression_findings(name, el))
            found.extend(_message_findings(name, el))
            element = el.get("id")
            for attr, value in el.attrib.items():
                if attr.startswith(f"{{{CAMUNDA_NS}}}"):
                    what = _CAMUNDA_ATTRIBUTES.get(attr.rsplit("}", 1)[1])
                    if what:
                        found.append(Finding(name, element, what[0].format(value=value), what[1]))
            if el.tag.startswith((f"{{{CAMUNDA_NS}}}", f"{{{ZEEBE_NS}}}")) and local_name(el.tag) in _CAMUNDA_ELEMENTS:
                owner = next((a for a in el.iterancestors() if a.get("id")), None)
                message, fix = _CAMUNDA_ELEMENTS[local_name(el.tag)]
                found.append(Finding(name, owner.get("id") if owner is not None else None, message, fix))
    return found


_FIXES = [
    ("corsia", "scegliere nella procedura guidata il ruolo della piattaforma che svolge l'attività"),
    ("non ha un modulo", "far creare il modulo dalla procedura guidata o indicare un file JSON Schema"),
    ("service task", "usare un evento intermedio di lancio di messaggio"),
    ("segnale", "usare un evento messaggio"),
    ("SyntaxError", "riscrivere l'espressione in Python (per esempio ${importo > 1000} diventa importo > 1000)"),
    ("sintassi", "riscrivere l'espressione in Python (per esempio ${importo > 1000} diventa importo > 1000)"),
    ("non esiste", "importare insieme il processo chiamato o pubblicarlo prima"),
]


def _fix(message: str) -> str:
    """A suggested fix for a check's message (most messages end with theirs, after a colon)."""
    for needle, fix in _FIXES:
        if needle in message:
            return fix
    head, sep, tail = message.rpartition(": ")
    return tail if sep and len(head) > 10 else "correggere nell'editor"


def _calls(
    session: Session | None,
    roots: dict[str, Any],
    origin: dict[str, str],
    processes: list[ProcessFound],
    ambito: str | None,
) -> list[CallFound]:
    local = {p.id: p.file for p in processes}
    found = []
    for name, root in roots.items():
        for el in root.iter(_q(BPMN_NS, "callActivity")):
            target = el.get("calledElement") or ""
            where: str | None = None
            if target in local:
                where = f"nel caricamento ({origin.get(local[target], local[target])}, {local[target]})"
            elif session is not None and target:
                try:
                    resolve(session, target, ambito)
                    where = "già pubblicato"
                except NotFound:
                    where = None
            found.append(CallFound(name, el.get("id") or "", target, where))
    return found


# --------------------------------------------------------------------------- applying the mapping


def apply_mapping(
    files: dict[str, bytes],
    mapping: dict[str, str],
    make_forms: bool = False,
    max_bytes: int = 2_000_000,
    primary: str | None = None,
) -> dict[str, bytes]:
    """The bundle with lanes and candidate groups mapped to roles (and, if asked, forms for user tasks).

    `mapping`: lane or group name (NO_LANE for the tasks with neither) → role code. Names whose
    role is unknown or not chosen are left as they are; files nothing changes keep their bytes.
    The `primary` process, if drawn as not executable, is made executable (a case must run it).
    """
    chosen = {k: v for k, v in mapping.items() if v in LANE_ROLES}
    out = dict(files)
    for name, data in sorted(files.items()):
        if not name.lower().endswith(".bpmn"):
            continue
        try:
            root = parse_xml(data, max_bytes)
        except UnsafeXml:
            continue
        changed = _map_lanes(root, chosen)
        for process in root.iter(_q(BPMN_NS, "process")):
            if primary and process.get("id") == primary and process.get("isExecutable", "true") != "true":
                process.set("isExecutable", "true")
                changed = True
        if make_forms:
            for form_name, form in _make_forms(root, out).items():
                out[form_name] = form
                changed = True
        changed = _link_decisions(root) or changed
        if changed:
            out[name] = _serialize(root)
    return out


def _map_lanes(root: Any, chosen: dict[str, str]) -> bool:
    changed = False
    lanes = _lanes_of(root)
    for lane in root.iter(_q(BPMN_NS, "lane")):
        old = lane.get("name") or lane.get("id") or ""
        role = chosen.get(old)
        if role and role_for_lane(old) is None:
            lane.set("name", BY_CODE[role].label)
            doc = etree.Element(_q(BPMN_NS, "documentation"))
            doc.text = f"Corsia importata con il nome «{old}»."
            lane.insert(0, doc)
            changed = True
    for process in root.iter(_q(BPMN_NS, "process")):
        for task in _human_tasks(process):
            task_id = task.get("id") or ""
            if task_id in lanes:
                continue
            groups = _groups(task)
            role = next((chosen[g] for g in groups if g in chosen), None) or next(
                (role_for_lane(g) for g in groups if role_for_lane(g)), None
            )
            if role is None and not groups:
                role = chosen.get(NO_LANE)
            if role is None:
                continue
            lane = _lane_for(process, role)
            ref = etree.SubElement(lane, _q(BPMN_NS, "flowNodeRef"))
            ref.text = task_id
            lanes[task_id] = lane
            changed = True
    return changed


def _lane_for(process: Any, role: str) -> Any:
    """The lane of `role` in the process's first lane set (created, without a drawing, if missing)."""
    lane_set = process.find(_q(BPMN_NS, "laneSet"))
    if lane_set is None:
        lane_set = etree.Element(_q(BPMN_NS, "laneSet"), id=f"LaneSet_{process.get('id')}")
        position = 0
        for index, child in enumerate(process):
            if isinstance(child.tag, str) and local_name(child.tag) in {
                "documentation",
                "extensionElements",
                "supportedInterfaceRef",
                "ioSpecification",
                "ioBinding",
                "auditing",
                "monitoring",
                "property",
            }:
                position = index + 1
        process.insert(position, lane_set)
    for lane in lane_set.findall(_q(BPMN_NS, "lane")):
        if role_for_lane(lane.get("name")) == role:
            return lane
    return etree.SubElement(lane_set, _q(BPMN_NS, "lane"), id=f"Lane_{role}_{process.get('id')}", name=role_label(role))


_FIELD_TYPES = {"long": "integer", "boolean": "boolean", "string": "string", "date": "string", "enum": "string"}


def _make_forms(root: Any, files: dict[str, bytes]) -> dict[str, bytes]:
    """A JSON-Schema form for each user task without one (from its Camunda form fields, if any)."""
    made: dict[str, bytes] = {}
    for process in root.iter(_q(BPMN_NS, "process")):
        for task in process.iter(_q(BPMN_NS, "userTask")):
            if _has_form(task):
                continue
            task_id = task.get("id") or "attivita"
            name = f"{re.sub(r'[^A-Za-z0-9_-]+', '_', task_id)}.schema.json"
            while name in files or name in made:
                name = "x_" + name
            made[name] = (json.dumps(_form_schema(task), indent=2, ensure_ascii=False) + "\n").encode()
            ext = task.find(_q(BPMN_NS, "extensionElements"))
            if ext is None:
                ext = etree.Element(_q(BPMN_NS, "extensionElements"))
                docs = task.findall(_q(BPMN_NS, "documentation"))
                task.insert(len(docs), ext)
            props = ext.find(_q(SPIFF_NS, "properties"))
            if props is None:
                props = etree.SubElement(ext, _q(SPIFF_NS, "properties"))
            etree.SubElement(props, _q(SPIFF_NS, "property"), name=FORM_PROPERTY, value=name)
    return made


def _form_schema(task: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for form_field in task.iter(_q(CAMUNDA_NS, "formField")):
        key = form_field.get("id")
        if not key or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            continue
        kind = form_field.get("type") or "string"
        entry: dict[str, Any] = {"type": _FIELD_TYPES.get(kind, "string"), "title": form_field.get("label") or key}
        if kind == "date":
            entry["format"] = "date"
        values = [v.get("id") for v in form_field.iter(_q(CAMUNDA_NS, "value")) if v.get("id")]
        if kind == "enum" and values:
            entry["enum"] = values
        properties[key] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": task.get("name") or task.get("id") or "Modulo",
        "type": "object",
        "properties": properties,
    }


def _link_decisions(root: Any) -> bool:
    """A business rule task naming its decision the Camunda way also names it the platform's way."""
    changed = False
    for task in root.iter(_q(BPMN_NS, "businessRuleTask")):
        ref = task.get(_q(CAMUNDA_NS, "decisionRef"))
        if not ref or list(task.iter(_q(SPIFF_NS, "calledDecisionId"))):
            continue
        ext = task.find(_q(BPMN_NS, "extensionElements"))
        if ext is None:
            ext = etree.Element(_q(BPMN_NS, "extensionElements"))
            task.insert(len(task.findall(_q(BPMN_NS, "documentation"))), ext)
        called = etree.SubElement(ext, _q(SPIFF_NS, "calledDecisionId"))
        called.text = ref
        changed = True
    return changed


# --------------------------------------------------------------------------- creating the draft


def import_draft(
    session: Session,
    actor: Actor,
    ambito: str | None,
    plan: ImportPlan,
    mapping: dict[str, str],
    primary: str | None = None,
    make_forms: bool = False,
    max_bytes: int = 2_000_000,
) -> Draft:
    """Store the mapped upload as the draft of its primary process for the scope (never over a saved draft)."""
    check_edit(session, actor, ambito)
    key = primary or plan.primary
    found = next((p for p in plan.processes if p.id == key), None)
    if key is None or found is None:
        raise DefinitionError([Problem(None, None, "il caricamento non contiene il processo da importare")])
    if len(key) > 200:
        raise DefinitionError([Problem(found.file, key, "l'identificativo del processo è troppo lungo (massimo 200)")])
    scope = "regione" if ambito is None else ambito
    if session.scalar(select(ProcessDraft.id).where(ProcessDraft.scope == scope, ProcessDraft.process_key == key)):
        raise Conflict(
            f"Esiste già una bozza del processo «{key}»: aprirla e pubblicarla o scartarla prima di importarne "
            "un'altra."
        )
    files = apply_mapping(plan.files, mapping, make_forms, max_bytes, key)
    try:
        base = resolve(session, key, ambito)
    except NotFound:
        base = None
    now = utcnow()
    record = ProcessDraft(
        scope=scope,
        ambito_code=ambito,
        process_key=key,
        main_file=found.file,
        base_definition_id=base.id if base is not None else None,
        revision=1,
        created_at=now,
        created_by=actor.username,
        updated_at=now,
        updated_by=actor.username,
    )
    session.add(record)
    session.flush()
    for name, data in sorted(files.items()):
        session.add(
            ProcessDraftFile(
                draft_id=record.id,
                name=name,
                kind=KINDS.get(Path(name).suffix.lower(), "json"),
                content=data.decode("utf-8"),
                size=len(data),
            )
        )
    session.flush()
    return open_draft(session, actor, ambito, key)


def mapping_from_pairs(pairs: Iterable[tuple[str, str]], plan: ImportPlan) -> dict[str, str]:
    """The wizard's selects (`ruolo_<n>` = role code, n the position of the name in the plan) as a mapping."""
    values = dict(pairs)
    mapping: dict[str, str] = {}
    for index, item in enumerate(plan.names):
        role = values.get(f"ruolo_{index}", "").strip()
        if role in LANE_ROLES:
            mapping[item.name] = role
        elif role:
            raise DefinitionError([Problem(None, None, f"ruolo sconosciuto scelto per «{item.name or NO_LANE_LABEL}»")])
    return mapping


# --------------------------------------------------------------------------- between the wizard's pages


def carry(unpacked: Unpacked) -> str:
    """The upload as text for the wizard's next page (a zip, base64): read back with `unpack_carried`.

    The wizard keeps nothing on the server between its pages; what comes back is checked again.
    """
    entries: dict[str, bytes] = {}
    for index, folder in enumerate(unpacked.folders):
        prefix = f"{index:03d}-{PurePosixPath(folder.path).name}" if folder.path else f"{index:03d}"
        for name, data in folder.files.items():
            entries[f"{prefix}/{name}"] = data
        if folder.meta is not None:
            entries[f"{prefix}/{MODEL_FILE}"] = json.dumps(folder.meta, ensure_ascii=False).encode()
    return base64.b64encode(pack(entries)).decode("ascii")


def unpack_carried(text: str, max_files: int = 500, max_bytes: int = 2_000_000) -> Unpacked:
    """An upload carried by `carry`, unpacked with the same checks as a new one."""
    try:
        content = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise DefinitionError(
            [Problem(None, None, "il caricamento non è più leggibile: caricare di nuovo i file")]
        ) from None
    unpacked = unpack([("caricamento.zip", content)], max_files, max_bytes)
    for folder in unpacked.folders:  # the folder names, as the first upload gave them
        folder.path = re.sub(r"^caricamento/\d{3}-?", "", folder.path)
    return unpacked
