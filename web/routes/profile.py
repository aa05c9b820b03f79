"""My account: profile, password change, my sessions, the second factor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from engine import Conflict, FormInvalid, LoginLocked
from engine.access import (
    Action,
    change_password,
    confirm_enrolment,
    disable_second_factor,
    end_other_sessions,
    end_session,
    has_second_factor,
    list_sessions,
    recovery_codes_left,
    regenerate_recovery_codes,
    role_label,
    second_factor_required,
    start_enrolment,
)
from engine.db import read_transaction, transaction
from engine.models import AppUser
from web.qr import qr_svg
from web.security import (
    PASSWORD_PAGE,
    SESSION_COOKIE,
    CsrfViewer,
    CurrentViewer,
    FormPairs,
    Viewer,
    allow,
    client_address,
    landing_page,
    platform_of,
    safe_next,
    web_settings,
)
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)


def _user(session: Session, viewer: Viewer) -> AppUser:
    user = session.get(AppUser, viewer.user_id)
    assert user is not None
    return user


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


# --------------------------------------------------------------------------- profile


@router.get("/profilo", dependencies=allow(Action.ACCOUNT_SELF))
def profile(request: Request, viewer: CurrentViewer) -> Response:
    """My account: name, roles per Ambito, second factor, links to the rest."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        user = _user(session, viewer)
        grants = sorted(
            ((role_label(role), ambito) for role, ambito in viewer.actor.grants),
            key=lambda g: (g[1] or "", g[0]),
        )
        context = {
            "user": user,
            "grants": grants,
            "second_factor": has_second_factor(user),
            "codes_left": recovery_codes_left(session, user),
            "required": second_factor_required(viewer.actor, platform.settings.require_2fa_for),
            "session_count": len(list_sessions(session, user, web_settings(request).session_max_hours)),
        }
        return render(request, "profile.html", context)


# --------------------------------------------------------------------------- password


def _password_page(
    request: Request,
    viewer: Viewer,
    errors: dict[str, list[str]] | None = None,
    notice: str | None = None,
    status: int = 200,
    next_url: str = "/",
) -> Response:
    context = {"errors": errors or {}, "notice": notice, "forced": viewer.must_change_password, "next": next_url}
    return render(request, "password.html", context, partial="partials/password_form.html", status_code=status)


@router.get("/profilo/password", dependencies=allow(Action.ACCOUNT_SELF))
def password_form(request: Request, viewer: CurrentViewer) -> Response:
    """The form to change my password (the only page open after an administrator's reset)."""
    return _password_page(request, viewer, next_url=safe_next(request.query_params.get("next")))


