"""Keep live task trees small: drop finished history that no future step can need.

SpiffWorkflow keeps every task it ever ran in the tree, so a case that loops grows
without bound, each engine pass walks further, and the task iterator silently stops
at depth 1000. After each engine pass we remove finished tasks that are provably
irrelevant and return them for the archive. A finished task stays when:

- it is the root or the workflow's ``last_task`` (subprocess completion reads it);
- it is the parent of an unfinished task (children inherit data from parents);
- its parent is unfinished (multi-instance and loop tasks count their children);
- it is the split, or a child of the split, that a pending boundary/start event join
  will look up by name (``find_ancestor``);
- it is an instance (or the parent of an instance) of a parallel/inclusive join
  that has an instance WAITING: the join counts which inputs have arrived;
- it is, for an unfinished task, the nearest ancestor running one of the inputs of a
  parallel/inclusive join: SpiffWorkflow decides whether a join inside a loop has all
  its inputs by walking up from future instances until it meets each input.

Everything else finished goes: leaves are deleted, and a finished task whose only
child is finished is spliced out (the child takes its place under the grandparent).
The child then remembers its true parent (`TRUE_PARENT` in its internal data), so the
archive and the path drawn for auditors still say which element led to which.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import EventSplit
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

FINISHED = TaskState.FINISHED_MASK
NOT_FINISHED = TaskState.NOT_FINISHED_MASK
GONE = TaskState.COMPLETED | TaskState.CANCELLED
TRUE_PARENT = "inlav_parent"
"""Internal-data key of a task whose parent was spliced out: the id of that parent."""


def true_parent(task: Any) -> str | None:
    """The id of the task that really preceded `task` (splicing may have moved it up)."""
    kept = task.internal_data.get(TRUE_PARENT)
    if isinstance(kept, str):
        return kept
    return str(task._parent) if task._parent is not None else None


def prune_workflow(top: Any) -> list[tuple[Any, Any]]:
    """Prune the top workflow and its subprocesses; returns (workflow, task) pairs removed."""
    removed: list[tuple[Any, Any]] = []
    _drop_finished_subprocesses(top, removed)
    for workflow in [top, *top.subprocesses.values()]:
        removed.extend((workflow, task) for task in _prune_tree(top, workflow))
    _drop_finished_subprocesses(top, removed)
    return removed


def _drop_finished_subprocesses(top: Any, removed: list[tuple[Any, Any]]) -> None:
    """A subprocess whose calling task has finished (or is gone) is history."""
    changed = True
    while changed:
        changed = False
        for task_id, sub in list(top.subprocesses.items()):
            owner = _find_task(top, task_id)
            if owner is None or owner.has_state(GONE):
                removed.extend((sub, task) for task in list(sub.tasks.values()))
                for task in list(sub.tasks.values()):
                    top.event_manager.remove_task(task)
                del top.subprocesses[task_id]
                changed = True


def _find_task(top: Any, task_id: UUID) -> Any:
    task = top.tasks.get(task_id)
    if task is not None:
        return task
    for sub in top.subprocesses.values():
        task = sub.tasks.get(task_id)
        if task is not None:
            return task
    return None


def _join_inputs(workflow: Any) -> frozenset[Any]:
    """Specs that feed a join with several inputs (cached per workflow spec)."""
    spec = workflow.spec
    cached = _JOIN_INPUTS.get(id(spec))
    if cached is None or cached[0] is not spec:
        inputs = frozenset(
            source
            for ts in spec.task_specs.values()
            if isinstance(ts, UnstructuredJoin) and len(ts.inputs) > 1
            for source in ts.inputs
        )
        cached = (spec, inputs)
        _JOIN_INPUTS[id(spec)] = cached
    return cached[1]


_JOIN_INPUTS: dict[int, tuple[Any, frozenset[Any]]] = {}


def _keep_join_input_ancestors(workflow: Any, task: Any, keep: set[UUID]) -> None:
    inputs = _join_inputs(workflow)
    if not inputs:
        return
    found: set[Any] = set()
    current = task.parent
    while current is not None and len(found) < len(inputs):
        spec = current.task_spec
        if spec in inputs and spec not in found:
            found.add(spec)
            keep.add(current.id)
        current = current.parent


def _protected(workflow: Any) -> set[UUID]:
    tasks = workflow.tasks
    keep: set[UUID] = {workflow.task_tree.id}
    if workflow.last_task is not None:
        keep.add(workflow.last_task.id)
    waiting_joins = set()
    for task in tasks.values():
        spec = task.task_spec
        if isinstance(spec, UnstructuredJoin) and task.state == TaskState.WAITING:
            waiting_joins.add(spec.name)
        if not task.has_state(NOT_FINISHED):
            continue
        keep.add(task.id)
        keep.update(task._children)
        if task._parent is not None:
            keep.add(task._parent)
        _keep_join_input_ancestors(workflow, task, keep)
        if isinstance(spec, Join) and spec.split_task:
            split = task.find_ancestor(spec.split_task)
            if split is not None:
                keep.add(split.id)
                keep.update(split._children)
        if isinstance(spec, EventSplit):
            keep.update(task._children)
        parent = task.parent
        if parent is not None and isinstance(parent.task_spec, EventSplit):
            keep.add(parent.id)
            keep.update(parent._children)
    if waiting_joins:
        for task in tasks.values():
            if task.task_spec.name in waiting_joins:
                keep.add(task.id)
                if task._parent is not None:
                    keep.add(task._parent)
    return keep


def _prune_tree(top: Any, workflow: Any) -> list[Any]:
    tasks = workflow.tasks
    keep = _protected(workflow)
    removed: list[Any] = []

    def remove(task: Any) -> None:
        parent = tasks.get(task._parent) if task._parent is not None else None
        if parent is not None and task.id in parent._children:
            parent._children.remove(task.id)
        top.event_manager.remove_task(task)
        del tasks[task.id]
        removed.append(task)

    # Finished leaves, bottom-up: deleting one may make its parent a leaf.
    stack = [t for t in tasks.values() if not t._children]
    while stack:
        task = stack.pop()
        if task.id not in tasks or task.id in keep or task._children or not task.has_state(FINISHED):
            continue
        parent = tasks.get(task._parent) if task._parent is not None else None
        remove(task)
        if parent is not None:
            stack.append(parent)

    # Finished chains: splice out a finished task whose single child is finished.
    for task in list(tasks.values()):
        if task.id not in tasks or task.id in keep or not task.has_state(FINISHED):
            continue
        if len(task._children) != 1 or task._parent is None:
            continue
        child = tasks.get(task._children[0])
        parent = tasks.get(task._parent)
        if child is None or parent is None or not child.has_state(FINISHED):
            continue
        if task.id in top.subprocesses:
            continue
        index = parent._children.index(task.id)
        parent._children[index] = child.id
        child.internal_data.setdefault(TRUE_PARENT, str(task.id))
        child._parent = parent.id
        task._children = []
        top.event_manager.remove_task(task)
        del tasks[task.id]
        removed.append(task)
    return removed


def tree_depth(workflow: Any) -> int:
    """Deepest path of the live tree, computed without SpiffWorkflow's capped iterator."""
    deepest = 0
    depth_of: dict[UUID, int] = {}
    for task in workflow.tasks.values():
        chain = []
        current = task
        while current is not None and current.id not in depth_of:
            chain.append(current)
            current = workflow.tasks.get(current._parent) if current._parent is not None else None
        base = depth_of[current.id] if current is not None else -1
        for node in reversed(chain):
            base += 1
            depth_of[node.id] = base
        deepest = max(deepest, depth_of[task.id])
    return deepest
