"""Retention of closed cases: the policies, the dry run, the application and the last runs.

GET shows everything to who manages retention and, read-only, to who explores cases (the
auditor sees the dry run of every Ambito, a PUA's coordinators that of their own). Setting a
policy and applying retention need `retention.manage`; applying carries the dry run's time and
token, so only the cases the person saw are treated (a changed selection is refused).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine.access import Action
from engine.audit import retention_overview, run_retention, set_policy
from engine.db import read_transaction, transaction
from engine.errors import Conflict, FormInvalid
from web.security import CsrfViewer, CurrentViewer, FormPairs, Viewer, allow, platform_of
from web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/audit/conservazione"
EMPTY_FORM = {"processo": "", "ambito": "", "giorni": "", "azione": "anonymise", "automatica": "", "nota": ""}
NOT_CONFIRMED = "Spuntare la conferma: i casi elencati nella prova saranno trattati e non si potrà tornare indietro."


def _fields(pairs: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in pairs:
        found.setdefault(key, value)
    return found


def _page(
    request: Request,
    viewer: Viewer,
    status: int = 200,
    form: dict[str, str] | None = None,
    error: str | None = None,
    errors: dict[str, list[str]] | None = None,
    notice: str | None = None,
) -> Response:
    with read_transaction(platform_of(request).sessions) as session:
        overview = retention_overview(session, viewer.actor)
        return render(
            request,
            "audit/retention.html",
            {
                "o": overview,
                "form": form or EMPTY_FORM,
                "error": error,
                "errors": errors or {},
                "notice": notice,
            },
            status_code=status,
        )


@router.get(PAGE, dependencies=allow(Action.AUDIT_EXPLORE))
def retention_page(request: Request, viewer: CurrentViewer) -> Response:
    """Policies in force and their changes, the dry run (nothing changes), the last runs."""
    run = request.query_params.get("esecuzione", "")
    notice = f"Conservazione applicata: esecuzione {run} nell'elenco qui sotto." if run.isdigit() else None
    return _page(request, viewer, notice=notice)


@router.post(PAGE, dependencies=allow(Action.RETENTION_MANAGE))
def retention_set(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Set (or change) the retention of a process, regionally or for one Ambito."""
    form = {**EMPTY_FORM, **{k: v for k, v in _fields(pairs).items() if k in EMPTY_FORM}}
    try:
        with transaction(platform_of(request).sessions) as session:
            policy = set_policy(
                session,
                viewer.actor,
                form["processo"],
                form["giorni"],
                form["azione"],
                form["ambito"] or None,
                form["automatica"] == "1",
                form["nota"],
            )
    except FormInvalid as exc:
        return _page(request, viewer, 422, form, exc.message, exc.errors)
    notice = f"Conservazione di «{policy.process_key}» ({policy.scope_label}) salvata: versione {policy.version}."
    return _page(request, viewer, notice=notice)


@router.post(f"{PAGE}/applica", dependencies=allow(Action.RETENTION_MANAGE))
def retention_apply(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Apply retention to exactly the cases of the confirmed dry run; then the page with the run's counts."""
    fields = _fields(pairs)
    if fields.get("confermo") != "1":
        return _page(request, viewer, 422, error=NOT_CONFIRMED)
    platform = platform_of(request)
    try:
        run = run_retention(
            platform.sessions,
            viewer.actor,
            "web",
            fields.get("anteprima", "")[:64],
            fields.get("conferma", "")[:64],
            batch=platform.settings.retention_batch_size,
        )
    except Conflict as exc:
        return _page(request, viewer, 409, error=exc.message)
    return RedirectResponse(f"{PAGE}?esecuzione={run.id}", status_code=303)
