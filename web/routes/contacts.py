"""Nuovo contatto: open a case from a phone in a few taps and land on its first form."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Startable, claim_task, start_case, startable_processes
from engine.access import Action, ambiti_for
from engine.access.roles import Actor
from engine.db import read_transaction, transaction
from engine.models import Ambito, HumanTask
from engine.tasks import can_work_on
from web.security import CsrfViewer, CurrentViewer, FormPairs, Viewer, allow, platform_of, web_settings
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)


def _choices(session: Session, viewer: Viewer) -> tuple[list[tuple[str, str]], dict[str, list[Startable]]]:
    query = select(Ambito.code, Ambito.name).order_by(Ambito.name)
    allowed = ambiti_for(viewer.actor, Action.CASE_START)
    if allowed is not None:
        query = query.where(Ambito.code.in_(sorted(allowed)))
    ambiti = [(r.code, r.name) for r in session.execute(query)]
    processes = {code: startable_processes(session, code) for code, _ in ambiti}
    return ambiti, processes


def default_process(request: Request, processes: list[Startable]) -> str | None:
    """The process a new contact starts: the configured one if available, else the only one."""
    wanted = web_settings(request).contact_process
    keys = [p.process_key for p in processes]
    if wanted in keys:
        return wanted
    return keys[0] if len(keys) == 1 else None


@router.get("/contatti/nuovo", dependencies=allow(Action.CASE_START))
def new_contact(request: Request, viewer: CurrentViewer) -> Response:
    """The start page of a new contact."""
    with read_transaction(platform_of(request).sessions) as session:
        ambiti, processes = _choices(session, viewer)
    ambito = ambiti[0][0] if len(ambiti) == 1 else request.query_params.get("ambito", "")
    return _page(request, ambiti, processes, ambito, None)


def _page(
    request: Request,
    ambiti: list[tuple[str, str]],
    processes: dict[str, list[Startable]],
    ambito: str,
    error: str | None,
    process: str | None = None,
    status: int = 200,
) -> Response:
    available = processes.get(ambito) or sorted(
        {p.process_key: p for ps in processes.values() for p in ps}.values(), key=lambda p: p.name.lower()
    )
    chosen = process or default_process(request, available)
    wanted = web_settings(request).contact_process
    if chosen == wanted:
        # The regional contact path is deployed: a new contact is that, nothing to choose.
        available = [p for p in available if p.process_key == wanted]
    return render(
        request,
        "contact.html",
        {"ambiti": ambiti, "ambito": ambito, "processes": available, "process": chosen, "error": error},
        partial="partials/contact_form.html",
        status_code=status,
    )


@router.post("/contatti", dependencies=allow(Action.CASE_START))
def start_contact(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Open the case and go straight to its first task (taken in charge by me)."""
    fields = dict(pairs)
    ambito = fields.get("ambito", "").strip()
    process = fields.get("processo", "").strip()
    platform = platform_of(request)
    if not ambito or not process:
        with read_transaction(platform.sessions) as session:
            ambiti, processes = _choices(session, viewer)
        missing = "Scegliere l'Ambito." if not ambito else "Scegliere il tipo di percorso."
        return _page(request, ambiti, processes, ambito, missing, process or None, 422)
    with transaction(platform.sessions) as session:
        outcome = start_case(session, platform.settings, viewer.actor, process, ambito)
        if outcome.error is not None:
            raise outcome.error
        first = _first_task(session, outcome.instance.id, viewer.actor)
        case_code = outcome.instance.case_code
    target = f"/attivita/{first}" if first else f"/casi/{case_code}?esito=avviato"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _first_task(session: Session, instance_id: int, actor: Actor) -> str | None:
    rows = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.created_at, HumanTask.task_id)
    )
    for row in rows:
        if not can_work_on(actor, row):
            continue
        claim_task(session, row.task_id, actor)
        return row.task_id
    return None
