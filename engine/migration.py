"""Move a running case onto a newer version of its diagrams (dry run first), and retry.

Migration is how a case stuck on a diagram error is resumed: publish a fixed
version, migrate the case to it, then retry the step that failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine import codec, definitions, store
from engine.access.roles import Actor
from engine.clock import utcnow
from engine.config import Settings
from engine.errors import Conflict
from engine.history import NewEvent
from engine.instances import Outcome, get_instance, manifest_ids, run_step, specset_for, specset_for_manifest
from engine.models import ProcessDefinition, ProcessInstance, Timer
from engine.privacy import cipher_for
from engine.spiff import Case, MigrationPlan, StepReport


@dataclass
class MigrationResult:
    """What a migration did, or would do in a dry run."""

    case_code: str
    from_version: int
    to_version: int
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    applied: bool = False


def migrate_case(
    session: Session, settings: Settings, case_code: str, actor: Actor, dry_run: bool = True
) -> MigrationResult:
    """Migrate a case to the latest definitions for its Ambito (or just report, in a dry run)."""
    instance = get_instance(session, case_code)
    target = definitions.resolve(session, instance.process_key, instance.ambito_code)
    manifest = definitions.manifest_for(session, target, instance.ambito_code)
    if dry_run:
        current = definitions.definitions_by_id(session, [instance.definition_id])[instance.definition_id]
        result = MigrationResult(case_code, current.version, target.version)
        plan = plan_move(session, settings, instance, manifest_ids(manifest))
        result.changed, result.removed = plan.changed, plan.removed
        return result
    return move_case(session, settings, instance, manifest, actor)


def plan_move(
    session: Session, settings: Settings, instance: ProcessInstance, target: dict[str, tuple[int, str]]
) -> MigrationPlan:
    """What moving a case onto the manifest `target` would change (nothing is written)."""
    target_specs = specset_for_manifest(session, instance.process_key, target)
    snapshot, _stored = store.load(session, instance, cipher_for(session, settings, instance))
    return Case.restore(specset_for(session, instance), snapshot, instance.case_code).plan_migration(target_specs)


def move_case(
    session: Session,
    settings: Settings,
    instance: ProcessInstance,
    manifest: dict[str, ProcessDefinition],
    actor: Actor,
    kind: str = "migrated",
    detail: dict[str, Any] | None = None,
) -> MigrationResult:
    """Move a case onto the definitions of `manifest` (its main process first), in one step.

    The move is recorded in the case's history as a `kind` event saying from which version to
    which, with `detail` added; Conflict if an active element of the case is missing there.
    """
    current = definitions.definitions_by_id(session, [instance.definition_id])[instance.definition_id]
    target = manifest[instance.process_key]
    target_ids = manifest_ids(manifest)
    target_specs = specset_for_manifest(session, target.process_key, target_ids)
    result = MigrationResult(instance.case_code, current.version, target.version)

    def action(case: Case) -> StepReport:
        plan = case.migrate(target_specs)
        result.changed, result.removed, result.applied = plan.changed, plan.removed, plan.applied
        if not plan.applied:
            raise Conflict(
                "Migrazione impossibile: nella nuova versione mancano elementi attivi del caso: "
                + ", ".join(plan.removed)
            )
        return StepReport(archived=case.prune())

    def event(_case: Case) -> list[NewEvent]:
        return [
            NewEvent(
                kind=kind,
                actor=actor.username,
                definition_id=target.id,
                detail={
                    "from_version": current.version,
                    "to_version": target.version,
                    "changed": result.changed,
                    **(detail or {}),
                },
            )
        ]

    outcome = run_step(session, settings, instance.id, actor, action, extra_events=event)
    if outcome.error is not None:
        raise outcome.error
    instance.definition_id = target.id
    instance.manifest_json = codec.dumps(target_ids)
    session.flush()
    return result


def retry_case(session: Session, settings: Settings, case_code: str, actor: Actor) -> Outcome:
    """Re-run a case's automatic steps and re-arm its timers after an incident."""
    instance = get_instance(session, case_code)
    session.execute(
        update(Timer)
        .where(Timer.instance_id == instance.id)
        .values(locked_by=None, locked_until=None, attempts=0, last_error=None)
        .execution_options(synchronize_session=False)
    )

    def action(case: Case) -> StepReport:
        return case.fire_timers()

    return run_step(
        session,
        settings,
        instance.id,
        actor,
        action,
        extra_events=lambda _case: [
            NewEvent(
                kind="retried",
                actor=actor.username,
                definition_id=instance.definition_id,
                detail={"at": utcnow().isoformat()},
            )
        ],
    )
