"""Instructions for the person doing a task, written by diagram authors, filled with task data.

The text is a Jinja template (SpiffArena's `instructionsForEndUser` convention) run in
Jinja's sandbox, then Markdown rendered with raw HTML disabled: task data and authors
can format text, never inject markup or scripts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markdown_it import MarkdownIt

MAX_TEMPLATE = 20_000
MAX_OUTPUT = 50_000

_ENV = ImmutableSandboxedEnvironment(autoescape=False)
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_instructions(template: str | None, data: Mapping[str, Any]) -> tuple[str, str | None]:
    """(safe HTML, problem) for a task's instructions; on a template error the text is shown as is."""
    if not template:
        return "", None
    problem = None
    text = template[:MAX_TEMPLATE]
    try:
        text = _ENV.from_string(text).render(**{k: v for k, v in data.items() if isinstance(k, str)})
    except TemplateError as exc:
        problem = f"istruzioni non compilate: {exc.message or exc.__class__.__name__}"
        text = template[:MAX_TEMPLATE]
    except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        problem = f"istruzioni non compilate: {exc}"
        text = template[:MAX_TEMPLATE]
    return _MARKDOWN.render(text[:MAX_OUTPUT]), problem
