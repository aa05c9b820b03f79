"""Personal data of a case: consent (record, withdraw, override a held referral), export, erasure.

Under `/privacy/casi/…` so that the catch-all case page (`/casi/{code:path}`) never
swallows these routes. The engine checks the Ambito of the case (another Ambito: 404).
"""

from __future__ import annotations

import json
from datetime import datetime, time
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine import case_file
from engine.access import Action, require_in
from engine.clock import utcnow
from engine.db import read_transaction, transaction
from engine.errors import Conflict
from engine.privacy import (
    CHANNELS,
    SCOPES,
    erase_identity,
    export_subject,
    override_consent,
    record_consent,
    withdraw_consent,
)
from web.errors import problem_responses
from web.params import BigRowId, RowId
from web.routes.audit_reads import log_read
from web.security import ApiViewer, CsrfViewer, CurrentViewer, FormPairs, allow, allow_api, platform_of
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["casi"])

PREFIX = "/privacy/casi"


def case_url(case_code: str, outcome: str | None = None) -> str:
    """The case file page, with an outcome notice."""
    return f"/casi/{quote(case_code, safe='/')}" + (f"?esito={outcome}" if outcome else "")


def _privacy_section(
    request: Request, viewer: CurrentViewer, case_code: str, error: str | None, status: int
) -> Response:
    """The case file, or just its personal-data section for htmx, after a change (or a refused one)."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        file = case_file(session, platform.settings, case_code, viewer.actor)
        context = {"file": file, "notice": None, "privacy_error": error}
        return render(request, "case.html", context, partial="partials/case_privacy.html", status_code=status)


def _done(request: Request, viewer: CurrentViewer, case_code: str, outcome: str) -> Response:
    if is_htmx(request):
        return _privacy_section(request, viewer, case_code, None, 200)
    return RedirectResponse(case_url(case_code, outcome), status_code=303)


def _given_at(text: str) -> datetime | None:
    """The date a consent was given (a day; today's time if it is today)."""
    if not text.strip():
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError as exc:
        raise Conflict("Data del consenso non valida (AAAA-MM-GG).") from exc
    now = utcnow()
    return now if day == now.date() else datetime.combine(day, time(12, 0), tzinfo=now.tzinfo)


@router.post(PREFIX + "/{case_code:path}/consensi", dependencies=allow(Action.CONSENT_RECORD))
def consent_record(request: Request, case_code: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Record a consent the person gave (sharing consent releases the referrals held for it)."""
    fields = dict(pairs)
    platform = platform_of(request)
    try:
        with transaction(platform.sessions) as session:
            record_consent(
                session,
                viewer.actor,
                case_code,
                fields.get("ambito_consenso", ""),
                fields.get("modalita", ""),
                _given_at(fields.get("data", "")),
                fields.get("nota"),
            )
    except Conflict as exc:
        return _privacy_section(request, viewer, case_code, exc.message, 422)
    return _done(request, viewer, case_code, "consenso")


@router.post(PREFIX + "/{case_code:path}/consensi/{consent_id}/revoca", dependencies=allow(Action.CONSENT_RECORD))
def consent_withdraw(request: Request, case_code: str, consent_id: RowId, viewer: CsrfViewer) -> Response:
    """Withdraw a consent (it stays on record with the date of withdrawal)."""
    with transaction(platform_of(request).sessions) as session:
        withdraw_consent(session, viewer.actor, case_code, consent_id)
    return _done(request, viewer, case_code, "consenso_revocato")


@router.post(PREFIX + "/{case_code:path}/messaggi/{message_id}/autorizza", dependencies=allow(Action.CONSENT_OVERRIDE))
def consent_override(
    request: Request, case_code: str, message_id: BigRowId, viewer: CsrfViewer, pairs: FormPairs
) -> Response:
    """A coordinator releases a held referral without consent, for a written reason."""
    reason = dict(pairs).get("motivo", "")
    try:
        with transaction(platform_of(request).sessions) as session:
            override_consent(session, viewer.actor, case_code, message_id, reason)
    except Conflict as exc:
        return _privacy_section(request, viewer, case_code, exc.message, 422)
    return _done(request, viewer, case_code, "invio_autorizzato")


@router.get(PREFIX + "/{case_code:path}/esporta.json", dependencies=allow(Action.CASE_EXPORT))
def export_json(request: Request, case_code: str, viewer: CurrentViewer) -> Response:
    """Everything about the person of the case, as a JSON file to hand over."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        exported = export_subject(session, platform.settings, viewer.actor, case_code)
    log_read(request, viewer.actor, case_code, "personal_export", detail="JSON")
    name = "dati-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in case_code) + ".json"
    return Response(
        json.dumps(exported, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(PREFIX + "/{case_code:path}/esporta", dependencies=allow(Action.CASE_EXPORT))
def export_page(request: Request, case_code: str, viewer: CurrentViewer) -> Response:
    """The same as a printable page."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        exported = export_subject(session, platform.settings, viewer.actor, case_code)
        response = render(request, "privacy/export.html", {"export": exported, "scopes": SCOPES, "channels": CHANNELS})
    log_read(request, viewer.actor, case_code, "personal_export", detail="pagina stampabile")
    return response


@router.get(PREFIX + "/{case_code:path}/cancella", dependencies=allow(Action.CASE_ERASE))
def erase_page(request: Request, case_code: str, viewer: CurrentViewer) -> Response:
    """Confirmation step before erasing the person's identity."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        file = case_file(session, platform.settings, case_code, viewer.actor)
        # The same Ambito check as the erasure itself (a director of another Ambito: 404).
        require_in(viewer.actor, Action.CASE_ERASE, file.instance.ambito_code, f"Caso «{case_code}» non trovato.")
        context = {"file": file, "error": None, "reason": ""}
        return render(request, "privacy/erase.html", context, partial="privacy/erase_form.html")


@router.post(PREFIX + "/{case_code:path}/cancella", dependencies=allow(Action.CASE_ERASE))
def erase(request: Request, case_code: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Erase the person's identity (crypto-shredding), with the case code as confirmation and a reason."""
    fields = dict(pairs)
    platform = platform_of(request)
    try:
        with transaction(platform.sessions) as session:
            reason, confirmation = fields.get("motivo", ""), fields.get("conferma", "")
            erase_identity(session, platform.settings, viewer.actor, case_code, reason, confirmation)
    except Conflict as exc:
        with read_transaction(platform.sessions) as session:
            file = case_file(session, platform.settings, case_code, viewer.actor)
            context = {"file": file, "error": exc.message, "reason": fields.get("motivo", "")}
            return render(request, "privacy/erase.html", context, partial="privacy/erase_form.html", status_code=422)
    target = case_url(case_code, "identita_cancellata")
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@api_router.get(
    "/privacy/cases/{case_code:path}/export",
    dependencies=allow_api(Action.CASE_EXPORT),
    responses=problem_responses(404),
    summary="Esporta i dati di una persona",
)
def api_export(request: Request, case_code: str, viewer: ApiViewer) -> dict[str, object]:
    """Everything stored about the person of a case (diritto di accesso), identity in clear."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        exported = export_subject(session, platform.settings, viewer.actor, case_code)
    log_read(request, viewer.actor, case_code, "personal_export", channel="api")
    return exported
