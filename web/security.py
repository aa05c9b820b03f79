"""Who is asking: browser sessions (cookie + CSRF) and API tokens (bearer)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine import Platform
from engine.access import (
    Action,
    Actor,
    actor_for,
    find_session,
    has_second_factor,
    needs_touch,
    permits,
    require,
    second_factor_required,
    touch_session,
    user_for_token,
)
from engine.db import read_transaction, transaction
from web.config import WebSettings
from web.i18n import pick_language

SESSION_COOKIE = "inlav_session"
CHALLENGE_COOKIE = "inlav_login_code"
PRE_CSRF_COOKIE = "inlav_precsrf"
LANG_COOKIE = "inlav_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ENROL_PATH = "/profilo/secondo-fattore"


@dataclass(frozen=True)
class Viewer:
    """The logged-in person: account, the Actor she acts as, her CSRF token and language."""

    user_id: int
    username: str
    full_name: str
    actor: Actor
    csrf: str
    lang: str
    token_auth: bool = False
    session_id: str = ""
    must_enrol: bool = False
    must_change_password: bool = False

    @property
    def ambiti(self) -> list[str]:
        return sorted(self.actor.ambiti)

    def can(self, action: str) -> bool:
        """Whether the matrix lets her perform an action somewhere (menus and buttons ask this)."""
        return permits(self.actor, Action(action))


class LoginRequired(Exception):
    """No valid session: send the browser to the login page."""

    def __init__(self, expired: bool, next_url: str) -> None:
        super().__init__("login required")
        self.expired = expired
        self.next_url = next_url


class EnrolmentRequired(Exception):
    """Her roles require a second factor she has not set up: only the enrolment page is open."""


class PasswordChangeRequired(Exception):
    """The person logged in with a one-time password: she must choose her own first."""

    def __init__(self, next_url: str) -> None:
        super().__init__("password change required")
        self.next_url = next_url


PASSWORD_PAGE = "/profilo/password"  # noqa: S105 - a path, not a password


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


class TokenRejected(Exception):
    """An API call without a valid bearer token."""


def platform_of(request: Request) -> Platform:
    """The platform the app was built around."""
    platform: Platform = request.app.state.platform
    return platform


def web_settings(request: Request) -> WebSettings:
    """Web settings of the app."""
    settings: WebSettings = request.app.state.web_settings
    return settings


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it (behind a reverse proxy: uvicorn's
    `--proxy-headers --forwarded-allow-ips=<proxy>` make this the real client)."""
    return request.client.host if request.client else None


def _next_url(request: Request) -> str:
    target = request.headers.get("HX-Current-URL") if request.headers.get("HX-Request") else None
    if target:
        # Only keep the path of the page the person was on.
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


def safe_next(url: str | None) -> str:
    """A local path to go back to after login (never another site)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


def login_url(next_url: str, expired: bool) -> str:
    """Where to send someone without a session."""
    return f"/login?next={quote(next_url, safe='/')}" + ("&scaduta=1" if expired else "")


def load_viewer(request: Request) -> Viewer | None:
    """The viewer of a browser session cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    platform = platform_of(request)
    settings = web_settings(request)
    secret = platform.settings.secret_key
    touch = False
    with read_transaction(platform.sessions) as session:
        found = find_session(session, secret, token, settings.session_max_hours)
        if found is None:
            return None
        row, user = found
        touch = needs_touch(row)
        actor = actor_for(session, user)
        viewer = Viewer(
            user_id=user.id,
            username=user.username,
            full_name=user.full_name,
            actor=actor,
            csrf=row.csrf_token,
            lang=pick_language(request.cookies.get(LANG_COOKIE), user.locale),
            session_id=row.public_id,
            must_enrol=not has_second_factor(user) and second_factor_required(actor, platform.settings.require_2fa_for),
            must_change_password=bool(user.must_change_password),
        )
    if touch:
        with transaction(platform.sessions) as session:
            touch_session(session, secret, token, settings.session_idle_minutes)
    return viewer


