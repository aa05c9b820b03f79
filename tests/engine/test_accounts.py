"""Accounts: argon2 hashes, roles per Ambito, and locking after repeated failures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.access.accounts import FREE_ATTEMPTS, actor_for, authenticate, create_user
from engine.clock import utcnow
from engine.errors import Conflict, LoginLocked
from tests.conftest import add_ambiti

PASSWORD = "una-password-lunga"


def test_password_is_hashed_and_roles_make_the_actor(db) -> None:
    add_ambiti(db)
    grants = [("operatore_contatto", "MILANO"), ("mediatore", "LECCO"), ("revisore", None)]
    user = create_user(db, "Anna", "Anna B.", PASSWORD, grants)
    assert user.username == "anna" and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    actor = actor_for(db, user)
    assert actor.grants == set(grants) and actor.ambiti == {"MILANO", "LECCO"} and actor.regional
    assert actor.holds("mediatore", "LECCO") and not actor.holds("mediatore", "MILANO")
    with pytest.raises(Conflict, match="si assegna in un Ambito"):
        create_user(db, "carla", "Carla", PASSWORD, [("mediatore", None)])
    with pytest.raises(Conflict, match="regionale"):
        create_user(db, "carla", "Carla", PASSWORD, [("revisore", "MILANO")])
    with pytest.raises(Conflict, match="esiste già"):
        create_user(db, "anna", "Altra", PASSWORD)
    with pytest.raises(Conflict, match="almeno"):
        create_user(db, "bruno", "Bruno", "corta")


def test_repeated_failures_lock_the_account_for_a_growing_time(db) -> None:
    add_ambiti(db)
    user = create_user(db, "anna", "Anna", PASSWORD)
    assert authenticate(db, "ANNA ", PASSWORD) is user
    assert authenticate(db, "nessuno", PASSWORD) is None
    for _ in range(FREE_ATTEMPTS):
        assert authenticate(db, "anna", "sbagliata") is None
    assert user.locked_until is not None
    with pytest.raises(LoginLocked, match="riprovare tra 1 minuti"):
        authenticate(db, "anna", PASSWORD)  # even the right password waits
    user.locked_until = utcnow() - timedelta(seconds=1)
    assert authenticate(db, "anna", "sbagliata") is None
    assert user.locked_until - utcnow() > timedelta(minutes=1), "the lock doubles"
    user.locked_until = utcnow() - timedelta(seconds=1)
    assert authenticate(db, "anna", PASSWORD) is user
    assert user.failed_logins == 0 and user.locked_until is None
