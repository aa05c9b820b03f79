"""Migration jobs: moving the chosen cases of a dry run in batches, and moving them back.

A job holds the movable cases chosen from the dry run (`engine.studio.migrate`). The
worker takes a batch at a time (one worker per job at a time), each case moved in a
savepoint of its own together with its row of the job, so a crash leaves every case either
moved or not. Each case is checked again just before it moves. Each move is an event of
the case's history; the job is in the operation log. A moved case can be moved back to the
version it came from while nothing it depends on has changed since (*undo*), one case or
the whole job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from engine import codec
from engine.access.roles import Actor
from engine.audit.oplog import record
from engine.clock import as_utc, utcnow
from engine.config import Settings
from engine.db import is_postgres, transaction
from engine.definitions import definitions_by_id, manifest_for, resolve
from engine.errors import Conflict, EngineError, NotFound
from engine.instances import COMPLETED, ERROR
from engine.migration import move_case, plan_move
from engine.models import MigrationJob, MigrationJobCase, ProcessDefinition, ProcessInstance
from engine.studio.migrate import (
    FINISHED,
    MOVED,
    PENDING,
    REFUSED,
    RUNNING,
    UNDO_PENDING,
    UNDONE,
    Manifest,
    Refused,
    blocker,
    check_migrate,
    labels_of,
    manifest_of,
    scope_dry_run,
    target_of,
)

log = logging.getLogger("inlav.studio.migrate")

BATCH = 10
"""Cases one batch moves (one transaction of the worker)."""

REGION = "regione"
STATUS_LABELS = {
    PENDING: "In attesa",
    MOVED: "Migrato",
    REFUSED: "Non migrato",
    UNDO_PENDING: "Da riportare indietro",
    UNDONE: "Riportato alla versione precedente",
}
JOB_LABELS = {RUNNING: "In corso", FINISHED: "Conclusa"}


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class JobCase:
    """One case of a job as the page shows it."""

    case_code: str
    ambito: str
    status: str
    label: str
    from_version: int
    to_version: int
    message: str | None
    updated_at: datetime
    updated_by: str | None
    from_regional: bool = True
    """The version it came from is the regional base's (else the Ambito's variant)."""
    to_regional: bool = True
    """The version it goes to is the regional base's (else the Ambito's variant)."""

    @property
    def undoable(self) -> bool:
        return self.status == MOVED


@dataclass
class Job:
    """A job with its progress, counted from its cases at the moment of asking."""

    id: int
    scope: str
    ambito: str | None
    process_key: str
    target_version: int
    state: str
    total: int
    created_at: datetime
    created_by: str
    finished_at: datetime | None
    counts: dict[str, int]
    process_name: str = ""
    """The name of the process in the target version."""
    target_regional: bool = True
    scope_name: str = ""
    cases: list[JobCase] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def state_label(self) -> str:
        return JOB_LABELS.get(self.state, self.state)

    @property
    def done(self) -> int:
        """Cases whose move (or move back) is settled."""
        return self.total - self.counts.get(PENDING, 0) - self.counts.get(UNDO_PENDING, 0)

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)

    @property
    def undoable(self) -> bool:
        return self.counts.get(MOVED, 0) > 0


def start_job(
    session: Session,
    settings: Settings,
    actor: Actor,
    ambito: str | None,
    key: str,
    case_codes: list[str] | None = None,
) -> Job:
    """Create a job that moves the movable cases of the dry run (only `case_codes`, if given).

    The dry run is done again now: a chosen case that can no longer move is left out, and a
    choice with no movable case is refused. The worker moves the cases in batches.
    """
    scope_name = check_migrate(session, actor, ambito)
    plan = scope_dry_run(session, settings, ambito, scope_name, key)
    chosen = plan.movable
    if case_codes is not None:
        wanted = set(case_codes)
        chosen = [c for c in chosen if c.case_code in wanted]
    if not chosen:
        raise Conflict(
            "Nessuno dei casi scelti può essere migrato ora: rifare la prova per vedere perché."
            if case_codes is not None
            else "Nessun caso da migrare: tutti i casi in corso sono già sulla versione attuale o non possono passare."
        )
    now = utcnow()
    job = MigrationJob(
        scope=ambito or REGION,
        ambito_code=ambito,
        process_key=key,
        target_definition_id=plan.target_definition_id,
        target_version=plan.target_version,
        state=RUNNING,
        total=len(chosen),
        created_at=now,
        created_by=actor.username,
        finished_at=None,
        undo_requested_by=None,
    )
    session.add(job)
    session.flush()
    instances = {
        i.id: i
        for i in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_([c.instance_id for c in chosen])))
    }
    targets: dict[str, tuple[ProcessDefinition, Manifest] | None] = {}
    for check in chosen:
        instance = instances[check.instance_id]
        if instance.ambito_code not in targets:
            targets[instance.ambito_code] = target_of(session, key, instance.ambito_code, ambito)
        found = targets[instance.ambito_code]
        assert found is not None  # the dry run listed it
        session.add(
            MigrationJobCase(
                job_id=job.id,
                instance_id=instance.id,
                case_code=instance.case_code,
                from_definition_id=check.from_definition_id,
                from_version=check.from_version,
                to_definition_id=check.to_definition_id,
                to_version=check.to_version,
                from_manifest_json=codec.dumps(manifest_of(instance.manifest_json)),
                to_manifest_json=codec.dumps(found[1]),
                status=PENDING,
                message=None,
                updated_at=now,
                updated_by=None,
            )
        )
    record(
        session,
        actor,
        "migration.started",
        f"Migrazione n. {job.id} di «{plan.process_name}» ({scope_name}) alla versione {plan.target_version}: "
        f"{len(chosen)} casi",
        "migration",
        job.id,
        ambito,
        after={
            "processo": key,
            "versione": plan.target_version,
            "casi": len(chosen),
            "non migrabili": len(plan.blocked),
        },
    )
    session.flush()
    return _job(session, job, with_cases=False)


def get_job(session: Session, actor: Actor, ambito: str | None, key: str, job_id: int) -> Job:
    """A job of this process and scope, with its cases and progress."""
    scope_name = check_migrate(session, actor, ambito)
    view = _job(session, _stored_job(session, ambito, key, job_id), with_cases=True)
    view.scope_name = scope_name
    return view


def list_jobs(session: Session, actor: Actor, ambito: str | None, key: str, limit: int = 10) -> list[Job]:
    """The latest jobs of this process and scope, newest first."""
    check_migrate(session, actor, ambito)
    jobs = session.scalars(
        select(MigrationJob)
        .where(MigrationJob.scope == (ambito or REGION), MigrationJob.process_key == key)
        .order_by(MigrationJob.id.desc())
        .limit(limit)
    )
    return [_job(session, j, with_cases=False) for j in jobs]


def _stored_job(session: Session, ambito: str | None, key: str, job_id: int) -> MigrationJob:
    job = session.get(MigrationJob, job_id) if 0 < job_id < 2**31 else None  # ids are 32-bit
    if job is None or job.scope != (ambito or REGION) or job.process_key != key:
        raise NotFound(f"Migrazione n. {job_id} non trovata.")
    return job


def _job(session: Session, job: MigrationJob, with_cases: bool) -> Job:
    counts = {
        str(status): int(n)
        for status, n in session.execute(
            select(MigrationJobCase.status, func.count())
            .where(MigrationJobCase.job_id == job.id)
            .group_by(MigrationJobCase.status)
        )
    }
    view = Job(
        id=job.id,
        scope=job.scope,
        ambito=job.ambito_code,
        process_key=job.process_key,
        target_version=job.target_version,
        state=job.state,
        total=job.total,
        created_at=job.created_at,
        created_by=job.created_by,
        finished_at=job.finished_at,
        counts=counts,
    )
    target = session.get(ProcessDefinition, job.target_definition_id)
    if target is not None:
        view.process_name, view.target_regional = target.name, target.ambito_code is None
    if with_cases:
        rows = session.execute(
            select(MigrationJobCase, ProcessInstance.ambito_code)
            .join(ProcessInstance, ProcessInstance.id == MigrationJobCase.instance_id)
            .where(MigrationJobCase.job_id == job.id)
            .order_by(MigrationJobCase.case_code)
        ).all()
        regional = {
            d.id: d.ambito_code is None
            for d in definitions_by_id(
                session, {r.from_definition_id for r, _a in rows} | {r.to_definition_id for r, _a in rows}
            ).values()
        }
        view.cases = [
            JobCase(
                case_code=row.case_code,
                ambito=str(ambito_code),
                status=row.status,
                label=STATUS_LABELS.get(row.status, row.status),
                from_version=row.from_version,
                to_version=row.to_version,
                message=row.message,
                updated_at=row.updated_at,
                updated_by=row.updated_by,
                from_regional=regional.get(row.from_definition_id, True),
                to_regional=regional.get(row.to_definition_id, True),
            )
            for row, ambito_code in rows
        ]
    return view


# --------------------------------------------------------------------------- running a batch


def run_batch(session: Session, settings: Settings, job_id: int, size: int = BATCH) -> int:
    """Move (or move back) up to `size` waiting cases of a job; returns how many were settled.

    Each case is moved in a savepoint together with its row of the job: either both are
    written or neither. When no case is left waiting the job is finished and logged.
    """
    # One worker at a time per job: the job row is locked for the batch (another worker skips it).
    claim = select(MigrationJob).where(MigrationJob.id == job_id).execution_options(populate_existing=True)
    if is_postgres(session):
        claim = claim.with_for_update(skip_locked=True)
    job = session.scalar(claim)
    if job is None or job.state != RUNNING:
        return 0
    query = (
        select(MigrationJobCase)
        .where(MigrationJobCase.job_id == job_id, MigrationJobCase.status.in_((PENDING, UNDO_PENDING)))
        .order_by(MigrationJobCase.id)
        .limit(size)
    )
    items = list(session.scalars(query))
    for item in items:
        if item.status == PENDING:
            _settle(session, settings, job, item, _move_item, MOVED, REFUSED, job.created_by)
        else:
            _settle(session, settings, job, item, _undo_item, UNDONE, MOVED, job.undo_requested_by or job.created_by)
    left = session.scalar(
        select(func.count())
        .select_from(MigrationJobCase)
        .where(MigrationJobCase.job_id == job_id, MigrationJobCase.status.in_((PENDING, UNDO_PENDING)))
    )
    if not left:
        _finish(session, job)
    session.flush()
    return len(items)


def _settle(
    session: Session,
    settings: Settings,
    job: MigrationJob,
    item: MigrationJobCase,
    act: Callable[[Session, Settings, MigrationJob, MigrationJobCase, Actor], None],
    success: str,
    failure: str,
    username: str,
) -> None:
    actor = Actor(username)
    try:
        with session.begin_nested():
            act(session, settings, job, item, actor)
            item.status = success
            item.message = None
            item.updated_at = utcnow()
            item.updated_by = username
    except EngineError as exc:
        _failed(item, failure, str(exc), username)
    except Exception as exc:  # one case the engine cannot move must not stop the job
        log.exception("migration job %s: case %s", job.id, item.case_code)
        _failed(item, failure, f"errore imprevisto ({type(exc).__name__}): il caso è rimasto com'era", username)


def _failed(item: MigrationJobCase, status: str, message: str, username: str) -> None:
    item.status = status
    item.message = message
    item.updated_at = utcnow()
    item.updated_by = username


def _move_item(session: Session, settings: Settings, job: MigrationJob, item: MigrationJobCase, actor: Actor) -> None:
    """Check the case again and move it onto the job's target (Refused/Conflict if it cannot)."""
    instance = session.get(ProcessInstance, item.instance_id, populate_existing=True)
    if instance is None:
        raise Refused("il caso non esiste più")
    found = target_of(session, job.process_key, instance.ambito_code, job.ambito_code)
    wanted = manifest_of(item.to_manifest_json)
    if found is None or found[1] != wanted:
        now_version = resolve(session, job.process_key, instance.ambito_code).version
        raise Refused(
            f"nel frattempo un nuovo caso riceve la versione {now_version}, non più la {item.to_version}: "
            "rifare la prova e avviare una nuova migrazione"
        )
    target, manifest = found
    reason, _changed = blocker(session, settings, instance, target, manifest, utcnow())
    if reason is not None:
        raise Refused(reason)
    current = manifest_of(instance.manifest_json)
    if current != manifest_of(item.from_manifest_json):  # moved by hand since the job began
        item.from_manifest_json = codec.dumps(current)
        item.from_definition_id = instance.definition_id
        item.from_version = definitions_by_id(session, [instance.definition_id])[instance.definition_id].version
    full = manifest_for(session, target, instance.ambito_code)
    move_case(
        session,
        settings,
        instance,
        full,
        actor,
        detail={
            "job": job.id,
            "message": f"dalla versione {item.from_version} alla {target.version} (migrazione n. {job.id})",
        },
    )


