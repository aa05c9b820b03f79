"""What a person sees on a task page besides the form: the task's data and instructions.

Read straight from stored rows (the task's data blob, the definition's serialized spec),
without loading the workflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import codec
from engine.models import HumanTask, ProcessDefinition, TaskData, TaskState


@dataclass
class TaskContext:
    """The data a task was handed and the texts its author wrote for the person doing it."""

    data: dict[str, Any]
    instructions: str | None
    documentation: str | None


def task_data(session: Session, task: HumanTask) -> dict[str, Any]:
    """Data the task holds now (what its form is pre-filled with)."""
    text = session.scalar(
        select(TaskData.data_json)
        .join(TaskState, (TaskState.instance_id == TaskData.instance_id) & (TaskState.data_hash == TaskData.hash))
        .where(TaskState.instance_id == task.instance_id, TaskState.task_id == task.task_id)
    )
    if text is None:
        return {}
    data = codec.from_jsonable_text(text)
    return data if isinstance(data, dict) else {}


def task_context(session: Session, task: HumanTask) -> TaskContext:
    """Data, instructions and documentation of an open task."""
    instructions, documentation = _texts(session, task.definition_id, task.task_name)
    return TaskContext(task_data(session, task), instructions, documentation)


def _texts(session: Session, definition_id: int, element: str) -> tuple[str | None, str | None]:
    cached = _TEXTS.get((definition_id, element))
    if cached is not None:
        return cached
    spec_json = session.scalar(select(ProcessDefinition.spec_json).where(ProcessDefinition.id == definition_id))
    found = _find_texts(spec_json or "{}", element)
    if len(_TEXTS) > 2000:
        _TEXTS.clear()
    _TEXTS[(definition_id, element)] = found
    return found


_TEXTS: dict[tuple[int, str], tuple[str | None, str | None]] = {}


@lru_cache(maxsize=64)
def _parsed(spec_json: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(spec_json)
    except ValueError:
        return []
    specs = []
    if isinstance(value, dict):
        if isinstance(value.get("spec"), dict):
            specs.append(value["spec"])
        embedded = value.get("embedded")
        if isinstance(embedded, dict):
            specs.extend(v for v in embedded.values() if isinstance(v, dict))
    return specs


def _find_texts(spec_json: str, element: str) -> tuple[str | None, str | None]:
    for spec in _parsed(spec_json):
        for task_spec in (spec.get("task_specs") or {}).values():
            if not isinstance(task_spec, dict) or task_spec.get("bpmn_id") != element:
                continue
            extensions = task_spec.get("extensions") or {}
            instructions = extensions.get("instructionsForEndUser") if isinstance(extensions, dict) else None
            documentation = task_spec.get("documentation")
            return (instructions if isinstance(instructions, str) else None,
                    documentation if isinstance(documentation, str) else None)
    return None, None
