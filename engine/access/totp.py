"""The second factor: TOTP codes (RFC 6238, via pyotp), recovery codes, and the login step
between password and code.

The TOTP secret is stored encrypted with Fernet under a key derived from
`INLAV_SECRET_KEY` by HKDF-SHA256 (its own `info` label, so the key is used for nothing
else); changing the secret key therefore disables every enrolled second factor. A code
is accepted in its 30-second step or one step either side, and only once: the last
accepted step is stored and older or equal steps are refused. Recovery codes are random
(≈50 bits each), shown once, stored as keyed hashes, each usable once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from engine.access.roles import Actor, roles_requiring_second_factor
from engine.access.throttle import check_throttle, record_failure, record_success
from engine.clock import as_utc, utcnow
from engine.errors import Conflict, FormInvalid
from engine.models import AppUser, LoginChallenge, RecoveryCode

ISSUER = "InLav Flow"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 8
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read aloud, typed by hand
_RECOVERY_LENGTH = 10
CHALLENGE_MINUTES = 5
CHALLENGE_ATTEMPTS = 5
_SIX_DIGITS = re.compile(r"^\d{6}$")


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"inlav-flow", info=b"totp-secret-v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _decrypt(secret_key: str, token: str | None) -> str | None:
    if not token:
        return None
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return None  # the secret key changed: the enrolment is lost, an administrator resets it


def _keyed(secret_key: str, label: str, value: str) -> str:
    return hmac.new(secret_key.encode(), f"{label}:{value}".encode(), hashlib.sha256).hexdigest()


def has_second_factor(user: AppUser) -> bool:
    """Whether the user's login asks for a code after the password."""
    return user.totp_enabled_at is not None


def second_factor_required(actor: Actor, require_for: str) -> bool:
    """Whether the setting INLAV_REQUIRE_2FA_FOR makes a second factor compulsory for this person."""
    roles = roles_requiring_second_factor(require_for)
    return bool(roles & actor.roles)


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret as text and as an otpauth:// URI (for the QR code)."""

    secret: str
    uri: str


def start_enrolment(session: Session, secret_key: str, user: AppUser) -> Enrolment:
    """A secret waiting to be confirmed by a first code (the same one until confirmed)."""
    if has_second_factor(user):
        raise Conflict("Il secondo fattore è già attivo.")
    secret = _decrypt(secret_key, user.totp_secret)
    if secret is None:
        secret = pyotp.random_base32()
        user.totp_secret = _fernet(secret_key).encrypt(secret.encode()).decode()
        user.totp_last_step = None
        session.flush()
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return Enrolment(secret, uri)


def _wrong_code() -> FormInvalid:
    message = "Codice non valido o già usato: controllare l'ora del telefono e riprovare con il codice nuovo."
    return FormInvalid(message, {"codice": [message]})


def _accept_totp(session: Session, secret_key: str, user: AppUser, code: str) -> bool:
    """Whether the code is the user's current one (±1 step) and not used before; marks its step used."""
    secret = _decrypt(secret_key, user.totp_secret)
    if secret is None or not _SIX_DIGITS.match(code):
        return False
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = int(utcnow().timestamp()) // STEP_SECONDS
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if not hmac.compare_digest(totp.generate_otp(step), code):
            continue
        # Single use, also against a concurrent request with the same code.
        taken = session.execute(
            update(AppUser)
            .where(AppUser.id == user.id)
            .where((AppUser.totp_last_step.is_(None)) | (AppUser.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if int(taken.rowcount or 0) == 1:  # type: ignore[attr-defined]
            user.totp_last_step = step
            return True
        return False
    return False


def _normal_recovery(code: str) -> str:
    return re.sub(r"[\s-]+", "", code).lower()


def _accept_recovery(session: Session, secret_key: str, user: AppUser, code: str) -> bool:
    """Whether the code is one of the user's unused recovery codes; marks it used."""
    normal = _normal_recovery(code)
    if len(normal) != _RECOVERY_LENGTH:
        return False
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _keyed(secret_key, f"recovery-{user.id}", normal),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(used.rowcount or 0) == 1  # type: ignore[attr-defined]


def verify_second_factor(session: Session, secret_key: str, user: AppUser, code: str) -> bool:
    """Whether a code proves the second factor: six digits from the app, or a recovery code."""
    code = code.strip()[:40]
    if not has_second_factor(user):
        return False
    if _SIX_DIGITS.match(code.replace(" ", "")):
        return _accept_totp(session, secret_key, user, code.replace(" ", ""))
    return _accept_recovery(session, secret_key, user, code)


def new_recovery_codes(session: Session, secret_key: str, user: AppUser) -> list[str]:
    """Replace the user's recovery codes with new ones; returns them (shown once, never stored)."""
    session.execute(
        delete(RecoveryCode).where(RecoveryCode.user_id == user.id).execution_options(synchronize_session=False)
    )
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH)) for _ in range(RECOVERY_CODES)
    ]
    now = utcnow()
    for code in codes:
        session.add(
            RecoveryCode(
                user_id=user.id, code_hash=_keyed(secret_key, f"recovery-{user.id}", code), created_at=now, used_at=None
            )
        )
    session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def recovery_codes_left(session: Session, user: AppUser) -> int:
    """How many unused recovery codes the user has."""
    count = session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


