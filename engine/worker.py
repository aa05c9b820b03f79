"""The worker: fires due timers and routes messages, coordinating only through the database.

Timers are acquired in a short transaction (rows locked with SKIP LOCKED on
PostgreSQL, then marked with a lock that expires), and each one is fired in its own
transaction that also deletes the timer row. Whether a timer fires is decided by the
case's own state, so even a worker that lost its lock cannot fire it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine import messages
from engine.access.roles import SYSTEM
from engine.access.sessions import purge_expired_sessions
from engine.access.throttle import purge_throttle
from engine.clock import utcnow
from engine.config import Settings
from engine.db import is_postgres, transaction
from engine.drafts import purge_orphan_drafts
from engine.errors import Conflict, EngineError
from engine.instances import run_step
from engine.models import Timer
from engine.spiff import Case, StepReport
from engine.supervision import StalledCase, record_new_stalls

log = logging.getLogger("inlav.worker")
BACKOFF_SECONDS = (30, 120, 600, 3600)


@dataclass
class TickResult:
    """What one worker pass did."""

    timers_fired: int = 0
    timers_failed: int = 0
    messages_handled: int = 0
    other_work: int = 0
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.timers_fired or self.timers_failed or self.messages_handled or self.other_work)


def acquire_timers(session: Session, worker_id: str, settings: Settings) -> list[int]:
    """Lock a batch of due timers for this worker."""
    now = utcnow()
    query = (
        select(Timer.id)
        .where(Timer.due_at <= now)
        .where(or_(Timer.locked_until.is_(None), Timer.locked_until < now))
        .order_by(Timer.due_at, Timer.id)
        .limit(settings.worker_batch_size)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(Timer)
            .where(Timer.id.in_(ids))
            .values(locked_by=worker_id, locked_until=now + timedelta(seconds=settings.timer_lock_seconds))
            .execution_options(synchronize_session=False)
        )
    return ids


def fire_timer(session: Session, settings: Settings, timer_id: int, worker_id: str) -> str:
    """Fire one acquired timer; returns 'fired', 'gone' or 'failed'."""
    timer = session.get(Timer, timer_id, populate_existing=True)
    if timer is None or timer.locked_by != worker_id:
        return "gone"

    def action(case: Case) -> StepReport:
        return case.fire_timers()

    outcome = run_step(session, settings, timer.instance_id, SYSTEM, action)
    if outcome.error is None:
        still = session.get(Timer, timer_id)
        if still is not None:  # not due yet by the case's clock: let it be picked up again
            still.locked_by = None
            still.locked_until = None
        return "fired"
    still = session.get(Timer, timer_id)
    if still is not None:
        still.attempts += 1
        still.last_error = outcome.error.message
        delay = BACKOFF_SECONDS[min(still.attempts - 1, len(BACKOFF_SECONDS) - 1)]
        still.locked_by = None
        still.locked_until = utcnow() + timedelta(seconds=delay)
    return "failed"


ExtraWork = Callable[[sessionmaker[Session], Settings], int]
"""More work for each pass, given by the caller (moving cases in batches): returns what it did."""


def tick(
    factory: sessionmaker[Session], settings: Settings, worker_id: str, extra: Sequence[ExtraWork] = ()
) -> TickResult:
    """One pass: due timers, then deliverable messages, then the caller's extra work."""
    result = TickResult()
    with transaction(factory) as session:
        timer_ids = acquire_timers(session, worker_id, settings)
    for timer_id in timer_ids:
        try:
            with transaction(factory) as session:
                status = fire_timer(session, settings, timer_id, worker_id)
            if status == "fired":
                result.timers_fired += 1
            elif status == "failed":
                result.timers_failed += 1
        except Conflict:
            result.conflicts += 1
        except EngineError as exc:
            result.errors.append(str(exc))
    with transaction(factory) as session:
        message_ids = messages.deliverable_ids(session, settings.worker_batch_size)
    for message_id in message_ids:
        try:
            with transaction(factory) as session:
                messages.deliver(session, settings, message_id)
            result.messages_handled += 1
        except Conflict:
            result.conflicts += 1
        except EngineError as exc:
            result.errors.append(str(exc))
    for work in extra:
        try:
            result.other_work += work(factory, settings)
        except Conflict:
            result.conflicts += 1
        except EngineError as exc:
            result.errors.append(str(exc))
    return result


def housekeeping(factory: sessionmaker[Session]) -> dict[str, int]:
    """Delete expired web sessions and login challenges, idle login-throttle counters, and
    drafts of tasks that are no longer waiting."""
    with transaction(factory) as session:
        return {
            "sessions": purge_expired_sessions(session),
            "drafts": purge_orphan_drafts(session),
            "login_throttle": purge_throttle(session),
        }


def notice_stalls(factory: sessionmaker[Session]) -> list[StalledCase]:
    """Record in their history, once, the running cases that wait for nothing, and warn in the log."""
    try:
        with transaction(factory) as session:
            found = record_new_stalls(session)
    except StaleDataError:
        return []  # a case moved meanwhile: looked at again on the next pass
    for case in found:
        log.warning(
            "caso %s (Ambito %s, %s v%d) fermo: nessuna attività, timer o messaggio atteso; ultimo passo: %s",
            case.case_code,
            case.ambito,
            case.process_key,
            case.version,
            case.last_step or "-",
        )
    return found


HOUSEKEEPING_SECONDS = 600.0


def run_forever(
    factory: sessionmaker[Session],
    settings: Settings,
    worker_id: str,
    stop: object | None = None,
    extra: Sequence[ExtraWork] = (),
) -> None:
    """Tick until interrupted, sleeping when there is nothing to do; every ten minutes, housekeeping
    and the check for stalled cases."""
    log.info("worker %s started", worker_id)
    next_housekeeping = 0.0
    while stop is None or not getattr(stop, "is_set", lambda: False)():
        if time.monotonic() >= next_housekeeping:
            try:
                log.info("housekeeping: %s", housekeeping(factory))
            except Exception:
                log.exception("housekeeping failed")
            try:
                notice_stalls(factory)
            except Exception:
                log.exception("stalled-case check failed")
            next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
        try:
            result = tick(factory, settings, worker_id, extra)
        except Exception:
            log.exception("worker tick failed")
            result = TickResult()
        for error in result.errors:
            log.warning("%s", error)
        if not result.busy:
            time.sleep(settings.worker_poll_seconds)
