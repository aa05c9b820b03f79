"""`inlav demo seed`: teams, partners and cases at every stage, made by running the engine; idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from engine import verify_chain
from engine.access.accounts import actor_for, authenticate
from engine.access.roles import LANE_ROLES
from engine.admin import annual_targets
from engine.clock import utcnow
from engine.db import transaction
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.demo import DEMO_PASSWORD, REGIONAL_USERS, STAGES, seed
from engine.models import AppUser, HistoryEvent, HumanTask, OperationLog, Partner, ProcessInstance, Timer, UserRole
from engine.platform import Platform
from tests.model.journey import BUNDLE


def counts(platform: Platform) -> dict[str, int]:
    with transaction(platform.sessions) as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in [
                ("users", AppUser),
                ("roles", UserRole),
                ("partners", Partner),
                ("cases", ProcessInstance),
                ("events", HistoryEvent),
                ("tasks", HumanTask),
            ]
        }


def test_demo_seed_builds_teams_partners_and_cases_at_every_stage(committed: Platform) -> None:
    with transaction(committed.sessions) as session:
        deploy_bundle(session, read_bundle_paths(BUNDLE), None, "test")
    summary = seed(committed, ambiti=["MILANO", "LECCO"])
    assert not [line for line in summary if line.startswith("Attenzione")], summary
    first = counts(committed)

    with transaction(committed.sessions) as session:
        for ambito in ("milano", "lecco"):
            names = set(session.scalars(select(AppUser.username).where(AppUser.username.like(f"%.{ambito}"))))
            assert len(names) == len(LANE_ROLES), names
        user = authenticate(session, committed.settings.secret_key, "op.milano", DEMO_PASSWORD, None)
        assert user is not None
        assert actor_for(session, user).roles == {"operatore_contatto"}
        assert actor_for(session, user).ambiti == {"MILANO"}
        admin = authenticate(session, committed.settings.secret_key, "admin", DEMO_PASSWORD, None)
        auditor = authenticate(session, committed.settings.secret_key, "revisore", DEMO_PASSWORD, None)
        assert admin is not None and actor_for(session, admin).grants == {("amministratore", None)}
        assert auditor is not None and actor_for(session, auditor).grants == {("revisore", None)}
        coordinator = authenticate(session, committed.settings.secret_key, "coordinamento", DEMO_PASSWORD, None)
        assert coordinator is not None and actor_for(session, coordinator).regional
        kinds = set(session.scalars(select(Partner.kind).where(Partner.ambito_code == "MILANO")))
        assert {"cpi", "sai", "cpia", "servizi_sociali", "sanitario"} <= kinds

        milano = {
            p.case_code: p
            for p in session.scalars(select(ProcessInstance).where(ProcessInstance.ambito_code == "MILANO"))
        }
        assert {f"DEMO-MILANO-{i + 1:02d}" for i in range(len(STAGES))} <= set(milano)
        open_tasks = set(session.scalars(select(HumanTask.task_name).where(HumanTask.ambito_code == "MILANO")))
        assert {
            "registra_contatto",
            "colloquio_valutazione",
            "decidi_presa_in_carico",
            "redigi_pip",
            "approva_pip",
            "eroga_legale",
            "invia_al_partner",
            "verifica_pip",
            "chiudi_percorso",
            "redigi_relazione",
        } <= open_tasks
        statuses = {code: p.status for code, p in milano.items()}
        assert [statuses[f"DEMO-MILANO-{n:02d}"] for n in (3, 6, 13)] == ["completed"] * 3
        waiting = set(
            session.scalars(
                select(Timer.task_name).join(ProcessInstance).where(ProcessInstance.ambito_code == "MILANO")
            )
        )
        assert {"attendi_ricontatto", "attendi_follow_up", "attendi_verifica"} <= waiting
        referred = [p for p in milano.values() if not p.case_code.startswith("DEMO-")]
        assert len(referred) == 1 and referred[0].started_by == "sistema"
        for instance in milano.values():
            assert verify_chain(session, instance.id) == []
        actors = set(session.scalars(select(HistoryEvent.actor).where(HistoryEvent.kind == "task_completed")))
        assert {"op.milano", "ss.milano", "lav.milano", "dir.milano", "net.milano"} <= actors
        assert (
            session.scalar(
                select(func.count()).select_from(ProcessInstance).where(ProcessInstance.ambito_code == "LECCO")
            )
            == 5 + 2
        )
        assert (
            session.scalar(
                select(func.count()).select_from(ProcessInstance).where(ProcessInstance.ambito_code == "BERGAMO")
            )
            == 0
        )

        # Ambiti, accounts, partners and targets went through administration: in the operation log.
        logged = dict(
            session.execute(
                select(OperationLog.action, func.count())
                .where(OperationLog.actor == "sistema")
                .group_by(OperationLog.action)
            ).all()
        )
        assert logged == {
            "ambito.created": 2,
            "user.created": first["users"],
            "partner.created": first["partners"],
            "target.changed": 2,
        }
        assert annual_targets(session, "MILANO", utcnow().year) is not None

    again = seed(committed, ambiti=["MILANO", "LECCO"])
    assert counts(committed) == first, "la seconda esecuzione non aggiunge nulla"
    assert "Casi dimostrativi: 0 avviati." in again


def test_demo_seed_without_the_model_creates_people_but_no_cases(committed: Platform) -> None:
    summary = seed(committed, ambiti=["SEBINO"])
    assert any("non è pubblicato" in line for line in summary)
    assert counts(committed)["cases"] == 0 and counts(committed)["users"] == len(LANE_ROLES) + len(REGIONAL_USERS)