def _undo_item(session: Session, settings: Settings, job: MigrationJob, item: MigrationJobCase, actor: Actor) -> None:
    """Move a moved case back to the definitions it came from (Refused if it cannot)."""
    instance = session.get(ProcessInstance, item.instance_id, populate_existing=True)
    if instance is None:
        raise Refused("il caso non esiste più")
    reason = _undoblocker(session, settings, instance, item)
    if reason is not None:
        raise Refused(reason)
    back = manifest_of(item.from_manifest_json)
    stored = definitions_by_id(session, {definition_id for definition_id, _hash in back.values()})
    manifest = {key: stored[definition_id] for key, (definition_id, _hash) in back.items()}
    move_case(
        session,
        settings,
        instance,
        manifest,
        actor,
        kind="migration_undone",
        detail={
            "job": job.id,
            "message": f"riportato dalla versione {item.to_version} alla {item.from_version} (migrazione n. {job.id})",
        },
    )


def _undoblocker(session: Session, settings: Settings, instance: ProcessInstance, item: MigrationJobCase) -> str | None:
    """Why a moved case cannot go back to the version it came from (None if it can)."""
    if instance.status == COMPLETED:
        return "il caso si è concluso dopo la migrazione"
    if manifest_of(instance.manifest_json) != manifest_of(item.to_manifest_json):
        return "il caso è stato spostato di nuovo dopo questa migrazione"
    if instance.status == ERROR:
        return "il caso è fermo per un errore del modello: si riprende singolarmente"
    if instance.lock_owner is not None and instance.lock_expires_at and as_utc(instance.lock_expires_at) > utcnow():
        return "il caso è in lavorazione in questo momento: riprovare tra poco"
    back = manifest_of(item.from_manifest_json)
    try:
        plan = plan_move(session, settings, instance, back)
    except EngineError as exc:
        return f"impossibile confrontare le versioni: {exc}"
    if plan.removed:
        labels = labels_of(session, instance)
        names = ", ".join(f"«{labels.tasks.get(n, labels.processes.get(n, n))}»" for n in plan.removed)
        return f"il caso è passato a {names}, che non esiste nella versione {item.from_version}"
    return None


