"""Retention of closed cases: a period per process (and optionally per Ambito), then purge or anonymise.

A policy says how many days after closing the cases of a process are kept and what happens
to them then: *anonymise* crypto-shreds the person's identity (the case's data key is
destroyed, as an erasure does, so the history — hashed over ciphertext — still verifies and
reports still count the case) or *purge* deletes the case and every row that names it
(`PURGED_WITH_CASE`), history included under a permit, keeping the operation log, the read
log and the record of the purge with the head its chain had (`KEPT_ON_PURGE`).

A policy of an Ambito replaces the regional one («regione») for that Ambito's cases. Every
change of a policy keeps the previous version. The dry run is in
`engine.audit.retention_plan`, applying in `engine.audit.retention_apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.matrix import Action, ambiti_for, permits, permits_in, require
from engine.access.roles import Actor
from engine.audit.oplog import record
from engine.clock import utcnow
from engine.errors import Forbidden, FormInvalid, NotFound
from engine.models import (
    Ambito,
    ProcessDefinition,
    RetentionPolicy,
)

PURGE, ANONYMISE = "purge", "anonymise"
RETENTION_ACTIONS: dict[str, str] = {
    ANONYMISE: "Anonimizzare (cancellare l'identità, tenere i fatti)",
    PURGE: "Cancellare il caso",
}
"""What may happen to a case past its period, with its Italian name."""
REGION = "regione"
MAX_DAYS = 36_500
"""A hundred years: a longer period is a typing error, not a policy."""
NOTE_MAX = 2000


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class PolicyView:
    """One version of a policy as pages and the command line show it."""

    id: int
    process_key: str
    scope: str
    ambito: str | None
    version: int
    days: int
    action: str
    automatic: bool
    note: str | None
    set_at: datetime
    set_by: str
    superseded_at: datetime | None
    superseded_by: str | None

    @property
    def action_label(self) -> str:
        return RETENTION_ACTIONS.get(self.action, self.action)

    @property
    def scope_label(self) -> str:
        return "Tutta la regione" if self.scope == REGION else self.scope

    @classmethod
    def of(cls, row: RetentionPolicy) -> PolicyView:
        return cls(
            row.id,
            row.process_key,
            row.scope,
            row.ambito_code,
            row.version,
            row.days,
            row.action,
            row.automatic,
            row.note,
            row.set_at,
            row.set_by,
            row.superseded_at,
            row.superseded_by,
        )


# --------------------------------------------------------------------------- who may see what


def require_view(actor: Actor) -> None:
    """Retention pages are for who manages it and, read-only, for who explores cases (auditors)."""
    if not (permits(actor, Action.RETENTION_MANAGE) or permits(actor, Action.AUDIT_EXPLORE)):
        raise Forbidden("Il tuo ruolo non consente questa operazione.")


def may_manage(actor: Actor) -> bool:
    """Whether the actor may set policies and apply them (the page shows the forms)."""
    return permits(actor, Action.RETENTION_MANAGE)


def view_ambiti(actor: Actor) -> frozenset[str] | None:
    if permits(actor, Action.RETENTION_MANAGE):
        return ambiti_for(actor, Action.RETENTION_MANAGE)
    return ambiti_for(actor, Action.AUDIT_EXPLORE)


# --------------------------------------------------------------------------- policies


def current_policies(session: Session, automatic_only: bool = False) -> list[RetentionPolicy]:
    """The policies in force, by process and scope."""
    query = select(RetentionPolicy).where(RetentionPolicy.superseded_at.is_(None))
    if automatic_only:
        query = query.where(RetentionPolicy.automatic.is_(True))
    return list(session.scalars(query.order_by(RetentionPolicy.process_key, RetentionPolicy.scope)))


def list_policies(session: Session, actor: Actor) -> list[PolicyView]:
    """The policies in force (policies name processes, never people: every viewer sees them all)."""
    require_view(actor)
    return [PolicyView.of(row) for row in current_policies(session)]


def policy_history(session: Session, actor: Actor, limit: int = 50) -> list[PolicyView]:
    """Every version of every policy, newest change first."""
    require_view(actor)
    rows = session.scalars(select(RetentionPolicy).order_by(RetentionPolicy.id.desc()).limit(limit))
    return [PolicyView.of(row) for row in rows]


def process_keys(session: Session) -> list[str]:
    """The processes a policy can name (every key ever deployed)."""
    keys = select(ProcessDefinition.process_key).distinct().order_by(ProcessDefinition.process_key)
    return list(session.scalars(keys))


def _parse_days(days: int | str | None) -> tuple[int | None, str | None]:
    text = str(days if days is not None else "").strip()
    if not text:
        return None, "Indicare per quanti giorni conservare i casi chiusi."
    if not text.lstrip("-").isdigit() or len(text) > 9:
        return None, "Il periodo va indicato in giorni, con un numero intero (per esempio 3650 per dieci anni)."
    value = int(text)
    if value <= 0:
        return None, "Il periodo deve essere di almeno un giorno."
    if value > MAX_DAYS:
        return None, f"Il periodo non può superare {MAX_DAYS} giorni (cento anni)."
    return value, None


def set_policy(
    session: Session,
    actor: Actor,
    process_key: str,
    days: int | str | None,
    action: str,
    ambito: str | None = None,
    automatic: bool = False,
    note: str | None = None,
) -> PolicyView:
    """Set (or change) the retention of a process's closed cases, regionally or for one Ambito.

    The previous version stays, closed; the change goes in the operation log.
    """
    require(actor, Action.RETENTION_MANAGE)
    key = (process_key or "").strip()
    scope = (ambito or "").strip().upper() or REGION
    errors: dict[str, list[str]] = {}
    if not key:
        errors["processo"] = ["Scegliere il processo."]
    elif key not in process_keys(session):
        errors["processo"] = [f"Processo «{key[:200]}» non trovato tra quelli pubblicati."]
    value, problem = _parse_days(days)
    if problem:
        errors["giorni"] = [problem]
    if action not in RETENTION_ACTIONS:
        errors["azione"] = ["Scegliere che cosa fare dei casi scaduti: anonimizzarli o cancellarli."]
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        errors["nota"] = [f"La nota può avere al massimo {NOTE_MAX} caratteri."]
    if scope != REGION and session.get(Ambito, scope) is None:
        errors["ambito"] = [f"Ambito «{scope[:32]}» sconosciuto."]
    if errors:
        raise FormInvalid("La conservazione non è stata salvata: correggere i campi indicati.", errors)
    allowed = permits_in(actor, Action.RETENTION_MANAGE, None if scope == REGION else scope)
    if not allowed:
        if scope == REGION:
            raise Forbidden("Solo chi gestisce la conservazione per tutta la regione può stabilirla per la regione.")
        raise NotFound(f"Ambito «{scope}» sconosciuto.")
    assert value is not None
    now = utcnow()
    previous = session.scalar(
        select(RetentionPolicy).where(
            RetentionPolicy.process_key == key,
            RetentionPolicy.scope == scope,
            RetentionPolicy.superseded_at.is_(None),
        )
    )
    last = session.scalar(
        select(func.max(RetentionPolicy.version)).where(
            RetentionPolicy.process_key == key, RetentionPolicy.scope == scope
        )
    )
    if previous is not None:
        previous.superseded_at = now
        previous.superseded_by = actor.username
    row = RetentionPolicy(
        process_key=key,
        scope=scope,
        ambito_code=None if scope == REGION else scope,
        version=(last or 0) + 1,
        days=value,
        action=action,
        automatic=bool(automatic),
        note=text or None,
        set_at=now,
        set_by=actor.username,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "retention.policy_set",
        f"Conservazione di «{key}» ({'regione' if scope == REGION else scope}): {value} giorni, "
        f"poi {RETENTION_ACTIONS[action].split(' (')[0].lower()}{', automatica' if automatic else ''}",
        "retention",
        f"{key}@{scope}",
        None if scope == REGION else scope,
        before=_policy_values(previous),
        after=_policy_values(row),
    )
    return PolicyView.of(row)


def remove_policy(session: Session, actor: Actor, process_key: str, ambito: str | None = None) -> None:
    """Stop applying retention to a process in a scope (the policy's versions stay on record)."""
    require(actor, Action.RETENTION_MANAGE)
    scope = (ambito or "").strip().upper() or REGION
    if not permits_in(actor, Action.RETENTION_MANAGE, None if scope == REGION else scope):
        raise NotFound(f"Nessuna conservazione per «{process_key}» in «{scope}».")
    row = session.scalar(
        select(RetentionPolicy).where(
            RetentionPolicy.process_key == process_key,
            RetentionPolicy.scope == scope,
            RetentionPolicy.superseded_at.is_(None),
        )
    )
    if row is None:
        raise NotFound(f"Nessuna conservazione per «{process_key}» in «{scope}».")
    row.superseded_at = utcnow()
    row.superseded_by = actor.username
    record(
        session,
        actor,
        "retention.policy_removed",
        f"Conservazione di «{process_key}» ({scope}) tolta",
        "retention",
        f"{process_key}@{scope}",
        None if scope == REGION else scope,
        before=_policy_values(row),
    )


def _policy_values(row: RetentionPolicy | None) -> dict[str, object] | None:
    if row is None:
        return None
    return {"giorni": row.days, "azione": row.action, "automatica": row.automatic, "nota": row.note}
