"""Settings: each PUA's annual targets by year, and the global settings."""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine import Conflict, FormInvalid
from engine.access import Action
from engine.admin import (
    SETTINGS,
    change_settings,
    set_targets_for_year,
    setting_values,
    targets_for_year,
)
from engine.db import read_transaction, transaction
from web.routes.admin.common import form_fields
from web.security import CsrfViewer, CurrentViewer, FormPairs, Viewer, allow, platform_of
from web.templating import render

router = APIRouter(include_in_schema=False)


TARGET_FIELD = re.compile(r"t\.([A-Z0-9_]{1,32})\.(intercepted_min|intercepted_max|taken_min|taken_max)")
"""A target cell of the form: `t.<AMBITO>.<field>`."""


def _year(value: str | None) -> int:
    this = date.today().year
    return int(value) if value and value.isdigit() and 2020 <= int(value) <= 2100 else this


def _settings_page(
    request: Request,
    viewer: Viewer,
    year: int,
    status: int = 200,
    partial: str | None = None,
    **extra: object,
) -> Response:
    with read_transaction(platform_of(request).sessions) as session:
        rows = targets_for_year(session, year)
        stored = {
            code: {
                "intercepted_min": t.intercepted.low,
                "intercepted_max": t.intercepted.high,
                "taken_min": t.taken_in_charge.low,
                "taken_max": t.taken_in_charge.high,
            }
            for code, _name, t in rows
            if t is not None
        }
        context = {
            "year": year,
            "years": list(range(date.today().year - 2, date.today().year + 3)),
            "rows": rows,
            "targets": stored,
            "target_errors": {},
            "target_error": None,
            "target_notice": None,
            "settings": SETTINGS,
            "values": setting_values(session),
            "errors": {},
            "error": None,
            "notice": None,
            **extra,
        }
        return render(
            request,
            "admin/settings.html",
            context,
            partial=partial or "admin/partials/settings_body.html",
            status_code=status,
        )


@router.get("/admin/impostazioni", dependencies=allow(Action.ADMIN_SETTINGS))
def settings(request: Request, viewer: CurrentViewer) -> Response:
    """Annual targets of the PUAs (by year) and global settings."""
    return _settings_page(request, viewer, _year(request.query_params.get("anno")))


@router.post("/admin/impostazioni/obiettivi", dependencies=allow(Action.ADMIN_SETTINGS))
def save_targets(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Save the targets of every Ambito for one year (rows left empty stay unset)."""
    fields = form_fields(pairs)
    year = _year(fields.get("anno"))
    typed: dict[str, dict[str, str]] = {}
    for key, value in pairs:
        match = TARGET_FIELD.fullmatch(key)
        if match:
            typed.setdefault(match.group(1), {})[match.group(2)] = value.strip()
    try:
        with transaction(platform_of(request).sessions) as session:
            changed = set_targets_for_year(session, viewer.actor, year, typed)
    except FormInvalid as exc:
        return _settings_page(
            request,
            viewer,
            year,
            422,
            "admin/partials/targets_form.html",
            targets=typed,
            target_errors=exc.errors,
            target_error=exc.message,
        )
    notice = f"Obiettivi {year} salvati ({len(changed)} Ambiti modificati)."
    return _settings_page(request, viewer, year, partial="admin/partials/targets_form.html", target_notice=notice)


@router.post("/admin/impostazioni", dependencies=allow(Action.ADMIN_SETTINGS))
def save_settings(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Save the global settings."""
    fields = form_fields(pairs)
    year = _year(fields.get("anno"))
    values = {s.key: fields.get(s.key, "") for s in SETTINGS}
    try:
        with transaction(platform_of(request).sessions) as session:
            changed = change_settings(session, viewer.actor, values)
    except (FormInvalid, Conflict) as exc:
        errors = exc.errors if isinstance(exc, FormInvalid) else {}
        return _settings_page(
            request,
            viewer,
            year,
            422,
            "admin/partials/settings_form.html",
            values=values,
            errors=errors,
            error=exc.message,
        )
    notice = "Impostazioni salvate." if changed else "Nessuna modifica."
    return _settings_page(request, viewer, year, partial="admin/partials/settings_form.html", notice=notice)
