"""SpiffWorkflow's branch prediction, walked with a stack instead of recursion.

When a workflow starts (and whenever a branch is reset), SpiffWorkflow predicts the
future tasks of every path: `TaskSpec._predict` runs the spec's prediction hook on a
task and then calls itself on each child. Along a run of tasks whose future is certain
(FUTURE is a definite state, so the look-ahead bound does not apply) it recurses once per
task: a straight chain of ~900 activities without a gateway exhausted Python's stack when
a case started, although the same chain deployed.

`install()` replaces that one method with `predict`, which visits the same tasks in the
same order, runs the same hook at the same moment and tests each child's condition when
the recursive version would (after the previous siblings' branches are done), with an
explicit stack. Nothing else of the library changes; `tests/engine/test_big_diagrams.py`
runs long chains of each kind end to end, and the whole suite runs on this walk.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.util.task import TaskState


def predict(
    self: Any, my_task: Any, seen: list[Any] | None = None, looked_ahead: int = 0, mask: int = TaskState.PREDICTED_MASK
) -> None:
    """`TaskSpec._predict`, iterative (same signature, same effects, same order)."""
    # Each entry: (task, the `seen` list its call receives, its looked_ahead, whether the
    # recursive version's condition still has to be tested before visiting it).
    stack: list[tuple[Any, list[Any], int, bool]] = [(my_task, [] if seen is None else seen, looked_ahead, False)]
    while stack:
        task, task_seen, ahead, check = stack.pop()
        if check and not task.has_state(mask):
            continue  # `child.has_state(mask)` is tested when the loop reaches the child
        spec = task.task_spec
        if task.has_state(mask):
            spec._predict_hook(task)
        if task.has_state(TaskState.PREDICTED_MASK):
            task_seen.append(spec)
        look_ahead = task.has_state(TaskState.DEFINITE_MASK) or ahead + 1 < spec.lookahead
        if not look_ahead:
            continue
        # `child not in seen` compares a Task with TaskSpecs, as the library does: always true.
        children = [child for child in task.children if child not in task_seen]
        for child in reversed(children):  # popped in document order, like the recursive loop
            stack.append((child, task_seen[:], ahead + 1, True))


def install() -> None:
    """Use `predict` for every task spec (idempotent)."""
    if TaskSpec._predict is not predict:
        TaskSpec._predict = predict
