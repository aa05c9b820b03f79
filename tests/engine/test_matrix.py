"""The permission matrix: its invariants, and the page that shows it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from engine.access import (
    ACTION_LABELS,
    MATRIX,
    PERSONAL_DATA,
    READ_ONLY,
    ROLES,
    Action,
    Actor,
    Kind,
    Scope,
    ambiti_for,
    permits,
    scope_of,
)

ROOT = Path(__file__).parents[2]


def test_every_role_has_a_row_and_every_action_a_label() -> None:
    assert set(MATRIX) == {r.code for r in ROLES}
    assert set(ACTION_LABELS) == set(Action)


def test_auditor_and_monitor_change_nothing_and_the_monitor_sees_no_person() -> None:
    for role in ("revisore", "monitoraggio_regionale"):
        granted = {a for a, s in MATRIX[role].items() if s is not Scope.NONE}
        assert granted - {Action.ACCOUNT_SELF} <= READ_ONLY, role
    monitor = {a for a, s in MATRIX["monitoraggio_regionale"].items() if s is not Scope.NONE}
    # Aggregates, and the processes as published (diagrams and versions: no case, no person).
    assert monitor == {Action.REPORT_AGGREGATE, Action.PROCESS_READ, Action.ACCOUNT_SELF}
    assert not monitor & PERSONAL_DATA


def test_administrator_handles_accounts_and_registries_but_no_case_data() -> None:
    admin = {a for a, s in MATRIX["amministratore"].items() if s is not Scope.NONE}
    assert not admin & PERSONAL_DATA
    assert {Action.ADMIN_USERS, Action.ADMIN_AMBITI, Action.ADMIN_PARTNERS, Action.ADMIN_SETTINGS} <= admin
    assert Action.CASE_READ not in admin and Action.TASK_WORK not in admin


def test_ambito_roles_never_reach_beyond_their_ambito() -> None:
    for role in ROLES:
        if role.kind is not Kind.REGIONAL:
            for action in Action:
                if action is not Action.ACCOUNT_SELF:
                    assert scope_of(role.code, action) is not Scope.REGION, (role.code, action)


def test_scope_is_checked_against_the_ambito_of_each_grant() -> None:
    person = Actor("anna", grants=frozenset({("operatore_contatto", "MILANO"), ("direttore_pua", "LECCO")}))
    assert permits(person, Action.TASK_WORK, "MILANO") and permits(person, Action.TASK_WORK, "LECCO")
    assert permits(person, Action.CASE_EXPORT, "LECCO") and not permits(person, Action.CASE_EXPORT, "MILANO")
    assert not permits(person, Action.TASK_WORK, "BERGAMO")
    assert ambiti_for(person, Action.CASE_ERASE) == {"LECCO"}
    assert ambiti_for(Actor("r", grants=frozenset({("revisore", None)})), Action.CASE_READ) is None
    assert ambiti_for(Actor("m", grants=frozenset({("monitoraggio_regionale", None)})), Action.CASE_READ) == set()


def test_security_page_shows_the_matrix_of_the_code() -> None:
    spec = importlib.util.spec_from_file_location("render_matrix", ROOT / "scripts" / "render_matrix.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert module.render(page) == page, "docs/security.md is stale: run scripts/render_matrix.py"
