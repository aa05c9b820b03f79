"""Administration through the engine: each operation, its row in the operation log
(before → after, never a secret), the matrix refusing everyone but the administrator,
and the log refusing UPDATE and DELETE at the database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from engine import Actor, Forbidden, FormInvalid, claim_task, start_instance
from engine.access import authenticate, create_user, open_session
from engine.admin import (
    PartnerFields,
    UserFilter,
    add_user,
    annual_targets,
    change_settings,
    create_ambito,
    create_partner,
    deactivate_user,
    deactivation_preview,
    grant_user_role,
    list_users,
    reactivate_user,
    rename_ambito,
    reset_password,
    revoke_user_role,
    set_annual_targets,
    set_partner_active,
    set_targets_for_year,
    setting_value,
    update_partner,
    update_user,
)
from engine.audit import OperationFilter, list_operations, record, verify_oplog
from engine.errors import Conflict
from engine.models import AppUser, HistoryEvent, HumanTask, OperationLog, UserRole, WebSession
from engine.partners import active_partners
from tests.conftest import OPERATOR, add_ambiti, deploy

pytestmark = pytest.mark.db

ADMIN = Actor("amelia", grants=frozenset({("amministratore", None)}))
AUDITOR = Actor("rita", grants=frozenset({("revisore", None)}))
DIRECTOR = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))


@pytest.fixture
def admin_db(db: Session) -> Session:
    add_ambiti(db, "MILANO", "LECCO")
    create_user(db, "amelia", "Amelia Neri", "password-di-prova-1", [("amministratore", None)])
    return db


def log_rows(db: Session, action: str | None = None) -> list[OperationLog]:
    query = select(OperationLog).order_by(OperationLog.seq)
    if action:
        query = query.where(OperationLog.action == action)
    return list(db.scalars(query))


def values(row: OperationLog) -> tuple[dict | None, dict | None]:
    return (
        None if row.before_json is None else json.loads(row.before_json),
        None if row.after_json is None else json.loads(row.after_json),
    )


def no_secrets(db: Session) -> None:
    """No password or hash anywhere in the log."""
    hashes = list(db.scalars(select(AppUser.password_hash)))
    for row in log_rows(db):
        blob = f"{row.description} {row.before_json} {row.after_json}"
        assert "$argon2" not in blob and not any(h in blob for h in hashes)


# --------------------------------------------------------------------------- users


def test_create_user_with_a_generated_password(admin_db: Session) -> None:
    user, generated = add_user(
        admin_db, ADMIN, "Nina.Verdi", "Nina Verdi", [("operatore_contatto", "MILANO")], email="nina@pua.it"
    )
    assert user.username == "nina.verdi" and user.must_change_password
    assert generated is not None and len(generated) >= 12
    assert authenticate(admin_db, "chiave-di-prova", "nina.verdi", generated, "127.0.0.1") is not None
    (row,) = log_rows(admin_db, "user.created")
    before, after = values(row)
    assert row.actor == "amelia" and row.target_kind == "user" and row.target_id == "nina.verdi"
    assert row.ambito_code == "MILANO", "all her roles are in one Ambito"
    assert before is None
    assert after == {
        "full_name": "Nina Verdi",
        "email": "nina@pua.it",
        "locale": "it",
        "ruoli": ["operatore_contatto@MILANO"],
        "password": "(modificata)",
    }
    assert generated not in (row.after_json or "") and generated not in row.description
    no_secrets(admin_db)


def test_create_user_refuses_bad_input_field_by_field(admin_db: Session) -> None:
    with pytest.raises(FormInvalid) as caught:
        add_user(
            admin_db,
            ADMIN,
            "amelia",
            "",
            [("revisore", "MILANO"), ("operatore_contatto", None), ("inventato", "MILANO")],
            email="non-una-email",
            password="corta",
        )
    errors = caught.value.errors
    assert "esiste già" in errors["username"][0]
    assert "obbligatorio" in errors["full_name"][0]
    assert "Email non valida" in errors["email"][0]
    assert "almeno 12 caratteri" in errors["password"][0]
    assert "regionale" in errors["ruoli[0]"][0] and "Ambito" in errors["ruoli[1]"][0]
    assert "sconosciuto" in errors["ruoli[2]"][0]
    with pytest.raises(FormInvalid) as caught:
        add_user(admin_db, ADMIN, "zoe", "Zoe", [("revisore", None)], password="")
    assert set(caught.value.errors) == {"password"}, "a chosen password may not be empty"
    assert log_rows(admin_db) == [], "nothing written"


def test_edit_grant_and_revoke_are_logged_before_and_after(admin_db: Session) -> None:
    user, _ = add_user(
        admin_db,
        ADMIN,
        "bruno",
        "Bruno Rossi",
        [("operatore_contatto", "MILANO")],
        password="una frase lunga per il PUA",
    )
    update_user(admin_db, ADMIN, user.id, "Bruno Rossi Bianchi", "bruno@pua.it", "en")
    (edited,) = log_rows(admin_db, "user.updated")
    assert values(edited) == (
        {"full_name": "Bruno Rossi", "email": None, "locale": "it"},
        {"full_name": "Bruno Rossi Bianchi", "email": "bruno@pua.it", "locale": "en"},
    )
    update_user(admin_db, ADMIN, user.id, "Bruno Rossi Bianchi", "bruno@pua.it", "en")
    assert len(log_rows(admin_db, "user.updated")) == 1, "no change, no row"

    grant = grant_user_role(admin_db, ADMIN, user.id, "mediatore", "LECCO")
    (granted,) = log_rows(admin_db, "role.granted")
    assert granted.ambito_code == "LECCO" and values(granted) == (None, {"ruolo": "mediatore", "ambito": "LECCO"})
    with pytest.raises(FormInvalid, match="ha già il ruolo"):
        grant_user_role(admin_db, ADMIN, user.id, "mediatore", "LECCO")
    revoke_user_role(admin_db, ADMIN, user.id, grant.id)
    (revoked,) = log_rows(admin_db, "role.revoked")
    assert values(revoked) == ({"ruolo": "mediatore", "ambito": "LECCO"}, None)
    rows, total = list_users(admin_db, ADMIN, UserFilter(ambito="LECCO"))
    assert total == 0 and rows == []
    rows, total = list_users(admin_db, ADMIN, UserFilter(text="bianchi", role="operatore_contatto", active=True))
    assert [r.user.username for r in rows] == ["bruno"]


def test_an_administrator_cannot_lock_herself_out(admin_db: Session) -> None:
    me = admin_db.scalar(select(AppUser).where(AppUser.username == "amelia"))
    assert me is not None
    with pytest.raises(Conflict, match="tuo stesso account"):
        deactivate_user(admin_db, ADMIN, me.id)
    with pytest.raises(Conflict, match="tuo stesso account"):
        deactivation_preview(admin_db, ADMIN, me.id)
    only = admin_db.scalar(select(UserRole).where(UserRole.user_id == me.id))
    assert only is not None
    with pytest.raises(Conflict, match="unico ruolo di amministratore"):
        revoke_user_role(admin_db, ADMIN, me.id, only.id)
    # With a second administrator role (none exists regionally twice), another admin may revoke it.
    other, _ = add_user(
        admin_db, ADMIN, "ugo", "Ugo Admin", [("amministratore", None)], password="una frase lunga per la Regione"
    )
    ugo = Actor("ugo", grants=frozenset({("amministratore", None)}))
    revoke_user_role(admin_db, ugo, me.id, only.id)
    assert admin_db.get(AppUser, me.id).is_active and other.is_active  # type: ignore[union-attr]


def test_deactivation_ends_sessions_and_gives_claimed_tasks_back(admin_db: Session, platform) -> None:
    deploy(admin_db)
    anna = create_user(admin_db, "anna", "Anna Bianchi", "password-di-prova-1", [("operatore_contatto", "MILANO")])
    outcome = start_instance(
        admin_db, platform.settings, "sample_case", "MILANO", OPERATOR, "ADM-1", {"durata_sollecito": "P1D"}
    )
    task = admin_db.scalar(select(HumanTask).where(HumanTask.instance_id == outcome.instance.id))
    assert task is not None
    claim_task(admin_db, task.task_id, OPERATOR)
    open_session(admin_db, "k", anna, idle_minutes=60)
    open_session(admin_db, "k", anna, idle_minutes=60)

    preview = deactivation_preview(admin_db, ADMIN, anna.id)
    assert [t.task_id for t in preview.claimed] == [task.task_id] and preview.sessions == 2
    done = deactivate_user(admin_db, ADMIN, anna.id)
    assert [t.task_id for t in done.released] == [task.task_id] and done.sessions_ended == 2
    assert admin_db.get(HumanTask, task.task_id).assignee is None  # type: ignore[union-attr]
    assert admin_db.scalar(select(func.count()).select_from(WebSession)) == 0
    assert authenticate(admin_db, "chiave-di-prova", "anna", "password-di-prova-1", "127.0.0.1") is None
    released = admin_db.scalar(
        select(HistoryEvent).where(HistoryEvent.task_id == task.task_id, HistoryEvent.kind == "task_released")
    )
    assert released is not None and released.actor == "amelia", "the case history names who released it"
    (row,) = log_rows(admin_db, "user.deactivated")
    before, after = values(row)
    assert before == {"is_active": True}
    assert after == {"is_active": False, "attivita_rilasciate": [task.task_id], "sessioni_chiuse": 2}
    assert "ADM-1" in row.description
    assert list(admin_db.scalars(select(UserRole.role).where(UserRole.user_id == anna.id))) == ["operatore_contatto"], (
        "roles are kept"
    )

    reactivate_user(admin_db, ADMIN, anna.id)
    assert authenticate(admin_db, "chiave-di-prova", "anna", "password-di-prova-1", "127.0.0.1") is not None
    assert values(log_rows(admin_db, "user.reactivated")[0]) == ({"is_active": False}, {"is_active": True})


def test_password_reset_is_one_time_and_never_logged(admin_db: Session) -> None:
    user, _ = add_user(
        admin_db, ADMIN, "carla", "Carla Blu", [("revisore", None)], password="la mia vecchia frase segreta"
    )
    open_session(admin_db, "k", user, idle_minutes=60)
    new = reset_password(admin_db, ADMIN, user.id)
    assert user.must_change_password
    assert authenticate(admin_db, "chiave-di-prova", "carla", "la mia vecchia frase segreta", "127.0.0.1") is None
    assert authenticate(admin_db, "chiave-di-prova", "carla", new, "127.0.0.1") is not None
    assert admin_db.scalar(select(func.count()).select_from(WebSession)) == 0, "her sessions end"
    (row,) = log_rows(admin_db, "user.password_reset")
    assert values(row) == ({"must_change_password": False}, {"password": "(modificata)", "must_change_password": True})
    assert new not in f"{row.description}{row.after_json}"
    no_secrets(admin_db)


# --------------------------------------------------------------------------- Ambiti, partners, settings


def test_ambiti_are_created_and_renamed_never_recoded(admin_db: Session) -> None:
    create_ambito(admin_db, ADMIN, "monza", "Monza")
    with pytest.raises(FormInvalid) as caught:
        create_ambito(admin_db, ADMIN, "MONZA", "")
    assert "esiste già" in caught.value.errors["code"][0] and "obbligatorio" in caught.value.errors["name"][0]
    with pytest.raises(FormInvalid):
        create_ambito(admin_db, ADMIN, "1-bad code", "X")
    rename_ambito(admin_db, ADMIN, "MONZA", "Monza e Brianza")
    created, renamed = log_rows(admin_db)
    assert created.action == "ambito.created" and values(created) == (None, {"code": "MONZA", "name": "Monza"})
    assert renamed.action == "ambito.renamed" and renamed.ambito_code == "MONZA"
    assert values(renamed) == ({"name": "Monza"}, {"name": "Monza e Brianza"})


def test_partner_registry(admin_db: Session) -> None:
    partner = create_partner(
        admin_db,
        ADMIN,
        PartnerFields("Caritas Ambrosiana", "terzo_settore", "MILANO", "info@caritas.it", "02 1234", "Sara"),
    )
    assert partner.code == "MILANO-CARITAS-AMBROSIANA"
    assert [p.code for p in active_partners(admin_db, "MILANO")] == [partner.code]
    update_partner(
        admin_db,
        ADMIN,
        partner.id,
        PartnerFields("Caritas Ambrosiana", "terzo_settore", "MILANO", "sportello@caritas.it", "02 1234", "Sara"),
    )
    (changed,) = log_rows(admin_db, "partner.updated")
    assert values(changed) == ({"email": "info@caritas.it"}, {"email": "sportello@caritas.it"})
    set_partner_active(admin_db, ADMIN, partner.id, False)
    assert active_partners(admin_db, "MILANO") == [], "forms stop offering it"
    assert values(log_rows(admin_db, "partner.deactivated")[0]) == ({"active": True}, {"active": False})
    with pytest.raises(FormInvalid) as caught:
        create_partner(admin_db, ADMIN, PartnerFields("", "boh", "ATLANTIDE", "x@", "abc"))
    assert set(caught.value.errors) == {"name", "kind", "ambito", "email", "phone"}


def test_annual_targets_and_global_settings(admin_db: Session) -> None:
    assert annual_targets(admin_db, "MILANO", 2026) is None
    set_annual_targets(admin_db, ADMIN, "MILANO", 2026, (70, 100), (30, 50))
    targets = annual_targets(admin_db, "MILANO", 2026)
    assert targets is not None and (targets.intercepted.low, targets.taken_in_charge.high) == (70, 50)
    set_annual_targets(admin_db, ADMIN, "MILANO", 2026, (70, 110), (30, 50))
    first, second = log_rows(admin_db, "target.changed")
    assert values(first) == (None, {"intercettate": [70, 100], "prese_in_carico": [30, 50]})
    assert values(second)[0] == {"intercettate": [70, 100], "prese_in_carico": [30, 50]}
    with pytest.raises(FormInvalid) as caught:
        set_annual_targets(admin_db, ADMIN, "MILANO", 2026, (10, 20), ("x", 5))
    assert set(caught.value.errors) == {"taken_min"}
    with pytest.raises(FormInvalid) as caught:
        set_annual_targets(admin_db, ADMIN, "MILANO", 2026, (100, 70), (30, 80))
    assert caught.value.errors["intercepted_max"] == [
        "Persone intercettate: il massimo non può essere minore del minimo."
    ]
    assert caught.value.errors["taken_max"] == ["Le persone prese in carico non possono superare quelle intercettate."]
    # Several Ambiti at once: all or nothing.
    with pytest.raises(FormInvalid) as caught:
        set_targets_for_year(
            admin_db,
            ADMIN,
            2027,
            {
                "MILANO": {"intercepted_min": "1", "intercepted_max": "2", "taken_min": "1", "taken_max": "1"},
                "LECCO": {"intercepted_min": "5", "intercepted_max": "", "taken_min": "", "taken_max": ""},
            },
        )
    assert "t.LECCO.intercepted_max" in caught.value.errors
    assert annual_targets(admin_db, "MILANO", 2027) is None
    assert setting_value(admin_db, "avviso_accesso") == ""
    assert change_settings(admin_db, ADMIN, {"avviso_accesso": "Fermo per manutenzione sabato"}) == ["avviso_accesso"]
    assert change_settings(admin_db, ADMIN, {"avviso_accesso": "Fermo per manutenzione sabato"}) == []
    (row,) = log_rows(admin_db, "setting.changed")
    assert values(row) == ({"valore": ""}, {"valore": "Fermo per manutenzione sabato"})
    with pytest.raises(FormInvalid):
        change_settings(admin_db, ADMIN, {"sconosciuta": "x"})


# --------------------------------------------------------------------------- the matrix


def test_only_the_administrator_administers(admin_db: Session) -> None:
    user, _ = add_user(
        admin_db,
        ADMIN,
        "bruno",
        "Bruno Rossi",
        [("operatore_contatto", "MILANO")],
        password="una frase lunga per il PUA",
    )
    for actor in (OPERATOR, DIRECTOR, AUDITOR):
        for attempt in (
            lambda a: add_user(admin_db, a, "zeta", "Zeta", [("mediatore", "MILANO")], password="z" * 12),
            lambda a: update_user(admin_db, a, user.id, "X", None, "it"),
            lambda a: grant_user_role(admin_db, a, user.id, "mediatore", "MILANO"),
            lambda a: deactivate_user(admin_db, a, user.id),
            lambda a: reset_password(admin_db, a, user.id),
            lambda a: list_users(admin_db, a),
            lambda a: create_ambito(admin_db, a, "MONZA", "Monza"),
            lambda a: create_partner(admin_db, a, PartnerFields("Y", "cpi", "MILANO")),
            lambda a: set_annual_targets(admin_db, a, "MILANO", 2026, (1, 2), (1, 1)),
            lambda a: change_settings(admin_db, a, {"avviso_accesso": "x"}),
        ):
            with pytest.raises(Forbidden):
                attempt(actor)
    # The log: auditors and administrators read it; nobody else.
    assert list_operations(admin_db, AUDITOR).total == 1
    assert list_operations(admin_db, ADMIN, OperationFilter(action="user.created", target_id="bruno")).total == 1
    for actor in (OPERATOR, DIRECTOR):
        with pytest.raises(Forbidden):
            list_operations(admin_db, actor)


# --------------------------------------------------------------------------- the log itself


def test_the_log_is_hash_chained_and_scrubs_secrets(admin_db: Session) -> None:
    record(admin_db, ADMIN, "setting.changed", "prova", "setting", "x", before={"password_hash": "abc", "n": 1})
    record(admin_db, ADMIN, "setting.changed", "prova", "setting", "x", after={"api_token": "ilf_x", "n": 2})
    first, second = log_rows(admin_db)
    assert values(first)[0] == {"password_hash": "(modificata)", "n": 1}
    assert values(second)[1] == {"api_token": "(modificata)", "n": 2}
    assert first.prev_hash == "0" * 64 and second.prev_hash == first.hash and second.seq == first.seq + 1
    assert verify_oplog(admin_db) == []
    with pytest.raises(ValueError, match="sconosciuta"):
        record(admin_db, ADMIN, "user.erased", "x", "user", "x")


def test_the_database_refuses_to_change_or_delete_log_rows(admin_db: Session) -> None:
    create_ambito(admin_db, ADMIN, "MONZA", "Monza")
    (row,) = log_rows(admin_db)
    for statement in (
        update(OperationLog).where(OperationLog.id == row.id).values(actor="qualcun_altro"),
        delete(OperationLog).where(OperationLog.id == row.id),
        text("DELETE FROM operation_log"),
    ):
        with pytest.raises(DatabaseError, match="append-only"), admin_db.begin_nested():
            admin_db.execute(statement.execution_options(synchronize_session=False))
    admin_db.expire_all()
    assert [r.actor for r in log_rows(admin_db)] == ["amelia"]


def test_tampering_with_the_log_is_detected_when_the_guard_is_bypassed(admin_db: Session) -> None:
    create_ambito(admin_db, ADMIN, "MONZA", "Monza")
    rename_ambito(admin_db, ADMIN, "MONZA", "Monza e Brianza")
    create_ambito(admin_db, ADMIN, "COMO", "Como")
    assert verify_oplog(admin_db) == []
    # Someone with database superpowers rewrites who acted, bypassing the trigger.
    if admin_db.get_bind().dialect.name == "postgresql":
        admin_db.execute(text("ALTER TABLE operation_log DISABLE TRIGGER operation_log_append_only"))
        admin_db.execute(text("UPDATE operation_log SET actor = 'mallory' WHERE seq = 2"))
        admin_db.execute(text("ALTER TABLE operation_log ENABLE TRIGGER operation_log_append_only"))
    else:
        admin_db.execute(text("DROP TRIGGER operation_log_no_update"))
        admin_db.execute(text("UPDATE operation_log SET actor = 'mallory' WHERE seq = 2"))
    admin_db.expire_all()
    assert verify_oplog(admin_db) == [2]


def test_the_period_filter_of_the_log_counts_days_in_local_time(admin_db: Session) -> None:
    """A row written at 00:30 in Rome on 3 March is 23:30 UTC on 2 March: it belongs to 3 March."""
    for number, at in enumerate([datetime(2026, 3, 2, 23, 30, tzinfo=UTC), datetime(2026, 3, 3, 23, 30, tzinfo=UTC)]):
        admin_db.add(
            OperationLog(
                seq=1000 + number,
                occurred_at=at,
                actor="amelia",
                action="user.created",
                description=f"riga {number}",
                target_kind="user",
                target_id=f"utente{number}",
                prev_hash="0" * 64,
                hash=str(number) * 64,
            )
        )
    admin_db.flush()
    march_3 = date(2026, 3, 3)
    page = list_operations(admin_db, ADMIN, OperationFilter(date_from=march_3, date_to=march_3))
    assert [op.target_id for op in page.rows] == ["utente0"]
