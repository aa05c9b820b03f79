"""Users and their roles: list, create, edit, grant and revoke, deactivate, reset the password."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from engine import FormInvalid
from engine.access import Action
from engine.admin import (
    LOCALES,
    UserFilter,
    add_user,
    ambito_names,
    deactivate_user,
    deactivation_preview,
    grant_user_role,
    list_users,
    reactivate_user,
    reset_password,
    reset_user_second_factor,
    revoke_user_role,
    update_user,
    user_detail,
)
from engine.db import read_transaction, transaction
from web.params import RowId
from web.routes.admin.common import NOTICES, STATES, form_fields, go_to, page_number, role_choices
from web.security import CsrfViewer, CurrentViewer, FormPairs, Viewer, allow, platform_of, web_settings
from web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass
class UserQuery:
    """The user-list filters as they appear in the address bar."""

    q: str = ""
    ambito: str = ""
    ruolo: str = ""
    stato: str = ""
    pagina: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> UserQuery:
        return cls(
            q=params.get("q", "").strip()[:100],
            ambito=params.get("ambito", "").strip()[:32],
            ruolo=params.get("ruolo", "").strip()[:64],
            stato=params.get("stato", "") if params.get("stato") in STATES else "",
            pagina=page_number(params.get("pagina")),
        )

    def filter(self) -> UserFilter:
        return UserFilter(
            text=self.q or None,
            ambito=self.ambito or None,
            role=self.ruolo or None,
            active=STATES.get(self.stato),
        )

    def url(self, **changes: object) -> str:
        values = {**self.__dict__, **changes}
        params = {k: v for k, v in values.items() if v not in ("", None) and not (k == "pagina" and v == 1)}
        return "/admin/utenti" + (f"?{urlencode(params)}" if params else "")


@router.get("/admin/utenti", dependencies=allow(Action.ADMIN_USERS))
def users(request: Request, viewer: CurrentViewer) -> Response:
    """Users with their roles; search by name, filter by Ambito, role and state."""
    query = UserQuery.from_params(request.query_params)
    size = web_settings(request).page_size
    with read_transaction(platform_of(request).sessions) as session:
        rows, total = list_users(session, viewer.actor, query.filter(), size, (query.pagina - 1) * size)
        return render(
            request,
            "admin/users.html",
            {
                "rows": rows,
                "total": total,
                "query": query,
                "pages": max(1, (total + size - 1) // size),
                "ambiti": ambito_names(session),
                "roles": role_choices(),
                "states": STATES,
            },
            partial="admin/partials/user_results.html",
            headers={"HX-Push-Url": query.url()},
        )


def _grant_rows(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(role, Ambito) rows of the create form, in order; empty rows dropped."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in pairs:
        match = re.fullmatch(r"ruoli\[(\d{1,3})\]\.(ruolo|ambito)", key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    return [(r.get("ruolo", ""), r.get("ambito", "")) for _, r in sorted(rows.items()) if r.get("ruolo")]


def _user_form(
    request: Request,
    session: Session,
    values: dict[str, str],
    grants: list[tuple[str, str]],
    error: str | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "admin/user_new.html",
        {
            "values": values,
            "grants": grants or [("", "")],
            "error": error,
            "errors": errors or {},
            "ambiti": ambito_names(session),
            "roles": role_choices(),
            "locales": LOCALES,
        },
        partial="admin/partials/user_form.html",
        status_code=status,
    )


@router.get("/admin/utenti/nuovo", dependencies=allow(Action.ADMIN_USERS))
def new_user(request: Request, viewer: CurrentViewer) -> Response:
    """The form that creates an account."""
    with read_transaction(platform_of(request).sessions) as session:
        return _user_form(request, session, {"locale": "it", "password_mode": "genera"}, [])


@router.post("/admin/utenti", dependencies=allow(Action.ADMIN_USERS))
def create_user_route(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Create an account; a generated password is shown this once."""
    fields = form_fields(pairs)
    values = {k: fields.get(k, "") for k in ("username", "full_name", "email", "locale", "password_mode")}
    grants = _grant_rows(pairs)
    chosen = values["password_mode"] == "scelta"  # noqa: S105 - the form's choice, not a password
    password = fields.get("password", "") if chosen else None
    platform = platform_of(request)
    try:
        with transaction(platform.sessions) as session:
            user, generated = add_user(
                session,
                viewer.actor,
                values["username"],
                values["full_name"],
                [(role, ambito or None) for role, ambito in grants],
                email=values["email"],
                password=password,
                locale=values["locale"] or "it",
            )
            detail = user_detail(session, viewer.actor, user.id)
            return render(
                request,
                "admin/user.html",
                {**_detail_context(session, detail), "password": generated, "created": True},
                partial="admin/partials/user_detail.html",
                status_code=201,
            )
    except FormInvalid as exc:
        with read_transaction(platform.sessions) as session:
            return _user_form(request, session, values, grants, exc.message, exc.errors, 422)


def _detail_context(session: Session, detail: object) -> dict[str, object]:
    return {
        "detail": detail,
        "ambiti": ambito_names(session),
        "roles": role_choices(),
        "locales": LOCALES,
        "values": None,
        "errors": {},
        "error": None,
        "grant_error": None,
        "grant_errors": {},
        "grant": ("", ""),
        "password": None,
        "created": False,
        "notice": None,
    }


