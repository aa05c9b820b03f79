"""The studio home: which processes an Ambito runs, their versions and the cases on each.

For one Ambito the catalogue holds every process of the regional base model and every
variant the Ambito published; for the region (no Ambito) it holds the base alone and,
per process, which Ambiti have a variant. Everything is computed from the stored
definitions and cases at the moment of asking, in a fixed number of queries whatever the
number of processes (running cases are counted by one grouped query).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.access.matrix import Action, ambiti_for, permits, permits_in, require
from engine.access.roles import Actor
from engine.errors import NotFound
from engine.models import Ambito, Bundle, ProcessDefinition, ProcessInstance

FINISHED = ("completed",)
"""Case statuses that no longer run on their version (a case in error still does)."""


@dataclass(frozen=True)
class Version:
    """One published version of a process, for the region (ambito None) or one Ambito."""

    definition_id: int
    process_key: str
    name: str
    version: int
    ambito: str | None
    published_at: datetime
    published_by: str
    note: str | None
    running: int
    """Cases not yet concluded that started on it (in the Ambito shown; region: in every Ambito)."""

    @property
    def regional(self) -> bool:
        """A version of the regional base model (not an Ambito's variant)."""
        return self.ambito is None


@dataclass
class ProcessEntry:
    """A process as the studio shows it: base versions, the Ambito's variant, what new cases get."""

    key: str
    name: str
    base: list[Version] = field(default_factory=list)
    """Versions of the regional base model, newest first."""
    variant: list[Version] = field(default_factory=list)
    """Versions of the Ambito's own variant, newest first (none in the regional view)."""
    variants_elsewhere: dict[str, int] = field(default_factory=dict)
    """Regional view only: Ambito code → latest version of its variant."""

    @property
    def current(self) -> Version | None:
        """The version a new case gets today: the Ambito's latest variant, else the latest base."""
        if self.variant:
            return self.variant[0]
        return self.base[0] if self.base else None

    @property
    def running(self) -> int:
        """Cases not yet concluded on any version shown."""
        return sum(v.running for v in (*self.base, *self.variant))

    @property
    def versions(self) -> list[Version]:
        """Every version shown, the variant's first."""
        return [*self.variant, *self.base]


@dataclass
class Catalogue:
    """The studio home of one Ambito (or of the region, `ambito` None) for one person."""

    ambito: str | None
    ambito_name: str
    processes: list[ProcessEntry]
    readable: list[tuple[str, str]]
    """(code, name) of the Ambiti whose studio the person may open (the switcher)."""
    regional_reader: bool
    """She may open the regional view (a regional grant)."""
    can_edit: bool
    """She may edit and publish here: the Ambito's variants, or (regional view) the base."""
    can_edit_base: bool
    """She may edit and publish the regional base model."""

    def get(self, key: str) -> ProcessEntry | None:
        """The entry of a process, if the catalogue holds it."""
        return next((p for p in self.processes if p.key == key), None)


REGION_NAME = "Regione (modello di base)"


def studio_ambiti(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of the Ambiti whose processes the actor may read, by name."""
    require(actor, Action.PROCESS_READ)
    reach = ambiti_for(actor, Action.PROCESS_READ)
    query = select(Ambito.code, Ambito.name).order_by(Ambito.name)
    if reach is not None:
        query = query.where(Ambito.code.in_(sorted(reach)))
    return [(code, name) for code, name in session.execute(query)]


def default_scope(session: Session, actor: Actor) -> str | None:
    """Where the studio opens: the region for regional readers, else her first Ambito (by name)."""
    if permits_in(actor, Action.PROCESS_READ, None):
        return None
    readable = studio_ambiti(session, actor)
    if not readable:
        raise NotFound("Nessun Ambito di cui consultare i processi.")
    return readable[0][0]


def check_scope(session: Session, actor: Actor, ambito: str | None) -> str:
    """The display name of the scope, or NotFound if the actor may not read it (or it does not exist).

    An Ambito she may not read answers like an unknown one; the regional view needs a regional grant.
    """
    require(actor, Action.PROCESS_READ)
    if ambito is None:
        if not permits_in(actor, Action.PROCESS_READ, None):
            raise NotFound("La vista regionale dei processi non è disponibile per il tuo ruolo.")
        return REGION_NAME
    name = session.scalar(select(Ambito.name).where(Ambito.code == ambito))
    if name is None or not permits(actor, Action.PROCESS_READ, ambito):
        raise NotFound(f"Ambito «{ambito}» non trovato.")
    return name


def catalogue(session: Session, actor: Actor, ambito: str | None, key: str | None = None) -> Catalogue:
    """The studio home of an Ambito (None: the regional base) as the actor may see it.

    With `key`, only that process is loaded (the process page); NotFound if the scope has none.
    """
    name = check_scope(session, actor, ambito)
    processes = _entries(session, ambito, key)
    if key is not None and not processes:
        raise NotFound(f"Processo «{key}» non trovato.")
    return Catalogue(
        ambito=ambito,
        ambito_name=name,
        processes=processes,
        readable=studio_ambiti(session, actor),
        regional_reader=permits_in(actor, Action.PROCESS_READ, None),
        can_edit=permits_in(actor, Action.PROCESS_EDIT, ambito),
        can_edit_base=permits_in(actor, Action.PROCESS_EDIT, None),
    )


def _entries(session: Session, ambito: str | None, key: str | None) -> list[ProcessEntry]:
    """Base and (for an Ambito) variant versions with their running cases, by process name."""
    scope = (
        ProcessDefinition.ambito_code.is_(None)
        if ambito is None
        else or_(ProcessDefinition.ambito_code.is_(None), ProcessDefinition.ambito_code == ambito)
    )
    query = (
        select(
            ProcessDefinition.id,
            ProcessDefinition.process_key,
            ProcessDefinition.name,
            ProcessDefinition.version,
            ProcessDefinition.ambito_code,
            ProcessDefinition.created_at,
            Bundle.created_by,
            Bundle.note,
        )
        .join(Bundle, Bundle.id == ProcessDefinition.bundle_id)
        .where(scope)
        .order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())
    )
    if key is not None:
        query = query.where(ProcessDefinition.process_key == key)
    rows = session.execute(query).all()
    if not rows:
        return []
    running = _running(session, ambito, key)
    entries: dict[str, ProcessEntry] = {}
    for row in rows:
        version = Version(
            definition_id=row.id,
            process_key=row.process_key,
            name=row.name,
            version=row.version,
            ambito=row.ambito_code,
            published_at=row.created_at,
            published_by=row.created_by,
            note=row.note,
            running=running.get(row.id, 0),
        )
        entry = entries.setdefault(row.process_key, ProcessEntry(row.process_key, row.name))
        (entry.base if version.regional else entry.variant).append(version)
    for entry in entries.values():
        if entry.current is not None:
            entry.name = entry.current.name  # the name new cases will show
    if ambito is None:
        for ambito_code, process_key, latest in _variants(session, key):
            if process_key in entries:
                entries[process_key].variants_elsewhere[ambito_code] = latest
    return sorted(entries.values(), key=lambda e: (e.name.casefold(), e.key))


def _running(session: Session, ambito: str | None, key: str | None) -> dict[int, int]:
    """Definition id → cases not yet concluded that started on it (one grouped query)."""
    query = select(ProcessInstance.definition_id, func.count()).where(ProcessInstance.status.not_in(FINISHED))
    if ambito is not None:
        query = query.where(ProcessInstance.ambito_code == ambito)
    if key is not None:
        query = query.where(ProcessInstance.process_key == key)
    counts = session.execute(query.group_by(ProcessInstance.definition_id))
    return {int(definition_id): int(count) for definition_id, count in counts}


def _variants(session: Session, key: str | None) -> list[tuple[str, str, int]]:
    """(Ambito, process key, latest version) of every Ambito's variant."""
    query = (
        select(ProcessDefinition.ambito_code, ProcessDefinition.process_key, func.max(ProcessDefinition.version))
        .where(ProcessDefinition.ambito_code.is_not(None))
        .group_by(ProcessDefinition.ambito_code, ProcessDefinition.process_key)
        .order_by(ProcessDefinition.ambito_code)
    )
    if key is not None:
        query = query.where(ProcessDefinition.process_key == key)
    return [(str(a), str(k), int(v)) for a, k, v in session.execute(query)]
