"""The path a case took on its diagrams, read from its stored tasks (live and archived).

Each diagram (the main process, and every run of a called process) gets the elements it
completed, the ones live now, the failed one, and the transitions between elements that
really happened: a task's nearest ancestor that is a diagram element led to it. Pruning
keeps a spliced-out task's true parent (`pruning.TRUE_PARENT`), so long cases keep their
transitions. Embedded subprocesses are drawn inside their parent's diagram, so their
markers are folded into it; a call activity's runs are diagrams of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

from engine.spiff.case import TOP, SpecSet, _cached_spec
from engine.spiff.pruning import TRUE_PARENT

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class StoredTask:
    """One task as the database keeps it (a live row or an archived one)."""

    task_id: str
    workflow_id: str
    spec_name: str
    state: int
    parent_id: str | None


@dataclass
class DiagramPath:
    """What one diagram run did: elements completed, live, failed, transitions taken, calls made."""

    workflow_id: str
    process_key: str
    definition_id: int
    caller: str | None = None
    """Workflow id of the diagram whose call activity started this one (None for the main one)."""
    call_element: str | None = None
    completed: set[str] = field(default_factory=set)
    current: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    transitions: set[tuple[str, str]] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)
    """(call activity element, workflow id of the run it started), in the order found."""


def stored_parent(row: dict[str, Any]) -> str | None:
    """The true parent of a live task from its stored row (pruning may have spliced the stored one)."""
    internal = row.get("internal_data")
    if isinstance(internal, dict) and isinstance(internal.get(TRUE_PARENT), str):
        return str(internal[TRUE_PARENT])
    parent = row.get("parent")
    return parent if isinstance(parent, str) else None


def trace_paths(
    specs: SpecSet,
    tasks: Iterable[StoredTask],
    reached: set[str] | None = None,
    failed_task: str | None = None,
    failed_element: str | None = None,
) -> dict[str, DiagramPath]:
    """Diagram runs of a case by workflow id (`TOP` first).

    `reached`: ids of tasks known to have been live (from the history), so a cancelled task
    that a person had in hand still counts as reached. `failed_task` / `failed_element`:
    where the case's last error happened (the element is used when the task is not stored,
    since a failed step is rolled back).
    """
    by_id = {t.task_id: t for t in tasks}
    by_workflow: dict[str, list[StoredTask]] = {}
    for task in by_id.values():
        by_workflow.setdefault(task.workflow_id, []).append(task)
    reached = reached or set()
    workflow_specs: dict[str, Any] = {}
    owner: dict[str, str] = {}  # workflow id → workflow id of the diagram that draws it
    paths: dict[str, DiagramPath] = {}

    def resolve(workflow_id: str, seen: frozenset[str] = frozenset()) -> Any:
        if workflow_id in workflow_specs:
            return workflow_specs[workflow_id]
        spec: Any = None
        if workflow_id == TOP:
            spec = specs.specs.get(specs.main)
            owner[TOP] = TOP
            if spec is not None:
                paths[TOP] = DiagramPath(TOP, specs.main, specs.owners[specs.main])
        else:
            caller = by_id.get(workflow_id)
            if caller is not None and caller.workflow_id not in seen | {workflow_id}:
                parent_spec = resolve(caller.workflow_id, seen | {workflow_id})
                task_spec = parent_spec.task_specs.get(caller.spec_name) if parent_spec is not None else None
                if isinstance(task_spec, SubWorkflowTask):
                    spec = specs.specs.get(task_spec.spec)
                if spec is not None and isinstance(task_spec, CallActivity):
                    owner[workflow_id] = workflow_id
                    paths[workflow_id] = DiagramPath(
                        workflow_id,
                        task_spec.spec,
                        specs.owners.get(task_spec.spec, 0),
                        caller=owner[caller.workflow_id],
                        call_element=task_spec.bpmn_id,
                    )
                    paths[owner[caller.workflow_id]].calls.append((task_spec.bpmn_id, workflow_id))
                elif spec is not None:
                    owner[workflow_id] = owner[caller.workflow_id]
        workflow_specs[workflow_id] = spec
        return spec

    for workflow_id in sorted(by_workflow, key=lambda w: (w != TOP, w)):
        resolve(workflow_id)
    resolve(TOP)

    def element(task: StoredTask) -> str | None:
        spec = workflow_specs.get(task.workflow_id)
        task_spec = spec.task_specs.get(task.spec_name) if spec is not None else None
        bpmn_id = getattr(task_spec, "bpmn_id", None)
        return bpmn_id if isinstance(bpmn_id, str) else None

    for task in sorted(by_id.values(), key=lambda t: t.task_id):
        name = element(task)
        if name is None or task.workflow_id not in owner:
            continue
        path = paths[owner[task.workflow_id]]
        if task.task_id == failed_task or task.state == TaskState.ERROR:
            path.failed.add(name)
        if task.state == TaskState.COMPLETED:
            path.completed.add(name)
        elif task.state & LIVE:
            path.current.add(name)
        elif task.task_id not in reached:
            continue  # predicted, or cancelled before anyone could act on it
        before = _element_before(task, by_id, element)
        if before is not None:
            path.transitions.add((before, name))
        if task.state == TaskState.COMPLETED:
            # A parallel join fires only when every input has arrived: all its incoming flows
            # were taken, though the tree keeps one of the arriving branches as its parent.
            task_spec = workflow_specs[task.workflow_id].task_specs.get(task.spec_name)
            if isinstance(task_spec, ParallelGateway):
                for source in task_spec.inputs:
                    source_id = getattr(source, "bpmn_id", None)
                    if isinstance(source_id, str):
                        path.transitions.add((source_id, name))
    if failed_element and not any(p.failed for p in paths.values()):
        for workflow_id, path in paths.items():
            spec = workflow_specs.get(workflow_id)
            if spec is not None and any(
                getattr(ts, "bpmn_id", None) == failed_element for ts in spec.task_specs.values()
            ):
                path.failed.add(failed_element)
                break
    return paths


def _element_before(task: StoredTask, by_id: dict[str, StoredTask], element: Any) -> str | None:
    """The nearest ancestor in the same workflow that is a diagram element (engine-only specs skipped)."""
    current = by_id.get(task.parent_id) if task.parent_id else None
    steps = 0
    while current is not None and current.workflow_id == task.workflow_id and steps < 10_000:
        name = element(current)
        if name is not None:
            return name  # type: ignore[no-any-return]
        current = by_id.get(current.parent_id) if current.parent_id else None
        steps += 1
    return None


def element_forms(content_hash: str, spec_json: str) -> dict[str, str]:
    """Element id → JSON form file of each human task of a stored definition (embedded subprocesses too)."""
    spec, embedded = _cached_spec(content_hash, spec_json)
    found: dict[str, str] = {}
    for process in [spec, *embedded.values()]:
        for task_spec in process.task_specs.values():
            props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            form = props.get("formJsonSchemaFilename") if isinstance(props, dict) else None
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if isinstance(form, str) and isinstance(bpmn_id, str):
                found[bpmn_id] = form
    return found
