"""Roles of the PUA network: BPMN lanes name the professional ones, people hold them.

A role is either held *in an Ambito* (the operator professions, direttore PUA, SCC) or
*regionally* (regional coordination, auditor, regional monitor, administrator).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """What kind of work a role does (the columns of the permission matrix group by it)."""

    OPERATOR = "operatore"
    COORDINATOR = "coordinatore"
    REGIONAL = "regionale"


@dataclass(frozen=True)
class Role:
    """A role code, its Italian label, its kind, and other names a diagram may use for its lane."""

    code: str
    label: str
    kind: Kind
    aliases: tuple[str, ...] = ()

    @property
    def regional(self) -> bool:
        """Held for the whole region (True) or in one Ambito (False)."""
        return self.kind is Kind.REGIONAL


ROLES: tuple[Role, ...] = (
    Role("operatore_contatto", "Operatore di contatto", Kind.OPERATOR, ("operatore outreach", "operatore di strada")),
    Role("esperto_servizi_sociali", "Esperto servizi sociali", Kind.OPERATOR, ("assistente sociale",)),
    Role(
        "esperto_politiche_lavoro",
        "Esperto politiche del lavoro / tutor",
        Kind.OPERATOR,
        ("esperto politiche del lavoro", "tutor", "tutor lavorativo", "esperto politiche lavoro"),
    ),
    Role("consulente_legale", "Consulente legale", Kind.OPERATOR),
    Role(
        "mediatore", "Mediatore linguistico-culturale", Kind.OPERATOR, ("mediatore culturale", "mediatore linguistico")
    ),
    Role("network_manager", "Network manager", Kind.OPERATOR),
    Role("direttore_pua", "Direttore PUA", Kind.COORDINATOR, ("responsabile pua", "direttore")),
    Role("scc", "Struttura di Coordinamento Centrale", Kind.COORDINATOR, ("coordinamento centrale",)),
    Role("coordinamento_regionale", "Coordinamento regionale", Kind.REGIONAL, ("regione",)),
    Role("revisore", "Revisore (auditor)", Kind.REGIONAL, ("auditor",)),
    Role("monitoraggio_regionale", "Monitoraggio regionale", Kind.REGIONAL, ("monitor regionale",)),
    Role("amministratore", "Amministratore", Kind.REGIONAL, ("admin",)),
)

ROLE_CODES = frozenset(r.code for r in ROLES)
BY_CODE: dict[str, Role] = {r.code: r for r in ROLES}
# Roles a BPMN lane may stand for: only people who work cases hold tasks.
LANE_ROLES = frozenset(r.code for r in ROLES if r.kind is not Kind.REGIONAL)


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


_INDEX: dict[str, str] = {}
for _role in ROLES:
    if _role.code in LANE_ROLES:
        for _name in (_role.code, _role.label, *_role.aliases):
            _INDEX[_normal(_name)] = _role.code


def role_for_lane(lane: str | None) -> str | None:
    """Role code a lane name stands for (by code, label or alias), or None if unknown."""
    if not lane:
        return None
    return _INDEX.get(_normal(lane))


def role_label(code: str | None) -> str:
    """Italian label of a role code."""
    role = BY_CODE.get(code or "")
    return role.label if role else (code or "—")


Grant = tuple[str, str | None]
"""(role code, Ambito code) — the Ambito is None for regional roles."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a person with role grants (role, Ambito), or the system (worker, installation).

    `roles`/`ambiti`/`regional` are the short form used by scripts and tests: every role
    in every listed Ambito (or, with `regional`, in the whole region). `grants` is the
    exact form; when it is given the short form is derived from it.
    """

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    ambiti: frozenset[str] = field(default_factory=frozenset)
    regional: bool = False
    system: bool = False
    grants: frozenset[Grant] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        grants = set(self.grants)
        if not grants and self.roles:
            for role in self.roles:
                if self.regional or (role in BY_CODE and BY_CODE[role].regional):
                    grants.add((role, None))
                else:
                    grants.update((role, a) for a in self.ambiti)
        object.__setattr__(self, "grants", frozenset(grants))
        if grants:
            object.__setattr__(self, "roles", frozenset(r for r, _ in grants))
            object.__setattr__(self, "ambiti", frozenset(a for _, a in grants if a is not None))
            object.__setattr__(self, "regional", any(a is None for _, a in grants))

    def holds(self, role: str | None, ambito: str | None = None) -> bool:
        """Whether the actor holds a lane's role (in that Ambito when given; no lane: anyone)."""
        if self.system or role is None:
            return True
        return any(r == role and (a is None or ambito is None or a == ambito) for r, a in self.grants)


SYSTEM = Actor("sistema", system=True)


# Groups the setting INLAV_REQUIRE_2FA_FOR names (comma-separated): whose accounts must
# have a second factor.
SECOND_FACTOR_GROUPS: dict[str, frozenset[str]] = {
    "amministratori": frozenset({"amministratore"}),
    "coordinatori": frozenset({"direttore_pua", "scc", "coordinamento_regionale"}),
    "operatori": frozenset(r.code for r in ROLES if r.kind is Kind.OPERATOR),
    "regionali": frozenset(r.code for r in ROLES if r.kind is Kind.REGIONAL),
    "tutti": frozenset(r.code for r in ROLES),
}


def roles_requiring_second_factor(setting: str) -> frozenset[str]:
    """The role codes the setting makes a second factor compulsory for (ValueError on an unknown group)."""
    roles: set[str] = set()
    for raw in setting.split(","):
        group = raw.strip().lower()
        if not group:
            continue
        if group not in SECOND_FACTOR_GROUPS:
            known = ", ".join(SECOND_FACTOR_GROUPS)
            raise ValueError(f"INLAV_REQUIRE_2FA_FOR: unknown group {group!r} (known: {known})")
        roles |= SECOND_FACTOR_GROUPS[group]
    return frozenset(roles)
