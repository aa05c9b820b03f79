"""The dry run of retention (which closed cases are past their period, per policy, and which are
skipped and why — nothing changes), the runs, and the retention page's overview.

`build_plan` selects as of a given time, so applying a confirmed dry run selects again as of the
dry run's time and compares the digest (`token`) of the selection.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine import codec
from engine.access.roles import Actor
from engine.audit.retention import (
    ANONYMISE,
    PURGE,
    REGION,
    PolicyView,
    current_policies,
    list_policies,
    may_manage,
    policy_history,
    process_keys,
    require_view,
    view_ambiti,
)
from engine.clock import as_utc, utcnow
from engine.errors import Conflict
from engine.instances import COMPLETED
from engine.models import (
    Ambito,
    CaseRetention,
    Message,
    MigrationJobCase,
    ProcessInstance,
    RetentionPolicy,
    RetentionRun,
)

PREVIEW_LIMIT = 50
"""Cases a dry run lists by name (the counts cover them all)."""
WAITING_MESSAGES = ("held_consent", "outbox", "pending")
BUSY_MIGRATION = ("pending", "undo_pending")
SKIP_MESSAGES = "Messaggi del caso ancora da consegnare: si riprova alla prossima esecuzione."
SKIP_BUSY = "Caso in lavorazione in questo momento: si riprova alla prossima esecuzione."
SKIP_MIGRATION = "Caso in una migrazione di versione non ancora conclusa."


@dataclass(frozen=True)
class DueCase:
    """A closed case past its period: what would happen to it, or why it is skipped."""

    instance_id: int
    case_code: str
    ambito: str
    process_key: str
    closed_at: datetime
    policy_id: int
    action: str
    skip: str | None = None


@dataclass
class PolicyPlan:
    """What one policy selects."""

    policy: PolicyView
    due: int = 0
    skipped: int = 0


@dataclass
class RetentionPlan:
    """A dry run: the cases past their period as of `at`, per policy; `token` confirms exactly this."""

    at: datetime
    policies: list[PolicyPlan]
    cases: list[DueCase]
    token: str
    automatic_only: bool = False
    skips: dict[str, int] = field(default_factory=dict)

    @property
    def actionable(self) -> list[DueCase]:
        return [c for c in self.cases if c.skip is None]

    @property
    def to_anonymise(self) -> int:
        return sum(1 for c in self.actionable if c.action == ANONYMISE)

    @property
    def to_purge(self) -> int:
        return sum(1 for c in self.actionable if c.action == PURGE)

    @property
    def skipped(self) -> int:
        return sum(1 for c in self.cases if c.skip is not None)

    @property
    def preview(self) -> list[DueCase]:
        return self.cases[:PREVIEW_LIMIT]

    @property
    def at_text(self) -> str:
        """The dry run's time as the confirmation form carries it."""
        return as_utc(self.at).isoformat()


# --------------------------------------------------------------------------- the dry run


def _selection(
    session: Session, policy: RetentionPolicy, overridden: set[str], ambiti: frozenset[str] | None, at: datetime
) -> list[DueCase]:
    cutoff = at - timedelta(days=policy.days)
    query = select(
        ProcessInstance.id,
        ProcessInstance.case_code,
        ProcessInstance.ambito_code,
        ProcessInstance.process_key,
        ProcessInstance.completed_at,
    ).where(
        ProcessInstance.process_key == policy.process_key,
        ProcessInstance.status == COMPLETED,
        ProcessInstance.completed_at.is_not(None),
        ProcessInstance.completed_at < cutoff,
    )
    if policy.scope == REGION:
        if overridden:
            query = query.where(ProcessInstance.ambito_code.not_in(sorted(overridden)))
    else:
        query = query.where(ProcessInstance.ambito_code == policy.scope)
    if ambiti is not None:
        query = query.where(ProcessInstance.ambito_code.in_(sorted(ambiti)))
    if policy.action == ANONYMISE:
        done = select(CaseRetention.id).where(
            CaseRetention.instance_id == ProcessInstance.id, CaseRetention.action == ANONYMISE
        )
        query = query.where(~done.exists())
    return [
        DueCase(row.id, row.case_code, row.ambito_code, row.process_key, row.completed_at, policy.id, policy.action)
        for row in session.execute(query.order_by(ProcessInstance.id))
    ]


def skip_reasons(session: Session, cases: list[DueCase], at: datetime) -> dict[int, str]:
    """Why some of these cases must not be touched now (a lease, a migration; for a purge, messages on
    their way — anonymising withdraws those that carry identity and lets the others go)."""
    reasons: dict[int, str] = {}
    purging = {c.instance_id for c in cases if c.action == PURGE}
    instance_ids = [c.instance_id for c in cases]
    for start in range(0, len(instance_ids), 500):
        chunk = instance_ids[start : start + 500]
        to_purge = [i for i in chunk if i in purging]
        if to_purge:
            waiting = select(Message.origin_instance_id, Message.instance_id).where(
                Message.status.in_(WAITING_MESSAGES),
                or_(Message.origin_instance_id.in_(to_purge), Message.instance_id.in_(to_purge)),
            )
            for origin, target in session.execute(waiting):
                for instance_id in (origin, target):
                    if instance_id in purging:
                        reasons.setdefault(instance_id, SKIP_MESSAGES)
        for (instance_id,) in session.execute(
            select(MigrationJobCase.instance_id).where(
                MigrationJobCase.instance_id.in_(chunk), MigrationJobCase.status.in_(BUSY_MIGRATION)
            )
        ):
            reasons.setdefault(instance_id, SKIP_MIGRATION)
        for (instance_id,) in session.execute(
            select(ProcessInstance.id).where(
                ProcessInstance.id.in_(chunk),
                and_(ProcessInstance.lock_owner.is_not(None), ProcessInstance.lock_expires_at > at),
            )
        ):
            reasons.setdefault(instance_id, SKIP_BUSY)
    return reasons


