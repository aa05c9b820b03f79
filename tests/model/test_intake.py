"""Valutazione e presa in carico: assessment, legal opinion, DMN suggestion, the expert's decision."""

from __future__ import annotations

import pytest

from engine import FormInvalid, complete_task
from tests.model.journey import SOCIALE, task_data


def test_severe_exploitation_gets_a_legal_opinion_and_priority_intake(start_case) -> None:
    case = start_case().contact()
    case.assess(
        grado="grave_sfruttamento",
        indicatori_sfruttamento=["documenti_trattenuti", "minacce_violenza", "intermediazione_illecita"],
    )
    assert case.names() == ["parere_legale"]
    assert case.task("parere_legale").lane == "consulente_legale"
    shown = task_data(case, "parere_legale")
    assert shown["grado"] == "grave_sfruttamento" and shown["titolo_soggiorno"] == "richiedente_asilo"
    case.complete(
        "parere_legale",
        {
            "parere_legale": "Indici di sfruttamento ex art. 603-bis c.p.",
            "percorsi_tutela": ["denuncia", "permesso_art18ter"],
            "urgenza_protezione": True,
        },
    )
    shown = task_data(case, "decidi_presa_in_carico")
    assert (shown["esito_suggerito"], shown["priorita"]) == ("ammissibile", "alta")
    assert "Il consulente legale" in shown["motivazione_suggerita"]
    case.decide(True)
    assert case.names() == ["redigi_pip"]
    facts = case.facts()
    assert facts["fase"] == "presa_in_carico" and facts["presa_in_carico"] is True
    assert facts["grado"] == "grave_sfruttamento" and facts["n_indicatori"] == 3
    assert facts["settore"] == "agricoltura" and facts["titolo_soggiorno"] == "richiedente_asilo"
    assert facts["percorsi_tutela"] == ["denuncia", "permesso_art18ter"]
    assert facts["ts_contatto"] <= facts["ts_valutazione"] <= facts["ts_decisione"] == facts["ts_presa_in_carico"]


def test_not_eligible_person_is_oriented_or_referred_then_the_case_closes(start_case) -> None:
    case = start_case().contact()
    case.assess(grado="nessuna_condizione", indicatori_sfruttamento=[], settore="nessuno")
    assert case.names() == ["decidi_presa_in_carico"], "nessun parere legale senza sfruttamento"
    assert task_data(case, "decidi_presa_in_carico")["esito_suggerito"] == "non_ammissibile"
    case.decide(False, motivazione_decisione="Nessuna condizione di sfruttamento: servizi ordinari")
    assert case.names() == ["orienta"]
    assert task_data(case, "orienta")["motivazione_decisione"].startswith("Nessuna condizione")
    task = case.task("orienta")
    with pytest.raises(FormInvalid) as err:
        complete_task(case.db, case.settings, task.task_id, {"esito_orientamento": "invio_servizio"}, SOCIALE)
    assert err.value.errors == {"partner_orientamento": ["campo obbligatorio"]}
    with pytest.raises(FormInvalid) as err:  # a partner of another Ambito is not offered
        complete_task(
            case.db,
            case.settings,
            task.task_id,
            {"esito_orientamento": "invio_servizio", "partner_orientamento": "LC-CPI"},
            SOCIALE,
        )
    assert err.value.errors == {"partner_orientamento": ["scegliere uno dei valori proposti"]}
    case.complete("orienta", {"esito_orientamento": "invio_servizio", "partner_orientamento": "MI-CPI"})
    data = case.final_data()
    assert data["esito_percorso"] == "non_preso_in_carico" and data["fase"] == "chiuso"
    assert data["presa_in_carico"] is False and "ts_presa_in_carico" not in data
    assert [(i["tipo"], i["partner"], i["esito"]) for i in data["invii"]] == [("orientamento", "MI-CPI", "inviato")]


