"""Consent, export and erasure pages: each with and without htmx, and permissions both ways."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import complete_task, deliver, start_instance
from engine.access.accounts import create_user
from engine.db import transaction
from engine.models import HumanTask, Message, ProcessInstance
from tests.conftest import deploy
from tests.engine.test_privacy import PERSON, person_bundle
from tests.web.conftest import ANNA, HX, PASSWORD, csrf_of


@pytest.fixture(scope="module")
def seeded(web_platform):
    """The bundle with identity fields, and two coordinators more (scc here, a director elsewhere)."""
    with transaction(web_platform.sessions) as session:
        deploy(session, files=person_bundle())
        create_user(session, "sara", "Sara Rossi", PASSWORD, [("scc", "MILANO")])
        create_user(session, "luca", "Luca Rossi", PASSWORD, [("direttore_pua", "LECCO")])
    return web_platform


def held_case(platform) -> tuple[str, int]:
    """A case whose referral carries identity and is held; returns (code, message id)."""
    with transaction(platform.sessions) as session:
        outcome = start_instance(session, platform.settings, "accoglienza_riservata", "MILANO", ANNA)
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == outcome.instance.id))
        complete_task(session, platform.settings, task.task_id, {**PERSON, "condividi": True}, ANNA)
        message = session.scalar(select(Message).where(Message.origin_instance_id == outcome.instance.id))
        deliver(session, platform.settings, message.id)
        assert message.status == "held_consent"
        return outcome.instance.case_code, message.id


def status_of(platform, message_id: int) -> str:
    with transaction(platform.sessions) as session:
        return session.get(Message, message_id).status


@pytest.mark.parametrize("htmx", [False, True])
def test_case_file_shows_held_referral_and_consent_releases_it(clients, seeded, htmx: bool) -> None:
    code, message_id = held_case(seeded)
    anna = clients("anna")
    page = anna.get(f"/casi/{code}")
    assert "Invii trattenuti in attesa del consenso" in page.text and "Zarqa Testalias" in page.text
    assert "Registra un consenso" in page.text
    assert "Esporta i dati della persona" not in page.text, "operators do not export"
    assert "Autorizza l&#39;invio" not in page.text, "operators do not override"
    headers = HX if htmx else {}
    url = f"/privacy/casi/{code}/consensi"
    refused = anna.post(
        url, data={"csrf_token": csrf_of(anna), "ambito_consenso": "condivisione_partner"}, headers=headers
    )
    assert refused.status_code == 422 and "Modalità del consenso non prevista" in refused.text
    assert anna.post(url, data={"ambito_consenso": "condivisione_partner", "modalita": "orale"}).status_code == 403
    done = anna.post(
        url,
        data={"csrf_token": csrf_of(anna), "ambito_consenso": "condivisione_partner", "modalita": "scritto"},
        headers=headers,
        follow_redirects=False,
    )
    if htmx:
        assert done.status_code == 200 and "<html" not in done.text and "Valido" in done.text
    else:
        assert done.status_code == 303 and done.headers["location"] == f"/casi/{code}?esito=consenso"
    assert status_of(seeded, message_id) == "outbox"
    page = anna.get(f"/casi/{code}").text
    assert "Consenso registrato" in page and "Invii trattenuti" not in page


@pytest.mark.parametrize("htmx", [False, True])
def test_override_asks_a_coordinator_for_a_reason(clients, seeded, htmx: bool) -> None:
    code, message_id = held_case(seeded)
    url = f"/privacy/casi/{code}/messaggi/{message_id}/autorizza"
    anna, sara, luca = clients("anna"), clients("sara"), clients("luca")
    assert anna.post(url, data={"csrf_token": csrf_of(anna), "motivo": "urgenza per la persona"}).status_code == 403
    assert luca.post(url, data={"csrf_token": csrf_of(luca), "motivo": "urgenza per la persona"}).status_code == 404
    headers = HX if htmx else {}
    short = sara.post(url, data={"csrf_token": csrf_of(sara), "motivo": "no"}, headers=headers)
    assert short.status_code == 422 and "Scrivere il motivo" in short.text
    assert "Autorizza l&#39;invio" in sara.get(f"/casi/{code}").text
    done = sara.post(
        url,
        data={"csrf_token": csrf_of(sara), "motivo": "Pericolo immediato, invio urgente"},
        headers=headers,
        follow_redirects=False,
    )
    assert done.status_code == (200 if htmx else 303)
    assert status_of(seeded, message_id) == "outbox"
    page = sara.get(f"/casi/{code}").text
    assert "Invio autorizzato senza consenso" in page and "Pericolo immediato" in page


def test_export_as_json_and_printable_page(clients, seeded) -> None:
    code, _message_id = held_case(seeded)
    dario, anna, luca = clients("dario"), clients("anna"), clients("luca")
    assert "Esporta i dati della persona" in dario.get(f"/casi/{code}").text
    download = dario.get(f"/privacy/casi/{code}/esporta.json")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    exported = json.loads(download.text)
    assert exported["data"]["alias"] == "Zarqa Testalias" and exported["messages"][0]["status"] == "held_consent"
    page = dario.get(f"/privacy/casi/{code}/esporta")
    assert page.status_code == 200 and "Zarqa Testalias" in page.text and "3331234567" in page.text
    for url in (f"/privacy/casi/{code}/esporta", f"/privacy/casi/{code}/esporta.json"):
        assert anna.get(url).status_code == 403
        assert luca.get(url).status_code == 404
    assert dario.get("/privacy/casi/NON-ESISTE/esporta").status_code == 404


def test_export_through_the_api(app, seeded) -> None:
    from fastapi.testclient import TestClient

    from engine.access.tokens import create_token
    from engine.models import AppUser

    code, _message_id = held_case(seeded)
    with transaction(seeded.sessions) as session:
        secrets = {}
        for name in ("dario", "anna"):
            user = session.scalar(select(AppUser).where(AppUser.username == name))
            secrets[name] = create_token(session, seeded.settings.secret_key, user, "prova", 30)[1]
    client = TestClient(app)
    url = f"/api/v1/privacy/cases/{code}/export"
    ok = client.get(url, headers={"Authorization": f"Bearer {secrets['dario']}"})
    assert ok.status_code == 200 and ok.json()["data"]["telefono"] == "3331234567"
    # Date-times carry their offset on every database (SQLite hands them back without one).
    assert ok.json()["case"]["started_at"].endswith("+00:00") and ok.json()["exported_at"].endswith("+00:00")
    assert client.get(url, headers={"Authorization": f"Bearer {secrets['anna']}"}).status_code == 403
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("htmx", [False, True])
def test_erasure_has_a_confirmation_step_and_a_reason(clients, seeded, htmx: bool) -> None:
    code, _message_id = held_case(seeded)
    dario, sara, luca = clients("dario"), clients("sara"), clients("luca")
    headers = HX if htmx else {}
    url = f"/privacy/casi/{code}/cancella"
    assert "Cancella l&#39;identità" in dario.get(f"/casi/{code}").text
    assert "Cancella l&#39;identità" not in sara.get(f"/casi/{code}").text, "only the director erases"
    confirm = dario.get(url, headers=headers)
    assert confirm.status_code == 200 and "scrivi il codice del caso" in confirm.text
    assert ("<html" in confirm.text) != htmx
    assert sara.get(url).status_code == 403 and luca.get(url).status_code == 404
    assert sara.post(url, data={"csrf_token": csrf_of(sara), "motivo": "x" * 20, "conferma": code}).status_code == 403
    wrong = dario.post(url, data={"csrf_token": csrf_of(dario), "motivo": "Richiesta della persona", "conferma": "no"})
    assert wrong.status_code == 422 and "codice del caso" in wrong.text and "Richiesta della persona" in wrong.text
    done = dario.post(
        url,
        data={"csrf_token": csrf_of(dario), "motivo": "Richiesta della persona", "conferma": code},
        headers=headers,
        follow_redirects=False,
    )
    assert done.status_code == (204 if htmx else 303)
    page = dario.get(f"/casi/{code}").text
    assert "Zarqa" not in page and "«dato cancellato»" in page and "Identità cancellata" in page
    assert code not in dario.get("/casi?q=zarqa").text
    with transaction(seeded.sessions) as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == code))
        assert instance.data_key is None and instance.identity_erased_at is not None