def _finish(session: Session, job: MigrationJob) -> None:
    counts = dict(
        session.execute(
            select(MigrationJobCase.status, func.count())
            .where(MigrationJobCase.job_id == job.id)
            .group_by(MigrationJobCase.status)
        ).all()
    )
    job.state = FINISHED
    job.finished_at = utcnow()
    record(
        session,
        Actor(job.undo_requested_by or job.created_by),
        "migration.finished",
        f"Migrazione n. {job.id} di «{job.process_key}» conclusa",
        "migration",
        job.id,
        job.ambito_code,
        after={
            "migrati": int(counts.get(MOVED, 0)),
            "non migrati": int(counts.get(REFUSED, 0)),
            "riportati indietro": int(counts.get(UNDONE, 0)),
        },
    )


# --------------------------------------------------------------------------- undo


def undo_case(
    session: Session, settings: Settings, actor: Actor, ambito: str | None, key: str, job_id: int, case_code: str
) -> JobCase:
    """Move one case of a job back to the version it came from, now; Conflict saying why if it cannot."""
    check_migrate(session, actor, ambito)
    job = _stored_job(session, ambito, key, job_id)
    item = session.scalar(
        select(MigrationJobCase).where(MigrationJobCase.job_id == job.id, MigrationJobCase.case_code == case_code)
    )
    if item is None:
        raise NotFound(f"Il caso «{case_code}» non fa parte della migrazione n. {job.id}.")
    if item.status != MOVED:
        raise Conflict(f"Il caso «{case_code}» non è stato migrato da questa operazione: non c'è nulla da annullare.")
    try:
        with session.begin_nested():
            _undo_item(session, settings, job, item, actor)
    except EngineError as exc:
        raise Conflict(f"Impossibile riportare indietro il caso «{case_code}»: {exc}.") from exc
    item.status = UNDONE
    item.message = None
    item.updated_at = utcnow()
    item.updated_by = actor.username
    record(
        session,
        actor,
        "migration.undone",
        f"Caso {case_code} riportato dalla versione {item.to_version} alla {item.from_version} "
        f"(migrazione n. {job.id})",
        "migration",
        job.id,
        ambito,
        before={"caso": case_code, "versione": item.to_version},
        after={"caso": case_code, "versione": item.from_version},
    )
    session.flush()
    return next(c for c in _job(session, job, with_cases=True).cases if c.case_code == case_code)