def test_orientation_without_referral_closes_too(start_case) -> None:
    case = start_case().contact().assess(adesione_percorso=False).decide(False)
    case.complete("orienta", {"esito_orientamento": "rifiuto"})
    data = case.final_data()
    assert data["esito_percorso"] == "non_preso_in_carico" and data["invii"] == []
    assert data["esito_suggerito"] == "non_ammissibile"


def test_the_decision_is_the_experts_not_the_tables(start_case) -> None:
    case = start_case().contact().assess(grado="disoccupato_a_rischio", indicatori_sfruttamento=[])
    assert task_data(case, "decidi_presa_in_carico")["esito_suggerito"] == "da_valutare"
    task = case.task("decidi_presa_in_carico")
    with pytest.raises(FormInvalid) as err:
        complete_task(case.db, case.settings, task.task_id, {"presa_in_carico": True}, SOCIALE)
    assert err.value.errors == {"motivazione_decisione": ["campo obbligatorio"]}
    case.decide(True, motivazione_decisione="Rischio concreto di ricaduta nel lavoro nero", priorita="alta")
    assert case.names() == ["redigi_pip"]
    assert case.facts()["priorita"] == "alta"


@pytest.mark.parametrize(
    ("valutazione", "urgenza", "atteso"),
    [
        ({"adesione_percorso": False, "grado": "lavoro_nero"}, None, ("non_ammissibile", "ordinaria")),
        ({"grado": "grave_sfruttamento"}, False, ("ammissibile", "alta")),
        ({"grado": "lavoro_grigio"}, None, ("ammissibile", "ordinaria")),
        ({"grado": "lavoro_nero", "indicatori_sfruttamento": []}, None, ("ammissibile", "ordinaria")),
        ({"grado": "disoccupato_a_rischio", "indicatori_sfruttamento": ["debito"]}, None, ("ammissibile", "ordinaria")),
        ({"grado": "disoccupato_a_rischio", "indicatori_sfruttamento": []}, None, ("da_valutare", "ordinaria")),
        ({"grado": "nessuna_condizione", "indicatori_sfruttamento": []}, None, ("non_ammissibile", "ordinaria")),
        (
            {"grado": "disoccupato_a_rischio", "indicatori_sfruttamento": [], "parere_legale_richiesto": True},
            True,
            ("ammissibile", "alta"),
        ),
    ],
)
def test_eligibility_table(start_case, valutazione: dict, urgenza: bool | None, atteso: tuple[str, str]) -> None:
    case = start_case().contact().assess(**valutazione)
    if urgenza is not None:
        case.complete(
            "parere_legale", {"parere_legale": "Parere", "percorsi_tutela": [], "urgenza_protezione": urgenza}
        )
    shown = task_data(case, "decidi_presa_in_carico")
    assert (shown["esito_suggerito"], shown["priorita"]) == atteso
    assert shown["motivazione_suggerita"]


def test_assessment_form_asks_for_the_permit_expiry_only_when_it_has_one(start_case) -> None:
    case = start_case().contact()
    task = case.task("colloquio_valutazione")
    base = {
        "titolo_soggiorno": "lavoro",
        "settore": "edilizia",
        "grado": "lavoro_grigio",
        "adesione_percorso": True,
        "genere": "uomo",
        "fascia_eta": "25_34",
        "nazionalita": "AL",
    }
    with pytest.raises(FormInvalid) as err:
        complete_task(case.db, case.settings, task.task_id, base, SOCIALE)
    assert err.value.errors == {"scadenza_permesso": ["campo obbligatorio"]}
    case.complete(
        "colloquio_valutazione",
        {
            **base,
            "scadenza_permesso": "2027-03-31",
            "documenti_posseduti": ["codice_fiscale", "tessera_sanitaria", "spid"],
        },
    )
    facts = case.facts()
    assert facts["scadenza_permesso"] == "2027-03-31" and facts["nazionalita"] == "AL"
    assert facts["documenti_posseduti"] == ["codice_fiscale", "tessera_sanitaria", "spid"]
