"""Partner registry, and form fields whose options come from it.

A form property marked `"x-inlav-options": "partners"` (optionally with
`"x-inlav-partner-kinds": ["cpi", ...]`) gets, when the form is served or a
submission validated, an `enum` of the active partners of the case's Ambito plus
the regional ones, and `x-inlav-labels` with their names for display.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import forms
from engine.clock import utcnow
from engine.errors import Conflict, NotFound
from engine.models import Ambito, Partner

KINDS: dict[str, str] = {
    "cpi": "Centro per l'impiego",
    "sai": "SAI (Sistema accoglienza e integrazione)",
    "cas": "CAS (Centro di accoglienza straordinaria)",
    "cpia": "CPIA",
    "servizi_sociali": "Servizi sociali",
    "sanitario": "Servizi sanitari",
    "antitratta": "Ente antitratta",
    "legale": "Assistenza legale / sindacato",
    "formazione": "Ente di formazione",
    "lavoro": "Agenzia per il lavoro / datore",
    "abitare": "Servizi per l'abitare",
    "terzo_settore": "Ente del terzo settore",
    "altro": "Altro",
}
OPTIONS_KEY = "x-inlav-options"


def add_partner(
    session: Session,
    code: str,
    name: str,
    kind: str,
    ambito: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> Partner:
    """Register a partner (regional when `ambito` is None)."""
    if kind not in KINDS:
        raise NotFound(f"Tipo di partner sconosciuto: {kind}")
    if ambito is not None and session.get(Ambito, ambito) is None:
        raise NotFound(f"Ambito sconosciuto: {ambito}")
    if session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise Conflict(f"Esiste già un partner con codice «{code}».")
    partner = Partner(
        code=code, name=name, kind=kind, ambito_code=ambito, email=email, phone=phone, active=True, created_at=utcnow()
    )
    session.add(partner)
    session.flush()
    return partner


def list_partners(session: Session, ambito: str | None, kinds: list[str] | None = None) -> list[Partner]:
    """Active partners of an Ambito plus regional ones, by name."""
    query = select(Partner).where(Partner.active.is_(True))
    query = query.where(or_(Partner.ambito_code.is_(None), Partner.ambito_code == ambito))
    if kinds:
        query = query.where(Partner.kind.in_(kinds))
    return list(session.scalars(query.order_by(Partner.name)))


def resolve_options(session: Session, schema: dict[str, Any], ambito: str | None) -> dict[str, Any]:
    """A copy of `schema` with registry-backed option lists filled in."""
    if not _mentions_options(schema):
        return schema
    cache: dict[tuple[str, ...], list[tuple[str, str]]] = {}

    def partner_options(prop: Mapping[str, Any]) -> list[tuple[str, str]] | None:
        if prop.get(OPTIONS_KEY) != "partners":
            return None
        kinds = tuple(prop.get("x-inlav-partner-kinds") or ())
        if kinds not in cache:
            cache[kinds] = [(p.code, p.name) for p in list_partners(session, ambito, list(kinds) or None)]
        return cache[kinds]

    return forms.fill_options(schema, partner_options)


def _mentions_options(node: Any) -> bool:
    if isinstance(node, dict):
        return OPTIONS_KEY in node or any(_mentions_options(v) for v in node.values())
    if isinstance(node, list):
        return any(_mentions_options(v) for v in node)
    return False