def undo_job(session: Session, actor: Actor, ambito: str | None, key: str, job_id: int) -> Job:
    """Queue every moved case of a job to go back to its version; the worker does it in batches."""
    check_migrate(session, actor, ambito)
    job = _stored_job(session, ambito, key, job_id)
    if job.state == RUNNING:
        raise Conflict("La migrazione è ancora in corso: attendere che finisca, poi annullarla.")
    items = list(
        session.scalars(
            select(MigrationJobCase).where(MigrationJobCase.job_id == job.id, MigrationJobCase.status == MOVED)
        )
    )
    if not items:
        raise Conflict("Nessun caso di questa migrazione è ancora sulla nuova versione: non c'è nulla da annullare.")
    now = utcnow()
    for item in items:
        item.status = UNDO_PENDING
        item.message = None
        item.updated_at = now
        item.updated_by = actor.username
    job.state = RUNNING
    job.finished_at = None
    job.undo_requested_by = actor.username
    record(
        session,
        actor,
        "migration.undone",
        f"Annullamento della migrazione n. {job.id}: {len(items)} casi da riportare alla versione precedente",
        "migration",
        job.id,
        ambito,
        after={"casi": len(items)},
    )
    session.flush()
    return _job(session, job, with_cases=False)


# --------------------------------------------------------------------------- the worker's part


