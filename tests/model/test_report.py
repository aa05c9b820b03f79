"""Relazione trimestrale del PUA: draft, Direttore review, SCC approval, distribution to the CCC."""

from __future__ import annotations

import json
import re

import pytest

from engine import FormInvalid, complete_task, start_instance
from tests.model.journey import AMBITO, DIRETTORE, CaseDriver, task_data

DATI = {
    "persone_intercettate": 41,
    "prese_in_carico": 19,
    "interventi_attivati": 52,
    "invii_accettati": 11,
    "tasso_di_successo": "37%",
}
TESTI = {
    "sintesi_attivita": "Più contatti nei mercati e negli snodi del delivery.",
    "risorse": "Due operatori a tempo pieno, un mediatore a chiamata.",
    "rete": "Il CPI risponde in media in 6 giorni.",
}


def start_report(db, settings, avvio: dict | None = None) -> CaseDriver:
    outcome = start_instance(
        db,
        settings,
        "inlav_relazione_trimestrale",
        AMBITO,
        DIRETTORE,
        data={"avvio": avvio} if avvio is not None else None,
    )
    assert outcome.error is None
    return CaseDriver(db, settings, outcome.instance)


def test_report_goes_through_director_and_scc_and_is_sent_to_the_ccc(db, settings, model) -> None:
    case = start_report(db, settings, {"trimestre": "2026-T3", "dati_trimestre": DATI})
    assert case.names() == ["redigi_relazione"]
    assert case.task("redigi_relazione").lane == "network_manager"
    shown = task_data(case, "redigi_relazione")
    assert shown["trimestre"] == "2026-T3"
    assert "Persone intercettate: 41" in shown["riepilogo_dati"] and "Tasso di successo: 37%" in shown["riepilogo_dati"]
    case.complete("redigi_relazione", TESTI)

    # The Direttore sends it back with a remark...
    task = case.task("rivedi_relazione")
    assert task.lane == "direttore_pua"
    with pytest.raises(FormInvalid) as err:
        complete_task(db, settings, task.task_id, {"esito_revisione_direttore": "da_rivedere"}, DIRETTORE)
    assert err.value.errors == {"note_revisione": ["almeno 5 caratteri"]}
    with pytest.raises(FormInvalid) as err:  # the draft is shown read-only
        complete_task(
            db, settings, task.task_id, {"esito_revisione_direttore": "approvata", "rete": "altro"}, DIRETTORE
        )
    assert err.value.errors == {"rete": ["campo in sola lettura: non può essere modificato"]}
    case.complete(
        "rivedi_relazione",
        {"esito_revisione_direttore": "da_rivedere", "note_revisione": "Aggiungere i tempi di risposta dei SAI"},
    )
    assert task_data(case, "redigi_relazione")["note_revisione"] == "Aggiungere i tempi di risposta dei SAI"
    case.complete("redigi_relazione", {**TESTI, "rete": TESTI["rete"] + " I SAI in 10."})
    case.complete("rivedi_relazione", {"esito_revisione_direttore": "approvata"})

    # ...then the SCC does too, and the second time approves.
    assert case.task("approva_relazione").lane == "scc"
    case.complete("approva_relazione", {"esito_approvazione_scc": "da_rivedere", "note_revisione": "Manca il contesto"})
    case.complete("redigi_relazione", {**TESTI, "criticita_contesto": "Raccolta del pomodoro da luglio."})
    case.complete("rivedi_relazione", {"esito_revisione_direttore": "approvata"})
    case.complete("approva_relazione", {"esito_approvazione_scc": "approvata"})

    data = case.final_data()
    assert data["relazione"]["trimestre"] == "2026-T3" and data["relazione"]["dati"] == DATI
    [sent] = case.outbound("relazione_trimestrale")
    payload = json.loads(sent.payload_json)
    assert payload["criticita_contesto"] == "Raccolta del pomodoro da luglio."
    assert payload["rete"] == TESTI["rete"] and "approvata_il" in payload
    approvals = [e.task_name for e in case.history("task_completed")]
    assert approvals.count("redigi_relazione") == 3 and approvals.count("approva_relazione") == 2


def test_report_without_figures_names_the_previous_quarter(db, settings, model) -> None:
    case = start_report(db, settings)
    shown = task_data(case, "redigi_relazione")
    assert re.fullmatch(r"\d{4}-T[1-4]", shown["trimestre"])
    assert shown["riepilogo_dati"] == "Dati del trimestre non disponibili."
