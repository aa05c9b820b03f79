"""The second factor: TOTP enrolment and codes, recovery codes, the login challenge, the policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from engine.access import (
    Actor,
    authenticate,
    complete_challenge,
    confirm_enrolment,
    create_user,
    disable_second_factor,
    has_second_factor,
    open_challenge,
    recovery_codes_left,
    reset_second_factor,
    second_factor_required,
    start_enrolment,
    verify_second_factor,
)
from engine.access.totp import CHALLENGE_ATTEMPTS
from engine.config import Settings
from engine.errors import Conflict, FormInvalid, LoginLocked
from engine.models import AppUser, RecoveryCode
from tests.conftest import add_ambiti

PASSWORD = "una-password-lunga"
SECRET = "chiave-di-prova"
START = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)  # a step boundary


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], datetime]:
    """Set the second factor's 'now' to START + seconds."""
    state = {"now": START}
    monkeypatch.setattr("engine.access.totp.utcnow", lambda: state["now"])

    def at(seconds: float) -> datetime:
        state["now"] = START + timedelta(seconds=seconds)
        return state["now"]

    return at


def code_at(secret: str, seconds: float) -> str:
    return pyotp.TOTP(secret).at(START + timedelta(seconds=seconds))


def enrolled(db, clock) -> tuple[AppUser, str, list[str]]:  # type: ignore[no-untyped-def]
    add_ambiti(db)
    user = create_user(db, "anna", "Anna", PASSWORD, [("operatore_contatto", "MILANO")])
    enrolment = start_enrolment(db, SECRET, user)
    assert start_enrolment(db, SECRET, user).secret == enrolment.secret, "the same secret until confirmed"
    clock(0)
    codes = confirm_enrolment(db, SECRET, user, code_at(enrolment.secret, 0))
    return user, enrolment.secret, codes


def test_enrolment_stores_the_secret_encrypted_and_needs_a_valid_code(db, clock) -> None:
    add_ambiti(db)
    user = create_user(db, "anna", "Anna", PASSWORD)
    enrolment = start_enrolment(db, SECRET, user)
    assert (
        enrolment.uri.startswith("otpauth://totp/InLav%20Flow:anna?secret=") and "issuer=InLav%20Flow" in enrolment.uri
    )
    stored = db.scalar(select(AppUser.totp_secret).where(AppUser.id == user.id))
    assert stored and enrolment.secret not in stored, "never in plain text"
    clock(0)
    with pytest.raises(FormInvalid, match="Codice non valido"):
        confirm_enrolment(db, SECRET, user, "000000" if code_at(enrolment.secret, 0) != "000000" else "111111")
    assert not has_second_factor(user)
    codes = confirm_enrolment(db, SECRET, user, code_at(enrolment.secret, 0))
    assert has_second_factor(user) and len(codes) == 8 and len(set(codes)) == 8
    assert recovery_codes_left(db, user) == 8
    hashes = db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert not set(hashes) & {c.replace("-", "") for c in codes}, "recovery codes stored hashed"
    with pytest.raises(Conflict, match="già attivo"):
        start_enrolment(db, SECRET, user)


def test_codes_are_single_use_and_allow_one_step_of_drift(db, clock) -> None:
    user, secret, _codes = enrolled(db, clock)
    clock(60)
    assert not verify_second_factor(db, SECRET, user, code_at(secret, 0)), "two steps old"
    assert verify_second_factor(db, SECRET, user, code_at(secret, 30)), "one step behind"
    assert not verify_second_factor(db, SECRET, user, code_at(secret, 30)), "replayed"
    assert verify_second_factor(db, SECRET, user, code_at(secret, 90)), "one step ahead"
    assert not verify_second_factor(db, SECRET, user, code_at(secret, 60)), "older than the last one used"
    assert not verify_second_factor(db, SECRET, user, code_at(secret, 150)), "two steps ahead"
    assert not verify_second_factor(db, SECRET, user, "12345"), "not six digits"


