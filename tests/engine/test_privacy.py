"""Personal data: sealed at rest everywhere, searchable by alias, keys rotate, consent gates
sharing, a person's data can be exported and her identity erased (crypto-shredding)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Session

from engine import case_file, complete_task, deliver, search_cases, start_instance, verify_chain
from engine.access.roles import Actor
from engine.config import DEV_DATA_KEY, Settings
from engine.errors import Conflict, Forbidden, NotFound
from engine.messages import outbox
from engine.models import Base, CaseIndex, CaseSearchToken, HistoryEvent, HumanTask, Message, ProcessInstance
from engine.privacy import (
    ERASED,
    HELD_CONSENT,
    KeyUnavailable,
    carries_identity,
    cipher_for,
    encrypt_existing,
    erase_identity,
    export_subject,
    generate_master_key,
    identity_values,
    override_consent,
    record_consent,
    rotate_keys,
    withdraw_consent,
)
from tests import builders
from tests.conftest import DIRECTOR, OPERATOR, OTHER_AMBITO, add_ambiti, deploy

SCC = Actor("sara", frozenset({"scc"}), frozenset({"MILANO"}))
OTHER_DIRECTOR = Actor("luca", frozenset({"direttore_pua"}), frozenset({"LECCO"}))

PERSON = {
    "alias": "Zarqa Testalias",
    "telefono": "3331234567",
    "soprannome_segreto": "Lupettoverde",
    "nota": "colloquio al mercato",
}
SECRETS = ("Zarqa", "Testalias", "3331234567", "Lupettoverde")

PERSON_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "alias": {"type": "string", "title": "Nome"},
        "telefono": {"type": "string", "title": "Telefono"},
        "soprannome_segreto": {"type": "string", "title": "Soprannome", "x-personal": True},
        "nota": {"type": "string", "title": "Nota"},
        "condividi": {"type": "boolean", "title": "Condividere l'identità"},
    },
}


def person_bundle(process_id: str = "accoglienza_riservata") -> dict[str, bytes]:
    """start → form with identity → script → throw 'invio_partner' (identity if asked) → form → end."""
    script = (
        "rif = 'INV-' + codice_caso\n"
        "richiesta = {'servizio': 'orientamento'}\n"
        "if condividi:\n"
        "    richiesta['persona'] = {'alias': alias, 'telefono': telefono}\n"
        "lettere_alias = len(alias)"
    )
    body = (
        '<bpmn:startEvent id="start"/>'
        + builders.user_task("registra", "persona.schema.json", "Registra la persona")
        + builders.script_task("prepara", script)
        + '<bpmn:intermediateThrowEvent id="invia"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="correlationKey" value="rif"/></spiffworkflow:properties>'
        '</bpmn:extensionElements><bpmn:messageEventDefinition id="d_invia" messageRef="m_invio">'
        "<bpmn:extensionElements><spiffworkflow:messagePayload>richiesta</spiffworkflow:messagePayload>"
        "</bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateThrowEvent>"
        + builders.user_task("chiudi", "nota.schema.json", "Chiudi")
        + '<bpmn:endEvent id="fine"/>'
        + builders.flow("f1", "start", "registra")
        + builders.flow("f2", "registra", "prepara")
        + builders.flow("f3", "prepara", "invia")
        + builders.flow("f4", "invia", "chiudi")
        + builders.flow("f5", "chiudi", "fine")
    )
    xml = builders.document(builders.process(process_id, body, ["registra", "chiudi"]))
    xml = xml.replace(b"<bpmn:process", b'<bpmn:message id="m_invio" name="invio_partner"/><bpmn:process', 1)
    return {
        f"{process_id}.bpmn": xml,
        "persona.schema.json": json.dumps(PERSON_FORM).encode(),
        "nota.schema.json": builders.form_json(),
    }


def open_case(db: Session, settings: Settings, condividi: bool = True, **person: Any) -> ProcessInstance:
    """A case whose person told her identity; its outbound referral routed."""
    add_ambiti(db)
    deploy(db, files=person_bundle())
    outcome = start_instance(db, settings, "accoglienza_riservata", "MILANO", OPERATOR)
    task = db.scalar(select(HumanTask).where(HumanTask.instance_id == outcome.instance.id))
    done = complete_task(db, settings, task.task_id, {**PERSON, **person, "condividi": condividi}, OPERATOR)
    assert done.error is None, done.error
    for message_id in db.scalars(select(Message.id).where(Message.origin_instance_id == outcome.instance.id)):
        deliver(db, settings, message_id)
    db.flush()
    return outcome.instance


def plaintext_in_rows(db: Session, needles: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[str]:
    """Table.column of every stored text that contains one of the needles (raw rows, no ORM)."""
    db.flush()
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in skip:
            continue
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        for row in db.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, str) and any(n in value for n in needles):
                    found.append(f"{table.name}.{column.name}")
    return sorted(set(found))


def test_identity_is_sealed_in_every_table_and_opened_for_people_and_scripts(db, settings) -> None:
    instance = open_case(db, settings)
    assert plaintext_in_rows(db, SECRETS) == []
    file = case_file(db, settings, instance.case_code, OPERATOR)
    assert file.alias == "Zarqa Testalias"
    assert file.data["telefono"] == "3331234567" and file.data["soprannome_segreto"] == "Lupettoverde"
    assert file.data["lettere_alias"] == len("Zarqa Testalias"), "scripts saw the plain value"
    assert file.data["nota"] == "colloquio al mercato", "fields that are not identity stay readable"
    stored = json.loads(db.get(ProcessInstance, instance.id).case_data_json)
    assert stored["nota"] == "colloquio al mercato" and stored["alias"]["__inlav__"] == "pii"
    assert verify_chain(db, instance.id) == [], "the chain hashes what is stored"


def test_the_case_runs_to_the_end_with_identity_sealed(db, settings) -> None:
    instance = open_case(db, settings)
    task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    done = complete_task(db, settings, task.task_id, {"nota": "fine"}, OPERATOR)
    assert done.error is None and done.completed
    assert plaintext_in_rows(db, SECRETS) == []
    assert case_file(db, settings, instance.case_code, OPERATOR).data["alias"] == "Zarqa Testalias"


def test_search_by_alias_goes_through_the_blind_index(db, settings) -> None:
    instance = open_case(db, settings)
    tokens = list(db.scalars(select(CaseSearchToken.token).where(CaseSearchToken.instance_id == instance.id)))
    assert tokens and all(len(t) == 64 for t in tokens)
    for query in ("zarqa", "Zar", "testal", "zarqa testalias", "TESTALIAS zarq", "Zàrqa"):
        hits = search_cases(db, settings, OPERATOR, query)
        assert [h.case_code for h in hits] == [instance.case_code], query
        assert hits[0].alias == "Zarqa Testalias"
    # Word prefixes, not any substring (documented in docs/security.md).
    assert search_cases(db, settings, OPERATOR, "arqa") == []
    assert search_cases(db, settings, OPERATOR, "zarqa rossi") == []
    assert search_cases(db, settings, OTHER_AMBITO, "zarqa") == []
    assert [h.case_code for h in search_cases(db, settings, OPERATOR, instance.case_code[:8])] == [instance.case_code]


def test_rotation_rewraps_person_keys_and_the_old_master_key_is_no_longer_needed(db, settings) -> None:
    instance = open_case(db, settings)
    wrapped_before = db.get(ProcessInstance, instance.id).data_key
    newest = generate_master_key()
    both = settings.model_copy(update={"data_keys": f"{newest},{DEV_DATA_KEY}"})
    assert rotate_keys(db, both) >= 1
    db.expire_all()
    assert db.get(ProcessInstance, instance.id).data_key != wrapped_before
    only_new = settings.model_copy(update={"data_keys": newest})
    assert case_file(db, only_new, instance.case_code, OPERATOR).alias == "Zarqa Testalias"
    task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    assert complete_task(db, only_new, task.task_id, {"nota": "ok"}, OPERATOR).completed
    with pytest.raises(KeyUnavailable):
        case_file(db, settings, instance.case_code, OPERATOR)  # the old key alone opens nothing now


def test_settings_refuse_development_keys_outside_dev() -> None:
    with pytest.raises(ValueError, match="INLAV_DATA_KEYS"):
        Settings(environment="production", secret_key="x" * 40).check()
    with pytest.raises(ValueError, match="INLAV_INDEX_KEY"):
        Settings(environment="production", secret_key="x" * 40, data_keys=generate_master_key()).check()
    Settings(environment="production", secret_key="x" * 40, data_keys=generate_master_key(), index_key="k" * 40).check()


# --------------------------------------------------------------------------- consent


def held(db: Session, instance: ProcessInstance) -> Message:
    return db.scalar(select(Message).where(Message.origin_instance_id == instance.id))


def events(db: Session, instance: ProcessInstance, kind: str) -> list[HistoryEvent]:
    query = select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == kind)
    return list(db.scalars(query))


def test_a_referral_with_identity_is_held_until_consent_is_recorded(db, settings) -> None:
    instance = open_case(db, settings)
    message = held(db, instance)
    assert message.status == HELD_CONSENT and "consenso" in message.error
    assert outbox(db, OPERATOR) == [], "held messages are not offered to partner systems"
    record_consent(db, OPERATOR, instance.case_code, "trattamento", "orale")
    assert message.status == HELD_CONSENT, "consent to processing is not consent to sharing"
    consent = record_consent(db, OPERATOR, instance.case_code, "condivisione_partner", "scritto", note="modulo firmato")
    assert message.status == "outbox"
    [offered] = outbox(db, OPERATOR)
    assert offered.id == message.id
    [logged] = events(db, instance, "consent_recorded")[-1:]
    assert json.loads(logged.detail_json)["released_messages"] == [message.id] and logged.actor == "anna"
    withdraw_consent(db, OPERATOR, instance.case_code, consent.id)
    assert events(db, instance, "consent_withdrawn")
    assert verify_chain(db, instance.id) == []


def test_a_referral_without_identity_goes_out_at_once(db, settings) -> None:
    instance = open_case(db, settings, condividi=False)
    assert held(db, instance).status == "outbox"


def test_free_text_naming_the_person_counts_as_identity(db, settings) -> None:
    instance = open_case(db, settings, condividi=False)
    cipher = cipher_for(db, settings, instance)
    data = case_file(db, settings, instance.case_code, OPERATOR).data
    known = identity_values(cipher, data)
    assert "zarqa testalias" in known and "3331234567" in known
    assert carries_identity(cipher, {"messaggio": "Segnalo Zarqa Testalias, chiamare"}, known)
    assert carries_identity(cipher, {"persona": {"telefono": "000"}}, set()), "an identity field, whatever its value"
    assert not carries_identity(cipher, {"messaggio": "Segnalo una persona", "telefono": ""}, known)


def test_override_needs_a_coordinator_and_a_reason_and_is_logged(db, settings) -> None:
    instance = open_case(db, settings)
    message = held(db, instance)
    with pytest.raises(Forbidden):
        override_consent(db, OPERATOR, instance.case_code, message.id, "urgenza per la sicurezza della persona")
    with pytest.raises(NotFound):
        override_consent(db, OTHER_DIRECTOR, instance.case_code, message.id, "urgenza per la sicurezza della persona")
    with pytest.raises(Conflict):
        override_consent(db, DIRECTOR, instance.case_code, message.id, "  breve ")
    assert message.status == HELD_CONSENT
    override_consent(db, SCC, instance.case_code, message.id, "Rischio immediato: invio urgente al progetto antitratta")
    assert message.status == "outbox"
    [logged] = events(db, instance, "consent_override")
    detail = json.loads(logged.detail_json)
    assert logged.actor == "sara" and detail["reason"].startswith("Rischio immediato") and detail["message_id"]
    assert verify_chain(db, instance.id) == []


def test_recording_consent_follows_the_matrix(db, settings) -> None:
    instance = open_case(db, settings)
    with pytest.raises(NotFound):
        record_consent(db, OTHER_AMBITO, instance.case_code, "condivisione_partner", "orale")
    with pytest.raises(Conflict):
        record_consent(db, OPERATOR, instance.case_code, "condivisione_partner", "piccione")
    auditor = Actor("rita", frozenset({"revisore"}))
    with pytest.raises(Forbidden):
        record_consent(db, auditor, instance.case_code, "condivisione_partner", "orale")


# --------------------------------------------------------------------------- export and erasure


def test_export_holds_everything_about_the_person(db, settings) -> None:
    instance = open_case(db, settings)
    record_consent(db, OPERATOR, instance.case_code, "condivisione_partner", "digitale")
    exported = export_subject(db, settings, DIRECTOR, instance.case_code)
    assert exported["case"]["code"] == instance.case_code
    assert exported["data"]["alias"] == "Zarqa Testalias" and exported["data"]["telefono"] == "3331234567"
    changes = [e["changes"] for e in exported["timeline"] if e["kind"] == "task_completed"]
    assert any((c or {}).get("added", {}).get("soprannome_segreto") == "Lupettoverde" for c in changes)
    assert [c["scope"] for c in exported["consents"]] == ["condivisione_partner"]
    [message] = exported["messages"]
    assert message["payload"]["persona"]["alias"] == "Zarqa Testalias" and message["direction"] == "uscita"
    json.dumps(exported)  # JSON-ready
    with pytest.raises(Forbidden):
        export_subject(db, settings, OPERATOR, instance.case_code)
    with pytest.raises(NotFound):
        export_subject(db, settings, OTHER_DIRECTOR, instance.case_code)


def test_erasure_shreds_identity_everywhere_and_keeps_the_case_counted(db, settings) -> None:
    instance = open_case(db, settings)
    code = instance.case_code
    with pytest.raises(Forbidden):
        erase_identity(db, settings, SCC, code, "richiesta della persona", code)
    with pytest.raises(NotFound):
        erase_identity(db, settings, OTHER_DIRECTOR, code, "richiesta della persona", code)
    with pytest.raises(Conflict):
        erase_identity(db, settings, DIRECTOR, code, "richiesta della persona", "sbagliato")
    with pytest.raises(Conflict):
        erase_identity(db, settings, DIRECTOR, code, "", code)
    erase_identity(db, settings, DIRECTOR, code, "Richiesta scritta della persona (art. 17 GDPR)", code)

    file = case_file(db, settings, code, OPERATOR)
    assert file.alias == ERASED and file.data["telefono"] == ERASED and file.data["soprannome_segreto"] == ERASED
    assert file.data["nota"] == "colloquio al mercato", "non-identifying facts stay"
    assert search_cases(db, settings, OPERATOR, "zarqa") == []
    assert db.scalars(select(CaseSearchToken).where(CaseSearchToken.instance_id == instance.id)).all() == []
    assert db.get(CaseIndex, instance.id).alias_sealed is None
    assert verify_chain(db, instance.id) == []
    [logged] = events(db, instance, "identity_erased")
    assert logged.actor == "dario" and "GDPR" in json.loads(logged.detail_json)["reason"]
    assert db.get(ProcessInstance, instance.id).status == "running", "the case still counts"
    assert held(db, instance).status == "failed", "a referral with identity no longer goes out"
    assert export_subject(db, settings, DIRECTOR, code)["data"]["alias"] == ERASED
    with pytest.raises(Conflict):
        erase_identity(db, settings, DIRECTOR, code, "di nuovo, per sicurezza", code)

    # The case goes on: scripts see nothing where identity was, new data gets a new key.
    task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    done = complete_task(db, settings, task.task_id, {"nota": "chiuso dopo la cancellazione"}, OPERATOR)
    assert done.error is None and done.completed
    assert case_file(db, settings, code, OPERATOR).data["alias"] == ERASED
    assert verify_chain(db, instance.id) == []


# --------------------------------------------------------------------------- data stored before encryption


def test_encrypt_existing_seals_data_written_before_encryption(db, settings, monkeypatch) -> None:
    import engine.privacy.fields as fields

    # Cases written by the engine before revision 0010: nothing sealed, no key, plaintext index.
    with monkeypatch.context() as patch:
        patch.setattr(fields, "fields_of_case", lambda session, instance: frozenset())
        instance = open_case(db, settings)
    db.get(ProcessInstance, instance.id).data_key = None
    db.get(CaseIndex, instance.id).alias_sealed = None
    held(db, instance).origin_instance_id = None
    for token in db.scalars(select(CaseSearchToken).where(CaseSearchToken.instance_id == instance.id)):
        db.delete(token)
    db.flush()
    assert "task_data.data_json" in plaintext_in_rows(db, SECRETS)

    report = encrypt_existing(db, settings)
    assert report.cases == 1 and report.messages == 1 and report.plain_history_events >= 1
    assert plaintext_in_rows(db, SECRETS, skip=("history_event",)) == []
    assert [h.case_code for h in search_cases(db, settings, OPERATOR, "zarqa")] == [instance.case_code]
    assert case_file(db, settings, instance.case_code, OPERATOR).data["soprannome_segreto"] == "Lupettoverde"
    task = db.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    assert complete_task(db, settings, task.task_id, {"nota": "ok"}, OPERATOR).completed
    assert encrypt_existing(db, settings).cases == 0, "running it again changes nothing"


def test_sealing_is_deterministic_per_case_and_catches_verbatim_copies() -> None:
    from engine.privacy import CaseCipher, new_person_key

    cipher = CaseCipher(frozenset({"alias"}), new_person_key())
    data = {"copia": "Mario Rossi", "alias": "Mario Rossi", "gruppo": {"alias": "M."}, "nota": "Mario"}
    sealed = cipher.seal_data(data)
    assert sealed["copia"] == sealed["alias"] and sealed["alias"]["__inlav__"] == "pii"
    assert sealed["gruppo"]["alias"]["__inlav__"] == "pii" and sealed["nota"] == "Mario"
    assert CaseCipher(frozenset({"alias"}), new_person_key()).seal_data(data)["alias"] != sealed["alias"]
    assert cipher.open_data(sealed) == data
    diff = cipher.seal_diff({"changed": {"alias": ["Mario Rossi", "Mario R."]}, "added": {"x": 1}})
    assert diff["changed"]["alias"][0] == sealed["alias"] and diff["added"] == {"x": 1}


def test_a_partners_message_is_sealed_once_a_case_takes_it(db, settings) -> None:
    from engine import send_message
    from engine.messages import payload_of

    add_ambiti(db)
    deploy(db, files=builders.referral_bundle())
    message = send_message(db, "segnalazione", {"da": "CPI", "alias": "Kwame Testpartner"}, ambito="MILANO")
    assert "Kwame" in message.payload_json, "kept as sent until a case takes it"
    deliver(db, settings, message.id)
    db.flush()
    assert message.status == "delivered" and "Kwame" not in message.payload_json
    assert payload_of(db, settings, message)["alias"] == "Kwame Testpartner"
    code = db.get(ProcessInstance, message.instance_id).case_code
    [exported] = export_subject(db, settings, DIRECTOR, code)["messages"]
    assert exported["direction"] == "entrata" and exported["payload"]["alias"] == "Kwame Testpartner"
    assert plaintext_in_rows(db, ("Kwame", "Testpartner")) == []


def test_a_new_index_key_needs_a_reindex(db, settings) -> None:
    from engine.privacy import reindex

    instance = open_case(db, settings)
    moved = settings.model_copy(update={"index_key": "un-altro-segreto-per-indice"})
    assert search_cases(db, moved, OPERATOR, "zarqa") == []
    assert reindex(db, moved) >= 1
    assert [h.case_code for h in search_cases(db, moved, OPERATOR, "zarqa")] == [instance.case_code]
    assert search_cases(db, settings, OPERATOR, "zarqa") == [], "the old key no longer finds it"
