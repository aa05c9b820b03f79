"""Per-instance lease: one holder at a time, and a crashed holder's lease expires.

The lease is a pair of columns on the instance row, taken with a conditional UPDATE.
Inside one transaction it doubles as a row lock (PostgreSQL waits at most
`lock_wait_seconds` for another transaction on the same case, then reports it busy);
a holder that commits the lease and dies leaves it to expire after `lease_seconds`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import or_, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.db import is_postgres
from engine.errors import CaseBusy
from engine.models import ProcessInstance

BUSY_MESSAGE = "La pratica è in lavorazione da parte di un altro utente o processo: riprovare tra poco."


def new_owner() -> str:
    """A unique lease owner token."""
    return uuid.uuid4().hex


def acquire(session: Session, instance_id: int, owner: str, seconds: float, wait_seconds: float = 5.0) -> None:
    """Take the lease on an instance or raise CaseBusy."""
    now = utcnow()
    if is_postgres(session):
        session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_seconds * 1000)}ms'"))
    stmt = (
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .where(
            or_(
                ProcessInstance.lock_owner.is_(None),
                ProcessInstance.lock_owner == owner,
                ProcessInstance.lock_expires_at < now,
            )
        )
        .values(lock_owner=owner, lock_expires_at=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    try:
        result = session.execute(stmt)
    except (OperationalError, DBAPIError) as exc:
        if _is_lock_timeout(exc):
            raise CaseBusy(BUSY_MESSAGE) from exc
        raise
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise CaseBusy(BUSY_MESSAGE)


def release(session: Session, instance_id: int, owner: str) -> None:
    """Give the lease back (no-op if someone else holds it now)."""
    session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id, ProcessInstance.lock_owner == owner)
        .values(lock_owner=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def _is_lock_timeout(exc: Exception) -> bool:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    return code in {"55P03", "40P01"} or "database is locked" in str(exc)
