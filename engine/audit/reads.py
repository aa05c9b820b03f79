"""The read-access log: who looked at which case, when, what and through which channel.

Every view of a case's personal data leaves one row (the case file page, the API's case
read, the personal-data export, the auditor's instance page and history exports, the CLI's
`instances show` and `instances history`). Rows hold codes and usernames only, never a
name or an alias: the log itself must not become a second copy of personal data.

Append-only: this module has no update or delete path and the database refuses both
(triggers of migration 0015). Retention of the log itself is not automated: how long it is
kept is a decision of the data controller (see docs/security.md); purging it would take a
migration that lifts the triggers, on purpose.

Callers write the row in a short transaction of its own, after the read succeeded (the
page itself runs in a read-only transaction), and refuse the view if it cannot be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session

from engine.access.matrix import Action, ambiti_for, permits, require, require_in
from engine.access.roles import Actor
from engine.clock import utcnow
from engine.errors import NotFound
from engine.models import ProcessInstance, ReadLog

LOCAL = ZoneInfo("Europe/Rome")
DETAIL_MAX = 200

READ_WHAT: dict[str, str] = {
    "case_file": "Fascicolo del caso",
    "instance_page": "Pagina dell'istanza (revisione)",
    "personal_export": "Esportazione dei dati della persona",
    "history_json": "Esportazione della storia (JSON)",
    "history_csv": "Esportazione della storia (CSV)",
    "history_print": "Storia stampabile",
    "bulk_export": "Esportazione di più casi",
    "case_summary": "Riepilogo del caso",
    "history": "Storia del caso",
}
"""What was viewed, by code, with its Italian name (the filter of the log page lists them)."""

READ_CHANNELS: dict[str, str] = {"web": "Web", "api": "API", "cli": "Riga di comando"}
"""Through which door the case was read."""


@dataclass(frozen=True)
class CaseRef:
    """The identifiers of a case a read names, copied out of the session that loaded it."""

    instance_id: int
    case_code: str
    ambito_code: str

    @classmethod
    def of(cls, instance: ProcessInstance) -> CaseRef:
        """The reference of a loaded case."""
        return cls(instance.id, instance.case_code, instance.ambito_code)


def case_ref(session: Session, instance_or_case: ProcessInstance | CaseRef | str) -> CaseRef:
    """A case as a reference: an instance, a reference already, or a case code (NotFound if unknown)."""
    if isinstance(instance_or_case, CaseRef):
        return instance_or_case
    if isinstance(instance_or_case, ProcessInstance):
        return CaseRef.of(instance_or_case)
    row = session.execute(
        select(ProcessInstance.id, ProcessInstance.case_code, ProcessInstance.ambito_code).where(
            ProcessInstance.case_code == instance_or_case
        )
    ).first()
    if row is None:
        raise NotFound(f"Caso «{instance_or_case}» non trovato.")
    return CaseRef(row.id, row.case_code, row.ambito_code)


def _checked(what: str, channel: str, detail: str | None) -> str | None:
    if what not in READ_WHAT:
        raise ValueError(f"lettura sconosciuta per il registro degli accessi: {what}")
    if channel not in READ_CHANNELS:
        raise ValueError(f"canale sconosciuto per il registro degli accessi: {channel}")
    return (detail.strip()[:DETAIL_MAX] or None) if detail else None


def record_read(
    session: Session,
    actor: Actor,
    instance_or_case: ProcessInstance | CaseRef | str,
    what: str,
    channel: str,
    detail: str | None = None,
    coalesce: timedelta | None = None,
) -> ReadLog | None:
    """Append one read to the log, in the caller's transaction.

    With `coalesce`, a read of the same case, of the same kind, through the same channel by
    the same person within that span is not written again (a refresh of what is already on
    her screen): None is returned. `detail` is a short fixed text, never personal data.
    """
    detail = _checked(what, channel, detail)
    ref = case_ref(session, instance_or_case)
    now = utcnow()
    if coalesce is not None:
        recent = session.scalar(
            select(ReadLog.id)
            .where(
                ReadLog.case_code == ref.case_code,
                ReadLog.actor == actor.username,
                ReadLog.what == what,
                ReadLog.channel == channel,
                ReadLog.occurred_at >= now - coalesce,
            )
            .limit(1)
        )
        if recent is not None:
            return None
    row = ReadLog(
        occurred_at=now,
        actor=actor.username,
        instance_id=ref.instance_id,
        case_code=ref.case_code,
        ambito_code=ref.ambito_code,
        what=what,
        channel=channel,
        detail=detail,
    )
    session.add(row)
    session.flush()
    return row


def record_reads(
    session: Session,
    actor: Actor,
    cases: Iterable[ProcessInstance | CaseRef],
    what: str,
    channel: str,
    detail: str | None = None,
) -> int:
    """Append one read per case (a bulk export), in one statement; returns how many rows."""
    detail = _checked(what, channel, detail)
    now = utcnow()
    rows = [
        {
            "occurred_at": now,
            "actor": actor.username,
            "instance_id": ref.instance_id,
            "case_code": ref.case_code,
            "ambito_code": ref.ambito_code,
            "what": what,
            "channel": channel,
            "detail": detail,
        }
        for ref in (c if isinstance(c, CaseRef) else CaseRef.of(c) for c in cases)
    ]
    if rows:
        session.execute(insert(ReadLog), rows)
    return len(rows)


# --------------------------------------------------------------------------- reading the log


@dataclass
class ReadFilter:
    """What the log page asks for (all optional; dates are local calendar days, inclusive)."""

    case_code: str | None = None
    actor: str | None = None
    what: str | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass
class Read:
    """One row of the log as a page shows it."""

    id: int
    occurred_at: datetime
    actor: str
    case_code: str
    ambito: str
    instance_id: int
    what: str
    what_label: str
    channel: str
    channel_label: str
    detail: str | None


@dataclass
class ReadPage:
    """One page of the log (newest first) and how many rows the filter matches in all."""

    rows: list[Read]
    total: int


def _day_start(day: date) -> datetime:
    """Local midnight of a day, in UTC: SQLite compares stored times as text without their zone."""
    return datetime.combine(day, time.min, tzinfo=LOCAL).astimezone(UTC)


def _filtered(flt: ReadFilter, ambiti: frozenset[str] | None) -> Select[ReadLog]:
    query = select(ReadLog)
    if ambiti is not None:
        query = query.where(ReadLog.ambito_code.in_(sorted(ambiti)))
    if flt.case_code:
        query = query.where(ReadLog.case_code == flt.case_code)
    if flt.actor:
        query = query.where(ReadLog.actor == flt.actor)
    if flt.what:
        query = query.where(ReadLog.what == flt.what)
    if flt.channel:
        query = query.where(ReadLog.channel == flt.channel)
    if flt.date_from:
        query = query.where(ReadLog.occurred_at >= _day_start(flt.date_from))
    if flt.date_to:
        query = query.where(ReadLog.occurred_at < _day_start(flt.date_to + timedelta(days=1)))
    return query


def _read(row: ReadLog) -> Read:
    return Read(
        id=row.id,
        occurred_at=row.occurred_at,
        actor=row.actor,
        case_code=row.case_code,
        ambito=row.ambito_code,
        instance_id=row.instance_id,
        what=row.what,
        what_label=READ_WHAT.get(row.what, row.what),
        channel=row.channel,
        channel_label=READ_CHANNELS.get(row.channel, row.channel),
        detail=row.detail,
    )


def list_reads(
    session: Session, actor: Actor, flt: ReadFilter | None = None, limit: int = 25, offset: int = 0
) -> ReadPage:
    """A page of the log, newest first, limited to the Ambiti where the actor may read it.

    A case of another Ambito simply matches no row, as an unknown case does.
    """
    require(actor, Action.READLOG_READ)
    query = _filtered(flt or ReadFilter(), ambiti_for(actor, Action.READLOG_READ))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ReadLog.id.desc()).limit(limit).offset(offset))
    return ReadPage(rows=[_read(row) for row in rows], total=total)


def reads_of_case(session: Session, actor: Actor, case_code: str, limit: int = 25, offset: int = 0) -> ReadPage:
    """Who read one case, newest first; a case of another Ambito is as unknown (NotFound)."""
    require(actor, Action.READLOG_READ)
    ambito = session.scalar(select(ProcessInstance.ambito_code).where(ProcessInstance.case_code == case_code))
    if ambito is None:
        # A purged case keeps its reads: their Ambito is the case's.
        ambito = session.scalar(select(ReadLog.ambito_code).where(ReadLog.case_code == case_code).limit(1))
    require_in(actor, Action.READLOG_READ, ambito, f"Caso «{case_code}» non trovato.")
    return list_reads(session, actor, ReadFilter(case_code=case_code), limit, offset)


def reads_by_user(session: Session, actor: Actor, username: str, limit: int = 25, offset: int = 0) -> ReadPage:
    """What one person read, newest first, among the cases of the Ambiti the actor may audit."""
    return list_reads(session, actor, ReadFilter(actor=username.strip().lower()), limit, offset)


def recent_readers(session: Session, actor: Actor, case_code: str, limit: int = 10) -> ReadPage | None:
    """The last reads of a case, for a page that shows the case; None when the actor may not read
    the log in the case's Ambito (the page then shows nothing of it)."""
    ambito = session.scalar(select(ProcessInstance.ambito_code).where(ProcessInstance.case_code == case_code))
    if ambito is None or not permits(actor, Action.READLOG_READ, ambito):
        return None
    return list_reads(session, actor, ReadFilter(case_code=case_code), limit, 0)
