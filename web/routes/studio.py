"""The coordinators' studio: processes per Ambito, their versions, each version's diagram, the editor's drafts.

A scope in the path is an Ambito code or `regione` (the regional base model, for people with
a regional grant). An Ambito the person may not read answers 404, like an unknown one.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine.access import Action
from engine.db import read_transaction, transaction
from engine.studio import (
    catalogue,
    check_draft,
    default_scope,
    discard_draft,
    may_migrate,
    open_draft,
    save_diagram,
    version_diagram,
)
from web.routes.studio_publish import PUBLISHED
from web.security import CsrfViewer, CurrentViewer, FormPairs, allow, platform_of
from web.templating import render

router = APIRouter(include_in_schema=False)
REGION = "regione"
CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")
# The properties panel (bpmn-js-properties-panel) builds its two containers from HTML carrying
# these fixed style attributes; the editor page allows exactly these two by hash, nothing else inline.
PANEL_STYLES = ("height: 100%", "flex: none; height: auto")


def editor_csp() -> str:
    """The app's Content-Security-Policy plus the properties panel's two fixed style attributes."""
    from web.app import CSP  # imported late: web.app imports the routes

    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'" for style in PANEL_STYLES
    )
    return CSP.replace("style-src 'self'", f"style-src 'self' 'unsafe-hashes' {hashes}", 1)


def scope_of(segment: str) -> str | None:
    """The Ambito a path segment names (None: the region)."""
    return None if segment == REGION else segment


def segment_of(ambito: str | None) -> str:
    """The path segment of a scope."""
    return REGION if ambito is None else ambito


@router.get("/processi", dependencies=allow(Action.PROCESS_READ))
def studio_home(request: Request, viewer: CurrentViewer) -> Response:
    """Open the studio where the person works (or where the switcher asks)."""
    asked = request.query_params.get("ambito", "").strip()
    if asked == REGION or CODE.match(asked):
        return RedirectResponse(f"/processi/{asked}", status_code=303)
    with read_transaction(platform_of(request).sessions) as session:
        target = default_scope(session, viewer.actor)
    return RedirectResponse(f"/processi/{segment_of(target)}", status_code=303)


@router.get("/processi/{scope}", dependencies=allow(Action.PROCESS_READ))
def studio_scope(request: Request, scope: str, viewer: CurrentViewer) -> Response:
    """The processes of an Ambito (regional ones and its variants) or of the regional base."""
    with read_transaction(platform_of(request).sessions) as session:
        view = catalogue(session, viewer.actor, scope_of(scope))
    return render(request, "studio/home.html", {"view": view, "scope": scope})


@router.get("/processi/{scope}/{key}", dependencies=allow(Action.PROCESS_READ))
def studio_process(request: Request, scope: str, key: str, viewer: CurrentViewer) -> Response:
    """One process: its versions, the cases on each, the version a new case gets."""
    with read_transaction(platform_of(request).sessions) as session:
        view = catalogue(session, viewer.actor, scope_of(scope), key)
    notice = PUBLISHED.get(request.query_params.get("esito", ""))
    context = {"view": view, "entry": view.processes[0], "scope": scope, "notice": notice}
    return render(request, "studio/process.html", {**context, "can_migrate": may_migrate(viewer.actor, view.ambito)})


@router.get("/processi/{scope}/{key}/versioni/{definition_id}", dependencies=allow(Action.PROCESS_READ))
def studio_version(request: Request, scope: str, key: str, definition_id: int, viewer: CurrentViewer) -> Response:
    """A version's diagram, drawn read-only in the browser, with its activities as a list."""
    with read_transaction(platform_of(request).sessions) as session:
        diagram = version_diagram(session, viewer.actor, scope_of(scope), key, definition_id)
    return render(request, "studio/version.html", {"diagram": diagram, "scope": scope})


@router.get("/processi/{scope}/{key}/versioni/{definition_id}/diagramma.bpmn", dependencies=allow(Action.PROCESS_READ))
def studio_version_xml(request: Request, scope: str, key: str, definition_id: int, viewer: CurrentViewer) -> Response:
    """The BPMN file of a version, as published (the viewer reads it; a download for the person)."""
    with read_transaction(platform_of(request).sessions) as session:
        diagram = version_diagram(session, viewer.actor, scope_of(scope), key, definition_id)
    # Served as plain text and as an attachment: a diagram from another organisation is never
    # interpreted by the browser as a document of this site.
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{key}-v{diagram.version.version}.bpmn")
    return Response(
        diagram.xml,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/processi/{scope}/{key}/bozza", dependencies=allow(Action.PROCESS_EDIT))
def studio_draft(request: Request, scope: str, key: str, viewer: CurrentViewer) -> Response:
    """The diagram editor on the draft of a process (the saved draft, else the newest version the scope sees)."""
    with read_transaction(platform_of(request).sessions) as session:
        draft = open_draft(session, viewer.actor, scope_of(scope), key)
    response = render(request, "studio/draft.html", {"draft": draft, "scope": scope})
    response.headers["Content-Security-Policy"] = editor_csp()
    return response


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


@router.post("/processi/{scope}/{key}/bozza", dependencies=allow(Action.PROCESS_EDIT))
def studio_draft_save(request: Request, scope: str, key: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Save the diagram into the draft (size and XML safety checked; a stale revision is refused)."""
    platform = platform_of(request)
    revision, base = _field(pairs, "revision").strip(), _field(pairs, "base").strip()
    with transaction(platform.sessions) as session:
        draft = save_diagram(
            session,
            viewer.actor,
            scope_of(scope),
            key,
            _field(pairs, "xml").encode("utf-8"),
            int(revision) if revision.isdigit() and len(revision) < 10 else None,
            platform.settings.max_file_bytes,
            base=int(base) if base.isdigit() and len(base) < 10 else None,
        )
    return render(request, "studio/partials/draft_saved.html", {"draft": draft})


@router.post("/processi/{scope}/{key}/bozza/scarta", dependencies=allow(Action.PROCESS_EDIT))
def studio_draft_discard(request: Request, scope: str, key: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Discard the saved draft (not if it was saved again since the page showed it); back to the process."""
    revision = _field(pairs, "revision").strip()
    with transaction(platform_of(request).sessions) as session:
        discard_draft(
            session,
            viewer.actor,
            scope_of(scope),
            key,
            int(revision) if revision.isdigit() and len(revision) < 10 else None,
        )
    return RedirectResponse(f"/processi/{scope}/{key}?esito=scartata", status_code=303)


@router.post("/processi/{scope}/{key}/bozza/verifica", dependencies=allow(Action.PROCESS_EDIT))
def studio_draft_check(request: Request, scope: str, key: str, viewer: CsrfViewer) -> Response:
    """Validate the saved draft as a deployment would; the problems, each with the element to select."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        problems = check_draft(session, viewer.actor, scope_of(scope), key, platform.settings.max_file_bytes)
    return render(request, "studio/partials/draft_problems.html", {"problems": problems, "checked": True})
