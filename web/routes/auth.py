"""Login, logout and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine import NotFound, close_session, open_session
from engine.access.accounts import authenticate
from engine.admin import setting_values
from engine.db import read_transaction, transaction
from engine.errors import LoginLocked
from web.i18n import LANGUAGES, pick_language
from web.security import (
    LANG_COOKIE,
    PRE_CSRF_COOKIE,
    PUBLIC,
    SESSION_COOKIE,
    FormPairs,
    anonymous_csrf,
    check_anonymous_csrf,
    check_csrf,
    load_viewer,
    platform_of,
    safe_next,
    web_settings,
)
from web.templating import render

router = APIRouter(include_in_schema=False)


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


def _login_page(
    request: Request,
    next_url: str,
    status: int = 200,
    error: str | None = None,
    username: str = "",
    expired: bool = False,
) -> Response:
    anonymous_csrf(request)
    request.state.lang = pick_language(request.cookies.get(LANG_COOKIE), None)
    with read_transaction(platform_of(request).sessions) as session:
        settings_now = setting_values(session)
    response = render(
        request,
        "login.html",
        {
            "next": next_url,
            "error": error,
            "username": username,
            "expired": expired,
            "announcement": settings_now.get("avviso_accesso", ""),
            "support": settings_now.get("contatto_assistenza", ""),
        },
        partial="partials/login_form.html",
        status_code=status,
    )
    if getattr(request.state, "set_pre_csrf", False):
        settings = web_settings(request)
        response.set_cookie(
            PRE_CSRF_COOKIE,
            request.state.pre_csrf,
            httponly=True,
            samesite="strict",
            secure=bool(settings.cookie_secure),
            path="/",
        )
    return response


@router.get("/login", dependencies=PUBLIC)
def login_form(request: Request, next: str = "/", scaduta: bool = False) -> Response:
    """The login page (already logged in: straight to the inbox)."""
    if load_viewer(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next), expired=scaduta)


@router.post("/login", dependencies=PUBLIC)
def login(request: Request, pairs: FormPairs) -> Response:
    """Check credentials; on success open a session and go where the person was going."""
    check_anonymous_csrf(request, pairs)
    username = _field(pairs, "username").strip()[:100]
    password = _field(pairs, "password")[:1000]
    next_url = safe_next(_field(pairs, "next"))
    if not username or not password:
        return _login_page(request, next_url, 422, "Inserire nome utente e password.", username)
    platform = platform_of(request)
    settings = web_settings(request)
    try:
        with transaction(platform.sessions) as session:
            user = authenticate(session, username, password)
            opened = (
                open_session(session, platform.settings.secret_key, user, settings.session_idle_minutes)
                if user is not None
                else None
            )
            locale = user.locale if user is not None else None
    except LoginLocked as exc:
        return _login_page(request, next_url, 429, exc.message, username)
    if opened is None:
        return _login_page(request, next_url, 401, "Nome utente o password non corretti.", username)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        httponly=True,
        samesite="lax",
        secure=bool(settings.cookie_secure),
        path="/",
        max_age=int(settings.session_max_hours * 3600),
    )
    response.delete_cookie(PRE_CSRF_COOKIE, path="/")
    if LANG_COOKIE not in request.cookies and locale in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, locale, samesite="lax", secure=bool(settings.cookie_secure), path="/", max_age=365 * 86400
        )
    return response


@router.post("/logout", dependencies=PUBLIC)
def logout(request: Request, pairs: FormPairs) -> Response:
    """End the session (the cookie is worthless afterwards)."""
    viewer = load_viewer(request)
    token = request.cookies.get(SESSION_COOKIE)
    if viewer is not None and token:
        check_csrf(request, viewer, pairs)
        platform = platform_of(request)
        with transaction(platform.sessions) as session:
            close_session(session, platform.settings.secret_key, token)
    response: Response = RedirectResponse("/login", status_code=303)
    if request.headers.get("HX-Request") == "true":
        response = Response(status_code=204, headers={"HX-Redirect": "/login"})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/lingua", dependencies=PUBLIC)
def choose_language(request: Request, pairs: FormPairs) -> Response:
    """Switch the interface language (Italian / English)."""
    viewer = load_viewer(request)
    if viewer is not None:
        check_csrf(request, viewer, pairs)
    else:
        check_anonymous_csrf(request, pairs)
    lang = _field(pairs, "lingua")
    if lang not in LANGUAGES:
        raise NotFound("Lingua non disponibile.")
    target = safe_next(_field(pairs, "next"))
    response: Response = RedirectResponse(target, status_code=303)
    if request.headers.get("HX-Request") == "true":
        response = Response(status_code=204, headers={"HX-Redirect": target})
    settings = web_settings(request)
    response.set_cookie(
        LANG_COOKIE, lang, samesite="lax", secure=bool(settings.cookie_secure), path="/", max_age=365 * 86400
    )
    return response
