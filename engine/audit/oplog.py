"""The operation log: every administrative act, append-only and hash-chained.

Each row says who did what, when, to which target (and in which Ambito), with the values
before and after. Passwords and hashes never enter it: they are written "(modificata)".
The database refuses UPDATE and DELETE on the table (triggers of migration 0009); the
hash chain makes any change made around the triggers visible to `verify_oplog`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine import codec
from engine.access.matrix import Action, require
from engine.access.roles import Actor
from engine.clock import as_utc, utcnow
from engine.models import OperationLog

GENESIS = "0" * 64
LOCAL = ZoneInfo("Europe/Rome")
CHANGED = "(modificata)"
# Keys whose values never reach the log, whatever a caller passes (`must_change_password`,
# a flag, is not one of them).
SECRET_PREFIXES = ("password", "secret")
SECRET_SUFFIXES = ("hash", "token", "secret")

ACTIONS: dict[str, str] = {
    "user.created": "Utente creato",
    "user.updated": "Utente modificato",
    "user.deactivated": "Utente disattivato",
    "user.reactivated": "Utente riattivato",
    "user.password_reset": "Password reimpostata",
    "user.second_factor_reset": "Secondo fattore disattivato",
    "role.granted": "Ruolo assegnato",
    "role.revoked": "Ruolo revocato",
    "ambito.created": "Ambito creato",
    "ambito.renamed": "Ambito rinominato",
    "partner.created": "Partner registrato",
    "partner.updated": "Partner modificato",
    "partner.deactivated": "Partner disattivato",
    "partner.reactivated": "Partner riattivato",
    "setting.changed": "Impostazione modificata",
    "target.changed": "Obiettivi annuali modificati",
    "process.published": "Processo pubblicato",
    "process.contract_override": "Pubblicato nonostante fatti persi per il monitoraggio",
    "process.draft_discarded": "Bozza di un processo scartata",
    "migration.started": "Migrazione di casi avviata",
    "migration.finished": "Migrazione di casi conclusa",
    "migration.undone": "Migrazione di casi annullata",
    "retention.policy_set": "Conservazione stabilita",
    "retention.policy_removed": "Conservazione tolta",
    "retention.applied": "Conservazione applicata (casi anonimizzati o cancellati)",
}
"""Action codes and their Italian names (the filter of the log page lists them)."""

TARGET_KINDS: dict[str, str] = {
    "user": "Utente",
    "ambito": "Ambito",
    "partner": "Partner",
    "setting": "Impostazione",
    "target": "Obiettivi annuali",
    "process": "Processo",
    "migration": "Migrazione di casi",
    "retention": "Conservazione",
}


def scrub(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of `values` where anything that looks like a secret reads "(modificata)"."""
    if values is None:
        return None
    clean: dict[str, Any] = {}
    for key, value in values.items():
        name = key.lower()
        if name.startswith(SECRET_PREFIXES) or name.endswith(SECRET_SUFFIXES):
            clean[key] = CHANGED
        elif isinstance(value, Mapping):
            clean[key] = scrub(value)
        else:
            clean[key] = value
    return clean


def _row_hash(prev_hash: str, seq: int, occurred_at: datetime, body: dict[str, Any]) -> str:
    content = {"seq": seq, "at": as_utc(occurred_at).isoformat(), **body}
    return codec.digest(prev_hash + codec.dumps(content))


