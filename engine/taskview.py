"""What a person sees on a task page besides the form: the task's data and instructions.

Read straight from stored rows (the task's data blob and its inbox row), without
loading the workflow.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
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


# How long a view waits for a free render child before showing the text as written.
RENDER_WAIT_SECONDS = 0.5


class _Hostile:
    """Templates whose render ran out of time or memory, remembered for a while (per process).

    Keyed by the hash of the template text, bounded in size and age: a hostile template
    viewed again is shown as written at once instead of holding a render child again
    until the deadline.
    """

    def __init__(self, size: int = 256, ttl: float = 600.0) -> None:
        self.size = size
        self.ttl = ttl
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(template: str) -> str:
        return hashlib.sha256(template.encode("utf-8", "surrogatepass")).hexdigest()

    def remember(self, template: str) -> None:
        key = self._key(template)
        with self._lock:
            self._seen[key] = time.monotonic() + self.ttl
            self._seen.move_to_end(key)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)

    def known(self, template: str) -> bool:
        key = self._key(template)
        with self._lock:
            expires = self._seen.get(key)
            if expires is None:
                return False
            if expires <= time.monotonic():
                del self._seen[key]
                return False
            return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


hostile_templates = _Hostile()

TOO_COSTLY = (
    "Le istruzioni richiedono troppo tempo o memoria per essere completate con i dati del caso: "
    "sono mostrate come scritte nel modello. Segnalarlo a chi cura il processo."
)
BUSY = (
    "Le istruzioni non sono state completate perché il sistema è occupato: ricaricare la pagina tra poco. "
    "Sono mostrate come scritte nel modello."
)


def fill_instructions(template: str | None, data: dict[str, Any]) -> tuple[str, str | None]:
    """(text, problem) of a task's instructions filled with its data, computed in the sandbox.

    On any failure (template error, time or memory exhausted, every render child busy)
    the text is the template as written and `problem` says why, so the page always
    answers, and answers soon: a template that already ran out of time or memory is not
    rendered again for a while (`hostile_templates`), and a view waits for a free render
    child at most `RENDER_WAIT_SECONDS`.
    """
    if not template:
        return "", None
    if hostile_templates.known(template):
        return template, TOO_COSTLY
    try:
        return get_render_pool().render(template, data, wait=RENDER_WAIT_SECONDS), None
    except SandboxFailure as exc:
        if exc.kind == "busy":
            return template, BUSY
        if exc.kind in {"timeout", "memory", "crash"}:
            hostile_templates.remember(template)
            return template, TOO_COSTLY
        return template, f"Istruzioni non completate ({exc}): sono mostrate come scritte nel modello."
