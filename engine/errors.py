"""Exceptions raised by the engine; the web layer maps each to a status code."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: a clear message (Italian, shown to users) plus optional details."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class NotFound(EngineError):
    """The requested definition, instance, task or message does not exist."""


class Conflict(EngineError):
    """The state changed under our feet: someone else won, retry with fresh data."""


class CaseBusy(Conflict):
    """Another holder has the case's lease."""


class TaskNotReady(Conflict):
    """The task is no longer waiting for a human (completed, cancelled or moved on)."""


class NotStartable(EngineError):
    """The process cannot be started by hand (it has no none start event); the message says how it starts."""


class Forbidden(EngineError):
    """The actor may not do this (wrong role, Ambito or assignee)."""


class LoginLocked(EngineError):
    """Too many failed logins from this address or for this name: wait (`retry_after` seconds)."""


class FormInvalid(EngineError):
    """Submitted data does not satisfy the task's JSON Schema."""

    def __init__(self, message: str, errors: dict[str, list[str]]) -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class PasswordRejected(FormInvalid):
    """A new password does not satisfy the password policy (errors under `password`)."""


def problems_heading(count: int) -> str:
    """«Il pacchetto non è valido (1 problema)» / «(N problemi)»: the first line of a bundle's report."""
    return f"Il pacchetto non è valido ({count} {'problema' if count == 1 else 'problemi'})"


class DefinitionError(EngineError):
    """A bundle could not be deployed: every problem names file, element and cause."""

    def __init__(self, problems: list[Problem]) -> None:
        lines = "\n".join(f"- {p}" for p in problems)
        super().__init__(f"{problems_heading(len(problems))}:\n{lines}")
        self.problems = problems


class Problem:
    """One lint/parse finding, located by file and element id."""

    __slots__ = ("element", "file", "message")

    def __init__(self, file: str | None, element: str | None, message: str) -> None:
        self.file = file
        self.element = element
        self.message = message

    def __str__(self) -> str:
        where = self.file or "(pacchetto)"
        if self.element:
            where += f" › {self.element}"
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"Problem({self.file!r}, {self.element!r}, {self.message!r})"

    def as_dict(self) -> dict[str, str | None]:
        return {"file": self.file, "element": self.element, "message": self.message}


class ScriptError(EngineError):
    """A diagram expression or script failed (restricted, timed out, out of memory, bug)."""


class EngineStateError(EngineError):
    """The workflow reached a state the engine refuses to store (e.g. runaway loop)."""
