"""Login throttling by (name, address), by address and by name, with delays that double.

A stranger who types wrong passwords for an operator's name slows down *his own*
address, not the operator: failures are counted per (name, client address) pair, so the
owner logging in from another address is not affected. An address that fails against
many names is slowed as a whole, and a very high number of failures for one name from
anywhere (a spread-out attack) slows every attempt for that name for a while, never for
good. Names are keyed by a keyed hash of their normal form, not by the user row, so an
unknown name is counted exactly like a known one and no answer tells them apart.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.clock import as_utc, utcnow
from engine.errors import LoginLocked
from engine.models import LoginThrottle


@dataclass(frozen=True)
class Rule:
    """How one kind of counter throttles: free failures, first delay, cap, and when it forgets."""

    prefix: str
    free: int
    first_delay: timedelta
    max_delay: timedelta
    forget_after: timedelta


# One address against one name: the online guessing case.
PAIR = Rule(
    "p", free=3, first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=15), forget_after=timedelta(hours=1)
)
# One address against many names (password spraying, or a shared office NAT: generous).
ADDRESS = Rule(
    "a", free=30, first_delay=timedelta(minutes=1), max_delay=timedelta(hours=1), forget_after=timedelta(hours=1)
)
# One name from many addresses: slows everyone for that name, briefly, only under a real attack.
NAME = Rule(
    "n", free=50, first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=15), forget_after=timedelta(hours=1)
)
RULES = (PAIR, ADDRESS, NAME)
# Rows idle longer than this are deleted by the worker's housekeeping.
KEEP_ROWS = timedelta(days=1)
UNKNOWN_ADDRESS = "sconosciuto"


def normal_name(username: str) -> str:
    """The form a username is compared in (accounts store it the same way)."""
    return unicodedata.normalize("NFKC", username).strip().lower()


def name_key(secret_key: str, username: str) -> str:
    """Keyed hash of a username: the throttle never stores names, nor learns which exist."""
    return hmac.new(secret_key.encode(), b"login-name:" + normal_name(username).encode(), hashlib.sha256).hexdigest()


def address_key(address: str | None) -> str:
    """The client address as counted: an IPv6 address counts as its /64 (one household or host)."""
    if not address:
        return UNKNOWN_ADDRESS
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _keys(secret_key: str, username: str, address: str | None) -> list[tuple[Rule, str]]:
    name = name_key(secret_key, username)
    where = address_key(address)
    return [(PAIR, f"p:{name}@{where}"), (ADDRESS, f"a:{where}"), (NAME, f"n:{name}")]


def _wait_text(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, math.ceil(seconds))} secondi"
    minutes = math.ceil(seconds / 60)
    return "1 minuto" if minutes == 1 else f"{minutes} minuti"


def check_throttle(session: Session, secret_key: str, username: str, address: str | None) -> None:
    """Raise LoginLocked (with the seconds to wait) if any counter for this attempt is blocked.

    Called before the password is verified: a throttled attempt costs no hashing and
    is not counted again.
    """
    now = utcnow()
    keys = [key for _rule, key in _keys(secret_key, username, address)]
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all()
    waits = [
        (as_utc(row.blocked_until) - now).total_seconds()
        for row in rows
        if row.blocked_until is not None and as_utc(row.blocked_until) > now
    ]
    if waits:
        wait = max(waits)
        raise LoginLocked(
            f"Troppi tentativi non riusciti: riprovare tra {_wait_text(wait)}.", retry_after=math.ceil(wait)
        )


def _locked_row(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The counter row of a key, created if missing, locked for update (concurrent failures)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, first_failure_at=now, last_failure_at=now, blocked_until=None)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return session.execute(
        select(LoginThrottle)
        .where(LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def record_failure(session: Session, secret_key: str, username: str, address: str | None) -> None:
    """Count a failed attempt (wrong password, unknown name, wrong second-factor code)."""
    now = utcnow()
    for rule, key in _keys(secret_key, username, address):
        row = _locked_row(session, key, now)
        if row.failures and now - as_utc(row.last_failure_at) > rule.forget_after:
            row.failures = 0
            row.first_failure_at = now
            row.blocked_until = None
        row.failures += 1
        row.last_failure_at = now
        extra = row.failures - rule.free
        if extra >= 0:
            delay = min(rule.first_delay * (2 ** min(extra, 20)), rule.max_delay)
            row.blocked_until = now + delay


def record_success(session: Session, secret_key: str, username: str, address: str | None) -> None:
    """Forget the failures of this name from this address (address and name counters stay:
    an attacker's own valid login must not reset them)."""
    pair_key = _keys(secret_key, username, address)[0][1]
    session.execute(
        delete(LoginThrottle).where(LoginThrottle.key == pair_key).execution_options(synchronize_session=False)
    )


def purge_throttle(session: Session) -> int:
    """Delete counters that have been idle for a day and block nothing (worker housekeeping)."""
    now = utcnow()
    result = session.execute(
        delete(LoginThrottle)
        .where(
            and_(
                LoginThrottle.last_failure_at < now - KEEP_ROWS,
                or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now),
            )
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
