"""Local accounts: argon2 password hashes, roles per Ambito, and the Actor they make."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.access.passwords import check_password
from engine.access.roles import BY_CODE, ROLE_CODES, Actor
from engine.access.sessions import end_all_sessions, end_other_sessions
from engine.access.throttle import check_throttle, record_failure, record_success
from engine.clock import utcnow
from engine.errors import Conflict, FormInvalid, NotFound
from engine.models import Ambito, AppUser, LoginChallenge, UserRole

_HASHER = PasswordHasher()
# Verified when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash("inlav-dummy-password")


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
    if session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
        raise Conflict(f"L'utente «{username}» esiste già.")
    check_password(password, username)
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


def _verify(password_hash: str | None, password: str) -> bool:
    """One argon2 verification, whatever the case: the dummy hash stands in for a missing user."""
    try:
        _HASHER.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def authenticate(
    session: Session, secret_key: str, username: str, password: str, address: str | None
) -> AppUser | None:
    """The active user with these credentials, or None (same answer, same work either way).

    Failures are counted per (name, client address), per address and per name
    (`engine.access.throttle`), unknown names exactly like known ones; a throttled
    attempt raises LoginLocked before any password is verified. The caller must commit
    even when this returns None. A user with a second factor is not logged in yet: the
    caller opens a login challenge (`engine.access.totp.open_challenge`).
    """
    check_throttle(session, secret_key, username, address)
    user = session.scalar(select(AppUser).where(AppUser.username == username.strip().lower()))
    usable = user is not None and user.is_active
    ok = _verify(user.password_hash if usable and user is not None else None, password)
    if not ok or user is None:
        record_failure(session, secret_key, username, address)
        return None
    if user.totp_enabled_at is None:
        # With a second factor the failures are forgotten only once the code is right, or
        # knowing the password alone would reset the counter between guesses of the code.
        record_success(session, secret_key, username, address)
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def set_password(session: Session, user: AppUser, new_password: str) -> None:
    """Give a user a new password (an administrator's reset): policy checked, every session ended."""
    check_password(new_password, user.username)
    user.password_hash = hash_password(new_password)
    end_all_sessions(session, user)
    session.execute(
        delete(LoginChallenge).where(LoginChallenge.user_id == user.id).execution_options(synchronize_session=False)
    )


def change_password(
    session: Session,
    secret_key: str,
    user: AppUser,
    current: str,
    new_password: str,
    address: str | None,
    keep_token: str,
) -> int:
    """A user changes her own password: the current one is required (a wrong one counts as a
    failed login), the new one must satisfy the policy; her other sessions end. Returns how
    many sessions were ended. Raises FormInvalid (fields `attuale`, `password`)."""
    check_throttle(session, secret_key, user.username, address)
    if not _verify(user.password_hash, current[:1000]):
        record_failure(session, secret_key, user.username, address)
        raise FormInvalid("La password attuale non è corretta.", {"attuale": ["La password attuale non è corretta."]})
    if new_password == current:
        raise FormInvalid(
            "La nuova password deve essere diversa da quella attuale.",
            {"password": ["La nuova password deve essere diversa da quella attuale."]},
        )
    check_password(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    return end_other_sessions(session, secret_key, user, keep_token)


def actor_for(session: Session, user: AppUser) -> Actor:
    """The Actor a logged-in user acts as."""
    rows = session.execute(select(UserRole.role, UserRole.ambito_code).where(UserRole.user_id == user.id)).all()
    return Actor(user.username, grants=frozenset((r.role, r.ambito_code) for r in rows))