def require_viewer(request: Request) -> Viewer:
    """Dependency: the logged-in viewer, or a redirect to the login page."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is None or viewer.token_auth:
        viewer = load_viewer(request)
        if viewer is None:
            raise LoginRequired(expired=SESSION_COOKIE in request.cookies, next_url=_next_url(request))
        request.state.viewer = viewer
        request.state.lang = viewer.lang
    if viewer.must_change_password and request.url.path != PASSWORD_PAGE:
        raise PasswordChangeRequired(_next_url(request))
    if viewer.must_enrol and not request.url.path.startswith(ENROL_PATH):
        raise EnrolmentRequired()
    return viewer


CurrentViewer = Annotated[Viewer, Depends(require_viewer)]


def check_csrf(request: Request, viewer: Viewer, pairs: list[tuple[str, str]]) -> None:
    """Refuse a state-changing browser request whose CSRF token is missing or wrong."""
    if request.method not in UNSAFE:
        return
    sent = request.headers.get(CSRF_HEADER) or next((v for k, v in pairs if k == CSRF_FIELD), "")
    if not sent or not hmac.compare_digest(sent.encode(), viewer.csrf.encode()):
        raise CsrfRejected()


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """Submitted form fields as (name, value) pairs (files are refused)."""
    settings = web_settings(request)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_body_bytes:
        raise FormTooLarge()
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return []
    form = await request.form(max_files=0, max_fields=settings.max_form_fields)
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


class FormTooLarge(Exception):
    """The submitted body is larger than the app accepts."""


FormPairs = Annotated[list[tuple[str, str]], Depends(form_pairs)]


def csrf_viewer(request: Request, pairs: FormPairs) -> Viewer:
    """Dependency for state-changing browser routes: logged in and CSRF-checked."""
    viewer = require_viewer(request)
    check_csrf(request, viewer, pairs)
    return viewer


CsrfViewer = Annotated[Viewer, Depends(csrf_viewer)]


def anonymous_csrf(request: Request) -> str:
    """A CSRF token for forms shown before login (double-submit cookie)."""
    token = request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(24)
    request.state.pre_csrf = token
    request.state.set_pre_csrf = PRE_CSRF_COOKIE not in request.cookies
    return token


def check_anonymous_csrf(request: Request, pairs: list[tuple[str, str]]) -> None:
    """Refuse a pre-login form post whose token does not match its cookie."""
    cookie = request.cookies.get(PRE_CSRF_COOKIE, "")
    sent = next((v for k, v in pairs if k == CSRF_FIELD), "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRejected()


_bearer = HTTPBearer(
    auto_error=False, description="Token API (`ilf_…`), creato dalla pagina «Il mio account › Token API»."
)


def api_viewer(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Viewer:
    """Dependency of the JSON API: the user a bearer token acts as."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise TokenRejected()
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        user = user_for_token(session, platform.settings.secret_key, credentials.credentials)
        if user is None:
            raise TokenRejected()
        viewer = Viewer(
            user_id=user.id,
            username=user.username,
            full_name=user.full_name,
            actor=actor_for(session, user),
            csrf="",
            lang="it",
            token_auth=True,
        )
    request.state.viewer = viewer
    return viewer


ApiViewer = Annotated[Viewer, Depends(api_viewer)]


# --------------------------------------------------------------------------- the matrix at the door


@dataclass(frozen=True)
class Permit:
    """Route dependency of a page: logged in, and the matrix gives her roles this action somewhere.

    The Ambito of what the page touches is checked by the engine (another Ambito: 404).
    """

    action: Action

    def __call__(self, viewer: CurrentViewer) -> None:
        require(viewer.actor, self.action)


@dataclass(frozen=True)
class ApiPermit:
    """Route dependency of an API call: a valid token whose user's roles include the action."""

    action: Action

    def __call__(self, viewer: ApiViewer) -> None:
        require(viewer.actor, self.action)


def public_route() -> None:
    """Marks a route that anyone may call (login, health, language)."""


def allow(action: Action) -> list[Any]:
    """`dependencies=` of a page that performs `action`."""
    return [Depends(Permit(action))]


def allow_api(action: Action) -> list[Any]:
    """`dependencies=` of an API call that performs `action`."""
    return [Depends(ApiPermit(action))]


PUBLIC: list[Any] = [Depends(public_route)]
"""`dependencies=` of a route open to everyone."""


def landing_page(viewer: Viewer) -> str:
    """Where a person lands after login: the first page her roles open."""
    for action, path in LANDINGS:
        if permits(viewer.actor, action):
            return path
    return "/profilo"


LANDINGS: list[tuple[Action, str]] = [
    (Action.TASK_WORK, "/attivita"),
    (Action.CASE_READ, "/casi"),
    (Action.ADMIN_USERS, "/admin/utenti"),
    (Action.REPORT_AGGREGATE, "/monitoraggio"),
]
