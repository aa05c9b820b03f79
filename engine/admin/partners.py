"""The partner registry: the territorial network each PUA refers people to.

Administrators register partners per Ambito (or regionally), keep their contacts and
deactivate them when the collaboration ends; forms list the active ones
(`engine.partners`). A partner's code never changes: case data refers to it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from engine.access.matrix import Action, require
from engine.access.roles import SYSTEM, Actor
from engine.admin.common import Errors
from engine.audit import record
from engine.clock import utcnow
from engine.errors import NotFound
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
REGIONAL = "-"
"""The Ambito filter value that means "regional partners only"."""
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,63}$")
LOGGED = ("name", "kind", "ambito", "email", "phone", "contact_person", "address", "notes", "active")
PARTNER_NOT_FOUND = "Partner non trovato."


@dataclass
class PartnerFields:
    """What the partner form edits (everything but the code)."""

    name: str = ""
    kind: str = ""
    ambito: str | None = None
    email: str | None = None
    phone: str | None = None
    contact_person: str | None = None
    address: str | None = None
    notes: str | None = None


@dataclass
class PartnerFilter:
    """Filters of the registry page: Ambito (REGIONAL for regional ones), kind, active, text."""

    ambito: str | None = None
    kind: str | None = None
    active: bool | None = None
    text: str | None = None


def _snapshot(partner: Partner) -> dict[str, Any]:
    values = {
        "name": partner.name,
        "kind": partner.kind,
        "ambito": partner.ambito_code,
        "email": partner.email,
        "phone": partner.phone,
        "contact_person": partner.contact_person,
        "address": partner.address,
        "notes": partner.notes,
        "active": partner.active,
    }
    return {k: values[k] for k in LOGGED}


def _changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def suggest_code(name: str, ambito: str | None) -> str:
    """A code for a new partner from its Ambito and name (`MILANO-CARITAS-AMBROSIANA`)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    words = re.findall(r"[A-Z0-9]+", ascii_name)
    stem = "-".join(w for w in words if len(w) > 2)[:40] or "PARTNER"
    return f"{ambito or 'REG'}-{stem}"[:64]


def _check(session: Session, fields: PartnerFields, errors: Errors) -> PartnerFields:
    name = errors.text("name", fields.name, "Nome", 200, required=True)
    kind = (fields.kind or "").strip()
    if kind not in KINDS:
        errors.add("kind", "Scegliere il tipo di partner.")
    ambito = (fields.ambito or "").strip() or None
    if ambito is not None and session.get(Ambito, ambito) is None:
        errors.add("ambito", f"Ambito sconosciuto: {ambito}.")
    return PartnerFields(
        name=name or "",
        kind=kind,
        ambito=ambito,
        email=errors.email("email", fields.email),
        phone=errors.phone("phone", fields.phone),
        contact_person=errors.text("contact_person", fields.contact_person, "Referente", 200),
        address=errors.text("address", fields.address, "Indirizzo", 300),
        notes=errors.text("notes", fields.notes, "Note", 2000),
    )


def create_partner(session: Session, actor: Actor, fields: PartnerFields, code: str | None = None) -> Partner:
    """Register a partner (regional when no Ambito); the code is suggested from the name if not given."""
    require(actor, Action.ADMIN_PARTNERS)
    errors = Errors()
    clean = _check(session, fields, errors)
    wanted = (code or "").strip().upper()
    if not wanted:
        wanted = suggest_code(clean.name, clean.ambito)
        taken = set(session.scalars(select(Partner.code).where(Partner.code.like(f"{wanted}%"))))
        wanted = next(c for c in (wanted, *(f"{wanted}-{n}" for n in range(2, 1000))) if c not in taken)
    if not CODE.match(wanted):
        errors.add("code", "Codice non valido: da 2 a 64 tra lettere maiuscole, cifre, - e _.")
    elif session.scalar(select(Partner.id).where(Partner.code == wanted)) is not None:
        errors.add("code", f"Esiste già un partner con codice «{wanted}».")
    errors.raise_if_any()
    partner = Partner(
        code=wanted,
        name=clean.name,
        kind=clean.kind,
        ambito_code=clean.ambito,
        email=clean.email,
        phone=clean.phone,
        contact_person=clean.contact_person,
        address=clean.address,
        notes=clean.notes,
        active=True,
        created_at=utcnow(),
    )
    session.add(partner)
    session.flush()
    record(
        session,
        actor,
        "partner.created",
        f"Registrato il partner «{partner.name}» ({KINDS[partner.kind]}).",
        "partner",
        partner.code,
        partner.ambito_code,
        after=_snapshot(partner),
    )
    return partner