def confirm_enrolment(session: Session, secret_key: str, user: AppUser, code: str) -> list[str]:
    """Turn the second factor on with a first valid code; returns the recovery codes (shown once)."""
    if has_second_factor(user):
        raise Conflict("Il secondo fattore è già attivo.")
    if user.totp_secret is None or not _accept_totp(session, secret_key, user, code.strip().replace(" ", "")):
        raise _wrong_code()
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(session, secret_key, user)


def regenerate_recovery_codes(
    session: Session, secret_key: str, user: AppUser, code: str, address: str | None = None
) -> list[str]:
    """New recovery codes (the old ones stop working), on a valid code from the app.

    A wrong code counts as a failed login (a stolen session must not guess codes freely);
    the caller commits even when this raises FormInvalid."""
    if not has_second_factor(user):
        raise Conflict("Il secondo fattore non è attivo.")
    check_throttle(session, secret_key, user.username, address)
    if not _accept_totp(session, secret_key, user, code.strip().replace(" ", "")):
        record_failure(session, secret_key, user.username, address)
        raise _wrong_code()
    return new_recovery_codes(session, secret_key, user)


def disable_second_factor(
    session: Session, secret_key: str, user: AppUser, code: str, required: bool, address: str | None = None
) -> None:
    """Turn the second factor off, on a valid code (app or recovery); not when the user's role requires it.

    A wrong code counts as a failed login; the caller commits even when this raises FormInvalid."""
    if not has_second_factor(user):
        raise Conflict("Il secondo fattore non è attivo.")
    if required:
        raise Conflict("Il secondo fattore è obbligatorio per il tuo ruolo: non si può disattivare.")
    check_throttle(session, secret_key, user.username, address)
    if not verify_second_factor(session, secret_key, user, code):
        record_failure(session, secret_key, user.username, address)
        raise _wrong_code()
    reset_second_factor(session, user)


def reset_second_factor(session: Session, user: AppUser) -> None:
    """Remove a user's second factor and recovery codes (administrators: a lost phone)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(
        delete(RecoveryCode).where(RecoveryCode.user_id == user.id).execution_options(synchronize_session=False)
    )
    session.execute(
        delete(LoginChallenge).where(LoginChallenge.user_id == user.id).execution_options(synchronize_session=False)
    )
    session.flush()


# --------------------------------------------------------------------------- the login step


def open_challenge(
    session: Session,
    secret_key: str,
    user: AppUser,
    next_url: str,
    client_address: str | None,
    user_agent: str | None,
) -> str:
    """After a correct password, when a code is still due: a short-lived token for the code step only.

    The token is not a session: no page accepts it, only `complete_challenge`.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginChallenge(
            token_hash=_keyed(secret_key, "challenge", token),
            user_id=user.id,
            next_url=next_url[:500],
            client_address=(client_address or None) and client_address[:64],
            user_agent=(user_agent or None) and user_agent[:200],
            created_at=now,
            expires_at=now + timedelta(minutes=CHALLENGE_MINUTES),
            attempts=0,
        )
    )
    session.flush()
    return token


def find_challenge(session: Session, secret_key: str, token: str) -> LoginChallenge | None:
    """The live challenge of a cookie, or None (unknown or expired)."""
    if not token or len(token) > 200:
        return None
    row = session.get(LoginChallenge, _keyed(secret_key, "challenge", token))
    if row is None or as_utc(row.expires_at) <= utcnow():
        return None
    return row


@dataclass
class ChallengeOutcome:
    """What the code step decided: the user to log in (and where to), or why not."""

    user: AppUser | None
    next_url: str = "/"
    client_address: str | None = None
    user_agent: str | None = None
    expired: bool = False


def complete_challenge(
    session: Session, secret_key: str, token: str, code: str, address: str | None
) -> ChallengeOutcome:
    """Check the code of a login challenge. A wrong code counts as a failed login (throttle) and
    as an attempt of the challenge, which ends after CHALLENGE_ATTEMPTS; a right one ends it.
    Raises LoginLocked when throttled. The caller must commit whatever the outcome."""
    row = find_challenge(session, secret_key, token)
    if row is None:
        return ChallengeOutcome(None, expired=True)
    user = session.get(AppUser, row.user_id)
    if user is None or not user.is_active or not has_second_factor(user):
        session.delete(row)
        return ChallengeOutcome(None, expired=True)
    check_throttle(session, secret_key, user.username, address)
    if verify_second_factor(session, secret_key, user, code):
        outcome = ChallengeOutcome(user, row.next_url, row.client_address, row.user_agent)
        session.delete(row)
        record_success(session, secret_key, user.username, address)
        user.last_login_at = utcnow()
        return outcome
    record_failure(session, secret_key, user.username, address)
    row.attempts += 1
    if row.attempts >= CHALLENGE_ATTEMPTS:
        session.delete(row)
        return ChallengeOutcome(None, expired=True)
    return ChallengeOutcome(None)
