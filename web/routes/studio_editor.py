"""What the diagram editor's properties panel asks the server: choices, timer readings, instruction previews.

All three answer JSON to the editor's script (the draft page's panel) and need the right to
edit the scope's processes, like the draft itself; the rules are in `engine.studio`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from engine.access import Action
from engine.db import read_transaction
from engine.studio import check_edit, editor_choices, preview_instructions, read_timer
from web.routes.studio import scope_of
from web.security import CsrfViewer, CurrentViewer, FormPairs, allow, platform_of

router = APIRouter(include_in_schema=False)
MAX_TEMPLATE_FIELD = 40_000


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


@router.get("/processi/{scope}/{key}/bozza/riferimenti", dependencies=allow(Action.PROCESS_EDIT))
def studio_editor_choices(request: Request, scope: str, key: str, viewer: CurrentViewer) -> Response:
    """Roles, forms, callable processes, decisions and messages the panel offers for the draft."""
    with read_transaction(platform_of(request).sessions) as session:
        choices = editor_choices(session, viewer.actor, scope_of(scope), key)
    return JSONResponse(choices.as_json())


@router.get("/processi/{scope}/{key}/bozza/lettura-timer", dependencies=allow(Action.PROCESS_EDIT))
def studio_editor_timer(request: Request, scope: str, key: str, viewer: CurrentViewer) -> Response:
    """The plain-Italian reading of a timer value (`tipo`: date, duration, cycle, due; `valore`)."""
    with read_transaction(platform_of(request).sessions) as session:
        check_edit(session, viewer.actor, scope_of(scope))
    params = request.query_params
    reading = read_timer(params.get("tipo", "")[:20], params.get("valore", ""))
    return JSONResponse({"ok": reading.ok, "text": reading.text})


@router.post("/processi/{scope}/{key}/bozza/anteprima-istruzioni", dependencies=allow(Action.PROCESS_EDIT))
def studio_editor_preview(request: Request, scope: str, key: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """A task's instructions (`testo`) rendered with example data of the draft's forms (`modulo` first)."""
    template = _field(pairs, "testo")[:MAX_TEMPLATE_FIELD]
    form = _field(pairs, "modulo").strip() or None
    with read_transaction(platform_of(request).sessions) as session:
        preview = preview_instructions(session, viewer.actor, scope_of(scope), key, template, form)
    return JSONResponse({"html": preview.html, "problem": preview.problem})
