"""My account: API tokens for integrations, and my password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine import Conflict, create_token, list_tokens, revoke_token
from engine.access import Action, change_password
from engine.db import read_transaction, transaction
from engine.models import AppUser
from web.security import CsrfViewer, CurrentViewer, FormPairs, allow, landing_page, platform_of, safe_next
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)


def _user(session: object, viewer_id: int) -> AppUser:
    user = session.get(AppUser, viewer_id)  # type: ignore[attr-defined]
    assert user is not None
    return user  # type: ignore[no-any-return]


@router.get("/profilo/token", dependencies=allow(Action.ACCOUNT_SELF))
def tokens(request: Request, viewer: CurrentViewer) -> Response:
    """My API tokens."""
    with read_transaction(platform_of(request).sessions) as session:
        rows = list_tokens(session, _user(session, viewer.user_id))
        return render(
            request, "tokens.html", {"tokens": rows, "created": None, "error": None}, partial="partials/token_list.html"
        )


@router.post("/profilo/token", dependencies=allow(Action.ACCOUNT_SELF))
def new_token(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Create a token; its secret is shown this once."""
    fields = dict(pairs)
    name = fields.get("nome", "")
    days_text = fields.get("giorni", "90").strip()
    platform = platform_of(request)
    error = None
    created = None
    with transaction(platform.sessions) as session:
        user = _user(session, viewer.user_id)
        try:
            if not days_text.isdigit():
                raise Conflict("La durata deve essere un numero di giorni.")
            _row, created = create_token(session, platform.settings.secret_key, user, name, int(days_text))
        except Conflict as exc:
            error = exc.message
        rows = list_tokens(session, user)
        return render(
            request,
            "tokens.html",
            {"tokens": rows, "created": created, "error": error, "name": name},
            partial="partials/token_list.html",
            status_code=422 if error else 201,
        )


@router.post("/profilo/token/{token_id}/revoca", dependencies=allow(Action.ACCOUNT_SELF))
def revoke(request: Request, token_id: int, viewer: CsrfViewer) -> Response:
    """Revoke one of my tokens."""
    with transaction(platform_of(request).sessions) as session:
        user = _user(session, viewer.user_id)
        revoke_token(session, user, token_id)
        rows = list_tokens(session, user)
        return render(
            request, "tokens.html", {"tokens": rows, "created": None, "error": None}, partial="partials/token_list.html"
        )


@router.get("/profilo/password", dependencies=allow(Action.ACCOUNT_SELF))
def password_form(request: Request, viewer: CurrentViewer) -> Response:
    """Choose a new password (required after an administrator has reset it)."""
    next_url = safe_next(request.query_params.get("next"))
    return render(
        request,
        "password.html",
        {"next": next_url, "error": None, "forced": viewer.must_change_password},
        partial="partials/password_form.html",
    )


@router.post("/profilo/password", dependencies=allow(Action.ACCOUNT_SELF))
def password_change(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Replace my password, then go where I was going."""
    fields = dict(pairs)
    current, new, again = fields.get("attuale", ""), fields.get("nuova", ""), fields.get("conferma", "")
    next_url = safe_next(fields.get("next"))
    try:
        if new != again:
            raise Conflict("Le due nuove password non coincidono.")
        with transaction(platform_of(request).sessions) as session:
            change_password(session, _user(session, viewer.user_id), current[:1000], new[:1000])
    except Conflict as exc:
        return render(
            request,
            "password.html",
            {"next": next_url, "error": exc.message, "forced": viewer.must_change_password},
            partial="partials/password_form.html",
            status_code=422,
        )
    target = next_url if next_url not in ("/", "/profilo/password") else landing_page(viewer)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
