"""Moving running cases onto a newer version of their process, from the studio: the dry run.

A case keeps the version it started on until someone moves it. For one process in one
scope (an Ambito, or the region: the Ambiti that follow the regional base), the *dry run*
lists every case not yet concluded whose definitions (main process and the processes it
calls, as the engine's manifest pins them) are not those a new case gets today, and says
for each whether it can move and, if not, why (in Italian). The jobs that move them, in
batches, and move them back are in `engine.studio.migrate_jobs`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.matrix import Action, permits_in, require, require_in
from engine.access.roles import Actor
from engine.clock import as_utc, utcnow
from engine.config import Settings
from engine.definitions import definitions_by_id, manifest_for, resolve
from engine.errors import EngineError, NotFound
from engine.instances import COMPLETED, ERROR, manifest_ids, specset_for
from engine.migration import plan_move
from engine.models import MigrationJob, MigrationJobCase, ProcessDefinition, ProcessInstance
from engine.studio.catalogue import check_scope

log = logging.getLogger("inlav.studio.migrate")

Manifest = dict[str, tuple[int, str]]

RUNNING, FINISHED = "running", "finished"
"""States of a migration job: some case still waits to be moved (or moved back), or none."""
PENDING, MOVED, REFUSED, UNDO_PENDING, UNDONE = "pending", "moved", "refused", "undo_pending", "undone"
"""Outcomes of a job's case: pending → moved | refused; moved → undo_pending → undone | moved."""


class Refused(EngineError):
    """A case that cannot move now, and why (in Italian)."""


# --------------------------------------------------------------------------- permission


def check_migrate(session: Session, actor: Actor, ambito: str | None) -> str:
    """The display name of the scope if the actor may move its cases; NotFound otherwise.

    Moving cases is part of publishing (`process.deploy`): an Ambito's coordinators for its
    cases, a regional grant for the region. A scope she may not publish in answers like an
    unknown one; someone who may publish nowhere gets Forbidden.
    """
    name = check_scope(session, actor, ambito)
    if ambito is None:
        require(actor, Action.PROCESS_DEPLOY)
        if not permits_in(actor, Action.PROCESS_DEPLOY, None):
            raise NotFound("Le migrazioni del modello di base regionale richiedono un incarico regionale.")
        return name
    require_in(actor, Action.PROCESS_DEPLOY, ambito, f"Ambito «{ambito}» non trovato.")
    return name


def may_migrate(actor: Actor, ambito: str | None) -> bool:
    """Whether the process page should offer the migration page (no query, no exception)."""
    return permits_in(actor, Action.PROCESS_DEPLOY, ambito)


# --------------------------------------------------------------------------- dry run


@dataclass(frozen=True)
class CaseCheck:
    """One case of the dry run: where it is, where it would go, whether it can move."""

    instance_id: int
    case_code: str
    ambito: str
    status: str
    from_definition_id: int
    from_version: int
    from_regional: bool
    to_definition_id: int
    to_version: int
    reason: str | None
    """Why it cannot move (Italian), None if it can."""
    changed: tuple[str, ...] = ()
    called: tuple[str, ...] = ()
    """The called processes whose version changes, in Italian («Piano» v1 regionale → v1 variante):
    a case can move although its own process keeps its version, when only what it calls changes."""

    @property
    def movable(self) -> bool:
        return self.reason is None


@dataclass
class DryRun:
    """The dry run of one process in one scope."""

    ambito: str | None
    scope_name: str
    process_key: str
    process_name: str
    target_definition_id: int
    target_version: int
    target_regional: bool
    cases: list[CaseCheck] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    """Region only: Ambiti with cases on the base that follow their own variant (moved from their page)."""

    @property
    def movable(self) -> list[CaseCheck]:
        return [c for c in self.cases if c.movable]

    @property
    def blocked(self) -> list[CaseCheck]:
        return [c for c in self.cases if not c.movable]


def dry_run(session: Session, settings: Settings, actor: Actor, ambito: str | None, key: str) -> DryRun:
    """Which cases of `key` in the scope could move to the version a new case gets, and why not."""
    scope_name = check_migrate(session, actor, ambito)
    return scope_dry_run(session, settings, ambito, scope_name, key)


def scope_dry_run(session: Session, settings: Settings, ambito: str | None, scope_name: str, key: str) -> DryRun:
    """The dry run without the permission check (the caller made it): each case is restored and
    compared with the target, so the cost grows with the number of cases on other versions."""
    target = resolve(session, key, ambito)
    result = DryRun(
        ambito=ambito,
        scope_name=scope_name,
        process_key=key,
        process_name=target.name,
        target_definition_id=target.id,
        target_version=target.version,
        target_regional=target.ambito_code is None,
    )
    query = (
        select(ProcessInstance)
        .where(ProcessInstance.process_key == key, ProcessInstance.status != COMPLETED)
        .order_by(ProcessInstance.case_code)
    )
    if ambito is not None:
        query = query.where(ProcessInstance.ambito_code == ambito)
    instances = list(session.scalars(query))
    versions = definitions_by_id(session, {i.definition_id for i in instances})
    targets: dict[str, tuple[ProcessDefinition, Manifest] | None] = {}
    elsewhere: set[str] = set()
    now = utcnow()
    queued = _queued(session, [i.id for i in instances])
    for instance in instances:
        if instance.ambito_code not in targets:
            targets[instance.ambito_code] = target_of(session, key, instance.ambito_code, ambito)
        found = targets[instance.ambito_code]
        if found is None:  # region: this Ambito follows its own variant
            elsewhere.add(instance.ambito_code)
            continue
        main, manifest = found
        if manifest_of(instance.manifest_json) == manifest:
            continue  # already on what a new case gets
        current = versions[instance.definition_id]
        if instance.id in queued:
            reason: str | None = f"il caso è già in attesa nella migrazione n. {queued[instance.id]}, ancora in corso"
            changed: list[str] = []
        else:
            reason, changed = blocker(session, settings, instance, main, manifest, now)
        result.cases.append(
            CaseCheck(
                instance_id=instance.id,
                case_code=instance.case_code,
                ambito=instance.ambito_code,
                status=instance.status,
                from_definition_id=current.id,
                from_version=current.version,
                from_regional=current.ambito_code is None,
                to_definition_id=main.id,
                to_version=main.version,
                reason=reason,
                changed=tuple(changed),
                called=called_moves(session, manifest_of(instance.manifest_json), manifest, key),
            )
        )
    result.elsewhere = sorted(elsewhere)
    return result


