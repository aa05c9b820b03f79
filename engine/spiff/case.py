"""A running case: SpiffWorkflow's BpmnWorkflow behind a small, typed surface.

Everything the rest of the engine needs from a workflow goes through `Case`:
start, restore from stored rows, run engine steps (with pruning and guards),
complete a human task, fire timers, deliver a message, and dump rows to store.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import StartEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import codec
from engine.datadiff import data_diff
from engine.errors import EngineStateError, ScriptError
from engine.sandbox import SandboxFailure, get_pool
from engine.spiff import prediction
from engine.spiff.parsing import SERIALIZER, load_spec_json
from engine.spiff.pruning import prune_workflow, tree_depth, true_parent
from engine.spiff.scripting import SCRIPT_ENGINE

_REGISTRY = SERIALIZER.registry
prediction.install()  # before any workflow exists: branch prediction without recursion

PRUNE_EVERY_PASSES = 32  # see run_engine
MAX_LIVE_DEPTH = 800  # SpiffWorkflow's iterator stops at 1000; refuse well before


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class SpecSet:
    """The process specs an instance runs on, and which definition owns each spec."""

    main: str
    specs: dict[str, Any]
    owners: dict[str, int]


_SPEC_CACHE: OrderedDict[str, tuple[Any, dict[str, Any]]] = OrderedDict()
_SPEC_CACHE_LOCK = threading.Lock()
_SPEC_CACHE_SIZE = 256


def _cached_spec(content_hash: str, spec_json: str | None) -> tuple[Any, dict[str, Any]]:
    # Definitions are immutable and keyed by content hash, so parsed specs can be shared.
    with _SPEC_CACHE_LOCK:
        hit = _SPEC_CACHE.get(content_hash)
        if hit is not None:
            _SPEC_CACHE.move_to_end(content_hash)
            return hit
    if spec_json is None:
        raise KeyError(f"spec {content_hash} is not loaded")
    loaded = load_spec_json(spec_json)
    with _SPEC_CACHE_LOCK:
        _SPEC_CACHE[content_hash] = loaded
        while len(_SPEC_CACHE) > _SPEC_CACHE_SIZE:
            _SPEC_CACHE.popitem(last=False)
    return loaded


def build_specset(
    main: str, manifest: dict[str, tuple[int, str]], load_json: Callable[[set[int]], dict[int, str]]
) -> SpecSet:
    """Assemble specs for a manifest (process key → (definition id, content hash)).

    Parsed specs are cached by content hash; `load_json` is asked only for definitions
    not in the cache, so a warm step reads no spec from the database.
    """
    with _SPEC_CACHE_LOCK:
        missing = {i for i, digest in manifest.values() if digest not in _SPEC_CACHE}
    texts = load_json(missing) if missing else {}
    specs: dict[str, Any] = {}
    owners: dict[str, int] = {}
    for key, (definition_id, digest) in manifest.items():
        spec, embedded = _cached_spec(digest, texts.get(definition_id))
        specs[key] = spec
        owners[key] = definition_id
        for name, sub in embedded.items():
            specs[name] = sub
            owners[name] = definition_id
    return SpecSet(main=main, specs=specs, owners=owners)


def has_plain_start(content_hash: str, spec_json: str) -> bool:
    """Whether a stored process can be started by hand: its main process has a none start event."""
    spec, _embedded = _cached_spec(content_hash, spec_json)
    return any(
        isinstance(ts, StartEvent) and isinstance(ts.event_definition, NoneEventDefinition)
        for ts in spec.task_specs.values()
    )


# --------------------------------------------------------------------------- rows


@dataclass
class TaskRow:
    """One task as stored: structural fields in `row`, data separately (content-addressed)."""

    task_id: str
    workflow_id: str
    spec_name: str
    state: int
    row: dict[str, Any]
    data: Any


@dataclass
class Snapshot:
    """Everything needed to restore a case, split into small rows."""

    workflow: dict[str, Any]
    subprocesses: dict[str, tuple[str, dict[str, Any]]]
    tasks: list[TaskRow]


TOP = "top"


# --------------------------------------------------------------------------- views


@dataclass
class HumanTaskView:
    """A human task waiting for a person."""

    task_id: str
    element: str
    title: str
    lane: str | None
    kind: str
    definition_id: int
    properties: dict[str, str]
    instance_label: str | None
    data: dict[str, Any]
    documentation: str | None = None


@dataclass
class TimerView:
    """A waiting timer and when it is due."""

    task_id: str
    element: str
    due_at: datetime


@dataclass
class MessageWait:
    """A catch event waiting for a message."""

    task_id: str
    element: str
    message: str
    correlation_expression: str | None
    data: dict[str, Any]


@dataclass
class StepEvent:
    """A finished diagram element, for the history."""

    kind: str
    task_id: str
    element: str
    title: str
    lane: str | None
    definition_id: int
    diff: dict[str, Any] | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutboundMessage:
    """A message thrown by the case that no task of the same case caught."""

    name: str
    payload: Any
    correlation_key: str | None


@dataclass
class MigrationPlan:
    """Differences between a case's specs and a target version."""

    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def possible(self) -> bool:
        return not self.removed


