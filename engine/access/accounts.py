"""Local accounts: argon2 password hashes, roles per Ambito, and the Actor they make."""

from __future__ import annotations

import contextlib
import math
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.roles import BY_CODE, ROLE_CODES, Actor
from engine.clock import as_utc, utcnow
from engine.errors import Conflict, LoginLocked, NotFound
from engine.models import Ambito, AppUser, UserRole

_HASHER = PasswordHasher()
# Verified when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash("inlav-dummy-password")
MIN_PASSWORD = 10
FREE_ATTEMPTS = 5
MAX_LOCK_MINUTES = 60


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _HASHER.hash(password)


def create_user(
    session: Session,
    username: str,
    full_name: str,
    password: str,
    roles: list[tuple[str, str | None]] = (),  # type: ignore[assignment]
    email: str | None = None,
    locale: str = "it",
) -> AppUser:
    """Create an account with roles given as (role code, Ambito code or None for regional)."""
    username = username.strip().lower()
    if not username or len(username) > 100:
        raise Conflict("Nome utente non valido.")
    if len(password) < MIN_PASSWORD:
        raise Conflict(f"La password deve avere almeno {MIN_PASSWORD} caratteri.")
    if session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
        raise Conflict(f"L'utente «{username}» esiste già.")
    for role, ambito in roles:
        check_grant(session, role, ambito)
    user = AppUser(
        username=username,
        full_name=full_name,
        email=email,
        password_hash=hash_password(password),
        is_active=True,
        locale=locale,
        created_at=utcnow(),
        last_login_at=None,
        failed_logins=0,
        locked_until=None,
    )
    session.add(user)
    session.flush()
    for role, ambito in roles:
        grant_role(session, user, role, ambito)
    return user


def grant_role(session: Session, user: AppUser, role: str, ambito: str | None) -> None:
    """Give a user a role: in an Ambito, or regionally (`ambito` None) for the regional roles."""
    check_grant(session, role, ambito)
    session.add(UserRole(user_id=user.id, role=role, ambito_code=ambito))
    session.flush()


def check_grant(session: Session, role: str, ambito: str | None) -> None:
    """Raise unless the role exists and is given where it belongs (an Ambito, or the region)."""
    if role not in ROLE_CODES:
        raise NotFound(f"Ruolo sconosciuto: {role}")
    if BY_CODE[role].regional and ambito is not None:
        raise Conflict(f"Il ruolo «{BY_CODE[role].label}» è regionale: non si assegna a un Ambito.")
    if not BY_CODE[role].regional and ambito is None:
        raise Conflict(f"Il ruolo «{BY_CODE[role].label}» si assegna in un Ambito: sceglierlo.")
    if ambito is not None and session.get(Ambito, ambito) is None:
        raise NotFound(f"Ambito sconosciuto: {ambito}")


def authenticate(session: Session, username: str, password: str) -> AppUser | None:
    """The active user with these credentials, or None (same cost either way).

    After FREE_ATTEMPTS consecutive failures an account is locked for a time that
    doubles with each further failure (capped), so passwords cannot be guessed online;
    LoginLocked says for how long. The caller must commit even when this returns None.
    """
    user = session.scalar(select(AppUser).where(AppUser.username == username.strip().lower()))
    if user is None or not user.is_active:
        with contextlib.suppress(VerificationError):
            _HASHER.verify(_DUMMY_HASH, password)
        return None
    now = utcnow()
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        minutes = max(1, math.ceil((as_utc(user.locked_until) - now).total_seconds() / 60))
        raise LoginLocked(f"Troppi tentativi non riusciti: riprovare tra {minutes} minuti.")
    try:
        _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins = (user.failed_logins or 0) + 1
        extra = user.failed_logins - FREE_ATTEMPTS
        if extra >= 0:
            user.locked_until = now + timedelta(minutes=min(2**extra, MAX_LOCK_MINUTES))
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


def change_password(session: Session, user: AppUser, current: str, new: str) -> None:
    """A person replaces her password (the current one is checked); Conflict says what is wrong."""
    try:
        _HASHER.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise Conflict("La password attuale non è corretta.") from None
    if len(new) < MIN_PASSWORD:
        raise Conflict(f"La nuova password deve avere almeno {MIN_PASSWORD} caratteri.")
    if new == current:
        raise Conflict("La nuova password deve essere diversa da quella attuale.")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    session.flush()


def actor_for(session: Session, user: AppUser) -> Actor:
    """The Actor a logged-in user acts as."""
    rows = session.execute(select(UserRole.role, UserRole.ambito_code).where(UserRole.user_id == user.id)).all()
    return Actor(user.username, grants=frozenset((r.role, r.ambito_code) for r in rows))