def _token(at: datetime, cases: list[DueCase]) -> str:
    body = [[c.instance_id, c.policy_id, c.action, c.skip] for c in cases]
    return codec.digest(codec.dumps({"at": as_utc(at).isoformat(), "cases": body}))


def build_plan(
    session: Session, ambiti: frozenset[str] | None, at: datetime, automatic_only: bool = False
) -> RetentionPlan:
    """The dry run for the cases of these Ambiti (None: all), as of `at` (no permission check)."""
    policies = current_policies(session, automatic_only)
    overrides: dict[str, set[str]] = defaultdict(set)
    for policy in current_policies(session):  # an Ambito's own policy wins, automatic or not
        if policy.scope != REGION:
            overrides[policy.process_key].add(policy.scope)
    plans: list[PolicyPlan] = []
    cases: list[DueCase] = []
    for policy in policies:
        selected = _selection(session, policy, overrides[policy.process_key], ambiti, at)
        plans.append(PolicyPlan(PolicyView.of(policy), due=len(selected)))
        cases.extend(selected)
    cases.sort(key=lambda c: (as_utc(c.closed_at), c.instance_id))
    reasons = skip_reasons(session, cases, at)
    cases = [DueCase(**{**c.__dict__, "skip": reasons.get(c.instance_id)}) for c in cases]
    skips: dict[str, int] = defaultdict(int)
    by_policy: dict[int, int] = defaultdict(int)
    for case in cases:
        if case.skip:
            skips[case.skip] += 1
            by_policy[case.policy_id] += 1
    for item in plans:
        item.skipped = by_policy[item.policy.id]
    return RetentionPlan(at, plans, cases, _token(at, cases), automatic_only, dict(skips))


def plan_retention(session: Session, actor: Actor, at: datetime | None = None) -> RetentionPlan:
    """The dry run: which closed cases are past their period, per policy, and what would happen; nothing changes."""
    require_view(actor)
    return build_plan(session, view_ambiti(actor), at or utcnow())


# --------------------------------------------------------------------------- runs and records


@dataclass(frozen=True)
class RunView:
    """One retention run as the page shows it."""

    id: int
    mode: str
    trigger: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    due: int
    anonymised: int
    purged: int
    skipped: int
    detail: dict[str, object]

    @property
    def mode_label(self) -> str:
        return "Prova (nessuna modifica)" if self.mode == "dry_run" else "Applicata"

    @property
    def trigger_label(self) -> str:
        return {"web": "Web", "cli": "Riga di comando", "worker": "Automatica (worker)"}.get(self.trigger, self.trigger)

    @classmethod
    def of(cls, row: RetentionRun) -> RunView:
        detail = codec.from_jsonable_text(row.detail_json) if row.detail_json else {}
        return cls(
            row.id,
            row.mode,
            row.trigger,
            row.actor,
            row.started_at,
            row.finished_at,
            row.due,
            row.anonymised,
            row.purged,
            row.skipped,
            detail if isinstance(detail, dict) else {},
        )


def list_runs(session: Session, actor: Actor, limit: int = 10) -> list[RunView]:
    """The last runs, newest first."""
    require_view(actor)
    rows = session.scalars(select(RetentionRun).order_by(RetentionRun.id.desc()).limit(limit))
    return [RunView.of(row) for row in rows]


def purged_instance_ids(session: Session) -> frozenset[int]:
    """Cases retention purged: gone on purpose (tamper verification skips them)."""
    return frozenset(session.scalars(select(CaseRetention.instance_id).where(CaseRetention.action == PURGE)))


def check_confirmation(plan: RetentionPlan, token: str) -> None:
    """Refuse an application whose dry run no longer matches what would be done now."""
    if not token or token != plan.token:
        raise Conflict(
            "I casi da trattare sono cambiati dopo la prova (una politica o un caso è stato modificato): "
            "rivedere la prova e confermare di nuovo."
        )


@dataclass
class RetentionOverview:
    """Everything the retention page shows: policies, their changes, runs, the dry run, the form's choices."""

    policies: list[PolicyView]
    history: list[PolicyView]
    runs: list[RunView]
    plan: RetentionPlan
    processes: list[str]
    ambiti: list[tuple[str, str]]
    can_manage: bool


def retention_overview(session: Session, actor: Actor, at: datetime | None = None) -> RetentionOverview:
    """The retention page's content for this viewer (the dry run limited to the Ambiti she may see)."""
    require_view(actor)
    ambiti = [(row.code, row.name) for row in session.execute(select(Ambito.code, Ambito.name).order_by(Ambito.name))]
    return RetentionOverview(
        policies=list_policies(session, actor),
        history=policy_history(session, actor, 20),
        runs=list_runs(session, actor),
        plan=plan_retention(session, actor, at),
        processes=process_keys(session),
        ambiti=ambiti,
        can_manage=may_manage(actor),
    )
