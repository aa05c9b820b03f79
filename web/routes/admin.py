"""Administration pages: users and roles, Ambiti, the partner registry, settings.

Thin: parse the form, call `engine.admin`, render. Every change is checked and logged by
the engine. The administrator sees no case data: at most the code and title of the tasks
a deactivated colleague had taken, which go back to her team.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from engine import ROLES, Conflict, FormInvalid
from engine.access import Action
from engine.admin import (
    KINDS,
    LOCALES,
    REGIONAL,
    SETTINGS,
    PartnerFields,
    PartnerFilter,
    UserFilter,
    add_user,
    ambito_names,
    change_settings,
    create_ambito,
    create_partner,
    deactivate_user,
    deactivation_preview,
    get_partner,
    grant_user_role,
    list_ambiti,
    list_partner_registry,
    list_users,
    reactivate_user,
    rename_ambito,
    reset_password,
    revoke_user_role,
    set_partner_active,
    set_targets_for_year,
    setting_values,
    targets_for_year,
    update_partner,
    update_user,
    user_detail,
)
from engine.db import read_transaction, transaction
from web.security import CsrfViewer, CurrentViewer, FormPairs, Viewer, allow, platform_of, safe_next, web_settings
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)

STATES = {"attivi": True, "disattivati": False}
NOTICES = {
    "creato": "Partner registrato.",
    "modificato": "Modifiche salvate.",
    "disattivato": "Partner disattivato: i moduli non lo propongono più; i casi che lo citano lo conservano.",
    "riattivato": "Partner riattivato.",
    "utente-riattivato": "Utente riattivato: può accedere di nuovo con i ruoli che ha.",
}


def _fields(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """First value of each submitted field."""
    found: dict[str, str] = {}
    for key, value in pairs:
        found.setdefault(key, value)
    return found


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 100_000 else 1


def _go(request: Request, target: str) -> Response:
    """After a change: the browser goes to `target` (htmx follows the redirect too)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _role_choices() -> list[tuple[str, str]]:
    return [(r.code, r.label + ("" if not r.regional else " (regionale)")) for r in ROLES]


# --------------------------------------------------------------------------- users


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
            pagina=_page_number(params.get("pagina")),
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
                "roles": _role_choices(),
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
            "roles": _role_choices(),
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
    fields = _fields(pairs)
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
                password=password or None,
                locale=values["locale"] or "it",
            )
            if password is not None and not password:
                raise FormInvalid("Il modulo contiene 1 errore.", {"password": ["Scrivere la password iniziale."]})
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
        "roles": _role_choices(),
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
def user_page(request: Request, user_id: int, viewer: CurrentViewer) -> Response:
    """A user: profile, roles per Ambito, password, deactivation."""
    notice = NOTICES.get(request.query_params.get("esito", ""))
    return _user_page(request, viewer, user_id, notice=notice)


