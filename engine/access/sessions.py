"""Browser sessions: a random token in an HttpOnly cookie, its keyed hash in the database.

Sessions end when idle too long, at an absolute limit, at logout, or when their owner
ends them from her "Sessioni" page; each carries its own CSRF token, and remembers the
client address and a short description of the browser it was opened from.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.clock import as_utc, utcnow
from engine.errors import NotFound
from engine.models import AppUser, LoginChallenge, WebSession

TOUCH_EVERY = timedelta(minutes=1)


@dataclass
class OpenedSession:
    """A new session: the cookie value (secret) and its CSRF token."""

    token: str
    csrf_token: str


def _hash(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def token_hash(secret_key: str, token: str) -> str:
    """The stored form of a session cookie."""
    return _hash(secret_key, token)


def open_session(
    session: Session,
    secret_key: str,
    user: AppUser,
    idle_minutes: int,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> OpenedSession:
    """Start a session for a user who just logged in (address and browser summary shown to her later)."""
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
            public_id=secrets.token_urlsafe(12),
            client_address=(client_address or None) and client_address[:64],
            user_agent=(user_agent or None) and user_agent[:200],
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


def list_sessions(session: Session, user: AppUser, max_hours: float) -> list[WebSession]:
    """A user's live sessions, most recently seen first."""
    now = utcnow()
    rows = session.scalars(
        select(WebSession)
        .where(WebSession.user_id == user.id, WebSession.expires_at > now)
        .order_by(WebSession.last_seen_at.desc(), WebSession.created_at.desc())
    ).all()
    return [row for row in rows if now - as_utc(row.created_at) <= timedelta(hours=max_hours)]


def end_session(session: Session, user: AppUser, public_id: str) -> None:
    """End one of the user's own sessions; someone else's (or none) is NotFound."""
    row = session.scalar(select(WebSession).where(WebSession.public_id == public_id[:32]))
    if row is None or row.user_id != user.id:
        raise NotFound("Sessione non trovata.")
    session.delete(row)
    session.flush()


def end_other_sessions(session: Session, secret_key: str, user: AppUser, keep_token: str) -> int:
    """End every session of the user except the one of this cookie; returns how many ended."""
    result = session.execute(
        delete(WebSession)
        .where(WebSession.user_id == user.id, WebSession.token_hash != _hash(secret_key, keep_token))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_all_sessions(session: Session, user: AppUser) -> int:
    """End every session of the user (password reset by an administrator, account disabled)."""
    result = session.execute(
        delete(WebSession).where(WebSession.user_id == user.id).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired_sessions(session: Session) -> int:
    """Delete expired sessions and expired login challenges."""
    now = utcnow()
    result = session.execute(
        delete(WebSession).where(WebSession.expires_at <= now).execution_options(synchronize_session=False)
    )
    session.execute(
        delete(LoginChallenge).where(LoginChallenge.expires_at <= now).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