def _body(row: OperationLog) -> dict[str, Any]:
    return {
        "actor": row.actor,
        "action": row.action,
        "description": row.description,
        "target_kind": row.target_kind,
        "target_id": row.target_id,
        "ambito": row.ambito_code,
        "before": None if row.before_json is None else codec.from_jsonable_text(row.before_json),
        "after": None if row.after_json is None else codec.from_jsonable_text(row.after_json),
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    description: str,
    target_kind: str,
    target_id: str | int,
    ambito: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> OperationLog:
    """Append one administrative act to the log, in the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"azione del registro sconosciuta: {action}")
    if target_kind not in TARGET_KINDS:
        raise ValueError(f"tipo di oggetto del registro sconosciuto: {target_kind}")
    head = session.execute(
        select(OperationLog.seq, OperationLog.hash).order_by(OperationLog.seq.desc()).limit(1)
    ).first()
    seq = (head.seq if head else 0) + 1
    prev = head.hash if head else GENESIS
    now = utcnow()
    before_clean, after_clean = scrub(before), scrub(after)
    row = OperationLog(
        seq=seq,
        occurred_at=now,
        actor=actor.username,
        action=action,
        description=description,
        target_kind=target_kind,
        target_id=str(target_id),
        ambito_code=ambito,
        before_json=None if before_clean is None else codec.dumps(codec.to_jsonable(before_clean)),
        after_json=None if after_clean is None else codec.dumps(codec.to_jsonable(after_clean)),
        prev_hash=prev,
        hash="",
    )
    row.hash = _row_hash(prev, seq, now, _body(row))
    session.add(row)
    session.flush()
    return row


def verify_oplog(session: Session) -> list[int]:
    """Sequence numbers of rows whose link or hash does not match (empty: the log is intact)."""
    broken: list[int] = []
    prev = GENESIS
    expected = 1
    for row in session.scalars(select(OperationLog).order_by(OperationLog.seq)):
        linked = row.seq == expected and row.prev_hash == prev
        if not linked or _row_hash(prev, row.seq, row.occurred_at, _body(row)) != row.hash:
            broken.append(row.seq)
        prev = row.hash
        expected = row.seq + 1
    return broken


@dataclass
class OperationFilter:
    """What the log page asks for (all optional; dates are local calendar days, inclusive)."""

    actor: str | None = None
    action: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    ambito: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass
class Operation:
    """One row of the log as the page shows it."""

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    action_label: str
    description: str
    target_kind: str
    target_id: str
    ambito: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every field with a value on either side."""
        before, after = self.before or {}, self.after or {}
        keys = list(dict.fromkeys([*before, *after]))
        return [(k, before.get(k), after.get(k)) for k in keys if (before.get(k), after.get(k)) != (None, None)]


@dataclass
class OperationPage:
    """One page of the log, its total, and the actors that appear in it (for the filter)."""

    rows: list[Operation]
    total: int
    actors: list[str]


def _filtered(flt: OperationFilter) -> Select[OperationLog]:
    query = select(OperationLog)
    if flt.actor:
        query = query.where(OperationLog.actor == flt.actor)
    if flt.action:
        query = query.where(OperationLog.action == flt.action)
    if flt.target_kind:
        query = query.where(OperationLog.target_kind == flt.target_kind)
    if flt.target_id:
        query = query.where(OperationLog.target_id == flt.target_id)
    if flt.ambito:
        query = query.where(OperationLog.ambito_code == flt.ambito)
    if flt.date_from:
        query = query.where(OperationLog.occurred_at >= _day_start(flt.date_from))
    if flt.date_to:
        query = query.where(OperationLog.occurred_at < _day_start(flt.date_to + timedelta(days=1)))
    return query


def _day_start(day: date) -> datetime:
    """Local midnight of a day, in UTC: SQLite compares stored times as text without their zone."""
    return datetime.combine(day, time.min, tzinfo=LOCAL).astimezone(UTC)


def list_operations(
    session: Session, actor: Actor, flt: OperationFilter | None = None, limit: int = 25, offset: int = 0
) -> OperationPage:
    """A page of the log, newest first (auditors and administrators)."""
    require(actor, Action.OPLOG_READ)
    query = _filtered(flt or OperationFilter())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(OperationLog.seq.desc()).limit(limit).offset(offset))
    actors = list(session.scalars(select(OperationLog.actor).distinct().order_by(OperationLog.actor)))
    return OperationPage(
        rows=[
            Operation(
                seq=row.seq,
                occurred_at=row.occurred_at,
                actor=row.actor,
                action=row.action,
                action_label=ACTIONS.get(row.action, row.action),
                description=row.description,
                target_kind=row.target_kind,
                target_id=row.target_id,
                ambito=row.ambito_code,
                before=None if row.before_json is None else codec.from_jsonable_text(row.before_json),
                after=None if row.after_json is None else codec.from_jsonable_text(row.after_json),
            )
            for row in rows
        ],
        total=total,
        actors=actors,
    )