@dataclass
class StepReport:
    """What one engine run did."""

    events: list[StepEvent] = field(default_factory=list)
    outbound: list[OutboundMessage] = field(default_factory=list)
    archived: list[dict[str, Any]] = field(default_factory=list)
    engine_tasks: int = 0


# --------------------------------------------------------------------------- case


_REPREDICTED = TaskState.READY | TaskState.WAITING
"""Tasks whose branch a migration resets and predicts again from the new specs."""


def _blocks_migration(task: Any) -> bool:
    """Whether a task whose element the target lacks keeps a case from moving.

    A task not yet reached (future or predicted) below a ready or waiting task is dropped
    and predicted again from the new specs when the case moves: it does not block.
    """
    if not task.has_state(TaskState.NOT_FINISHED_MASK):
        return False
    if task.has_state(_REPREDICTED | TaskState.STARTED):
        return True
    parent = task.parent
    while parent is not None:
        if parent.has_state(_REPREDICTED):
            return False
        parent = parent.parent
    return True


class Case:
    """A workflow plus the bookkeeping the host needs around each step."""

    def __init__(self, workflow: Any, specset: SpecSet, case_code: str) -> None:
        self.workflow = workflow
        self.specset = specset
        self.case_code = case_code
        self.max_engine_tasks = 20_000  # automatic tasks one step may run (runaway-loop guard)
        self.max_step_seconds = 20.0  # wall-clock budget of the automatic part of one step
        workflow.script_engine = SCRIPT_ENGINE

    # ---- construction

    @classmethod
    def new(cls, specset: SpecSet, case_code: str, data: dict[str, Any] | None = None) -> Case:
        """A fresh workflow for the main process of `specset` (not yet run)."""
        main = specset.specs[specset.main]
        subprocesses = {k: v for k, v in specset.specs.items() if k != specset.main}
        workflow = BpmnWorkflow(main, subprocesses, script_engine=SCRIPT_ENGINE)
        case = cls(workflow, specset, case_code)
        if data:
            start = workflow.task_tree
            start.data.update(data)
        return case

    @classmethod
    def restore(cls, specset: SpecSet, snapshot: Snapshot, case_code: str) -> Case:
        """Rebuild a workflow from stored rows."""
        tasks: dict[str, dict[str, dict[str, Any]]] = {}
        payloads: dict[str, tuple[Any, Any]] = {}
        for row in snapshot.tasks:
            dct = dict(row.row)
            dct.update({"id": row.task_id, "data": {}, "delta": {}, "internal_data": {}, "typename": "Task"})
            tasks.setdefault(row.workflow_id, {})[row.task_id] = dct
            payloads[row.task_id] = (row.data, row.row.get("internal_data", {}))
        top_attrs = snapshot.workflow
        main = specset.specs[specset.main]
        subprocess_specs = {k: v for k, v in specset.specs.items() if k != specset.main}
        subprocesses = {}
        for sp_id, (spec_name, attrs) in snapshot.subprocesses.items():
            subprocesses[sp_id] = {
                **_attrs_for_restore(attrs),
                "spec": spec_name,
                "parent_task_id": sp_id,
                "tasks": tasks.get(sp_id, {}),
                "typename": "BpmnSubWorkflow",
            }
        dct = {
            **_attrs_for_restore(top_attrs),
            "spec": main,
            "subprocess_specs": subprocess_specs,
            "tasks": tasks.get(TOP, {}),
            "subprocesses": subprocesses,
            "bpmn_events": [],
            "typename": "BpmnWorkflow",
        }
        workflow = _REGISTRY.restore(dct)
        workflow.data = codec.from_jsonable(top_attrs.get("data", {}))
        for sp_id, (_name, attrs) in snapshot.subprocesses.items():
            sub = workflow.subprocesses.get(UUID(sp_id))
            if sub is not None:
                sub.data = codec.from_jsonable(attrs.get("data", {}))
        for wf in [workflow, *workflow.subprocesses.values()]:
            for task in wf.tasks.values():
                data, internal = payloads[str(task.id)]
                task.data = codec.from_jsonable(data)
                task.internal_data = _decode_internal(internal)
        return cls(workflow, specset, case_code)

    # ---- dumping

    def snapshot(self) -> Snapshot:
        """Current state as rows (data converted to storable JSON)."""
        wf = self.workflow
        rows: list[TaskRow] = []
        subprocesses: dict[str, tuple[str, dict[str, Any]]] = {}
        for workflow_id, workflow in self._workflows():
            if workflow is not wf:
                subprocesses[workflow_id] = (workflow.spec.name, _workflow_attrs(workflow))
            for task in workflow.tasks.values():
                rows.append(_task_row(task, workflow_id))
        return Snapshot(workflow=_workflow_attrs(wf), subprocesses=subprocesses, tasks=rows)

    def _workflows(self) -> list[tuple[str, Any]]:
        wf = self.workflow
        return [(TOP, wf), *((str(k), v) for k, v in wf.subprocesses.items())]

    # ---- queries

    @property
    def completed(self) -> bool:
        """No unfinished task anywhere (checked on the task dicts, not the capped iterator)."""
        return not any(
            task.has_state(TaskState.NOT_FINISHED_MASK)
            for _id, workflow in self._workflows()
            for task in workflow.tasks.values()
        )

    @property
    def data(self) -> dict[str, Any]:
        """Workflow-level data (the end state's data once completed)."""
        return dict(self.workflow.data)

    def definition_of(self, task: Any) -> int:
        """Definition that owns the spec a task belongs to (forms live in its bundle)."""
        return self.specset.owners.get(task.workflow.spec.name, self.specset.owners[self.specset.main])

    def human_tasks(self) -> list[HumanTaskView]:
        """Human tasks READY for a person, across the case and its subprocesses."""
        views = []
        for _id, workflow in self._workflows():
            for task in workflow.tasks.values():
                spec = task.task_spec
                if task.state != TaskState.READY or not isinstance(spec, (UserTask, ManualTask)):
                    continue
                props = dict((getattr(spec, "extensions", None) or {}).get("properties", {}) or {})
                instructions = (getattr(spec, "extensions", None) or {}).get("instructionsForEndUser")
                if instructions:
                    props.setdefault("instructionsForEndUser", instructions)
                views.append(
                    HumanTaskView(
                        task_id=str(task.id),
                        element=spec.bpmn_id,
                        title=spec.bpmn_name or spec.bpmn_id,
                        lane=spec.lane,
                        kind="user" if isinstance(spec, UserTask) else "manual",
                        definition_id=self.definition_of(task),
                        properties=props,
                        instance_label=_instance_label(task),
                        data=task.data,
                        documentation=getattr(spec, "documentation", None),
                    )
                )
        return views

    def find_task(self, task_id: str) -> Any:
        """The task with this id, or None."""
        try:
            key = UUID(task_id)
        except ValueError:
            return None
        for _id, workflow in self._workflows():
            task = workflow.tasks.get(key)
            if task is not None:
                return task
        return None

    def timers(self) -> list[TimerView]:
        """Waiting timer events with their due times."""
        views = []
        for task in list(self.workflow.event_manager.tasks.values()):
            for definition in _definitions(task.task_spec):
                if not isinstance(definition, TimerEventDefinition):
                    continue
                due = _due_time(task, definition)
                if due is not None:
                    views.append(TimerView(str(task.id), task.task_spec.bpmn_id, due))
        return views

    def message_waits(self) -> list[MessageWait]:
        """Waiting catch events for messages, with the expression that computes their key."""
        waits = []
        for task in list(self.workflow.event_manager.tasks.values()):
            spec = task.task_spec
            # An event-based gateway holds the definitions of the catch events after it
            # (in the order of its outgoing flows); their own properties carry the keys.
            sources = spec.outputs if isinstance(spec, EventBasedGateway) else [spec] * len(_definitions(spec))
            for definition, source in zip(_definitions(spec), sources, strict=False):
                if isinstance(definition, MessageEventDefinition):
                    props = (getattr(source, "extensions", None) or {}).get("properties", {}) or {}
                    waits.append(
                        MessageWait(
                            task_id=str(task.id),
                            element=getattr(source, "bpmn_id", None) or spec.bpmn_id,
                            message=definition.name,
                            correlation_expression=props.get("correlationKey"),
                            data=task.data,
                        )
                    )
        return waits

    # ---- actions

    def start(self, actor: str) -> StepReport:
        """Run the first engine steps of a new case."""
        return self.run_engine()

    def start_with_message(self, name: str, payload: Any) -> StepReport:
        """Start a new case through its message start event `name`, handing it the payload.

        The structural start tasks are run by hand so that a none start event of the
        same process cannot fire first; every other start event is cancelled.
        """
        wf = self.workflow
        report = StepReport()
        with _diagram_errors(None):
            wf.task_tree.run()
            for task in list(wf.tasks.values()):
                if task.state == TaskState.READY and isinstance(task.task_spec, StartEventSplit):
                    task.run()
            target = None
            for task in list(wf.tasks.values()):
                if not isinstance(task.task_spec, StartEvent) or task.has_state(TaskState.FINISHED_MASK):
                    continue
                catches = any(
                    isinstance(d, MessageEventDefinition) and d.name == name for d in _definitions(task.task_spec)
                )
                if catches and target is None and task.state == TaskState.WAITING:
                    target = task
                else:
                    task.cancel()
            if target is None:
                raise EngineStateError(f"il processo non ha un evento di inizio che riceve il messaggio «{name}»")
            definition = next(
                d for d in _definitions(target.task_spec) if isinstance(d, MessageEventDefinition) and d.name == name
            )
            target.task_spec.catch(target, BpmnEvent(definition, payload))
            target.task_spec._update(target)
        return self.run_engine(report)

    def complete_human_task(self, task_id: str, data: dict[str, Any]) -> tuple[Any, StepReport]:
        """Merge `data` into a READY human task, run it, then run the engine."""
        task = self.find_task(task_id)
        report = StepReport()
        before = _inherited(task)
        task.data.update(data)
        with _diagram_errors(task):
            task.run()
        report.events.append(self._event("task_completed", task, before))
        self.run_engine(report)
        return task, report

    def fire_timers(self) -> StepReport:
        """Let due timers fire and run whatever they release."""
        report = StepReport()
        with _diagram_errors(None):
            self.workflow.refresh_timers()
        return self.run_engine(report)

    def deliver_message(self, task_id: str, name: str, payload: Any) -> StepReport:
        """Hand a message to one waiting catch event and run the engine."""
        task = self.find_task(task_id)
        report = StepReport()
        definition = next(
            d for d in _definitions(task.task_spec) if isinstance(d, MessageEventDefinition) and d.name == name
        )
        event = BpmnEvent(definition, payload)
        with _diagram_errors(task):
            task.task_spec.catch(task, event)
            task.task_spec._update(task)
        return self.run_engine(report)

    def plan_migration(self, target: SpecSet) -> MigrationPlan:
        """What moving this case onto `target` would change (nothing is modified)."""
        main = target.specs[target.main]
        deps = {k: v for k, v in target.specs.items() if k != target.main}
        top_diff, sub_diffs = diff_workflow(_REGISTRY, self.workflow, main, deps)
        plan = MigrationPlan()
        for diff in [top_diff, *sub_diffs.values()]:
            if diff is None:
                continue
            plan.changed.extend(sorted({t.task_spec.name for t in diff.changed}))
            plan.removed.extend(sorted({t.task_spec.name for t in diff.removed if _blocks_migration(t)}))
        for sp_id, diff in sub_diffs.items():
            if diff is None:
                plan.removed.append(self.workflow.subprocesses[sp_id].spec.name)
        return plan

    def migrate(self, target: SpecSet) -> MigrationPlan:
        """Move the case onto `target` specs; waiting and ready tasks are re-predicted."""
        plan = self.plan_migration(target)
        if plan.removed:
            return plan
        main = target.specs[target.main]
        deps = {k: v for k, v in target.specs.items() if k != target.main}
        top_diff, sub_diffs = diff_workflow(_REGISTRY, self.workflow, main, deps)
        with _diagram_errors(None):
            migrate_workflow(top_diff, self.workflow, main)
            for sp_id, diff in sub_diffs.items():
                sub = self.workflow.subprocesses[sp_id]
                migrate_workflow(diff, sub, deps[sub.spec.name])
        self.workflow.subprocess_specs = deps
        self.specset = target
        plan.applied = True
        return plan

    def error_at(self, element: str | None, task_id: str | None, detail: str, kind: str = "data") -> ScriptError:
        """A task error located like a script error: on the live task `task_id` if there is one,
        else on the first spec of the case whose element id is `element`."""
        task = self.find_task(task_id) if task_id else None
        spec = task.task_spec if task is not None else None
        if spec is None and element:
            for process in self.specset.specs.values():
                found = next((t for t in process.task_specs.values() if getattr(t, "bpmn_id", None) == element), None)
                if found is not None:
                    spec = found
                    break
        return _located_error(spec, task, detail, kind)

    def evaluate(self, expression: str, data: dict[str, Any]) -> Any:
        """Evaluate an expression of the diagram in the sandbox."""
        return get_pool().evaluate(expression, data)

    def run_engine(self, report: StepReport | None = None) -> StepReport:
        """Run automatic tasks until only people, timers or messages can move the case.

        Prunes finished history as it goes, so loops of any length keep the tree far
        below SpiffWorkflow's iterator depth limit; refuses runaway loops.
        """
        report = report or StepReport()
        wf = self.workflow
        max_tasks = self.max_engine_tasks
        pending_throws: list[tuple[str, str | None]] = []
        befores: dict[UUID, Any] = {}

        def will_complete(task: Any) -> None:
            if getattr(task.task_spec, "bpmn_id", None):
                befores[task.id] = _inherited(task)

        deadline = time.monotonic() + self.max_step_seconds

        def did_complete(task: Any) -> None:
            report.engine_tasks += 1
            # Checked here, inside SpiffWorkflow's own loop: a runaway loop in a subprocess
            # (or an endless standard loop) never gives control back between passes.
            if report.engine_tasks > max_tasks:
                raise EngineStateError(
                    f"il diagramma ha eseguito più di {max_tasks} passi automatici senza fermarsi: "
                    "probabile ciclo infinito (controllare le condizioni di uscita dei cicli)",
                )
            if time.monotonic() > deadline:
                raise EngineStateError(
                    f"il passo automatico dura più di {self.max_step_seconds:g} secondi "
                    f"({report.engine_tasks} attività eseguite): probabile ciclo senza fine o diagramma troppo "
                    "lungo da eseguire in un solo passo (spezzarlo con un'attività utente o un timer)",
                )
            spec = task.task_spec
            if getattr(spec, "bpmn_id", None) and task.state == TaskState.COMPLETED:
                report.events.append(self._event(_kind(spec), task, befores.pop(task.id, None)))
                if isinstance(spec, ThrowingEvent):
                    for definition in _definitions(spec):
                        if isinstance(definition, MessageEventDefinition):
                            pending_throws.append((definition.name, self._throw_key(task)))

        passes = 0
        while True:
            with _diagram_errors(None):
                progressed = wf._do_engine_steps(will_complete, did_complete)
            # Prune every few passes: a pass advances each path by about one task, so the
            # live tree stays a few dozen tasks deep however long an automatic loop runs,
            # while a long run does not pay for walking the whole tree at every task.
            passes += 1
            if progressed and passes % PRUNE_EVERY_PASSES:
                continue
            report.archived.extend(self.prune())
            if progressed:
                continue
            with _diagram_errors(None):
                wf.refresh_timers()
            if not self._ready_automatic():
                break
        self._check_depth()
        for event in wf.get_events():
            if isinstance(event.event_definition, MessageEventDefinition):
                key = None
                for index, (name, throw_key) in enumerate(pending_throws):
                    if name == event.event_definition.name:
                        key = throw_key
                        del pending_throws[index]
                        break
                report.outbound.append(OutboundMessage(event.event_definition.name, event.payload, key))
        return report

    def prune(self) -> list[dict[str, Any]]:
        """Remove finished history from the live tree; returns what was removed."""
        removed = prune_workflow(self.workflow)
        archived = []
        for workflow, task in removed:
            workflow_id = TOP if workflow is self.workflow else str(workflow.parent_task_id)
            archived.append(
                {
                    "task_id": str(task.id),
                    "workflow_id": workflow_id,
                    "spec_name": task.task_spec.name,
                    "state": task.state,
                    "parent_id": true_parent(task),
                    "last_state_change": task.last_state_change,
                }
            )
        return archived

    # ---- helpers

    def _ready_automatic(self) -> bool:
        return any(
            task.state == TaskState.READY and not task.task_spec.manual
            for _id, workflow in self._workflows()
            for task in workflow.tasks.values()
        )

    def _check_depth(self) -> None:
        for _id, workflow in self._workflows():
            if tree_depth(workflow) > MAX_LIVE_DEPTH:
                raise EngineStateError("l'albero delle attività è troppo profondo: il caso non può essere salvato")
        if self._ready_automatic():
            raise EngineStateError("il motore si è fermato con attività automatiche ancora pronte")

    def _throw_key(self, task: Any) -> str | None:
        props = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {}) or {}
        expression = props.get("correlationKey")
        if not expression:
            return self.case_code
        with _diagram_errors(task):
            try:
                return str(get_pool().evaluate(expression, task.data))
            except SandboxFailure as exc:
                raise _script_error(task, exc) from exc

    def _event(self, kind: str, task: Any, before: Any) -> StepEvent:
        spec = task.task_spec
        return StepEvent(
            kind=kind,
            task_id=str(task.id),
            element=spec.bpmn_id,
            title=spec.bpmn_name or spec.bpmn_id,
            lane=getattr(spec, "lane", None),
            definition_id=self.definition_of(task),
            diff=_encoded_diff(before, task.data),
        )


