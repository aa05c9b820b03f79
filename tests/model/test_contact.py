"""Contatto e aggancio: the light first record, re-contacts, and referrals from partner antennas."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import Forbidden, FormInvalid, NotFound, complete_task, deliver, send_message
from engine.messages import DELIVERED
from engine.models import MessageSubscription, ProcessInstance, Timer
from tests.model.journey import AMBITO, OPERATORE, CaseDriver, person, task_data


def test_anonymous_street_contact_without_follow_up_is_closed(start_case) -> None:
    case = start_case()
    assert case.names() == ["registra_contatto"]
    assert case.task("registra_contatto").lane == "operatore_contatto"
    assert case.task("registra_contatto").due_at is not None
    # Only the one-tap fields: no name, no phone, no nationality.
    case.contact(
        contesto="snodo_delivery",
        genere="uomo",
        fascia_eta="18_24",
        consenso_ricontatto=False,
        prossimo_passo="nessun_seguito",
        informazioni_fornite=["diritti_lavoro", "sfruttamento_tutele"],
    )
    assert case.instance.status == "completed"
    data = case.final_data()
    assert data["esito_percorso"] == "solo_contatto" and data["fase"] == "chiuso"
    assert data["canale"] == "informale" and data["contesto"] == "snodo_delivery"
    assert (data["genere"], data["fascia_eta"], data["nazionalita"], data["lingua"]) == (
        "uomo",
        "18_24",
        "non_nota",
        "non_nota",
    )
    assert data["alias"] == "" and data["n_contatti"] == 1
    assert data["ts_contatto"] <= data["ts_chiusura"]
    assert case.facts()["esito_percorso"] == "solo_contatto"


@pytest.mark.parametrize(
    ("contesto", "canale"),
    [
        ("cpi", "istituzionale"),
        ("sai", "istituzionale"),
        ("luogo_di_culto", "informale"),
        ("sportello_pua", "accesso_diretto"),
    ],
)
def test_channel_follows_the_context_of_the_contact(start_case, contesto: str, canale: str) -> None:
    case = start_case().contact(contesto=contesto, prossimo_passo="nessun_seguito")
    assert case.final_data()["canale"] == canale


def test_contact_form_is_checked_on_the_server_in_italian(start_case) -> None:
    case = start_case()
    task = case.task("registra_contatto")
    with pytest.raises(FormInvalid) as err:
        complete_task(case.db, case.settings, task.task_id, {"genere": "M", "fascia_eta": "25_34"}, OPERATORE)
    errors = err.value.errors
    assert errors["contesto"] == ["campo obbligatorio"]
    assert errors["genere"] == ["scegliere uno dei valori proposti"]
    assert errors["prossimo_passo"] == ["campo obbligatorio"]
    with pytest.raises(FormInvalid) as err:
        complete_task(
            case.db,
            case.settings,
            task.task_id,
            {
                "contesto": "mercato",
                "genere": "uomo",
                "fascia_eta": "25_34",
                "consenso_ricontatto": True,
                "prossimo_passo": "valutazione",
                "data_contatto": "ieri",
                "codice_fiscale": "X",
            },
            OPERATORE,
        )
    assert err.value.errors == {
        "data_contatto": ["deve essere una data (AAAA-MM-GG)"],
        "codice_fiscale": ["campo non previsto dal modulo"],
    }
    assert case.names() == ["registra_contatto"], "niente è cambiato"


def test_only_the_ambitos_contact_operators_work_the_first_record(start_case) -> None:
    case = start_case()
    task = case.task("registra_contatto")
    with pytest.raises(NotFound):  # another Ambito: as if the task did not exist
        complete_task(case.db, case.settings, task.task_id, {}, person("operatore_contatto", "olga", "LECCO"))
    with pytest.raises(Forbidden):  # same Ambito, another profession
        complete_task(case.db, case.settings, task.task_id, {}, person("esperto_servizi_sociali", "sara"))


def test_recontact_waits_then_the_person_goes_to_assessment(start_case) -> None:
    case = start_case()
    case.contact(prossimo_passo="ricontatto", alias="Samir", recapito="333 000 0000")
    assert case.names() == []
    timer = case.db.scalar(select(Timer).where(Timer.instance_id == case.instance.id))
    assert timer is not None and timer.task_name == "attendi_ricontatto"
    case.fire_timers(wait=1.1)
    assert case.names() == ["ricontatta"]
    shown = task_data(case, "ricontatta")
    assert shown["alias"] == "Samir" and shown["recapito"] == "333 000 0000"
    assert "prossimo_passo" not in shown, "la scelta precedente non è riproposta"
    case.complete("ricontatta", {"esito_ricontatto": "incontrata", "prossimo_passo": "valutazione"})
    assert case.names() == ["colloquio_valutazione"]
    assert case.task("colloquio_valutazione").lane == "esperto_servizi_sociali"
    facts = case.facts()
    assert facts["n_contatti"] == 2 and facts["fase"] == "contatto" and "ts_ultimo_contatto" in facts


def test_recontact_can_repeat_and_end_without_follow_up(start_case) -> None:
    case = start_case().contact(prossimo_passo="ricontatto")
    case.fire_timers(wait=1.1)
    case.complete("ricontatta", {"esito_ricontatto": "non_trovata", "prossimo_passo": "ricontatto"})
    case.fire_timers(wait=1.1)
    case.complete("ricontatta", {"esito_ricontatto": "rifiuta", "prossimo_passo": "nessun_seguito"})
    data = case.final_data()
    assert data["esito_percorso"] == "solo_contatto" and data["n_contatti"] == 3


REFERRAL = {
    "partner": "MI-CPI",
    "ente": "Centro per l'impiego di Milano",
    "referente": "sportello 3",
    "motivo": "Turni di 12 ore nei campi, paga a giornata",
    "alias": "K.",
    "genere": "donna",
    "fascia_eta": "35_44",
    "nazionalita": "NG",
    "lingua": "en",
    "contesto": "cpi",
    "consenso_ricontatto": True,
}


def referral(db, settings, payload: dict) -> CaseDriver:
    message = send_message(db, "segnalazione_pua", payload, ambito=AMBITO, source="cpi")
    outcome = deliver(db, settings, message.id)
    assert message.status == DELIVERED and outcome is not None and outcome.error is None
    instance = db.get(ProcessInstance, message.instance_id)
    return CaseDriver(db, settings, instance)


def test_a_cpi_referral_starts_the_same_path_with_the_form_prefilled(db, settings, model) -> None:
    case = referral(db, settings, REFERRAL)
    instance = case.instance
    assert instance.process_key == "inlav_percorso" and instance.ambito_code == AMBITO
    assert case.names() == ["registra_contatto"]
    shown = task_data(case, "registra_contatto")
    assert (shown["alias"], shown["genere"], shown["nazionalita"], shown["contesto"]) == ("K.", "donna", "NG", "cpi")
    assert "Centro per l'impiego di Milano" in shown["segnalazione_ricevuta"]
    assert "12 ore" in shown["segnalazione_ricevuta"]
    # The operator only adds what the referral could not know.
    case.complete("registra_contatto", {"prossimo_passo": "valutazione"})
    facts = case.facts()
    assert facts["segnalato_da"] == "MI-CPI" and facts["canale"] == "istituzionale" and facts["contesto"] == "cpi"
    assert facts["ts_segnalazione"] <= facts["ts_contatto"]
    assert case.names() == ["colloquio_valutazione"]


def test_a_referral_with_values_the_form_refuses_is_fixed_by_the_operator(db, settings, model) -> None:
    case = referral(db, settings, {"partner": "MI-CPI", "genere": "F", "nazionalita": "Nigeria", "eta": 40})
    task = case.task("registra_contatto")
    with pytest.raises(FormInvalid) as err:
        complete_task(
            db,
            settings,
            task.task_id,
            {"fascia_eta": "35_44", "consenso_ricontatto": True, "prossimo_passo": "valutazione"},
            OPERATORE,
        )
    assert err.value.errors["genere"] == ["scegliere uno dei valori proposti"]
    assert err.value.errors["nazionalita"] == ["scegliere uno dei valori proposti"]
    case.complete(
        "registra_contatto",
        {
            "genere": "donna",
            "nazionalita": "NG",
            "fascia_eta": "35_44",
            "consenso_ricontatto": True,
            "prossimo_passo": "valutazione",
        },
    )
    facts = case.facts()
    assert facts["contesto"] == "altro_servizio" and facts["genere"] == "donna" and "eta" not in facts


def test_a_referral_to_another_ambito_opens_the_case_there(db, settings, model) -> None:
    message = send_message(db, "segnalazione_pua", {"partner": "LC-CPI"}, ambito="LECCO", source="cpi")
    deliver(db, settings, message.id)
    instance = db.get(ProcessInstance, message.instance_id)
    assert instance.ambito_code == "LECCO" and instance.case_code.startswith("LECCO-")
    assert db.scalar(select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)) is None
