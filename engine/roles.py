"""Professional roles of a PUA: BPMN lanes name them, people hold them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Role:
    """A role code, its Italian label and other names a diagram may use for its lane."""

    code: str
    label: str
    aliases: tuple[str, ...] = ()


ROLES: tuple[Role, ...] = (
    Role("operatore_contatto", "Operatore di contatto", ("operatore outreach", "operatore di strada")),
    Role("esperto_servizi_sociali", "Esperto servizi sociali", ("assistente sociale",)),
    Role(
        "esperto_politiche_lavoro",
        "Esperto politiche del lavoro / tutor",
        ("esperto politiche del lavoro", "tutor", "tutor lavorativo", "esperto politiche lavoro"),
    ),
    Role("consulente_legale", "Consulente legale", ()),
    Role("mediatore", "Mediatore linguistico-culturale", ("mediatore culturale", "mediatore linguistico")),
    Role("network_manager", "Network manager", ()),
    Role("direttore_pua", "Direttore PUA", ("responsabile pua", "direttore")),
    Role("scc", "Struttura di Coordinamento Centrale", ("coordinamento centrale",)),
)

ROLE_CODES = frozenset(r.code for r in ROLES)


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


_INDEX: dict[str, str] = {}
for _role in ROLES:
    for _name in (_role.code, _role.label, *_role.aliases):
        _INDEX[_normal(_name)] = _role.code


def role_for_lane(lane: str | None) -> str | None:
    """Role code a lane name stands for (by code, label or alias), or None if unknown."""
    if not lane:
        return None
    return _INDEX.get(_normal(lane))


def role_label(code: str | None) -> str:
    """Italian label of a role code."""
    for role in ROLES:
        if role.code == code:
            return role.label
    return code or "—"


@dataclass(frozen=True)
class Actor:
    """Who acts: a person with roles in some Ambiti, or the system (worker, CLI admin)."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    ambiti: frozenset[str] = field(default_factory=frozenset)
    regional: bool = False
    system: bool = False

    def may_work_in(self, ambito: str) -> bool:
        """Whether the actor may see and act on cases of an Ambito."""
        return self.system or self.regional or ambito in self.ambiti

    def holds(self, role: str | None) -> bool:
        """Whether the actor holds the role of a lane (tasks without a lane: anyone)."""
        return self.system or role is None or role in self.roles


SYSTEM = Actor("sistema", system=True)
