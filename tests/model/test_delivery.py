"""Erogazione: interventions in parallel, in house by the responsible role or referred to a partner."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import FormInvalid, complete_task, deliver, send_message
from engine.messages import DELIVERED, UNMATCHED, deliverable_ids, payload_of
from engine.models import MessageSubscription, Timer
from tests.model.journey import AMBITO, NETWORK, intervento, task_data


def subscriptions(case) -> list[tuple[str, str]]:
    rows = case.db.scalars(select(MessageSubscription).where(MessageSubscription.instance_id == case.instance.id))
    return sorted((r.message_name, r.correlation_key) for r in rows)


def ids(case) -> dict[str, str]:
    return {i["tipo"]: i["id"] for i in case.facts()["interventi"]}


def test_in_house_interventions_run_in_parallel_in_the_responsible_roles_inbox(start_case) -> None:
    case = start_case().to_pip(
        [
            intervento("consulenza_legale"),
            intervento("orientamento_lavoro"),
            intervento("mediazione"),
            intervento("supporto_documenti"),
            intervento("abitare"),
        ]
    )
    tasks = case.open_tasks()
    assert sorted((t.task_name, t.lane) for t in tasks) == [
        ("eroga_lavoro", "esperto_politiche_lavoro"),
        ("eroga_legale", "consulente_legale"),
        ("eroga_mediazione", "mediatore"),
        ("eroga_servizi_sociali", "esperto_servizi_sociali"),
        ("eroga_servizi_sociali", "esperto_servizi_sociali"),
    ]
    assert all(t.title.startswith("Eroga l'intervento") and t.due_at is not None for t in tasks)
    # Each inbox row names its intervention, although the task lives in a subprocess run
    # once per intervention: the label comes from the multi-instance item.
    assert sorted(t.title.split(" — ", 1)[1] for t in tasks) == [
        "Consulenza legale",
        "Mediazione linguistico-culturale",
        "Orientamento al lavoro e alla formazione",
        "Supporto all'abitare",
        "Supporto burocratico e documentale",
    ]
    outcomes = {"eroga_legale": "concluso", "eroga_lavoro": "in_corso", "eroga_mediazione": "non_attivato"}
    for task in tasks:
        case.complete_task(
            task,
            {
                "stato_erogazione": outcomes.get(task.task_name, "in_corso"),
                "data_erogazione": "2026-12-02",
                "note_erogazione": "primo incontro",
            },
        )
    # The period is PT0S: once every intervention has started, the periodic review opens.
    assert case.names() == ["verifica_pip"]
    by_type = {i["tipo"]: i for i in case.facts()["interventi"]}
    assert {t: i["stato"] for t, i in by_type.items()} == {
        "consulenza_legale": "concluso",
        "orientamento_lavoro": "in_corso",
        "mediazione": "non_attivato",
        "supporto_documenti": "in_corso",
        "abitare": "in_corso",
    }
    assert by_type["consulenza_legale"]["erogato_da"] == "consulente_legale"
    assert by_type["abitare"]["data_stato"] == "2026-12-02" and by_type["abitare"]["ultima_nota"] == "primo incontro"


def test_each_delivery_form_shows_which_intervention_it_is(start_case) -> None:
    case = start_case().to_pip([intervento("bilancio_competenze", descrizione="con il tutor", data_fine="2027-01-15")])
    shown = task_data(case, "eroga_lavoro")
    assert shown["riepilogo_intervento"].startswith("Bilancio delle competenze: con il tutor")
    assert "Fine prevista: 2027-01-15" in shown["riepilogo_intervento"]
    assert shown["intervento"]["id"] in shown["riepilogo_intervento"]


def test_referrals_go_out_and_partner_answers_come_back_per_intervention(start_case) -> None:
    case = start_case(avvio={"attesa_risposta_partner": "P7D"})
    case.to_pip(
        [
            intervento("politica_attiva_cpi", "invio", partner="MI-CPI"),
            intervento("percorso_antitratta", "invio", partner="MI-ANTITRATTA"),
        ]
    )
    tasks = case.open_tasks()
    assert [(t.task_name, t.lane) for t in tasks] == [("invia_al_partner", "network_manager")] * 2
    with pytest.raises(FormInvalid) as err:
        complete_task(
            case.db,
            case.settings,
            tasks[0].task_id,
            {"partner_invio": "MI-CPI", "consenso_condivisione": False},
            NETWORK,
        )
    assert err.value.errors == {"consenso_condivisione": ["valore non ammesso"]}
    for task in tasks:
        case.complete_task(task, {"consenso_condivisione": True, "messaggio_partner": "Persona segnalata dal PUA"})
    codes = ids(case)
    assert subscriptions(case) == sorted(
        [("risposta_partner", codes["politica_attiva_cpi"]), ("risposta_partner", codes["percorso_antitratta"])]
    )
    sent = {m.correlation_key: payload_of(case.db, case.settings, m) for m in case.outbound("invio_partner")}
    assert sent[codes["politica_attiva_cpi"]]["partner"] == "MI-CPI"
    assert sent[codes["percorso_antitratta"]]["partner"] == "MI-ANTITRATTA"
    assert sent[codes["percorso_antitratta"]]["messaggio"] == "Persona segnalata dal PUA"
    timers = sorted(t.task_name for t in case.db.scalars(select(Timer).where(Timer.instance_id == case.instance.id)))
    # The monitoring interval (PT0S here) has already passed: the review waits for the answers.
    assert timers == ["nessuna_risposta", "nessuna_risposta"]

    # A message for a code nobody waits for is kept, not delivered to a random case.
    stray = send_message(case.db, "risposta_partner", {"esito": "accettato"}, "NESSUNO-I1", AMBITO, source="cpi")
    deliver(case.db, case.settings, stray.id)
    assert stray.status == UNMATCHED

    case.answer_referral(
        codes["politica_attiva_cpi"], {"esito": "accettato", "data_avvio": "2026-12-10", "note": "Colloquio fissato"}
    )
    assert case.names() == [], "l'altro invio attende ancora la risposta"
    case.answer_referral(codes["percorso_antitratta"], {"esito": "rifiutato", "note": "Nessun posto disponibile"})
    assert case.names() == ["verifica_pip"]
    facts = case.facts()
    by_type = {i["tipo"]: i for i in facts["interventi"]}
    assert by_type["politica_attiva_cpi"]["stato"] == "in_corso"
    assert by_type["politica_attiva_cpi"]["data_stato"] == "2026-12-10"
    assert by_type["percorso_antitratta"]["stato"] == "non_attivato"
    invii = {i["tipo"]: i for i in facts["invii"]}
    assert (invii["politica_attiva_cpi"]["partner"], invii["politica_attiva_cpi"]["esito"]) == ("MI-CPI", "accettato")
    assert (invii["percorso_antitratta"]["partner"], invii["percorso_antitratta"]["esito"]) == (
        "MI-ANTITRATTA",
        "rifiutato",
    )
    assert invii["percorso_antitratta"]["note"] == "Nessun posto disponibile"
    assert subscriptions(case) == []
    assert case.db.scalar(select(Timer).where(Timer.instance_id == case.instance.id)) is None


def test_an_unanswered_referral_is_reminded_then_escalated_to_the_director(start_case) -> None:
    case = start_case()  # the partner has one second to answer, then one reminder before the Direttore
    case.to_pip([intervento("tirocinio", "invio", partner="MI-CPI")])
    case.complete("invia_al_partner", {"consenso_condivisione": True})
    code = ids(case)["tirocinio"]
    assert subscriptions(case) == [("risposta_partner", code)]
    case.fire_timers(wait=1.1)
    assert case.names() == ["sollecita_partner"]
    assert case.task("sollecita_partner").lane == "network_manager"
    case.complete("sollecita_partner", {"modalita_sollecito": "telefono", "note_sollecito": "Richiamano domani"})
    assert subscriptions(case) == [("risposta_partner", code)], "dopo il sollecito si attende di nuovo"
    case.fire_timers(wait=1.1)
    assert case.names() == ["decidi_risposta_mancante"]
    assert case.task("decidi_risposta_mancante").lane == "direttore_pua"
    assert "tirocinio".capitalize() in task_data(case, "decidi_risposta_mancante")["riepilogo_intervento"]
    case.complete("decidi_risposta_mancante", {"decisione_risposta_mancante": "attendi", "note_decisione": "Ancora"})
    assert subscriptions(case) == [("risposta_partner", code)]
    case.answer_referral(code, {"esito": "accettato"})
    assert case.names() == ["verifica_pip"]
    facts = case.facts()
    assert facts["interventi"][0]["stato"] == "in_corso"
    assert (facts["invii"][0]["esito"], facts["invii"][0]["solleciti"]) == ("accettato", 1)
    fired = [e.task_name for e in case.history("timer_fired")]
    assert fired == ["attendi_verifica", "nessuna_risposta", "nessuna_risposta"]


def test_an_answer_that_arrives_during_the_reminder_is_kept_and_delivered_after(start_case) -> None:
    case = start_case().to_pip([intervento("servizi_sanitari", "invio", partner="MI-ANTITRATTA")])
    case.complete("invia_al_partner", {"consenso_condivisione": True})
    code = ids(case)["servizi_sanitari"]
    case.fire_timers(wait=1.1)
    assert case.names() == ["sollecita_partner"] and subscriptions(case) == []
    early = send_message(case.db, "risposta_partner", {"esito": "accettato"}, code, AMBITO, source="partner")
    deliver(case.db, case.settings, early.id)
    assert early.status == UNMATCHED
    case.complete("sollecita_partner", {"modalita_sollecito": "email"})
    assert early.id in deliverable_ids(case.db, 10), "il worker la consegnerà al prossimo giro"
    deliver(case.db, case.settings, early.id)
    assert early.status == DELIVERED and case.names() == ["verifica_pip"]
    assert case.facts()["invii"][0]["solleciti"] == 1


@pytest.mark.parametrize("decisione", ["eroga_internamente", "annulla"])
def test_the_director_can_deliver_in_house_or_cancel_an_unanswered_referral(start_case, decisione: str) -> None:
    case = start_case(avvio={"solleciti_massimi": 0})  # straight to the Direttore at the first deadline
    case.to_pip([intervento("tirocinio", "invio", partner="MI-CPI")])
    case.complete("invia_al_partner", {"consenso_condivisione": True})
    case.fire_timers(wait=1.1)
    assert case.names() == ["decidi_risposta_mancante"]
    case.complete("decidi_risposta_mancante", {"decisione_risposta_mancante": decisione})
    if decisione == "eroga_internamente":
        # The responsible role of a traineeship delivers it in house.
        assert case.names() == ["eroga_lavoro"]
        case.complete("eroga_lavoro", {"stato_erogazione": "in_corso", "data_erogazione": "2026-12-15"})
    assert case.names() == ["verifica_pip"]
    facts = case.facts()
    assert facts["invii"][0]["esito"] == "senza_risposta" and facts["invii"][0]["solleciti"] == 0
    item = facts["interventi"][0]
    if decisione == "annulla":
        assert item["stato"] == "non_attivato" and item["modalita"] == "invio"
    else:
        assert (item["stato"], item["modalita"], item["erogato_da"]) == (
            "in_corso",
            "interna",
            "esperto_politiche_lavoro",
        )
