"""Login (password, then the code of the second factor when she has one), logout and the
language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine import NotFound, close_session, open_session
from engine.access import (
    OpenedSession,
    actor_for,
    authenticate,
    complete_challenge,
    find_challenge,
    has_second_factor,
    open_challenge,
    second_factor_required,
)
from engine.access.totp import CHALLENGE_MINUTES
from engine.admin import setting_values
from engine.db import read_transaction, transaction
from engine.errors import LoginLocked
from web.i18n import LANGUAGES, pick_language
from web.security import (
    CHALLENGE_COOKIE,
    ENROL_PATH,
    LANG_COOKIE,
    PRE_CSRF_COOKIE,
    PUBLIC,
    SESSION_COOKIE,
    FormPairs,
    anonymous_csrf,
    check_anonymous_csrf,
    check_csrf,
    client_address,
    load_viewer,
    platform_of,
    safe_next,
    web_settings,
)
from web.templating import render
from web.useragent import user_agent_summary

WRONG_CREDENTIALS = "Nome utente o password non corretti."
WRONG_CODE = "Codice non valido o già usato: riprovare con il codice nuovo."
CODE_EXPIRED = "Il tempo per inserire il codice è scaduto: accedere di nuovo."

router = APIRouter(include_in_schema=False)


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


def _set_pre_csrf(request: Request, response: Response) -> None:
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


def _throttled(exc: LoginLocked) -> dict[str, str]:
    return {"Retry-After": str(exc.details.get("retry_after", 60))}


def _login_page(
    request: Request,
    next_url: str,
    status: int = 200,
    error: str | None = None,
    username: str = "",
    expired: bool = False,
    headers: dict[str, str] | None = None,
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
        headers=headers,
    )
    _set_pre_csrf(request, response)
    return response


def _code_page(
    request: Request, status: int = 200, error: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    anonymous_csrf(request)
    request.state.lang = pick_language(request.cookies.get(LANG_COOKIE), None)
    response = render(
        request,
        "login_code.html",
        {"error": error, "minutes": CHALLENGE_MINUTES},
        partial="partials/login_code_form.html",
        status_code=status,
        headers=headers,
    )
    _set_pre_csrf(request, response)
    return response


def _logged_in(request: Request, opened: OpenedSession, target: str, locale: str | None) -> Response:
    """The answer that starts a session: its cookie, and away to where she was going."""
    settings = web_settings(request)
    response: Response = RedirectResponse(target, status_code=303)
    if request.headers.get("HX-Request") == "true":
        response = Response(status_code=204, headers={"HX-Redirect": target})
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
    response.delete_cookie(CHALLENGE_COOKIE, path="/login")
    if LANG_COOKIE not in request.cookies and locale in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, locale, samesite="lax", secure=bool(settings.cookie_secure), path="/", max_age=365 * 86400
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
    """Check the password; then either ask for the second factor's code, or open a session
    and go where the person was going (or to the enrolment page, if her role requires a
    second factor she has not set up)."""
    check_anonymous_csrf(request, pairs)
    username = _field(pairs, "username").strip()[:100]
    password = _field(pairs, "password")[:1000]
    next_url = safe_next(_field(pairs, "next"))
    if not username or not password:
        return _login_page(request, next_url, 422, "Inserire nome utente e password.", username)
    platform = platform_of(request)
    settings = web_settings(request)
    secret = platform.settings.secret_key
    address = client_address(request)
    agent = user_agent_summary(request.headers.get("user-agent"))
    challenge = None
    opened = None
    locale = None
    try:
        with transaction(platform.sessions) as session:
            user = authenticate(session, secret, username, password, address)
            if user is not None and has_second_factor(user):
                challenge = open_challenge(session, secret, user, next_url, address, agent)
            elif user is not None:
                opened = open_session(session, secret, user, settings.session_idle_minutes, address, agent)
                locale = user.locale
                if second_factor_required(actor_for(session, user), platform.settings.require_2fa_for):
                    next_url = ENROL_PATH
    except LoginLocked as exc:
        return _login_page(request, next_url, 429, exc.message, username, headers=_throttled(exc))
    if challenge is not None:
        response: Response = RedirectResponse("/login/codice", status_code=303)
        response.set_cookie(
            CHALLENGE_COOKIE,
            challenge,
            httponly=True,
            samesite="strict",
            secure=bool(settings.cookie_secure),
            path="/login",
            max_age=CHALLENGE_MINUTES * 60,
        )
        return response
    if opened is None:
        return _login_page(request, next_url, 401, WRONG_CREDENTIALS, username)
    return _logged_in(request, opened, next_url, locale)


@router.get("/login/codice", dependencies=PUBLIC)
def code_form(request: Request) -> Response:
    """The second step of a login: the code of the authenticator app (or a recovery code)."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        live = find_challenge(session, platform.settings.secret_key, request.cookies.get(CHALLENGE_COOKIE, ""))
    if live is None:
        return RedirectResponse("/login", status_code=303)
    return _code_page(request)


@router.post("/login/codice", dependencies=PUBLIC)
def code(request: Request, pairs: FormPairs) -> Response:
    """Check the code; a right one opens the session, a wrong one counts as a failed login."""
    check_anonymous_csrf(request, pairs)
    platform = platform_of(request)
    settings = web_settings(request)
    secret = platform.settings.secret_key
    address = client_address(request)
    entered = _field(pairs, "codice")[:40]
    opened = None
    locale = None
    try:
        with transaction(platform.sessions) as session:
            outcome = complete_challenge(session, secret, request.cookies.get(CHALLENGE_COOKIE, ""), entered, address)
            if outcome.user is not None:
                opened = open_session(
                    session,
                    secret,
                    outcome.user,
                    settings.session_idle_minutes,
                    address,
                    user_agent_summary(request.headers.get("user-agent")) or outcome.user_agent,
                )
                locale = outcome.user.locale
    except LoginLocked as exc:
        return _code_page(request, 429, exc.message, headers=_throttled(exc))
    if outcome.expired:
        response = _login_page(request, "/", 401, CODE_EXPIRED)
        response.delete_cookie(CHALLENGE_COOKIE, path="/login")
        return response
    if opened is None:
        return _code_page(request, 401, WRONG_CODE)
    return _logged_in(request, opened, safe_next(outcome.next_url), locale)


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
