"""My account: API tokens for integrations."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine import Conflict, create_token, list_tokens, revoke_token
from engine.access import Action
from engine.db import read_transaction, transaction
from engine.models import AppUser
from web.params import RowId
from web.security import CsrfViewer, CurrentViewer, FormPairs, allow, platform_of
from web.templating import render

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
def revoke(request: Request, token_id: RowId, viewer: CsrfViewer) -> Response:
    """Revoke one of my tokens."""
    with transaction(platform_of(request).sessions) as session:
        user = _user(session, viewer.user_id)
        revoke_token(session, user, token_id)
        rows = list_tokens(session, user)
        return render(
            request, "tokens.html", {"tokens": rows, "created": None, "error": None}, partial="partials/token_list.html"
        )