def running_job_ids(session: Session) -> list[int]:
    """Jobs with cases waiting, oldest first."""
    return list(session.scalars(select(MigrationJob.id).where(MigrationJob.state == RUNNING).order_by(MigrationJob.id)))


def work(factory: sessionmaker[Session], settings: Settings) -> int:
    """One pass of the worker: a batch of every running job, each batch in its own transaction."""
    with transaction(factory) as session:
        ids = running_job_ids(session)
    settled = 0
    for job_id in ids:
        with transaction(factory) as session:
            settled += run_batch(session, settings, job_id)
    return settled


def run_to_end(
    factory: sessionmaker[Session],
    settings: Settings,
    job_id: int,
    progress: Callable[[int, int], None] | None = None,
    size: int = BATCH,
) -> None:
    """Run a job's batches one after the other (the command line), reporting (settled, total)."""
    while True:
        with transaction(factory) as session:
            moved = run_batch(session, settings, job_id, size)
            job = session.get(MigrationJob, job_id)
            total = job.total if job else 0
            view = _job(session, job, with_cases=False) if job else None
        if progress is not None and view is not None:
            progress(view.done, total)
        if not moved or view is None or not view.running:
            return


__all__ = [
    "BATCH",
    "Job",
    "JobCase",
    "get_job",
    "list_jobs",
    "run_batch",
    "run_to_end",
    "start_job",
    "undo_case",
    "undo_job",
    "work",
]
