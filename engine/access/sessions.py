"""Browser sessions: a random token in an HttpOnly cookie, its keyed hash in the database.

Sessions end when idle too long, at an absolute limit, or at logout; each carries its
own CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from engine.clock import as_utc, utcnow
from engine.models import AppUser, WebSession

TOUCH_EVERY = timedelta(minutes=1)


@dataclass
class OpenedSession:
    """A new session: the cookie value (secret) and its CSRF token."""

    token: str
    csrf_token: str


def _hash(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def open_session(session: Session, secret_key: str, user: AppUser, idle_minutes: int) -> OpenedSession:
    """Start a session for a user who just logged in."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=_hash(secret_key, token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(minutes=idle_minutes),
        )
    )
    session.flush()
    return OpenedSession(token, csrf)


def find_session(session: Session, secret_key: str, token: str, max_hours: float) -> tuple[WebSession, AppUser] | None:
    """The live session of a cookie and its active user, or None (unknown, expired, user disabled)."""
    if not token or len(token) > 200:
        return None
    row = session.get(WebSession, _hash(secret_key, token))
    if row is None:
        return None
    now = utcnow()
    if as_utc(row.expires_at) <= now or now - as_utc(row.created_at) > timedelta(hours=max_hours):
        return None
    user = session.get(AppUser, row.user_id)
    if user is None or not user.is_active:
        return None
    return row, user


def needs_touch(row: WebSession) -> bool:
    """Whether the idle deadline should be pushed forward (at most once a minute)."""
    return utcnow() - as_utc(row.last_seen_at) >= TOUCH_EVERY


def touch_session(session: Session, secret_key: str, token: str, idle_minutes: int) -> None:
    """Push the idle deadline of a session forward."""
    row = session.get(WebSession, _hash(secret_key, token))
    if row is not None:
        now = utcnow()
        row.last_seen_at = now
        row.expires_at = now + timedelta(minutes=idle_minutes)


def close_session(session: Session, secret_key: str, token: str) -> None:
    """Log out: the session is deleted and its cookie becomes worthless."""
    session.execute(
        delete(WebSession)
        .where(WebSession.token_hash == _hash(secret_key, token))
        .execution_options(synchronize_session=False)
    )


def purge_expired_sessions(session: Session) -> int:
    """Delete expired sessions."""
    result = session.execute(
        delete(WebSession).where(WebSession.expires_at <= utcnow()).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
