"""Accounts: argon2 hashes, roles per Ambito, the password policy, password change and reset."""

from __future__ import annotations

import pytest

from engine.access import (
    actor_for,
    authenticate,
    change_password,
    create_user,
    open_session,
    password_problems,
    set_password,
)
from engine.access.sessions import find_session
from engine.errors import Conflict, FormInvalid, PasswordRejected
from tests.conftest import add_ambiti

PASSWORD = "una-password-lunga"
SECRET = "chiave-di-prova"


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
    with pytest.raises(PasswordRejected, match="almeno 12 caratteri"):
        create_user(db, "bruno", "Bruno", "corta")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("undici-car", "almeno 12 caratteri"),
        ("x" * 1001, "al massimo 1000"),
        ("Lombardia2026!", "facile da indovinare"),
        ("ciao-lucia-bianchi-99", "nome utente"),
        ("Password123456", "facile da indovinare"),
        ("Juventus1897!!", "facile da indovinare"),
        ("iloveyou-2026", "facile da indovinare"),
        ("inlavlombardia", "facile da indovinare"),
        ("passwordpassword", "facile da indovinare"),
        ("qwertyuiopasdf", "facile da indovinare"),
        ("123456789012", "facile da indovinare"),
        ("abababababab", "facile da indovinare"),
    ],
)
def test_password_policy_refuses(password: str, problem: str) -> None:
    problems = password_problems(password, "lucia")
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    "password",
    [
        "corretto cavallo batteria graffetta",
        "una-password-lunga",
        "Il treno delle 7:42 per Lecco",
        ("Lecco-Milano-7" * 72)[:1000],
    ],
)
def test_password_policy_accepts(password: str) -> None:
    assert password_problems(password, "lucia") == []


def test_password_policy_applies_to_creation_change_and_reset(db) -> None:
    add_ambiti(db)
    with pytest.raises(PasswordRejected) as refused:
        create_user(db, "lucia", "Lucia", "lucia-lucia-lucia")
    assert refused.value.errors == {"password": ["La password non può contenere il nome utente."]}
    user = create_user(db, "lucia", "Lucia", PASSWORD)
    mine = open_session(db, SECRET, user, 60)
    other = open_session(db, SECRET, user, 60)
    with pytest.raises(FormInvalid, match="attuale non è corretta"):
        change_password(db, SECRET, user, "sbagliata", "nuova frase lunga e sicura", "10.0.0.1", mine.token)
    with pytest.raises(PasswordRejected, match="facile da indovinare"):
        change_password(db, SECRET, user, PASSWORD, "password1234", "10.0.0.1", mine.token)
    ended = change_password(db, SECRET, user, PASSWORD, "nuova frase lunga e sicura", "10.0.0.1", mine.token)
    assert ended == 1
    assert find_session(db, SECRET, mine.token, 12) is not None, "the session that changed it stays"
    assert find_session(db, SECRET, other.token, 12) is None, "every other session ended"
    assert authenticate(db, SECRET, "lucia", "nuova frase lunga e sicura", "10.0.0.2") is user
    with pytest.raises(PasswordRejected):
        set_password(db, user, "qwerty123456")
    set_password(db, user, "reimpostata dall'amministratore")
    assert find_session(db, SECRET, mine.token, 12) is None, "a reset ends every session"
    assert authenticate(db, SECRET, "lucia", "reimpostata dall'amministratore", "10.0.0.2") is user
