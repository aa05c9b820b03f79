"""Concurrency with real threads and processes: one winner, clear conflicts, expiring leases,
and timers that fire exactly once with two workers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import func, select

from engine import CaseBusy, Conflict, EngineError, complete_task, get_instance, start_instance
from engine.access.roles import SYSTEM
from engine.db import transaction
from engine.instances import run_step
from engine.models import HistoryEvent, HumanTask, ProcessInstance, Timer
from tests import builders
from tests.conftest import OPERATOR, add_ambiti, deploy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def prepare(platform, files: dict[str, bytes], cases: int, data: dict) -> list[str]:
    with transaction(platform.sessions) as session:
        add_ambiti(session)
        deploy(session, files=files)
    codes = []
    for _ in range(cases):
        with transaction(platform.sessions) as session:
            codes.append(
                start_instance(
                    session, platform.settings, next(iter(files)).split(".")[0], "MILANO", OPERATOR, data=data
                ).instance.case_code
            )
    return codes


def test_two_concurrent_completions_one_wins_nothing_lost(committed) -> None:
    (code,) = prepare(committed, builders.user_loop_bundle(), 1, {"giro": 0})
    with transaction(committed.sessions) as session:
        task_id = session.scalar(select(HumanTask.task_id))
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def attempt(name: str) -> None:
        barrier.wait()
        try:
            with transaction(committed.sessions) as session:
                outcome = complete_task(session, committed.settings, task_id, {"finito": False, "nota": name}, OPERATOR)
                results[name] = outcome.error or "ok"
        except EngineError as exc:
            results[name] = exc

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("primo", "secondo")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [n for n, r in results.items() if r == "ok"]
    losers = [r for r in results.values() if r != "ok"]
    assert len(winners) == 1 and len(losers) == 1, results
    assert isinstance(losers[0], Conflict), f"the loser gets a clear conflict, got {losers[0]!r}"
    with transaction(committed.sessions) as session:
        instance = get_instance(session, code)
        completed = session.scalars(
            select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "task_completed")
        ).all()
        assert len(completed) == 1 and completed[0].task_id == task_id
        assert f'"nota":"{winners[0]}"' in completed[0].data_diff_json
        assert session.scalar(select(func.count()).select_from(HumanTask)) == 1, "next cycle's task exists once"


def test_a_crashed_lease_holder_blocks_until_the_lease_expires(committed, fresh_url) -> None:
    (code,) = prepare(committed, builders.user_loop_bundle(), 1, {"giro": 0})
    with transaction(committed.sessions) as session:
        instance_id = get_instance(session, code).id
    holder = textwrap.dedent(
        f"""
        import os
        from engine import open_platform, leases
        from engine.db import transaction
        from tests.conftest import make_settings
        p = open_platform(make_settings({fresh_url!r}))
        with transaction(p.sessions) as s:
            leases.acquire(s, {instance_id}, "holder-that-crashes", seconds=2.0)
        os._exit(3)  # dies holding the lease
        """
    ).replace("from engine import open_platform, leases", "from engine import open_platform\nfrom engine import leases")
    proc = subprocess.run([sys.executable, "-c", holder], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    started = time.monotonic()
    try:
        with transaction(committed.sessions) as session:
            run_step(session, committed.settings, instance_id, SYSTEM, lambda case: case.run_engine())
        raise AssertionError("the lease of the crashed holder should still be held")
    except CaseBusy as exc:
        assert "in lavorazione" in str(exc)
    time.sleep(max(0.0, 2.2 - (time.monotonic() - started)))
    with transaction(committed.sessions) as session:
        outcome = run_step(session, committed.settings, instance_id, SYSTEM, lambda case: case.run_engine())
        assert outcome.error is None
    with transaction(committed.sessions) as session:
        assert session.get(ProcessInstance, instance_id).lock_owner is None


def test_two_workers_fire_each_timer_exactly_once(committed, fresh_url) -> None:
    cases = 60
    prepare(committed, builders.timer_bundle(), cases, {"durata": "PT1S"})
    with transaction(committed.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Timer)) == cases
    time.sleep(1.2)
    script = textwrap.dedent(
        f"""
        import sys, time
        from engine import open_platform
        from engine.worker import tick
        from tests.conftest import make_settings
        p = open_platform(make_settings({fresh_url!r}, worker_batch_size=3))
        time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # start together
        fired = 0
        for _ in range(200):
            r = tick(p.sessions, p.settings, sys.argv[1])
            fired += r.timers_fired
            if not r.busy and r.conflicts == 0:
                break
        print(fired)
        """
    )
    start_at = str(time.time() + 4)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, f"w{i}", start_at],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    fired = [int(o[0].strip().splitlines()[-1]) for o in outputs]
    assert sum(fired) == cases, f"each timer fired once in total: {fired}"
    if fresh_url.startswith("postgresql"):
        # With SKIP LOCKED both really work in parallel (SQLite serialises writers instead).
        assert min(fired) > 0, f"both workers took part: {fired}"
    with transaction(committed.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Timer)) == 0
        per_case = session.execute(
            select(HistoryEvent.instance_id, func.count())
            .where(HistoryEvent.kind == "timer_fired")
            .group_by(HistoryEvent.instance_id)
        ).all()
        assert len(per_case) == cases and all(n == 1 for _i, n in per_case)
        statuses = set(session.scalars(select(ProcessInstance.status)))
        assert statuses == {"completed"}


def test_a_worker_whose_timer_lock_expired_does_not_fire_it(committed) -> None:
    from engine.worker import acquire_timers, fire_timer

    prepare(committed, builders.timer_bundle(), 1, {"durata": "PT1S"})
    time.sleep(1.2)
    quick = committed.settings.model_copy(update={"timer_lock_seconds": 0.0})
    with transaction(committed.sessions) as session:
        (timer_id,) = acquire_timers(session, "slow", quick)
    with transaction(committed.sessions) as session:
        assert acquire_timers(session, "fast", committed.settings) == [timer_id], "expired lock is taken over"
    with transaction(committed.sessions) as session:
        assert fire_timer(session, committed.settings, timer_id, "slow") == "gone"
    with transaction(committed.sessions) as session:
        assert fire_timer(session, committed.settings, timer_id, "fast") == "fired"
    with transaction(committed.sessions) as session:
        assert (
            session.scalar(select(func.count()).select_from(HistoryEvent).where(HistoryEvent.kind == "timer_fired"))
            == 1
        )


def test_housekeeping_removes_expired_sessions_and_orphan_drafts(committed) -> None:
    from datetime import timedelta

    from engine.access.accounts import create_user
    from engine.access.sessions import open_session
    from engine.access.throttle import record_failure
    from engine.clock import utcnow
    from engine.drafts import save_draft
    from engine.models import LoginThrottle, TaskDraft, WebSession
    from engine.worker import housekeeping

    prepare(committed, builders.user_loop_bundle(), 1, {"giro": 0})
    with transaction(committed.sessions) as session:
        user = create_user(session, "anna", "Anna", "password-lunga-1", [("operatore_contatto", "MILANO")])
        open_session(session, "k", user, idle_minutes=60)
        open_session(session, "k", user, idle_minutes=60)
        session.scalars(select(WebSession)).first().expires_at = utcnow() - timedelta(minutes=1)
        task_id = session.scalar(select(HumanTask.task_id))
        save_draft(session, committed.settings, task_id, OPERATOR, {"nota": "a metà"})
        record_failure(session, "k", "anna", "10.0.0.1")  # three counters: pair, address, name
        record_failure(session, "k", "bruno", "10.0.0.9")
        for row in session.scalars(select(LoginThrottle).where(LoginThrottle.key.like("%10.0.0.1%"))):
            row.last_failure_at = utcnow() - timedelta(days=2)  # idle for two days: purged
    assert housekeeping(committed.sessions) == {"sessions": 1, "drafts": 0, "login_throttle": 2}
    with transaction(committed.sessions) as session:
        complete_task(session, committed.settings, task_id, {"finito": True}, OPERATOR)
    assert housekeeping(committed.sessions) == {"sessions": 0, "drafts": 0, "login_throttle": 0}, (
        "completing dropped the draft"
    )
    with transaction(committed.sessions) as session:
        assert session.scalar(select(func.count()).select_from(TaskDraft)) == 0
        assert session.scalar(select(func.count()).select_from(WebSession)) == 1


@pytest.mark.parametrize("opened", [0, 1])
def test_two_concurrent_draft_saves_on_the_same_revision_one_wins(committed, monkeypatch, opened: int) -> None:
    """Both saves read the same revision before either writes: the second must be a Conflict, never a
    silent overwrite (on PostgreSQL the draft row was read without a lock) nor a 500 (at revision 0
    both created the draft: a unique-key error)."""
    from engine.access import Actor
    from engine.studio import drafts
    from engine.studio.drafts import open_draft, save_diagram

    director = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
    with transaction(committed.sessions) as session:
        add_ambiti(session)
        deploy(session)
    with transaction(committed.sessions) as session:
        draft = open_draft(session, director, "MILANO", "sample_case")
        original = draft.files[draft.main_file]
        if opened:
            save_diagram(session, director, "MILANO", "sample_case", original, 0)
    barrier = threading.Barrier(2, timeout=3)
    waited = threading.local()
    real_check = drafts.check_revision

    def check_then_wait(*args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        real_check(*args, **kwargs)
        if not getattr(waited, "done", False):  # both have passed the check before either writes
            waited.done = True
            with contextlib.suppress(threading.BrokenBarrierError):  # SQLite: writers queue at BEGIN IMMEDIATE
                barrier.wait()

    monkeypatch.setattr(drafts, "check_revision", check_then_wait)
    results: dict[str, object] = {}

    def attempt(name: str) -> None:
        try:
            with transaction(committed.sessions) as session:
                xml = original.replace(b"Caso di esempio", name.encode())
                results[name] = save_diagram(session, director, "MILANO", "sample_case", xml, opened).revision
        except EngineError as exc:
            results[name] = exc

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("primo", "secondo")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(v).__name__ for v in results.values()) == ["Conflict", "int"], results
    with transaction(committed.sessions) as session:
        saved = open_draft(session, director, "MILANO", "sample_case")
    winner = next(n for n, v in results.items() if v == opened + 1)
    assert saved.revision == opened + 1 and winner.encode() in saved.files[saved.main_file]


def test_two_concurrent_publications_of_one_draft_one_publishes_the_other_is_told(committed, monkeypatch) -> None:
    """Both requests pass their checks before either deploys: one publishes, the other gets a
    Conflict (it answered «invariata» or, on PostgreSQL, a unique-key 500)."""
    from engine.access import Actor
    from engine.studio import publish
    from engine.studio.drafts import open_draft, save_diagram

    director = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
    with transaction(committed.sessions) as session:
        add_ambiti(session)
        deploy(session)
    with transaction(committed.sessions) as session:
        draft = open_draft(session, director, "MILANO", "sample_case")
        xml = draft.files[draft.main_file].replace(b"Caso di esempio", b"Caso di Milano")
        save_diagram(session, director, "MILANO", "sample_case", xml, 0)
    barrier = threading.Barrier(2, timeout=3)
    real_check = publish.check_draft

    def check_then_wait(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real_check(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):  # with the lock the later one waits before
            barrier.wait()
        return found

    monkeypatch.setattr(publish, "check_draft", check_then_wait)
    results: dict[str, object] = {}

    def attempt(name: str) -> None:
        try:
            with transaction(committed.sessions) as session:
                results[name] = publish.publish_draft(session, director, "MILANO", "sample_case", name, revision=1)
        except Exception as exc:
            results[name] = exc

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("primo", "secondo")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kinds = sorted(type(v).__name__ for v in results.values())
    assert kinds == ["Conflict", "Publication"], results
    done = next(v for v in results.values() if isinstance(v, publish.Publication))
    assert done.created
