"""The task page: instructions, the form, save draft, complete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

import forms
from engine import (
    FormInvalid,
    ScriptError,
    complete_task,
    discard_draft,
    fill_instructions,
    form_for,
    get_task,
    load_draft,
    save_draft,
    task_context,
    ui_form_for,
)
from engine.access import Action
from engine.access.roles import Actor
from engine.config import Settings
from engine.db import read_transaction, transaction
from engine.models import HumanTask, ProcessDefinition, ProcessInstance
from engine.projections import alias_of
from engine.tasks import can_work_on, check_access
from web.errors import diagram_message
from web.security import CsrfViewer, CurrentViewer, FormPairs, Viewer, allow, platform_of
from web.templating import is_htmx, local_time, render

router = APIRouter(include_in_schema=False)

ACTIONS = {"completa", "bozza", "scarta"}


@dataclass
class TaskPage:
    """What the task page shows around the form."""

    task: HumanTask
    process_name: str
    version: int | None
    alias: str | None
    can_work: bool
    instructions: str
    instructions_problem: str | None
    documentation: str | None
    schema: dict[str, Any] | None
    ui: dict[str, Any]
    data: dict[str, Any]
    values: dict[str, Any]
    draft_at: datetime | None


def load_page(session: Session, settings: Settings, task_id: str, viewer: Viewer) -> TaskPage:
    """Everything the page needs about an open task the viewer may see."""
    task = get_task(session, task_id, viewer.actor, Action.CASE_READ)
    can_work = can_work_on(viewer.actor, task)
    ctx = task_context(session, settings, task)
    definition = session.get(ProcessDefinition, task.definition_id)
    draft = load_draft(session, settings, task_id, viewer.username) if can_work else None
    text, problem = fill_instructions(ctx.instructions, ctx.data)
    return TaskPage(
        task=task,
        process_name=definition.name if definition else task.process_key,
        version=definition.version if definition else None,
        alias=alias_of(ctx.data),
        can_work=can_work,
        instructions=forms.instructions_html(text),
        instructions_problem=problem,
        documentation=ctx.documentation,
        schema=form_for(session, task),
        ui=ui_form_for(session, task),
        data=ctx.data,
        values={**ctx.data, **draft[0]} if draft else ctx.data,
        draft_at=draft[1] if draft else None,
    )


def _render(
    request: Request,
    page: TaskPage,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    raw: dict[str, str] | None = None,
    status: int = 200,
    notice: str | None = None,
    problem: str | None = None,
) -> Response:
    model = forms.build_form(page.schema, page.ui, values, errors, raw, context=page.data)
    return render(
        request,
        "task.html",
        {"page": page, "form": model, "notice": notice, "problem": problem},
        partial="partials/task_form.html",
        status_code=status,
    )


@router.get("/attivita/{task_id}", dependencies=allow(Action.CASE_READ))
def task_page(request: Request, task_id: str, viewer: CurrentViewer) -> Response:
    """An open task with its form (pre-filled from my draft, else from the case data)."""
    notices = {
        "presa": "Attività presa in carico: ora è tua.",
        "rilasciata": "Attività rilasciata.",
        "completata": "Attività completata. Questa è la prossima attività del caso.",
    }
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        page = load_page(session, platform.settings, task_id, viewer)
        notice = notices.get(request.query_params.get("esito", ""))
        if page.draft_at and not notice:
            notice = f"Hai ripreso la bozza salvata il {local_time(page.draft_at)}."
        return _render(request, page, page.values, notice=notice)


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


@router.post("/attivita/{task_id}", dependencies=allow(Action.TASK_WORK))
def submit(request: Request, task_id: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Save a draft, discard it, or complete the task (validated here and again by the engine)."""
    action = _field(pairs, "azione") or "completa"
    if action not in ACTIONS:
        action = "completa"
    platform = platform_of(request)
    if action == "scarta":
        with transaction(platform.sessions) as session:
            get_task(session, task_id, viewer.actor)
            discard_draft(session, task_id, viewer.username)
        target = f"/attivita/{task_id}"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    with transaction(platform.sessions) as session:
        page = load_page(session, platform.settings, task_id, viewer)
        if not page.can_work:
            check_access(viewer.actor, page.task)  # raises the precise Forbidden
        parsed = forms.parse_form(page.schema, pairs, page.ui, page.data)
        if action == "bozza":
            save_draft(session, platform.settings, task_id, viewer.actor, parsed.data)
            page.draft_at = datetime.now().astimezone()
            note = "Bozza salvata: puoi riprenderla quando vuoi."
            if parsed.errors:
                note += " I campi segnalati non sono stati salvati perché non validi."
            values = {**page.data, **parsed.data}
            return _render(
                request, page, values, parsed.errors, parsed.raw, 200 if not parsed.errors else 422, notice=note
            )
        errors = _validate(page, parsed)
        if errors:
            return _render(request, page, {**page.data, **parsed.data}, errors, parsed.raw, 422)
    try:
        with transaction(platform.sessions) as session:
            outcome = complete_task(session, platform.settings, task_id, parsed.data, viewer.actor)
            if outcome.error is not None:
                # The diagram failed: nothing moved. Keep what was typed as a draft.
                save_draft(
                    session, platform.settings, task_id, viewer.actor, parsed.data, note=outcome.error.message[:500]
                )
                problem = diagram_message(outcome.error)
            else:
                problem = None
                next_task = _next_task_for(session, outcome.instance, viewer.actor)
                case_code = outcome.instance.case_code
    except FormInvalid as exc:
        with read_transaction(platform.sessions) as session:
            page = load_page(session, platform.settings, task_id, viewer)
            return _render(request, page, {**page.values, **parsed.data}, exc.errors, parsed.raw, 422)
    except ScriptError as exc:
        problem = diagram_message(exc)
    if problem is not None:
        with read_transaction(platform.sessions) as session:
            page = load_page(session, platform.settings, task_id, viewer)
            return _render(request, page, {**page.values, **parsed.data}, None, parsed.raw, 422, problem=problem)
    target = f"/attivita/{next_task}?esito=completata" if next_task else f"/casi/{case_code}?esito=completata"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _validate(page: TaskPage, parsed: forms.Parsed) -> dict[str, list[str]]:
    """Errors of the submission, as the engine will judge it (plus options from task data)."""
    if page.schema is None:
        return dict(parsed.errors)
    schema = forms.resolve_data_options(page.schema, page.data)
    properties = schema.get("properties") or {}
    merged = {k: page.data[k] for k in properties if k in page.data}
    merged.update(parsed.data)
    errors = forms.validate_data(schema, merged)
    errors.update(parsed.errors)
    return errors


def _next_task_for(session: Session, instance: ProcessInstance, actor: Actor) -> str | None:
    """The next open task of the same case the actor may do, to keep her on the case."""
    rows = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.created_at, HumanTask.task_id)
    )
    for row in rows:
        if not can_work_on(actor, row):
            continue
        return row.task_id
    return None