def test_recovery_codes_work_once(db, clock) -> None:
    user, _secret, codes = enrolled(db, clock)
    assert verify_second_factor(db, SECRET, user, codes[0].upper().replace("-", " "))
    assert not verify_second_factor(db, SECRET, user, codes[0]), "used"
    assert recovery_codes_left(db, user) == 7
    assert not verify_second_factor(db, SECRET, user, "abcde-fghjk")


def test_a_wrong_secret_key_cannot_read_the_secret(db, clock) -> None:
    user, secret, _codes = enrolled(db, clock)
    clock(30)
    assert not verify_second_factor(db, "another-key", user, code_at(secret, 30))


def test_disabling_needs_a_code_and_an_admin_can_reset(db, clock) -> None:
    user, secret, codes = enrolled(db, clock)
    clock(30)
    for _ in range(3):
        with pytest.raises(FormInvalid):
            disable_second_factor(db, SECRET, user, "abcde-fghjk", required=False, address="10.0.0.5")
    with pytest.raises(LoginLocked):  # wrong codes count as failed logins
        disable_second_factor(db, SECRET, user, codes[1], required=False, address="10.0.0.5")
    with pytest.raises(Conflict, match="obbligatorio"):
        disable_second_factor(db, SECRET, user, code_at(secret, 30), required=True)
    disable_second_factor(db, SECRET, user, codes[1], required=False)
    assert not has_second_factor(user) and user.totp_secret is None and recovery_codes_left(db, user) == 0
    enrolment = start_enrolment(db, SECRET, user)
    confirm_enrolment(db, SECRET, user, code_at(enrolment.secret, 30))
    reset_second_factor(db, user)
    assert not has_second_factor(user) and recovery_codes_left(db, user) == 0


def test_the_login_challenge(db, clock) -> None:
    user, secret, codes = enrolled(db, clock)
    assert authenticate(db, SECRET, "anna", PASSWORD, "10.0.0.1") is user
    token = open_challenge(db, SECRET, user, "/casi", "10.0.0.1", "Firefox su Linux")
    clock(30)
    wrong = complete_challenge(db, SECRET, token, "999999" if code_at(secret, 30) != "999999" else "888888", "10.0.0.1")
    assert wrong.user is None and not wrong.expired
    right = complete_challenge(db, SECRET, token, code_at(secret, 30), "10.0.0.1")
    assert right.user is user and right.next_url == "/casi" and right.user_agent == "Firefox su Linux"
    again = complete_challenge(db, SECRET, token, code_at(secret, 60), "10.0.0.1")
    assert again.user is None and again.expired, "a challenge is used once"
    # Wrong codes count as failed logins and end the challenge after a few attempts.
    token = open_challenge(db, SECRET, user, "/", "10.0.0.2", None)
    outcomes = []
    for _ in range(CHALLENGE_ATTEMPTS):
        try:
            outcomes.append(complete_challenge(db, SECRET, token, "000000", "10.0.0.2").expired)
        except LoginLocked:
            outcomes.append("locked")
    assert outcomes[:3] == [False, False, False] and outcomes[3] == "locked"
    assert complete_challenge(db, SECRET, "", codes[0], "10.0.0.2").expired


def test_required_for_groups() -> None:
    admin = Actor("a", frozenset({"amministratore"}))
    director = Actor("d", frozenset({"direttore_pua"}), frozenset({"MILANO"}))
    operator = Actor("o", frozenset({"operatore_contatto"}), frozenset({"MILANO"}))
    setting = "coordinatori, amministratori"
    assert second_factor_required(admin, setting) and second_factor_required(director, setting)
    assert not second_factor_required(operator, setting)
    assert not second_factor_required(admin, "")
    assert second_factor_required(operator, "tutti")
    with pytest.raises(ValueError, match="unknown group"):
        Settings(require_2fa_for="capi").check()
