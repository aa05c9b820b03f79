"""The partner registry: list with filters, register, edit, deactivate and reactivate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from engine import FormInvalid
from engine.access import Action
from engine.admin import (
    KINDS,
    REGIONAL,
    PartnerFields,
    PartnerFilter,
    ambito_names,
    create_partner,
    get_partner,
    list_partner_registry,
    set_partner_active,
    update_partner,
)
from engine.db import read_transaction, transaction
from web.params import RowId
from web.routes.admin.common import NOTICES, STATES, form_fields, go_to, page_number
from web.security import CsrfViewer, CurrentViewer, FormPairs, Viewer, allow, platform_of, safe_next, web_settings
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)


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
            pagina=page_number(params.get("pagina")),
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
    fields = form_fields(pairs)
    values = {k: fields.get(k, "") for k in PARTNER_FIELDS}
    platform = platform_of(request)
    try:
        with transaction(platform.sessions) as session:
            create_partner(session, viewer.actor, _partner_fields(values), values["code"])
    except FormInvalid as exc:
        with read_transaction(platform.sessions) as session:
            return _partner_form(request, session, values, None, exc.message, exc.errors, 422)
    return go_to(request, "/admin/partner?esito=creato")


@router.get("/admin/partner/{partner_id}", dependencies=allow(Action.ADMIN_PARTNERS))
def partner_page(request: Request, partner_id: RowId, viewer: CurrentViewer) -> Response:
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
def edit_partner(request: Request, partner_id: RowId, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Save a partner's details (the code does not change)."""
    fields = form_fields(pairs)
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
    return go_to(request, "/admin/partner?esito=modificato")


def _toggle_partner(
    request: Request, partner_id: int, viewer: Viewer, pairs: list[tuple[str, str]], active: bool
) -> Response:
    with transaction(platform_of(request).sessions) as session:
        set_partner_active(session, viewer.actor, partner_id, active)
    outcome = "riattivato" if active else "disattivato"
    path, _, query = safe_next(form_fields(pairs).get("next")).partition("?")
    if is_htmx(request) and path == "/admin/partner":
        # The button was in the list: answer with the same list, refreshed, and a notice.
        return _partners(request, viewer, PartnerQuery.from_params(dict(parse_qsl(query))), NOTICES[outcome])
    return go_to(request, f"/admin/partner?esito={outcome}")


@router.post("/admin/partner/{partner_id}/disattiva", dependencies=allow(Action.ADMIN_PARTNERS))
def deactivate_partner(request: Request, partner_id: RowId, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Deactivate a partner: forms stop offering it."""
    return _toggle_partner(request, partner_id, viewer, pairs, False)


@router.post("/admin/partner/{partner_id}/riattiva", dependencies=allow(Action.ADMIN_PARTNERS))
def reactivate_partner(request: Request, partner_id: RowId, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Reactivate a partner."""
    return _toggle_partner(request, partner_id, viewer, pairs, True)
