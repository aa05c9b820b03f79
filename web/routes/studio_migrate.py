"""Moving the running cases of a process onto the version a new case gets, from the studio.

The dry run page lists the cases on other versions (can move, or why not); starting a job
hands the movable ones to the worker, which moves them in batches; the job page shows the
progress (htmx polls it) and each case's outcome, and moves cases back (undo). Everything
needs `process.deploy` in the scope; elsewhere the answer is the studio's (404 or 403).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine.access import Action
from engine.db import read_transaction, transaction
from engine.studio import dry_run, get_job, list_jobs, start_job, undo_case, undo_job
from web.params import RowId
from web.routes.studio import scope_of
from web.security import CsrfViewer, CurrentViewer, FormPairs, allow, platform_of
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)


@router.get("/processi/{scope}/{key}/migrazione", dependencies=allow(Action.PROCESS_DEPLOY))
def migration_page(request: Request, scope: str, key: str, viewer: CurrentViewer) -> Response:
    """The dry run: cases not on the version a new case gets, which can move and why the others cannot."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        plan = dry_run(session, platform.settings, viewer.actor, scope_of(scope), key)
        jobs = list_jobs(session, viewer.actor, scope_of(scope), key)
    return render(request, "studio/migrate.html", {"plan": plan, "jobs": jobs, "scope": scope})


@router.post("/processi/{scope}/{key}/migrazione", dependencies=allow(Action.PROCESS_DEPLOY))
def migration_start(request: Request, scope: str, key: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Start a job for the chosen cases (checked again now); then its page."""
    platform = platform_of(request)
    chosen = [value.strip() for name, value in pairs if name == "caso" and value.strip()]
    with transaction(platform.sessions) as session:
        job = start_job(session, platform.settings, viewer.actor, scope_of(scope), key, chosen)
    return RedirectResponse(f"/processi/{scope}/{key}/migrazione/{job.id}", status_code=303)


@router.get("/processi/{scope}/{key}/migrazione/{job_id}", dependencies=allow(Action.PROCESS_DEPLOY))
def migration_job(request: Request, scope: str, key: str, job_id: RowId, viewer: CurrentViewer) -> Response:
    """A job: progress and each case's outcome (htmx asks for the progress part only)."""
    with read_transaction(platform_of(request).sessions) as session:
        job = get_job(session, viewer.actor, scope_of(scope), key, job_id)
    return render(
        request,
        "studio/migrate_job.html",
        {"job": job, "scope": scope, "key": key},
        partial="studio/partials/migrate_progress.html",
    )


@router.post("/processi/{scope}/{key}/migrazione/{job_id}/annulla", dependencies=allow(Action.PROCESS_DEPLOY))
def migration_undo(
    request: Request, scope: str, key: str, job_id: RowId, viewer: CsrfViewer, pairs: FormPairs
) -> Response:
    """Move one case (field `caso`) back now, or queue the whole job to go back.

    From htmx the answer is the job's progress part again (a refusal is an alert saying why);
    from a plain form, the job page.
    """
    platform = platform_of(request)
    case_code = next((value.strip() for name, value in pairs if name == "caso"), "")
    with transaction(platform.sessions) as session:
        if case_code:
            undo_case(session, platform.settings, viewer.actor, scope_of(scope), key, job_id, case_code)
        else:
            undo_job(session, viewer.actor, scope_of(scope), key, job_id)
    if not is_htmx(request):
        return RedirectResponse(f"/processi/{scope}/{key}/migrazione/{job_id}", status_code=303)
    with read_transaction(platform.sessions) as session:
        job = get_job(session, viewer.actor, scope_of(scope), key, job_id)
    return render(request, "studio/partials/migrate_progress.html", {"job": job, "scope": scope, "key": key})
