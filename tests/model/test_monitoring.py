"""Monitoraggio: periodic PIP review on a timer, progress per intervention, re-planning, long-lived cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import FormInvalid, complete_task
from engine.clock import as_utc, utcnow
from engine.models import TaskState, Timer
from tests.model.journey import SOCIALE, intervento, task_data


def timers(case) -> list[Timer]:
    return list(case.db.scalars(select(Timer).where(Timer.instance_id == case.instance.id)))


def test_the_review_comes_when_the_monitoring_interval_has_passed(start_case) -> None:
    case = start_case(avvio={"intervallo_monitoraggio": "PT1S"})
    case.to_pip([intervento("accompagnamento_empowerment")])
    case.complete("eroga_servizi_sociali", {"stato_erogazione": "in_corso", "data_erogazione": "2026-12-01"})
    if case.names() == []:  # a slow machine may already be past the second
        assert [t.task_name for t in timers(case)] == ["attendi_verifica"]
        case.fire_timers(wait=1.1)
    assert case.names() == ["verifica_pip"]
    assert case.task("verifica_pip").lane == "esperto_servizi_sociali"
    # The next review: in thirty days as chosen by the expert.
    case.review("prosegui", nuovo_intervallo="P30D")
    [timer] = timers(case)
    assert timer.task_name == "attendi_verifica"
    assert as_utc(timer.due_at) > utcnow() + timedelta(days=29)
    facts = case.facts()
    assert facts["intervallo_monitoraggio"] == "P30D" and facts["n_verifiche"] == 1 and facts["n_cicli"] == 2


def test_the_first_review_can_come_earlier_than_the_regular_interval(start_case) -> None:
    case = start_case(avvio={"prima_verifica": "PT0S", "intervallo_monitoraggio": "P30D"})
    case.to_pip([intervento("consulenza_legale")])
    case.complete("eroga_legale", {"stato_erogazione": "concluso", "data_erogazione": "2026-12-01"})
    assert case.names() == ["verifica_pip"]
    case.review()
    [timer] = timers(case)
    assert as_utc(timer.due_at) > utcnow() + timedelta(days=29)


def test_many_monitoring_cycles_keep_the_case_small(start_case) -> None:
    case = start_case()
    case.to_pip([intervento("orientamento_lavoro"), intervento("corso_italiano")])
    for task in case.open_tasks():
        case.complete_task(task, {"stato_erogazione": "in_corso", "data_erogazione": "2026-12-01"})
    live = []
    for cycle in range(25):
        outcome = case.review("prosegui", sintesi_verifica=f"Verifica {cycle + 1}")
        live.append(outcome.instance.live_task_count)
        rows = case.db.scalar(select(TaskState.instance_id).where(TaskState.instance_id == case.instance.id).limit(1))
        assert rows is not None
    assert max(live[5:]) <= live[4] + 2, f"l'albero vivo cresce con i cicli: {live}"
    assert max(live) < 60
    instance = case.instance
    assert instance.archived_task_count > 25 * 5, "la storia finita è archiviata, non tenuta viva"
    facts = case.facts()
    assert facts["n_verifiche"] == 25 and facts["n_cicli"] == 26
    # The case keeps the last twelve reviews; the whole series is in the history.
    assert [v["n"] for v in facts["verifiche"]] == list(range(14, 26))
    assert len([e for e in case.history("script") if e.task_name == "registra_verifica"]) == 25
    assert {v["decisione"] for v in facts["verifiche"]} == {"prosegui"}
    assert [i["stato"] for i in facts["interventi"]] == ["in_corso", "in_corso"]
    assert case.names() == ["verifica_pip"]
    # After years of reviews the case still closes normally.
    case.review("chiudi")
    case.complete(
        "chiudi_percorso", {"esiti_chiusura": ["formazione_completata"], "emersione": "parziale", "follow_up": False}
    )
    assert case.final_data()["esito_percorso"] == "concluso"


def test_progress_is_recorded_per_intervention(start_case) -> None:
    case = start_case().to_pip([intervento("tirocinio"), intervento("abitare"), intervento("consulenza_legale")])
    outcomes = {"eroga_lavoro": "in_corso", "eroga_servizi_sociali": "in_corso", "eroga_legale": "concluso"}
    for task in case.open_tasks():
        case.complete_task(task, {"stato_erogazione": outcomes[task.task_name], "data_erogazione": "2026-12-01"})
    shown = task_data(case, "verifica_pip")
    assert [row["intervento"] for row in shown["avanzamento"]] == ["Tirocinio", "Supporto all'abitare"]
    assert "Consulenza legale: concluso" in shown["riepilogo_interventi"]
    assert "decisione_verifica" not in shown and shown["nuovo_intervallo"] == "invariato"
    rows = [
        dict(shown["avanzamento"][0], stato="concluso", nota="Assunto a tempo determinato"),
        dict(shown["avanzamento"][1], stato="interrotto"),
    ]
    case.review("prosegui", avanzamento=rows, andamento="positivo")
    by_type = {i["tipo"]: i for i in case.facts()["interventi"]}
    assert by_type["tirocinio"]["stato"] == "concluso"
    assert by_type["tirocinio"]["ultima_nota"] == "Assunto a tempo determinato"
    assert by_type["abitare"]["stato"] == "interrotto"
    assert task_data(case, "verifica_pip")["avanzamento"] == [], "nessun intervento ancora aperto"


def test_progress_rows_without_codes_are_matched_by_position(start_case) -> None:
    """A form renderer that does not send read-only fields back still updates the right intervention."""
    case = start_case().to_pip([intervento("tirocinio"), intervento("abitare")])
    for task in case.open_tasks():
        case.complete_task(task, {"stato_erogazione": "in_corso", "data_erogazione": "2026-12-01"})
    case.review("prosegui", avanzamento=[{"stato": "in_corso"}, {"stato": "concluso"}])
    assert [i["stato"] for i in case.facts()["interventi"]] == ["in_corso", "concluso"]


def test_review_form_requires_a_decision(start_case) -> None:
    case = start_case().to_pip([intervento("mediazione")])
    case.complete("eroga_mediazione", {"stato_erogazione": "concluso", "data_erogazione": "2026-12-01"})
    task = case.task("verifica_pip")
    with pytest.raises(FormInvalid) as err:
        complete_task(case.db, case.settings, task.task_id, {"nuovo_intervallo": "P7D"}, SOCIALE)
    assert err.value.errors == {
        "andamento": ["campo obbligatorio"],
        "decisione_verifica": ["campo obbligatorio"],
        "nuovo_intervallo": ["scegliere uno dei valori proposti"],
    }


def test_replanning_revises_the_pip_and_only_new_interventions_start(start_case) -> None:
    case = start_case().to_pip([intervento("orientamento_lavoro")])
    case.complete("eroga_lavoro", {"stato_erogazione": "in_corso", "data_erogazione": "2026-12-01"})
    case.review("rivedi_pip")
    assert case.names() == ["redigi_pip"]
    shown = task_data(case, "redigi_pip")
    assert shown["obiettivi_pip"] == "Lavoro regolare e documenti in ordine"
    assert shown["interventi_nuovi"] == [] and "Orientamento al lavoro" in shown["riepilogo_interventi"]
    case.plan([intervento("borsa_lavoro", "invio", partner="MI-CPI")])
    assert case.names() == ["invia_al_partner"], "l'orientamento già in corso non riparte"
    facts = case.facts()
    rif = facts["rif_caso"]
    assert [(i["id"], i["stato"]) for i in facts["interventi"]] == [
        (f"{rif}-I1", "in_corso"),
        (f"{rif}-I2", "pianificato"),
    ]
    assert facts["n_revisioni_pip"] == 2 and "ts_ultima_revisione_pip" in facts
    assert facts["verifiche"][0]["decisione"] == "rivedi_pip"