@router.post("/admin/utenti/{user_id}", dependencies=allow(Action.ADMIN_USERS))
def edit_user(request: Request, user_id: int, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Change name, email and language."""
    fields = _fields(pairs)
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
def grant_role_route(request: Request, user_id: int, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Give the user a role in an Ambito (or regionally)."""
    fields = _fields(pairs)
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
def revoke_role_route(request: Request, user_id: int, grant_id: int, viewer: CsrfViewer) -> Response:
    """Take a role away from the user."""
    with transaction(platform_of(request).sessions) as session:
        revoke_user_role(session, viewer.actor, user_id, grant_id)
    return _user_page(request, viewer, user_id, partial="admin/partials/user_roles.html", notice="Ruolo revocato.")


@router.get("/admin/utenti/{user_id}/disattiva", dependencies=allow(Action.ADMIN_USERS))
def confirm_deactivation(request: Request, user_id: int, viewer: CurrentViewer) -> Response:
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
def deactivate(request: Request, user_id: int, viewer: CsrfViewer) -> Response:
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
def reactivate(request: Request, user_id: int, viewer: CsrfViewer) -> Response:
    """Reactivate a deactivated account."""
    with transaction(platform_of(request).sessions) as session:
        reactivate_user(session, viewer.actor, user_id)
    return _go(request, f"/admin/utenti/{user_id}?esito=utente-riattivato")


@router.post("/admin/utenti/{user_id}/password", dependencies=allow(Action.ADMIN_USERS))
def reset_password_route(request: Request, user_id: int, viewer: CsrfViewer) -> Response:
    """Give the user a one-time password (shown this once; she changes it at next login)."""
    with transaction(platform_of(request).sessions) as session:
        password = reset_password(session, viewer.actor, user_id)
    return _user_page(request, viewer, user_id, password=password)


# --------------------------------------------------------------------------- Ambiti


def _ambiti_page(
    request: Request,
    viewer: Viewer,
    status: int = 200,
    new: dict[str, str] | None = None,
    error: str | None = None,
    errors: dict[str, list[str]] | None = None,
    renaming: tuple[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    with read_transaction(platform_of(request).sessions) as session:
        rows = list_ambiti(session, viewer.actor)
        return render(
            request,
            "admin/ambiti.html",
            {
                "rows": rows,
                "new": new or {},
                "error": error,
                "errors": errors or {},
                "renaming": renaming,
                "notice": notice,
            },
            partial="admin/partials/ambito_list.html",
            status_code=status,
        )


@router.get("/admin/ambiti", dependencies=allow(Action.ADMIN_AMBITI))
def ambiti(request: Request, viewer: CurrentViewer) -> Response:
    """The Ambiti, with a form to add one."""
    return _ambiti_page(request, viewer)


@router.post("/admin/ambiti", dependencies=allow(Action.ADMIN_AMBITI))
def add_ambito(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Create an Ambito (its code is permanent)."""
    fields = _fields(pairs)
    new = {"code": fields.get("code", ""), "name": fields.get("name", "")}
    try:
        with transaction(platform_of(request).sessions) as session:
            ambito = create_ambito(session, viewer.actor, new["code"], new["name"])
            code = ambito.code
    except FormInvalid as exc:
        return _ambiti_page(request, viewer, 422, new=new, error=exc.message, errors=exc.errors)
    return _ambiti_page(request, viewer, 201, notice=f"Ambito {code} creato.")


@router.post("/admin/ambiti/{code}", dependencies=allow(Action.ADMIN_AMBITI))
def rename(request: Request, code: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Rename an Ambito."""
    name = _fields(pairs).get("name", "")
    try:
        with transaction(platform_of(request).sessions) as session:
            rename_ambito(session, viewer.actor, code, name)
    except FormInvalid as exc:
        return _ambiti_page(
            request,
            viewer,
            422,
            error=exc.message,
            errors={f"name-{code}": exc.errors.get("name", [])},
            renaming=(code, name),
        )
    return _ambiti_page(request, viewer, notice=f"Ambito {code} rinominato.")


# --------------------------------------------------------------------------- partners


@dataclass
class PartnerQuery:
    """The registry filters as they appear in the address bar."""

    ambito: str = ""
    tipo: str = ""
    stato: str = ""
    q: str = ""
    pagina: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> PartnerQuery:
        return cls(
            ambito=params.get("ambito", "").strip()[:32],
            tipo=params.get("tipo", "") if params.get("tipo") in KINDS else "",
            stato=params.get("stato", "") if params.get("stato") in STATES else "",
            q=params.get("q", "").strip()[:100],
            pagina=_page_number(params.get("pagina")),
        )

    def filter(self) -> PartnerFilter:
        return PartnerFilter(
            ambito=self.ambito or None, kind=self.tipo or None, active=STATES.get(self.stato), text=self.q or None
        )

    def url(self, **changes: object) -> str:
        values = {**self.__dict__, **changes}
        params = {k: v for k, v in values.items() if v not in ("", None) and not (k == "pagina" and v == 1)}
        return "/admin/partner" + (f"?{urlencode(params)}" if params else "")


@router.get("/admin/partner", dependencies=allow(Action.ADMIN_PARTNERS))
def partners(request: Request, viewer: CurrentViewer) -> Response:
    """The partner registry, by Ambito, kind and state."""
    query = PartnerQuery.from_params(request.query_params)
    return _partners(request, viewer, query, NOTICES.get(request.query_params.get("esito", "")))


def _partners(request: Request, viewer: Viewer, query: PartnerQuery, notice: str | None) -> Response:
    size = web_settings(request).page_size
    with read_transaction(platform_of(request).sessions) as session:
        rows, total = list_partner_registry(session, viewer.actor, query.filter(), size, (query.pagina - 1) * size)
        return render(
            request,
            "admin/partners.html",
            {
                "rows": rows,
                "total": total,
                "query": query,
                "pages": max(1, (total + size - 1) // size),
                "ambiti": ambito_names(session),
                "kinds": KINDS,
                "regional": REGIONAL,
                "states": STATES,
                "notice": notice,
            },
            partial="admin/partials/partner_results.html",
            headers={"HX-Push-Url": query.url()},
        )


PARTNER_FIELDS = ("code", "name", "kind", "ambito", "email", "phone", "contact_person", "address", "notes")


def _partner_form(
    request: Request,
    session: Session,
    values: dict[str, str],
    partner_id: int | None,
    error: str | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "admin/partner_form.html",
        {
            "values": values,
            "partner_id": partner_id,
            "error": error,
            "errors": errors or {},
            "ambiti": ambito_names(session),
            "kinds": KINDS,
        },
        partial="admin/partials/partner_form.html",
        status_code=status,
    )


def _partner_fields(values: dict[str, str]) -> PartnerFields:
    return PartnerFields(
        name=values["name"],
        kind=values["kind"],
        ambito=values["ambito"] or None,
        email=values["email"],
        phone=values["phone"],
        contact_person=values["contact_person"],
        address=values["address"],
        notes=values["notes"],
    )


@router.get("/admin/partner/nuovo", dependencies=allow(Action.ADMIN_PARTNERS))
def new_partner(request: Request, viewer: CurrentViewer) -> Response:
    """The form that registers a partner."""
    ambito = request.query_params.get("ambito", "")
    with read_transaction(platform_of(request).sessions) as session:
        values = dict.fromkeys(PARTNER_FIELDS, "") | {"ambito": "" if ambito == REGIONAL else ambito}
        return _partner_form(request, session, values, None)


@router.post("/admin/partner", dependencies=allow(Action.ADMIN_PARTNERS))
def add_partner_route(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Register a partner."""
    fields = _fields(pairs)
    values = {k: fields.get(k, "") for k in PARTNER_FIELDS}
    platform = platform_of(request)
    try:
        with transaction(platform.sessions) as session:
            create_partner(session, viewer.actor, _partner_fields(values), values["code"])
    except FormInvalid as exc:
        with read_transaction(platform.sessions) as session:
            return _partner_form(request, session, values, None, exc.message, exc.errors, 422)
    return _go(request, "/admin/partner?esito=creato")


@router.get("/admin/partner/{partner_id}", dependencies=allow(Action.ADMIN_PARTNERS))
def partner_page(request: Request, partner_id: int, viewer: CurrentViewer) -> Response:
    """A partner's details, to edit."""
    with read_transaction(platform_of(request).sessions) as session:
        partner = get_partner(session, viewer.actor, partner_id)
        values = {
            "code": partner.code,
            "name": partner.name,
            "kind": partner.kind,
            "ambito": partner.ambito_code or "",
            "email": partner.email or "",
            "phone": partner.phone or "",
            "contact_person": partner.contact_person or "",
            "address": partner.address or "",
            "notes": partner.notes or "",
            "active": "1" if partner.active else "",
        }
        return _partner_form(request, session, values, partner.id)


@router.post("/admin/partner/{partner_id}", dependencies=allow(Action.ADMIN_PARTNERS))
def edit_partner(request: Request, partner_id: int, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Save a partner's details (the code does not change)."""
    fields = _fields(pairs)
    values = {k: fields.get(k, "") for k in PARTNER_FIELDS}
    platform = platform_of(request)
    try:
        with transaction(platform.sessions) as session:
            partner = update_partner(session, viewer.actor, partner_id, _partner_fields(values))
            values["code"], values["active"] = partner.code, "1" if partner.active else ""
    except FormInvalid as exc:
        with read_transaction(platform.sessions) as session:
            partner = get_partner(session, viewer.actor, partner_id)
            values["code"], values["active"] = partner.code, "1" if partner.active else ""
            return _partner_form(request, session, values, partner_id, exc.message, exc.errors, 422)
    return _go(request, "/admin/partner?esito=modificato")


def _toggle_partner(
    request: Request, partner_id: int, viewer: Viewer, pairs: list[tuple[str, str]], active: bool
) -> Response:
    with transaction(platform_of(request).sessions) as session:
        set_partner_active(session, viewer.actor, partner_id, active)
    outcome = "riattivato" if active else "disattivato"
    path, _, query = safe_next(_fields(pairs).get("next")).partition("?")
    if is_htmx(request) and path == "/admin/partner":
        # The button was in the list: answer with the same list, refreshed, and a notice.
        return _partners(request, viewer, PartnerQuery.from_params(dict(parse_qsl(query))), NOTICES[outcome])
    return _go(request, f"/admin/partner?esito={outcome}")


@router.post("/admin/partner/{partner_id}/disattiva", dependencies=allow(Action.ADMIN_PARTNERS))
def deactivate_partner(request: Request, partner_id: int, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Deactivate a partner: forms stop offering it."""
    return _toggle_partner(request, partner_id, viewer, pairs, False)


@router.post("/admin/partner/{partner_id}/riattiva", dependencies=allow(Action.ADMIN_PARTNERS))
def reactivate_partner(request: Request, partner_id: int, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Reactivate a partner."""
    return _toggle_partner(request, partner_id, viewer, pairs, True)


# --------------------------------------------------------------------------- settings

TARGET_FIELDS = ("intercepted_min", "intercepted_max", "taken_min", "taken_max")


def _year(value: str | None) -> int:
    this = date.today().year
    return int(value) if value and value.isdigit() and 2020 <= int(value) <= 2100 else this


def _settings_page(
    request: Request,
    viewer: Viewer,
    year: int,
    status: int = 200,
    partial: str | None = None,
    **extra: object,
) -> Response:
    with read_transaction(platform_of(request).sessions) as session:
        rows = targets_for_year(session, year)
        stored = {
            code: {
                "intercepted_min": t.intercepted.low,
                "intercepted_max": t.intercepted.high,
                "taken_min": t.taken_in_charge.low,
                "taken_max": t.taken_in_charge.high,
            }
            for code, _name, t in rows
            if t is not None
        }
        context = {
            "year": year,
            "years": list(range(date.today().year - 2, date.today().year + 3)),
            "rows": rows,
            "targets": stored,
            "target_errors": {},
            "target_error": None,
            "target_notice": None,
            "settings": SETTINGS,
            "values": setting_values(session),
            "errors": {},
            "error": None,
            "notice": None,
            **extra,
        }
        return render(
            request,
            "admin/settings.html",
            context,
            partial=partial or "admin/partials/settings_body.html",
            status_code=status,
        )


@router.get("/admin/impostazioni", dependencies=allow(Action.ADMIN_SETTINGS))
def settings(request: Request, viewer: CurrentViewer) -> Response:
    """Annual targets of the PUAs (by year) and global settings."""
    return _settings_page(request, viewer, _year(request.query_params.get("anno")))


@router.post("/admin/impostazioni/obiettivi", dependencies=allow(Action.ADMIN_SETTINGS))
def save_targets(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Save the targets of every Ambito for one year (rows left empty stay unset)."""
    fields = _fields(pairs)
    year = _year(fields.get("anno"))
    typed: dict[str, dict[str, str]] = {}
    for key, value in pairs:
        match = re.fullmatch(r"t\.([A-Z0-9_]{1,32})\.(intercepted_min|intercepted_max|taken_min|taken_max)", key)
        if match:
            typed.setdefault(match.group(1), {})[match.group(2)] = value.strip()
    try:
        with transaction(platform_of(request).sessions) as session:
            changed = set_targets_for_year(session, viewer.actor, year, typed)
    except FormInvalid as exc:
        return _settings_page(
            request,
            viewer,
            year,
            422,
            "admin/partials/targets_form.html",
            targets=typed,
            target_errors=exc.errors,
            target_error=exc.message,
        )
    notice = f"Obiettivi {year} salvati ({len(changed)} Ambiti modificati)."
    return _settings_page(request, viewer, year, partial="admin/partials/targets_form.html", target_notice=notice)


@router.post("/admin/impostazioni", dependencies=allow(Action.ADMIN_SETTINGS))
def save_settings(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Save the global settings."""
    fields = _fields(pairs)
    year = _year(fields.get("anno"))
    values = {s.key: fields.get(s.key, "") for s in SETTINGS}
    try:
        with transaction(platform_of(request).sessions) as session:
            changed = change_settings(session, viewer.actor, values)
    except (FormInvalid, Conflict) as exc:
        errors = exc.errors if isinstance(exc, FormInvalid) else {}
        return _settings_page(
            request,
            viewer,
            year,
            422,
            "admin/partials/settings_form.html",
            values=values,
            errors=errors,
            error=exc.message,
        )
    notice = "Impostazioni salvate." if changed else "Nessuna modifica."
    return _settings_page(request, viewer, year, partial="admin/partials/settings_form.html", notice=notice)