def _user_page(
    request: Request, viewer: Viewer, user_id: int, status: int = 200, partial: str | None = None, **extra: object
) -> Response:
    with read_transaction(platform_of(request).sessions) as session:
        detail = user_detail(session, viewer.actor, user_id)
        context = {**_detail_context(session, detail), **extra}
        return render(
            request,
            "admin/user.html",
            context,
            partial=partial or "admin/partials/user_detail.html",
            status_code=status,
        )


@router.get("/admin/utenti/{user_id}", dependencies=allow(Action.ADMIN_USERS))
def user_page(request: Request, user_id: RowId, viewer: CurrentViewer) -> Response:
    """A user: profile, roles per Ambito, password, deactivation."""
    notice = NOTICES.get(request.query_params.get("esito", ""))
    return _user_page(request, viewer, user_id, notice=notice)


@router.post("/admin/utenti/{user_id}", dependencies=allow(Action.ADMIN_USERS))
def edit_user(request: Request, user_id: RowId, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Change name, email and language."""
    fields = form_fields(pairs)
    values = {k: fields.get(k, "") for k in ("full_name", "email", "locale")}
    try:
        with transaction(platform_of(request).sessions) as session:
            update_user(session, viewer.actor, user_id, values["full_name"], values["email"], values["locale"])
    except FormInvalid as exc:
        return _user_page(
            request,
            viewer,
            user_id,
            422,
            "admin/partials/user_profile.html",
            values=values,
            errors=exc.errors,
            error=exc.message,
        )
    return _user_page(request, viewer, user_id, partial="admin/partials/user_profile.html", notice="Modifiche salvate.")


@router.post("/admin/utenti/{user_id}/ruoli", dependencies=allow(Action.ADMIN_USERS))
def grant_role_route(request: Request, user_id: RowId, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Give the user a role in an Ambito (or regionally)."""
    fields = form_fields(pairs)
    role, ambito = fields.get("ruolo", "").strip(), fields.get("ambito", "").strip()
    try:
        with transaction(platform_of(request).sessions) as session:
            if not role:
                raise FormInvalid("Scegliere il ruolo.", {"ruolo": ["Scegliere il ruolo."]})
            grant_user_role(session, viewer.actor, user_id, role, ambito or None)
    except FormInvalid as exc:
        return _user_page(
            request,
            viewer,
            user_id,
            422,
            "admin/partials/user_roles.html",
            grant=(role, ambito),
            grant_error=exc.message,
            grant_errors=exc.errors,
        )
    return _user_page(request, viewer, user_id, 201, "admin/partials/user_roles.html", notice="Ruolo assegnato.")


@router.post("/admin/utenti/{user_id}/ruoli/{grant_id}/revoca", dependencies=allow(Action.ADMIN_USERS))
def revoke_role_route(request: Request, user_id: RowId, grant_id: RowId, viewer: CsrfViewer) -> Response:
    """Take a role away from the user."""
    with transaction(platform_of(request).sessions) as session:
        revoke_user_role(session, viewer.actor, user_id, grant_id)
    return _user_page(request, viewer, user_id, partial="admin/partials/user_roles.html", notice="Ruolo revocato.")


@router.get("/admin/utenti/{user_id}/disattiva", dependencies=allow(Action.ADMIN_USERS))
def confirm_deactivation(request: Request, user_id: RowId, viewer: CurrentViewer) -> Response:
    """What deactivating the user will do, and the button that does it."""
    with read_transaction(platform_of(request).sessions) as session:
        detail = deactivation_preview(session, viewer.actor, user_id)
        return render(
            request,
            "admin/user_deactivate.html",
            {"detail": detail, "done": None},
            partial="admin/partials/user_deactivation.html",
        )


@router.post("/admin/utenti/{user_id}/disattiva", dependencies=allow(Action.ADMIN_USERS))
def deactivate(request: Request, user_id: RowId, viewer: CsrfViewer) -> Response:
    """Deactivate: sessions end, claimed tasks go back to the team (listed in the answer)."""
    with transaction(platform_of(request).sessions) as session:
        done = deactivate_user(session, viewer.actor, user_id)
        detail = user_detail(session, viewer.actor, user_id)
        return render(
            request,
            "admin/user_deactivate.html",
            {"detail": detail, "done": done},
            partial="admin/partials/user_deactivation.html",
        )


@router.post("/admin/utenti/{user_id}/riattiva", dependencies=allow(Action.ADMIN_USERS))
def reactivate(request: Request, user_id: RowId, viewer: CsrfViewer) -> Response:
    """Reactivate a deactivated account."""
    with transaction(platform_of(request).sessions) as session:
        reactivate_user(session, viewer.actor, user_id)
    return go_to(request, f"/admin/utenti/{user_id}?esito=utente-riattivato")


@router.post("/admin/utenti/{user_id}/password", dependencies=allow(Action.ADMIN_USERS))
def reset_password_route(request: Request, user_id: RowId, viewer: CsrfViewer) -> Response:
    """Give the user a one-time password (shown this once; she changes it at next login)."""
    with transaction(platform_of(request).sessions) as session:
        password = reset_password(session, viewer.actor, user_id)
    return _user_page(request, viewer, user_id, password=password)


@router.post("/admin/utenti/{user_id}/secondo-fattore/azzera", dependencies=allow(Action.ADMIN_USERS))
def reset_second_factor_route(request: Request, user_id: RowId, viewer: CsrfViewer) -> Response:
    """Switch off the user's second factor (lost phone and recovery codes)."""
    with transaction(platform_of(request).sessions) as session:
        reset_user_second_factor(session, viewer.actor, user_id)
    return _user_page(request, viewer, user_id, notice="Secondo fattore disattivato.")
