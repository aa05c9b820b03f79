"""Form fields whose options come from the partner registry.

A form property marked `"x-inlav-options": "partners"` (optionally with
`"x-inlav-partner-kinds": ["cpi", ...]`) gets, when the form is served or a
submission validated, an `enum` of the active partners of the case's Ambito plus
the regional ones, and `x-inlav-labels` with their names for display. The registry
itself is kept by the administrators (`engine.admin.partners`); the workflow core only
reads it, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import forms
from engine.models import Partner

OPTIONS_KEY = "x-inlav-options"


def active_partners(session: Session, ambito: str | None, kinds: list[str] | None = None) -> list[Partner]:
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
            cache[kinds] = [(p.code, p.name) for p in active_partners(session, ambito, list(kinds) or None)]
        return cache[kinds]

    return forms.fill_options(schema, partner_options)


def _mentions_options(node: Any) -> bool:
    if isinstance(node, dict):
        return OPTIONS_KEY in node or any(_mentions_options(v) for v in node.values())
    if isinstance(node, list):
        return any(_mentions_options(v) for v in node)
    return False