def _queued(session: Session, instance_ids: list[int]) -> dict[int, int]:
    """Case id → the running job in which it still waits to be moved."""
    if not instance_ids:
        return {}
    rows = session.execute(
        select(MigrationJobCase.instance_id, MigrationJobCase.job_id)
        .join(MigrationJob, MigrationJob.id == MigrationJobCase.job_id)
        .where(
            MigrationJob.state == RUNNING,
            MigrationJobCase.status == PENDING,
            MigrationJobCase.instance_id.in_(instance_ids),
        )
    )
    return {int(instance_id): int(job_id) for instance_id, job_id in rows}


def called_moves(session: Session, current: Manifest, target: Manifest, key: str) -> tuple[str, ...]:
    """Each called process (not `key` itself) whose version differs between two manifests, in Italian."""
    defs = definitions_by_id(session, {entry[0] for entry in (*current.values(), *target.values())})

    def label(entry: tuple[int, str] | None) -> str:
        if entry is None:
            return "non chiamato"
        found = defs[entry[0]]
        return f"v{found.version} {'regionale' if found.ambito_code is None else 'variante'}"

    moves = []
    for called in sorted((set(current) | set(target)) - {key}):
        before, after = current.get(called), target.get(called)
        if before != after:
            name = defs[(after or before or (0, ""))[0]].name
            moves.append(f"«{name}» {label(before)} → {label(after)}")
    return tuple(moves)


def target_of(
    session: Session, key: str, case_ambito: str, scope: str | None
) -> tuple[ProcessDefinition, Manifest] | None:
    """What a new case of `key` gets in the case's Ambito (None: region scope, Ambito with a variant)."""
    main = resolve(session, key, case_ambito)
    if scope is None and main.ambito_code is not None:
        return None
    return main, manifest_ids(manifest_for(session, main, case_ambito))


def manifest_of(text: str) -> Manifest:
    return {k: (int(v[0]), str(v[1])) for k, v in json.loads(text).items()}


def blocker(
    session: Session,
    settings: Settings,
    instance: ProcessInstance,
    target: ProcessDefinition,
    manifest: Manifest,
    now: datetime,
) -> tuple[str | None, list[str]]:
    """Why the case cannot move onto `manifest` now (None if it can), and the elements that change."""
    if instance.status == COMPLETED:
        return "il caso è concluso", []
    if manifest_of(instance.manifest_json) == manifest:
        return f"il caso è già sulla versione {target.version}", []
    if instance.status == ERROR:
        detail = f" («{instance.error_message}»)" if instance.error_message else ""
        return (
            f"il caso è fermo per un errore del modello{detail}: si riprende da solo, "
            "con la migrazione del singolo caso e poi «riprova»",
            [],
        )
    if instance.lock_owner is not None and instance.lock_expires_at and as_utc(instance.lock_expires_at) > now:
        return "il caso è in lavorazione in questo momento: riprovare tra poco", []
    try:
        plan = plan_move(session, settings, instance, manifest)
    except EngineError as exc:
        return f"impossibile confrontare le versioni: {exc}", []
    except Exception as exc:  # a case the engine cannot read must not hide the others
        log.warning("dry run of %s failed: %s", instance.case_code, exc)
        return f"impossibile confrontare le versioni ({type(exc).__name__})", []
    if plan.removed:
        labels = labels_of(session, instance)
        parts = []
        where = f"in corso non esiste nella versione {target.version}"
        for name in plan.removed:
            if name in labels.processes:
                parts.append(f"il sottoprocesso «{labels.processes[name]}» {where}")
            else:
                parts.append(f"l'attività «{labels.tasks.get(name, name)}» {where}")
        return "; ".join(dict.fromkeys(parts)), list(plan.changed)
    return None, list(plan.changed)


@dataclass
class Labels:
    tasks: dict[str, str]
    processes: dict[str, str]


def labels_of(session: Session, instance: ProcessInstance) -> Labels:
    """Names people read for the elements of the case's current specs (id when unnamed)."""
    specset = specset_for(session, instance)
    tasks: dict[str, str] = {}
    processes: dict[str, str] = {}
    for process_name, spec in specset.specs.items():
        processes[process_name] = str(getattr(spec, "description", None) or process_name)
        for name, task in getattr(spec, "task_specs", {}).items():
            label = getattr(task, "bpmn_name", None)
            tasks.setdefault(str(name), str(label or name))
    return Labels(tasks, processes)


__all__ = [
    "CaseCheck",
    "DryRun",
    "Labels",
    "Refused",
    "blocker",
    "check_migrate",
    "dry_run",
    "labels_of",
    "manifest_of",
    "may_migrate",
    "scope_dry_run",
    "target_of",
]
