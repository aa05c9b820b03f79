"""An instance's path on the diagrams it ran, and the model files of its pinned bundles.

The path comes from the engine's stored tasks (live rows and the archive pruning fills),
read by `engine.spiff.trace_paths`; the history adds the tasks people had in hand that
were later cancelled, and the element of the last error when the failed step was rolled back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import definitions
from engine.access.roles import Actor
from engine.audit.story import get_instance
from engine.config import Settings
from engine.errors import NotFound
from engine.instances import specset_for
from engine.models import BundleFile, DefinitionFile, HistoryEvent, ProcessDefinition, ProcessInstance, TaskArchive
from engine.models import TaskState as TaskRowModel
from engine.privacy import ERASED, cipher_for
from engine.safexml import UnsafeXml, parse_xml
from engine.spiff import TOP, DiagramPath, StoredTask, stored_parent, trace_paths

FILE_KINDS = {"bpmn": "Diagramma BPMN", "dmn": "Tabella di decisione DMN", "json": "Modulo (JSON)"}
STATE_LABELS = {"completed": "completato", "current": "in corso", "failed": "in errore", "flow": "flusso percorso"}


@dataclass(frozen=True)
class CallLink:
    """A call activity's run: the diagram of the called process with this instance's path."""

    element: str
    element_name: str
    workflow_id: str
    process_key: str
    version: int | None


@dataclass(frozen=True)
class PathStep:
    """One element of the path as the text alternative lists it."""

    element: str
    name: str
    state: str

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


@dataclass
class InstanceDiagram:
    """One diagram run of an instance: its BPMN file and the markers to draw on it."""

    workflow_id: str
    process_key: str
    process_name: str
    definition_id: int
    version: int | None
    file_name: str
    xml: str
    completed: list[str]
    current: list[str]
    failed: list[str]
    taken_flows: list[str]
    steps: list[PathStep]
    calls: list[CallLink] = field(default_factory=list)
    caller: str | None = None
    runs: int = 1


@dataclass(frozen=True)
class ModelFile:
    """A file of a bundle the instance ran on (a bundle shared by several processes is listed once)."""

    definition_id: int
    processes: str
    """The processes (and versions) the instance ran from this file's bundle, e.g. «sample_case v1»."""
    name: str
    kind: str

    @property
    def kind_label(self) -> str:
        return FILE_KINDS.get(self.kind, self.kind)


# --------------------------------------------------------------------------- path


def instance_paths(session: Session, settings: Settings, instance: ProcessInstance) -> dict[str, DiagramPath]:
    """Every diagram run of an instance (main first) with its path, from the stored tasks."""
    cipher = cipher_for(session, settings, instance)
    tasks: list[StoredTask] = []
    for row in session.execute(
        select(
            TaskRowModel.task_id,
            TaskRowModel.workflow_id,
            TaskRowModel.spec_name,
            TaskRowModel.state,
            TaskRowModel.row_json,
        ).where(TaskRowModel.instance_id == instance.id)
    ):
        stored = cipher.open_text(row.row_json, ERASED)
        parent = stored_parent(stored) if isinstance(stored, dict) else None
        tasks.append(StoredTask(row.task_id, row.workflow_id, row.spec_name, row.state, parent))
    for arch in session.execute(
        select(
            TaskArchive.task_id,
            TaskArchive.workflow_id,
            TaskArchive.spec_name,
            TaskArchive.state,
            TaskArchive.parent_id,
        ).where(TaskArchive.instance_id == instance.id)
    ):
        tasks.append(StoredTask(arch.task_id, arch.workflow_id, arch.spec_name, arch.state, arch.parent_id))
    reached = {
        str(t)
        for t in session.scalars(
            select(HistoryEvent.task_id).where(
                HistoryEvent.instance_id == instance.id, HistoryEvent.task_id.is_not(None)
            )
        )
    }
    failed_element = None
    if instance.status == "error":
        failed_element = session.scalar(
            select(HistoryEvent.task_name)
            .where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "incident")
            .order_by(HistoryEvent.seq.desc())
            .limit(1)
        )
    failed_task = instance.error_task_id if instance.status == "error" else None
    return trace_paths(specset_for(session, instance), tasks, reached, failed_task, failed_element)


