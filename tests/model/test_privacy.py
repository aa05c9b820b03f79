"""The regional model with identity sealed: the forms mark their identity fields, nothing readable
is stored, search by alias works, and a referral naming the person waits for consent."""

from __future__ import annotations

import json

from sqlalchemy import select

from engine import case_file, search_cases, verify_chain
from engine.definitions import read_bundle_paths
from engine.models import Message, ProcessDefinition
from engine.privacy import HELD_CONSENT, erase_identity, record_consent
from tests.engine.test_privacy import plaintext_in_rows
from tests.model.journey import BUNDLE, DIRETTORE, OPERATORE, intervento

IDENTITY = {"alias": "Amina Testmodello", "recapito": "347 987 6543", "luogo": "Via Padova 12"}
SECRETS = ("Amina", "Testmodello", "987 6543", "Via Padova")


def test_the_contact_forms_mark_their_identity_fields(model, db) -> None:
    files = read_bundle_paths(BUNDLE)
    contatto = json.loads(files["contatto.schema.json"])["properties"]
    assert [k for k, v in contatto.items() if v.get("x-personal")] == ["luogo", "alias", "recapito"]
    ricontatto = json.loads(files["ricontatto.schema.json"])["properties"]
    assert sorted(k for k, v in ricontatto.items() if v.get("x-personal")) == ["alias", "recapito"]
    marked = db.scalar(
        select(ProcessDefinition.personal_fields_json).where(ProcessDefinition.process_key == "inlav_percorso")
    )
    assert set(json.loads(marked)) >= {"alias", "luogo", "recapito"}


def test_a_whole_path_keeps_identity_sealed_and_findable(start_case, db, settings) -> None:
    case = start_case(avvio={"attesa_risposta_partner": "P7D"})
    case.contact(**IDENTITY).assess().decide().plan([intervento("politica_attiva_cpi", "invio", partner="MI-CPI")])
    task = case.task("invia_al_partner")
    case.complete_task(
        task,
        {"consenso_condivisione": True, "messaggio_partner": "Vi segnaliamo Amina Testmodello, chiamare al mattino"},
    )
    assert plaintext_in_rows(db, SECRETS) == [], "the text for the partner is marked, and so is its copy"
    [referral] = case.outbound("invio_partner")
    assert json.loads(referral.payload_json)["messaggio"]["__inlav__"] == "pii"

    file = case_file(db, settings, case.case_code, OPERATORE)
    assert file.alias == "Amina Testmodello" and file.data["recapito"] == "347 987 6543"
    hits = search_cases(db, settings, OPERATORE, "amina test")
    assert [h.case_code for h in hits] == [case.case_code] and hits[0].alias == "Amina Testmodello"

    # The referral names the person: it waits for her consent to sharing.
    for message in case.outbound("invio_partner"):
        from engine import deliver

        deliver(db, settings, message.id)
    assert referral.status == HELD_CONSENT
    shown = case_file(db, settings, case.case_code, OPERATORE)
    assert [h.id for h in shown.held] == [referral.id]
    record_consent(db, OPERATORE, case.case_code, "condivisione_partner", "orale")
    assert referral.status == "outbox"
    assert verify_chain(db, case.instance.id) == []


def test_erasure_on_the_regional_model(start_case, db, settings) -> None:
    case = start_case()
    case.contact(**IDENTITY)
    erase_identity(db, settings, DIRETTORE, case.case_code, "Richiesta della persona al PUA", case.case_code)
    file = case_file(db, settings, case.case_code, OPERATORE)
    assert file.alias == "«dato cancellato»" and file.data["luogo"] == "«dato cancellato»"
    assert file.data["genere"] == "uomo" and file.stage, "non-identifying facts and the stage stay"
    assert search_cases(db, settings, OPERATORE, "amina") == []
    assert verify_chain(db, case.instance.id) == []
    case.assess()  # the path goes on after erasure
    assert db.scalar(select(Message.id).where(Message.origin_instance_id == case.instance.id)) is None
