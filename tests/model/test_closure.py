"""Chiusura: outcomes, emersione, follow-up months later."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import FormInvalid, complete_task
from engine.clock import as_utc, utcnow
from engine.models import Timer
from tests.model.journey import ROOT, SOCIALE, intervento, task_data

ESITI = json.loads((ROOT / "forms" / "schemas" / "chiusura.schema.json").read_text())["properties"]["esiti_chiusura"]


@pytest.fixture
def at_closure(start_case):
    """A case taken in charge, with one intervention done, whose review decides to close."""

    def walk():
        case = start_case().to_pip([intervento("ricerca_lavoro")])
        case.complete("eroga_lavoro", {"stato_erogazione": "concluso", "data_erogazione": "2027-01-10"})
        case.review("chiudi", andamento="positivo")
        assert case.names() == ["chiudi_percorso"]
        assert case.task("chiudi_percorso").lane == "esperto_servizi_sociali"
        return case

    return walk


@pytest.mark.parametrize("esito", ESITI["items"]["enum"])
def test_every_outcome_can_close_the_path(at_closure, esito: str) -> None:
    case = at_closure()
    assert "Ricerca attiva del lavoro" in task_data(case, "chiudi_percorso")["riepilogo_interventi"]
    data = {
        "esiti_chiusura": [esito],
        "emersione": "si" if esito == "inserimento_lavorativo" else "no",
        "follow_up": False,
    }
    if esito == "inserimento_lavorativo":
        data.update(tipo_contratto="tempo_determinato", settore_inserimento="logistica")
    case.complete("chiudi_percorso", data)
    final = case.final_data()
    assert final["esiti_chiusura"] == [esito] and final["esito_percorso"] == "concluso" and final["fase"] == "chiuso"
    assert final["emersione"] == data["emersione"] and final["follow_up"] is False
    if esito == "inserimento_lavorativo":
        assert (final["tipo_contratto"], final["settore_inserimento"]) == ("tempo_determinato", "logistica")
    else:
        assert final["tipo_contratto"] is None and final["settore_inserimento"] is None
    assert final["ts_presa_in_carico"] <= final["ts_pip"] <= final["ts_ultima_verifica"] <= final["ts_chiusura"]
    assert case.facts()["esiti_chiusura"] == [esito]


def test_job_placement_needs_the_contract_type(at_closure) -> None:
    case = at_closure()
    task = case.task("chiudi_percorso")
    with pytest.raises(FormInvalid) as err:
        complete_task(
            case.db,
            case.settings,
            task.task_id,
            {
                "esiti_chiusura": ["inserimento_lavorativo", "documenti_regolarizzati"],
                "emersione": "si",
                "follow_up": False,
            },
            SOCIALE,
        )
    assert err.value.errors == {"tipo_contratto": ["campo obbligatorio"], "settore_inserimento": ["campo obbligatorio"]}
    with pytest.raises(FormInvalid) as err:
        complete_task(
            case.db,
            case.settings,
            task.task_id,
            {"esiti_chiusura": [], "emersione": "forse", "follow_up": False},
            SOCIALE,
        )
    assert err.value.errors == {
        "esiti_chiusura": ["scegliere o inserire almeno 1 elemento"],
        "emersione": ["scegliere uno dei valori proposti"],
    }


def test_follow_up_months_later_is_done_by_the_labour_tutor(at_closure) -> None:
    case = at_closure()
    case.complete(
        "chiudi_percorso",
        {
            "esiti_chiusura": ["inserimento_lavorativo", "vertenza"],
            "tipo_contratto": "apprendistato",
            "settore_inserimento": "manifattura",
            "emersione": "si",
            "follow_up": True,
        },
    )
    # Closed for the reports, still open for the follow-up (one second here, six months by default).
    assert case.instance.status == "running" and case.names() == []
    facts = case.facts()
    assert facts["fase"] == "chiuso" and facts["esito_percorso"] == "concluso" and "ts_chiusura" in facts
    case.fire_timers(wait=1.1)
    assert case.names() == ["follow_up"]
    assert case.task("follow_up").lane == "esperto_politiche_lavoro"
    case.complete("follow_up", {"esito_follow_up": "stabile", "note_follow_up": "Contratto confermato"})
    final = case.final_data()
    assert final["esito_follow_up"] == "stabile" and final["ts_follow_up"] >= final["ts_chiusura"]


def test_the_follow_up_delay_chosen_at_closure_wins_over_the_default(at_closure) -> None:
    case = at_closure()
    case.complete(
        "chiudi_percorso",
        {"esiti_chiusura": ["protezione_permesso"], "emersione": "parziale", "follow_up": True, "follow_up_tra": "P3M"},
    )
    assert case.facts()["attesa_follow_up"] == "P3M"
    [timer] = case.db.scalars(select(Timer).where(Timer.instance_id == case.instance.id)).all()
    assert timer.task_name == "attendi_follow_up"
    assert as_utc(timer.due_at) > utcnow() + timedelta(days=85)