def instance_diagram(
    session: Session, settings: Settings, actor: Actor, case_code: str, workflow_id: str = TOP
) -> InstanceDiagram:
    """The diagram of one run (the main process, or a called process) with the instance's path on it."""
    instance = get_instance(session, actor, case_code)
    paths = instance_paths(session, settings, instance)
    path = paths.get(workflow_id or TOP)
    if path is None:
        raise NotFound(f"Il diagramma «{workflow_id}» non fa parte dell'istanza «{case_code}».")
    definition = session.get(ProcessDefinition, path.definition_id)
    if definition is None:
        raise NotFound(f"La definizione del processo «{path.process_key}» non è più disponibile.")
    file_name, xml = _bpmn_file(session, definition.id, path.process_key)
    names, flows = _diagram_elements(xml, path.process_key)
    taken = sorted(fid for fid, pair in flows.items() if pair in path.transitions)
    # The text alternative follows the file's order: failed first, then live, then completed, then the flows.
    order = {element: index for index, element in enumerate(names)}

    def ordered(elements: set[str]) -> list[str]:
        return sorted(elements, key=lambda e: (order.get(e, len(order)), e))

    steps = [PathStep(e, names.get(e, e), "failed") for e in ordered(path.failed)]
    steps += [PathStep(e, names.get(e, e), "current") for e in ordered(path.current - path.failed)]
    steps += [PathStep(e, names.get(e, e), "completed") for e in ordered(path.completed - path.current - path.failed)]
    steps += [
        PathStep(fid, f"{names.get(flows[fid][0], flows[fid][0])} → {names.get(flows[fid][1], flows[fid][1])}", "flow")
        for fid in sorted(taken, key=lambda f: order.get(flows[f][0], len(order)))
    ]
    versions = {
        d.id: d.version
        for d in definitions.definitions_by_id(session, {p.definition_id for p in paths.values()}).values()
    }
    calls = [
        CallLink(
            element, names.get(element, element), sub, paths[sub].process_key, versions.get(paths[sub].definition_id)
        )
        for element, sub in path.calls
        if sub in paths
    ]
    return InstanceDiagram(
        workflow_id=path.workflow_id,
        process_key=path.process_key,
        process_name=definition.name,
        definition_id=definition.id,
        version=definition.version,
        file_name=file_name,
        xml=xml,
        completed=sorted(path.completed),
        current=sorted(path.current),
        failed=sorted(path.failed),
        taken_flows=taken,
        steps=steps,
        calls=calls,
        caller=path.caller,
    )


def _bpmn_file(session: Session, definition_id: int, process_key: str) -> tuple[str, str]:
    """The BPMN file of a definition's bundle that holds the process (name, text)."""
    files = session.execute(
        select(BundleFile.name, DefinitionFile.content)
        .join(DefinitionFile, DefinitionFile.sha256 == BundleFile.sha256)
        .join(ProcessDefinition, ProcessDefinition.bundle_id == BundleFile.bundle_id)
        .where(ProcessDefinition.id == definition_id, BundleFile.kind == "bpmn")
        .order_by(BundleFile.name)
    ).all()
    for name, content in files:
        quoted = f'"{process_key}"' in content or f"'{process_key}'" in content
        if quoted and _process_element(content, process_key) is not None:
            return name, content
    raise NotFound(f"Il diagramma del processo «{process_key}» non è nel pacchetto della sua versione.")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _process_element(content: str, key: str) -> Any | None:
    raw = content.encode("utf-8")
    try:
        root = parse_xml(raw, max_bytes=len(raw) + 1)
    except UnsafeXml:
        return None  # stored files passed this check when published
    return next((el for el in root.iter() if _local(el.tag) == "process" and el.get("id") == key), None)


def _diagram_elements(xml: str, key: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Element id → name, and sequence flow id → (source, target), of one process (nested ones included)."""
    process = _process_element(xml, key)
    names: dict[str, str] = {}
    flows: dict[str, tuple[str, str]] = {}
    if process is None:
        return names, flows
    for element in process.iter():
        element_id = element.get("id")
        if not element_id:
            continue
        if _local(element.tag) == "sequenceFlow":
            flows[element_id] = (element.get("sourceRef") or "", element.get("targetRef") or "")
        else:
            names[element_id] = (element.get("name") or element_id).strip()
    return names, flows


# --------------------------------------------------------------------------- model files


def _ran_definitions(session: Session, instance: ProcessInstance) -> dict[int, ProcessDefinition]:
    """Definitions the instance is pinned to, plus those its history ran on (before a migration)."""
    ids = {int(value[0]) for value in json.loads(instance.manifest_json).values()}
    ids |= set(
        session.scalars(select(HistoryEvent.definition_id).where(HistoryEvent.instance_id == instance.id).distinct())
    )
    return definitions.definitions_by_id(session, ids)


def model_files(session: Session, actor: Actor, case_code: str) -> list[ModelFile]:
    """Files of every bundle the instance ran on, each once, with the processes it ran from it."""
    instance = get_instance(session, actor, case_code)
    ran = _ran_definitions(session, instance)
    rows = session.execute(
        select(ProcessDefinition.id, ProcessDefinition.bundle_id, BundleFile.name, BundleFile.kind)
        .join(BundleFile, BundleFile.bundle_id == ProcessDefinition.bundle_id)
        .where(ProcessDefinition.id.in_(list(ran)))
        .order_by(ProcessDefinition.id)
    ).all()
    first: dict[tuple[int, str], tuple[int, str]] = {}
    processes: dict[int, list[str]] = {}
    for row in rows:
        first.setdefault((row.bundle_id, row.name), (row.id, row.kind))
        label = f"{ran[row.id].process_key} v{ran[row.id].version}"
        if label not in processes.setdefault(row.bundle_id, []):
            processes[row.bundle_id].append(label)
    found = [
        ModelFile(definition_id, ", ".join(processes[bundle_id]), name, kind)
        for (bundle_id, name), (definition_id, kind) in first.items()
    ]
    return sorted(found, key=lambda f: (f.definition_id, f.kind != "bpmn", f.kind, f.name))


def model_file(session: Session, actor: Actor, case_code: str, definition_id: int, name: str) -> tuple[ModelFile, str]:
    """One file of a bundle the instance ran on, with its text."""
    wanted = next(
        (f for f in model_files(session, actor, case_code) if f.definition_id == definition_id and f.name == name), None
    )
    if wanted is None:
        raise NotFound(f"Il file «{name}» non è tra i file del modello dell'istanza «{case_code}».")
    return wanted, definitions.bundle_file_text(session, definition_id, name)
