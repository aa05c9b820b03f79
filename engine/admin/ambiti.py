"""The Ambiti Territoriali Sociali: each is the scope of one PUA. Codes never change."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.matrix import Action, require
from engine.access.roles import Actor
from engine.admin.common import Errors
from engine.audit import record
from engine.clock import utcnow
from engine.errors import NotFound
from engine.models import Ambito, AppUser, Partner, UserRole

CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")


@dataclass
class AmbitoRow:
    """An Ambito as the list shows it: how many people work there and how many partners it has."""

    code: str
    name: str
    users: int
    partners: int


def list_ambiti(session: Session, actor: Actor) -> list[AmbitoRow]:
    """Every Ambito by name, with counts of active users and of partners."""
    require(actor, Action.ADMIN_AMBITI)
    users = dict(
        session.execute(
            select(UserRole.ambito_code, func.count(func.distinct(UserRole.user_id)))
            .join(AppUser, AppUser.id == UserRole.user_id)
            .where(UserRole.ambito_code.is_not(None), AppUser.is_active.is_(True))
            .group_by(UserRole.ambito_code)
        ).all()
    )
    partners = dict(
        session.execute(
            select(Partner.ambito_code, func.count())
            .where(Partner.ambito_code.is_not(None))
            .group_by(Partner.ambito_code)
        ).all()
    )
    return [
        AmbitoRow(a.code, a.name, users.get(a.code, 0), partners.get(a.code, 0))
        for a in session.scalars(select(Ambito).order_by(Ambito.name))
    ]


def ambito_names(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every Ambito by name, for choices in forms and filters."""
    return [(r.code, r.name) for r in session.execute(select(Ambito.code, Ambito.name).order_by(Ambito.name))]


def create_ambito(session: Session, actor: Actor, code: str, name: str) -> Ambito:
    """Register a new Ambito (its code is permanent)."""
    require(actor, Action.ADMIN_AMBITI)
    errors = Errors()
    code = (code or "").strip().upper()
    if not CODE.match(code):
        errors.add("code", "Codice non valido: da 2 a 32 tra lettere maiuscole, cifre e _, iniziando con una lettera.")
    elif session.get(Ambito, code) is not None:
        errors.add("code", f"L'Ambito {code} esiste già.")
    clean = errors.text("name", name, "Nome", 200, required=True)
    errors.raise_if_any()
    ambito = Ambito(code=code, name=clean or "", created_at=utcnow())
    session.add(ambito)
    session.flush()
    record(
        session,
        actor,
        "ambito.created",
        f"Creato l'Ambito {code} «{ambito.name}».",
        "ambito",
        code,
        code,
        after={"code": code, "name": ambito.name},
    )
    return ambito


def get_ambito(session: Session, actor: Actor, code: str) -> Ambito:
    """One Ambito."""
    require(actor, Action.ADMIN_AMBITI)
    ambito = session.get(Ambito, code)
    if ambito is None:
        raise NotFound(f"Ambito «{code}» non trovato.")
    return ambito


def rename_ambito(session: Session, actor: Actor, code: str, name: str) -> Ambito:
    """Change an Ambito's name (the code stays)."""
    ambito = get_ambito(session, actor, code)
    errors = Errors()
    clean = errors.text("name", name, "Nome", 200, required=True)
    errors.raise_if_any()
    if clean == ambito.name:
        return ambito
    before = ambito.name
    ambito.name = clean or ""
    session.flush()
    record(
        session,
        actor,
        "ambito.renamed",
        f"Rinominato l'Ambito {code}: «{before}» → «{ambito.name}».",
        "ambito",
        code,
        code,
        before={"name": before},
        after={"name": ambito.name},
    )
    return ambito