@router.post("/profilo/password", dependencies=allow(Action.ACCOUNT_SELF))
def password_change(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Change my password (the current one required); my other sessions end."""
    current = _field(pairs, "attuale")
    new = _field(pairs, "password")
    next_url = safe_next(_field(pairs, "next"))
    if new != _field(pairs, "conferma"):
        errors = {"conferma": ["Le due password nuove non coincidono."]}
        return _password_page(request, viewer, errors, status=422, next_url=next_url)
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        try:
            ended = change_password(
                session,
                platform.settings.secret_key,
                _user(session, viewer),
                current,
                new,
                client_address(request),
                request.cookies.get(SESSION_COOKIE, ""),
            )
        except FormInvalid as exc:  # caught inside: a wrong current password is still counted
            return _password_page(request, viewer, exc.errors, status=422, next_url=next_url)
        except LoginLocked as exc:
            return _password_page(request, viewer, {"attuale": [exc.message]}, status=429, next_url=next_url)
    if viewer.must_change_password:
        # The temporary password is gone: on to where she was going.
        target = next_url if next_url not in ("/", PASSWORD_PAGE) else landing_page(viewer)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    notice = "Password cambiata." + (f" Sessioni terminate sugli altri dispositivi: {ended}." if ended else "")
    return _password_page(request, viewer, notice=notice, next_url=next_url)


# --------------------------------------------------------------------------- sessions


def _sessions_page(request: Request, viewer: Viewer, notice: str | None = None) -> Response:
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        rows = list_sessions(session, _user(session, viewer), web_settings(request).session_max_hours)
        return render(
            request,
            "sessions.html",
            {"sessions": rows, "current": viewer.session_id, "notice": notice},
            partial="partials/session_list.html",
        )


@router.get("/profilo/sessioni", dependencies=allow(Action.ACCOUNT_SELF))
def sessions(request: Request, viewer: CurrentViewer) -> Response:
    """My live sessions (this one marked), each with the way to end it."""
    return _sessions_page(request, viewer)


@router.post("/profilo/sessioni/termina-altre", dependencies=allow(Action.ACCOUNT_SELF))
def end_others(request: Request, viewer: CsrfViewer) -> Response:
    """End all my sessions but this one."""
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        ended = end_other_sessions(
            session, platform.settings.secret_key, _user(session, viewer), request.cookies.get(SESSION_COOKIE, "")
        )
    return _sessions_page(request, viewer, f"Sessioni terminate: {ended}.")


@router.post("/profilo/sessioni/{public_id}/termina", dependencies=allow(Action.ACCOUNT_SELF))
def end_one(request: Request, public_id: str, viewer: CsrfViewer) -> Response:
    """End one of my sessions (ending this one is logging out)."""
    with transaction(platform_of(request).sessions) as session:
        end_session(session, _user(session, viewer), public_id)
    if public_id == viewer.session_id:
        response: Response = RedirectResponse("/login", status_code=303)
        if request.headers.get("HX-Request") == "true":
            response = Response(status_code=204, headers={"HX-Redirect": "/login"})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return _sessions_page(request, viewer, "Sessione terminata.")


# --------------------------------------------------------------------------- second factor


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _second_factor_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    user: AppUser,
    error: str | None = None,
    codes: list[str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    platform = platform_of(request)
    context: dict[str, Any] = {
        "enabled": has_second_factor(user),
        "required": second_factor_required(viewer.actor, platform.settings.require_2fa_for),
        "codes": codes,
        "codes_left": recovery_codes_left(session, user),
        "error": error,
        "notice": notice,
        "secret": None,
        "qr": None,
    }
    if not context["enabled"]:
        enrolment = start_enrolment(session, platform.settings.secret_key, user)
        context["secret"] = _grouped(enrolment.secret)
        context["qr"] = qr_svg(enrolment.uri, "Codice QR per l'app di autenticazione")
    return render(request, "second_factor.html", context, partial="partials/second_factor.html", status_code=status)


@router.get("/profilo/secondo-fattore", dependencies=allow(Action.ACCOUNT_SELF))
def second_factor(request: Request, viewer: CurrentViewer) -> Response:
    """The second factor: its state, or the QR code and secret to set it up."""
    with transaction(platform_of(request).sessions) as session:
        return _second_factor_page(request, viewer, session, _user(session, viewer))


@router.post("/profilo/secondo-fattore", dependencies=allow(Action.ACCOUNT_SELF))
def second_factor_confirm(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Turn the second factor on with a first code; the recovery codes are shown this once."""
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        user = _user(session, viewer)
        try:
            codes = confirm_enrolment(session, platform.settings.secret_key, user, _field(pairs, "codice"))
        except (FormInvalid, Conflict) as exc:
            return _second_factor_page(request, viewer, session, user, error=exc.message, status=422)
        return _second_factor_page(
            request, viewer, session, user, codes=codes, notice="Secondo fattore attivato.", status=201
        )


@router.post("/profilo/secondo-fattore/codici", dependencies=allow(Action.ACCOUNT_SELF))
def second_factor_codes(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """New recovery codes (the old ones stop working), on a code from the app."""
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        user = _user(session, viewer)
        try:
            codes = regenerate_recovery_codes(
                session, platform.settings.secret_key, user, _field(pairs, "codice"), client_address(request)
            )
        except (FormInvalid, Conflict) as exc:  # caught inside: a wrong code is still counted
            return _second_factor_page(request, viewer, session, user, error=exc.message, status=422)
        except LoginLocked as exc:
            return _second_factor_page(request, viewer, session, user, error=exc.message, status=429)
        return _second_factor_page(request, viewer, session, user, codes=codes, notice="Nuovi codici di recupero.")


@router.post("/profilo/secondo-fattore/disattiva", dependencies=allow(Action.ACCOUNT_SELF))
def second_factor_disable(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Turn the second factor off, on a valid code (not when my role requires it)."""
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        user = _user(session, viewer)
        required = second_factor_required(viewer.actor, platform.settings.require_2fa_for)
        try:
            disable_second_factor(
                session, platform.settings.secret_key, user, _field(pairs, "codice"), required, client_address(request)
            )
        except FormInvalid as exc:  # caught inside: a wrong code is still counted
            return _second_factor_page(request, viewer, session, user, error=exc.message, status=422)
        except Conflict as exc:
            return _second_factor_page(request, viewer, session, user, error=exc.message, status=409)
        except LoginLocked as exc:
            return _second_factor_page(request, viewer, session, user, error=exc.message, status=429)
        return _second_factor_page(request, viewer, session, user, notice="Secondo fattore disattivato.")
