"""Login throttling: per (name, address), per address, per name; unknown names like known ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.access import accounts as accounts_module
from engine.access import authenticate, create_user, purge_throttle
from engine.access.throttle import ADDRESS, NAME, PAIR, address_key, name_key
from engine.clock import utcnow
from engine.errors import LoginLocked
from engine.models import LoginThrottle
from tests.conftest import add_ambiti

PASSWORD = "una-password-lunga"
SECRET = "chiave-di-prova"
A, B = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], datetime]:
    """Move the throttle's 'now' forward."""
    state = {"now": utcnow()}
    monkeypatch.setattr("engine.access.throttle.utcnow", lambda: state["now"])

    def advance(by: timedelta) -> datetime:
        state["now"] += by
        return state["now"]

    return advance


def fail(db, name: str, address: str, times: int = 1) -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        assert authenticate(db, SECRET, name, "sbagliata", address) is None


def locked(db, name: str, address: str, password: str = PASSWORD) -> LoginLocked:  # type: ignore[no-untyped-def]
    with pytest.raises(LoginLocked) as caught:
        authenticate(db, SECRET, name, password, address)
    return caught.value


def test_a_stranger_does_not_lock_the_owner_out(db, clock) -> None:
    add_ambiti(db)
    anna = create_user(db, "anna", "Anna", PASSWORD)
    fail(db, "anna", A, PAIR.free)
    refused = locked(db, "anna", A)  # even the right password waits, from the stranger's address
    assert refused.message == "Troppi tentativi non riusciti: riprovare tra 30 secondi."
    assert refused.details["retry_after"] == 30
    assert authenticate(db, SECRET, "ANNA ", PASSWORD, B) is anna, "the owner, from her own address, gets in"


def test_unknown_names_are_counted_and_answered_like_known_ones(db, clock) -> None:
    add_ambiti(db)
    create_user(db, "anna", "Anna", PASSWORD)
    fail(db, "anna", A, PAIR.free)
    fail(db, "nessuno", A, PAIR.free)
    known, unknown = locked(db, "anna", A), locked(db, "nessuno", A)
    assert (known.message, known.details) == (unknown.message, unknown.details)
    keys = set(db.scalars(select(LoginThrottle.key)))
    assert f"p:{name_key(SECRET, 'nessuno')}@{A}" in keys
    assert not any("anna" in key or "nessuno" in key for key in keys), "names are stored only as keyed hashes"


def test_the_same_hashing_work_for_known_and_unknown_names(db, monkeypatch) -> None:
    add_ambiti(db)
    create_user(db, "anna", "Anna", PASSWORD)
    real = accounts_module._HASHER
    calls: list[str] = []

    class Spy:
        def verify(self, hash_: str, password: str) -> bool:
            calls.append(hash_)
            return real.verify(hash_, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(accounts_module, "_HASHER", Spy())
    costs = []
    for name in ("anna", "nessuno"):
        calls.clear()
        assert authenticate(db, SECRET, name, "sbagliata", A) is None
        assert len(calls) == 1 and calls[0].startswith("$argon2id$"), name
        costs.append(calls[0].split("$")[:4])  # algorithm, version, memory/time/parallelism
    assert costs[0] == costs[1], "the dummy hash costs what a real one costs"
    calls.clear()
    fail_until_locked = [authenticate(db, SECRET, "nessuno", "sbagliata", A) for _ in range(PAIR.free - 1)]
    assert fail_until_locked == [None] * (PAIR.free - 1)
    calls.clear()
    locked(db, "nessuno", A)
    assert calls == [], "a throttled attempt verifies nothing"


def test_the_delay_doubles_and_is_capped(db, clock) -> None:
    add_ambiti(db)
    create_user(db, "anna", "Anna", PASSWORD)
    fail(db, "anna", A, PAIR.free)
    waits = []
    for _ in range(8):
        waits.append(locked(db, "anna", A).details["retry_after"])
        clock(timedelta(seconds=waits[-1] + 1))
        fail(db, "anna", A)
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]


def test_failures_are_forgotten_after_a_quiet_hour_and_after_a_success(db, clock) -> None:
    add_ambiti(db)
    anna = create_user(db, "anna", "Anna", PASSWORD)
    fail(db, "anna", A, PAIR.free - 1)
    clock(PAIR.forget_after + timedelta(minutes=1))
    fail(db, "anna", A, PAIR.free - 1)
    assert authenticate(db, SECRET, "anna", PASSWORD, A) is anna, "the old failures were forgotten"
    fail(db, "anna", A, PAIR.free - 1)
    assert authenticate(db, SECRET, "anna", PASSWORD, A) is anna, "a success clears the pair"


def test_one_address_against_many_names_is_slowed_as_a_whole(db, clock) -> None:
    add_ambiti(db)
    anna = create_user(db, "anna", "Anna", PASSWORD)
    for i in range(ADDRESS.free):
        fail(db, f"utente{i}", A)
    refused = locked(db, "anna", A)
    assert refused.details["retry_after"] == 60
    assert authenticate(db, SECRET, "anna", PASSWORD, B) is anna


def test_a_spread_attack_slows_the_name_for_a_while_but_never_for_good(db, clock) -> None:
    add_ambiti(db)
    anna = create_user(db, "anna", "Anna", PASSWORD)
    for i in range(NAME.free):
        fail(db, "anna", f"10.0.{i // 250}.{i % 250}")
    refused = locked(db, "anna", B)  # her own address too: the ceiling is for the name
    assert refused.details["retry_after"] == 60
    clock(timedelta(seconds=61))
    assert authenticate(db, SECRET, "anna", PASSWORD, B) is anna


def test_ipv6_counts_per_64_and_rows_are_purged(db, clock) -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key(None) == "sconosciuto"
    add_ambiti(db)
    fail(db, "nessuno", A)
    assert purge_throttle(db) == 0
    clock(timedelta(days=2))
    monkey_now = clock(timedelta(0))
    from engine.access import throttle

    assert throttle.utcnow() == monkey_now
    assert purge_throttle(db) == 3
