"""Case files and case search."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine import case_file, recent_cases, search_cases
from engine.access import Action
from engine.audit import CaseRef
from engine.db import read_transaction
from web.routes.audit_reads import REFRESH, log_read
from web.security import CurrentViewer, allow, platform_of
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
NOTICES = {
    "completata": "Attività completata.",
    "avviato": "Caso aperto.",
    "consenso": "Consenso registrato.",
    "consenso_revocato": "Revoca del consenso registrata.",
    "invio_autorizzato": "Invio autorizzato: il messaggio è ora disponibile per il partner.",
    "identita_cancellata": "Identità della persona cancellata.",
}


@router.get("/casi", dependencies=allow(Action.CASE_READ))
def cases(request: Request, viewer: CurrentViewer) -> Response:
    """Search cases by code or alias (recent cases when nothing is typed)."""
    text = request.query_params.get("q", "").strip()[:100]
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        settings = platform.settings
        hits = (
            search_cases(session, settings, viewer.actor, text)
            if text
            else recent_cases(session, settings, viewer.actor)
        )
        return render(request, "cases.html", {"q": text, "hits": hits}, partial="partials/case_results.html")


@router.get("/casi/{case_code:path}", dependencies=allow(Action.CASE_READ))
def case_page(request: Request, case_code: str, viewer: CurrentViewer) -> Response:
    """The case file: stage, open tasks, timeline, PIP, referrals."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        file = case_file(session, platform.settings, case_code, viewer.actor)
        notice = NOTICES.get(request.query_params.get("esito", ""))
        response = render(request, "case.html", {"file": file, "notice": notice}, partial="partials/case_body.html")
        seen = CaseRef.of(file.instance)
    # One record per view of the file. A full page load is always a new view. An htmx request
    # returns the same whole file (partials/case_body.html), so it is recorded too, unless the
    # same person read this case on the web in the last minutes: then it is a refresh of the
    # file already on her screen, not a new view. The window is checked on the server, so a
    # request that merely claims to be htmx cannot read a case without leaving a first trace.
    log_read(request, viewer.actor, seen, "case_file", coalesce=REFRESH if is_htmx(request) else None)
    return response
