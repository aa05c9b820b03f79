"""Jinja2 environment and the one helper routes render with (full page or htmx partial)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from engine import role_label
from engine.clock import utcnow
from web.i18n import DEFAULT, LANGUAGES, translations

TEMPLATES_DIR = Path(__file__).parent / "templates"
LOCAL = ZoneInfo("Europe/Rome")


def local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC time shown in Italian local time."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL).strftime(fmt)


def local_date(value: datetime | date | None) -> str:
    """A date as dd/mm/yyyy."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return local_time(value, "%d/%m/%Y")
    return value.strftime("%d/%m/%Y")


def iso(value: datetime | None) -> str:
    """Machine-readable time for <time datetime>."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def is_overdue(value: datetime | None) -> bool:
    """Whether a due time has passed."""
    if value is None:
        return False
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value < utcnow()


def shown(value: Any) -> str:
    """A logged value as a person reads it: text as is, lists joined, yes/no, a dash for nothing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "sì" if value else "no"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def icon(name: str, classes: str = "icon icon-sm") -> Markup:
    """An icon of the Bootstrap Italia sprite, hidden from screen readers."""
    safe = "".join(c for c in name if c.isalnum() or c == "-")
    return Markup(  # noqa: S704 - the name is reduced to [A-Za-z0-9-] and the classes escaped
        f'<svg class="{Markup.escape(classes)}" aria-hidden="true" focusable="false">'
        f'<use href="/static/vendor/bootstrap-italia/svg/sprites.svg#it-{safe}"></use></svg>'
    )


def make_templates() -> Jinja2Templates:
    """The template environment, with filters the templates share."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.autoescape = True
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.filters["local_time"] = local_time
    env.filters["local_date"] = local_date
    env.filters["iso"] = iso
    env.filters["role_label"] = role_label
    env.filters["shown"] = shown
    env.globals["is_overdue"] = is_overdue
    env.globals["icon"] = icon
    env.globals["LANGUAGES"] = LANGUAGES
    return templates


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (and wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render(
    request: Request,
    page: str,
    context: dict[str, Any],
    partial: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `page`, or its `partial` for htmx requests: the same markup either way."""
    templates: Jinja2Templates = request.app.state.templates
    lang = getattr(request.state, "lang", DEFAULT)
    tr = translations(lang)
    viewer = getattr(request.state, "viewer", None)
    full = {
        "request": request,
        "viewer": viewer,
        "lang": lang,
        "_": tr.gettext,
        "ngettext": tr.ngettext,
        "csrf_token": viewer.csrf if viewer is not None else getattr(request.state, "pre_csrf", ""),
        **context,
    }
    name = partial if partial is not None and is_htmx(request) else page
    response = templates.TemplateResponse(request, name, full, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request"
    return response
