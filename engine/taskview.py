"""What a person sees on a task page besides the form: the task's data and instructions.

Read straight from stored rows (the task's data blob and its inbox row), without
loading the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import codec
from engine.config import Settings
from engine.limits import DataLimits, clip_depth
from engine.models import HumanTask, ProcessInstance, TaskData, TaskState
from engine.privacy import cipher_for
from engine.sandbox import SandboxFailure, get_render_pool


@dataclass
class TaskContext:
    """The data a task was handed and the texts its author wrote for the person doing it."""

    data: dict[str, Any]
    instructions: str | None
    documentation: str | None


def task_data(
    session: Session, settings: Settings, task: HumanTask, warnings: list[str] | None = None
) -> dict[str, Any]:
    """Data the task holds now (what its form is pre-filled with), identity fields opened.

    Cut at the depth limit (`engine.limits.clip_depth`), so data stored before the limits
    existed can still be shown and served; what was cut is told in `warnings`, if given.
    """
    text = session.scalar(
        select(TaskData.data_json)
        .join(TaskState, (TaskState.instance_id == TaskData.instance_id) & (TaskState.data_hash == TaskData.hash))
        .where(TaskState.instance_id == task.instance_id, TaskState.task_id == task.task_id)
    )
    if text is None:
        return {}
    instance = session.get(ProcessInstance, task.instance_id)
    if instance is None:
        return {}
    cipher = cipher_for(session, settings, instance)
    try:
        data = codec.from_jsonable(cipher.open_text(text))
    except RecursionError:
        if warnings is not None:
            warnings.append("I dati dell'attività sono annidati troppo in profondità per essere letti: sono omessi.")
        return {}
    if not isinstance(data, dict):
        return {}
    clipped, cut = clip_depth(data, DataLimits.of(settings))
    if warnings is not None:
        warnings.extend(cut)
    return clipped


def task_context(session: Session, settings: Settings, task: HumanTask) -> TaskContext:
    """Data, instructions and documentation of an open task."""
    return TaskContext(task_data(session, settings, task), task.instructions, task.documentation)


def fill_instructions(template: str | None, data: dict[str, Any]) -> tuple[str, str | None]:
    """(text, problem) of a task's instructions filled with its data, computed in the sandbox.

    On any failure (template error, time or memory exhausted) the text is the template as
    written and `problem` says why, so the page always answers.
    """
    if not template:
        return "", None
    try:
        return get_render_pool().render(template, data), None
    except SandboxFailure as exc:
        if exc.kind in {"timeout", "memory", "crash"}:
            problem = (
                "Le istruzioni richiedono troppo tempo o memoria per essere completate con i dati del caso: "
                "sono mostrate come scritte nel modello. Segnalarlo a chi cura il processo."
            )
        else:
            problem = f"Istruzioni non completate ({exc}): sono mostrate come scritte nel modello."
        return template, problem