# --------------------------------------------------------------------------- internals


def _attrs_for_restore(attrs: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {},
        "correlations": attrs.get("correlations", {}),
        "last_task": attrs.get("last_task"),
        "success": attrs.get("success", True),
        "completed": attrs.get("completed", False),
        "root": attrs["root"],
    }


def _workflow_attrs(workflow: Any) -> dict[str, Any]:
    return {
        "data": codec.to_jsonable(_REGISTRY.clean(workflow.data)),
        "correlations": codec.to_jsonable(workflow.correlations),
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "root": str(workflow.task_tree.id),
    }


def _task_row(task: Any, workflow_id: str) -> TaskRow:
    row = {
        "parent": str(task._parent) if task._parent is not None else None,
        "children": [str(child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": _encode_internal(task.internal_data),
    }
    return TaskRow(
        task_id=str(task.id),
        workflow_id=workflow_id,
        spec_name=task.task_spec.name,
        state=task.state,
        row=row,
        data=codec.to_jsonable(_REGISTRY.clean(task.data)),
    )


# Internal data holds engine objects (events seen by an event-based gateway, for
# instance) that only SpiffWorkflow's registry can serialize, mixed with user data
# (message payloads, multi-instance items). The registry marks its objects with a
# "typename" key, so a user dict with that key is escaped first: data sent by a
# partner can never be mistaken for an engine object.
_TYPENAME, _ESCAPED = "typename", "__inlav_typename__"


def _escape(value: Any) -> Any:
    if isinstance(value, dict):
        return {(_ESCAPED if k == _TYPENAME else k): _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def _unescape(value: Any) -> Any:
    if isinstance(value, dict):
        return {(_TYPENAME if k == _ESCAPED else k): _unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    return value


def _encode_internal(internal: dict[str, Any]) -> Any:
    return codec.to_jsonable(_REGISTRY.convert(_escape(internal)), "dati interni")


def _decode_internal(raw: Any) -> dict[str, Any]:
    restored: dict[str, Any] = _unescape(_REGISTRY.restore(codec.from_jsonable(raw)))
    return restored


def _definitions(spec: Any) -> list[Any]:
    definition = getattr(spec, "event_definition", None)
    if definition is None:
        return []
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def _due_time(task: Any, definition: Any) -> datetime | None:
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        value = value.get("next") if value.get("cycles", 0) != 0 else None
    if not isinstance(value, str):
        return None
    try:
        return TimerEventDefinition.get_datetime(value)  # type: ignore[no-any-return]
    except ValueError:
        return None


def _kind(spec: Any) -> str:
    if isinstance(spec, (UserTask, ManualTask)):
        return "task_completed"
    if isinstance(spec, ScriptTask):
        return "script"
    if isinstance(spec, BusinessRuleTaskMixin):
        return "decision"
    if isinstance(spec, (ExclusiveGateway, InclusiveGateway, ParallelGateway)):
        return "gateway"
    if isinstance(spec, SubWorkflowTask):
        return "subprocess_completed"
    if isinstance(spec, StartEvent):
        return "start_event"
    if isinstance(spec, CatchingEvent):
        kinds = {type(d) for d in _definitions(spec)}
        if any(issubclass(k, TimerEventDefinition) for k in kinds):
            return "timer_fired"
        if any(issubclass(k, MessageEventDefinition) for k in kinds):
            return "message_received"
        return "event"
    if isinstance(spec, EndEvent):
        return "end_event"
    if isinstance(spec, ThrowingEvent):
        return "event_thrown"
    return "step"


def _inherited(task: Any) -> Any:
    """The data a task was handed (its parent's), so its history diff also shows what a
    pre-script or a multi-instance item added when the task became ready.

    A finished parent's data does not change any more, so it is used as it is; only a
    multi-instance or loop parent keeps merging its children's data, so it is copied.
    """
    parent = task.parent
    if parent is None:
        return {}
    if isinstance(parent.task_spec, LoopTask):
        return codec.from_jsonable(codec.to_jsonable(_REGISTRY.clean(parent.data)))
    return parent.data


def _encoded_diff(before: Any, after: Any) -> dict[str, Any] | None:
    """The data diff, compared on live values and encoded only where something changed."""
    diff = data_diff(_REGISTRY.clean(before), _REGISTRY.clean(after))
    return None if diff is None else codec.to_jsonable(diff)


def _instance_label(task: Any) -> str | None:
    """For a multi-instance child, a readable label taken from its input item; for a task
    inside a subprocess run once per item (a multi-instance call activity), the label of
    the instance that runs the subprocess."""
    for _ in range(20):  # subprocess nesting is shallow; the bound only guards against cycles
        parent = task.parent
        if parent is not None and isinstance(parent.task_spec, MultiInstanceTask):
            item = parent.task_spec.input_item
            if item is not None and item.bpmn_id in task.data:
                return _label(task.data[item.bpmn_id])
            return _label(task.internal_data.get("key_or_index"))
        owner_id = getattr(task.workflow, "parent_task_id", None)
        if owner_id is None:
            return None
        task = task.workflow.top_workflow.get_task_from_id(owner_id)
        if task is None:
            return None
    return None


def _label(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        for key in ("titolo", "tipo", "nome", "label", "id"):
            if key in value:
                return str(value[key])
        return None
    return str(value)


class _diagram_errors:
    """Translate anything a diagram can make SpiffWorkflow raise into ScriptError."""

    def __init__(self, task: Any) -> None:
        self.task = task

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, (ScriptError, EngineStateError)):
            return
        diagram_faults = (SpiffWorkflowException, SandboxFailure, codec.UnstorableValue)
        # RecursionError: data nested so deep that copying or encoding it exhausts the stack.
        data_faults = (KeyError, TypeError, ValueError, AttributeError, NameError, IndexError, RecursionError)
        if isinstance(exc, diagram_faults + data_faults):
            raise _script_error(getattr(exc, "task", None) or self.task, exc) from exc


def _script_error(task: Any, exc: BaseException) -> ScriptError:
    cause = _root_cause(exc)
    spec = getattr(task, "task_spec", None) or getattr(exc, "task_spec", None)
    if isinstance(cause, SandboxFailure):
        return _located_error(spec, task, str(cause), cause.kind)
    if isinstance(cause, RecursionError):
        # Only data nested hundreds of levels deep gets here: far beyond `max_data_depth`.
        return _located_error(spec, task, "annidamento oltre il limite (dati troppo profondi da elaborare)", "data")
    if (
        isinstance(cause, SpiffWorkflowException)
        and isinstance(spec, (ExclusiveGateway, InclusiveGateway))
        and str(cause).startswith("No conditions satisfied")
    ):
        return _located_error(spec, task, NO_WAY_OUT, "model")
    return _located_error(spec, task, str(cause) or type(cause).__name__, "model")


NO_WAY_OUT = (
    "al gateway nessuna condizione in uscita è vera e non c'è un flusso predefinito: "
    "aggiungere un flusso predefinito o correggere le condizioni"
)


def _located_error(spec: Any, task: Any, detail: str, kind: str) -> ScriptError:
    """«Errore nell'elemento «Titolo» (id) in file.bpmn: causa», with element, file and task in the details."""
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    title = getattr(spec, "bpmn_name", None) or element
    file = getattr(getattr(spec, "_wf_spec", None), "file", None)
    if element:
        where = f"«{title}» ({element})" if title != element else f"«{element}»"
        if file:
            where += f" in {file}"
        message = f"Errore nell'elemento {where}: {detail}"
    else:
        message = f"Errore nei dati del caso: {detail}"
    return ScriptError(
        message,
        element=element,
        file=file,
        task_id=str(task.id) if task is not None and hasattr(task, "id") else None,
        kind=kind,
        detail=detail,
    )


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (SandboxFailure, RecursionError)):
            return current
        nxt = current.__cause__ or current.__context__
        if nxt is None:
            break
        current = nxt
    return exc