def add_partner(
    session: Session,
    code: str,
    name: str,
    kind: str,
    ambito: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    actor: Actor = SYSTEM,
) -> Partner:
    """Register a partner with a given code (installation, demo and test data; logged as the actor)."""
    return create_partner(session, actor, PartnerFields(name, kind, ambito, email, phone), code)


def get_partner(session: Session, actor: Actor, partner_id: int) -> Partner:
    """One partner of the registry."""
    require(actor, Action.ADMIN_PARTNERS)
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(PARTNER_NOT_FOUND)
    return partner


def update_partner(session: Session, actor: Actor, partner_id: int, fields: PartnerFields) -> Partner:
    """Change a partner's name, kind, Ambito and contacts (not its code)."""
    partner = get_partner(session, actor, partner_id)
    errors = Errors()
    clean = _check(session, fields, errors)
    errors.raise_if_any()
    before = _snapshot(partner)
    partner.name = clean.name
    partner.kind = clean.kind
    partner.ambito_code = clean.ambito
    partner.email = clean.email
    partner.phone = clean.phone
    partner.contact_person = clean.contact_person
    partner.address = clean.address
    partner.notes = clean.notes
    session.flush()
    old, new = _changed(before, _snapshot(partner))
    if new:
        record(
            session,
            actor,
            "partner.updated",
            f"Modificato il partner «{partner.name}»: {', '.join(new)}.",
            "partner",
            partner.code,
            partner.ambito_code,
            before=old,
            after=new,
        )
    return partner


def set_partner_active(session: Session, actor: Actor, partner_id: int, active: bool) -> Partner:
    """Deactivate a partner (forms stop offering it; cases that name it keep it) or reactivate it."""
    partner = get_partner(session, actor, partner_id)
    if partner.active == active:
        return partner
    partner.active = active
    session.flush()
    verb = "Riattivato" if active else "Disattivato"
    record(
        session,
        actor,
        "partner.reactivated" if active else "partner.deactivated",
        f"{verb} il partner «{partner.name}».",
        "partner",
        partner.code,
        partner.ambito_code,
        before={"active": not active},
        after={"active": active},
    )
    return partner


def _filtered(flt: PartnerFilter) -> Select[Partner]:
    query = select(Partner)
    if flt.ambito == REGIONAL:
        query = query.where(Partner.ambito_code.is_(None))
    elif flt.ambito:
        query = query.where(Partner.ambito_code == flt.ambito)
    if flt.kind:
        query = query.where(Partner.kind == flt.kind)
    if flt.active is not None:
        query = query.where(Partner.active.is_(flt.active))
    if flt.text:
        like = f"%{flt.text.lower()}%"
        query = query.where(or_(func.lower(Partner.name).like(like), func.lower(Partner.code).like(like)))
    return query


def list_partner_registry(
    session: Session, actor: Actor, flt: PartnerFilter | None = None, limit: int = 25, offset: int = 0
) -> tuple[list[Partner], int]:
    """A page of the registry (regional first, then by Ambito and name) and the total."""
    require(actor, Action.ADMIN_PARTNERS)
    query = _filtered(flt or PartnerFilter())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Partner.ambito_code.is_not(None), Partner.ambito_code, Partner.name).limit(limit).offset(offset)
    )
    return list(rows), total
