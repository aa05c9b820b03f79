"""API tokens for integrations: bearer secrets shown once, stored as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import as_utc, utcnow
from engine.errors import Conflict, NotFound
from engine.models import ApiToken, AppUser

TOKEN_PREFIX = "ilf"  # noqa: S105 - a public marker, not a secret
MAX_TOKENS_PER_USER = 20


def _hash(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def create_token(
    session: Session, secret_key: str, user: AppUser, name: str, days: int | None = 90
) -> tuple[ApiToken, str]:
    """A new token for a user; returns the row and the secret (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Conflict("Dare al token un nome (massimo 100 caratteri).")
    if days is not None and not 1 <= days <= 366:
        raise Conflict("La durata deve essere tra 1 e 366 giorni.")
    active = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    if len(list(active)) >= MAX_TOKENS_PER_USER:
        raise Conflict(f"Troppi token attivi (massimo {MAX_TOKENS_PER_USER}): revocarne uno.")
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=prefix,
        token_hash=_hash(secret_key, token),
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
        last_used_at=None,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return row, token


def user_for_token(session: Session, secret_key: str, token: str) -> AppUser | None:
    """The active user a valid, unexpired, unrevoked token acts as, or None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.prefix == parts[1]))
    if row is None or not hmac.compare_digest(row.token_hash, _hash(secret_key, token)):
        return None
    now = utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and as_utc(row.expires_at) <= now):
        return None
    user = session.get(AppUser, row.user_id)
    if user is None or not user.is_active:
        return None
    last = row.last_used_at
    if last is None or now - as_utc(last) > timedelta(minutes=5):
        row.last_used_at = now
    return user


def list_tokens(session: Session, user: AppUser) -> list[ApiToken]:
    """A user's tokens, newest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, user: AppUser, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("Token non trovato.")  # someone else's: as if it did not exist
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
    return row
