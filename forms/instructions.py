"""Instructions for the person doing a task: Markdown to safe HTML.

The text comes from a Jinja template written in the diagram and filled with task data
in the engine's sandbox (`engine.sandbox.templates`, never in the web process). Here it
only becomes HTML, with raw HTML disabled: task data and authors can format text,
never inject markup or scripts.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

MAX_OUTPUT = 50_000

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def instructions_html(text: str | None) -> str:
    """Safe HTML for an instruction text (already filled in), cut to MAX_OUTPUT characters."""
    if not text:
        return ""
    html: str = _MARKDOWN.render(text[:MAX_OUTPUT])
    return html
