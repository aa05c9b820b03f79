"""The properties panel's routes: choices of a draft, timer readings, instruction previews (JSON)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine import Platform
from engine.access.accounts import create_user
from engine.db import transaction
from tests.web.conftest import PASSWORD, csrf_of

BASE = "/processi/MILANO/sample_case/bozza"


@pytest.fixture(scope="module")
def people(web_platform: Platform) -> Platform:
    with transaction(web_platform.sessions) as session:
        create_user(session, "leo", "Leo Lecco", PASSWORD, [("direttore_pua", "LECCO")])
    return web_platform


def test_the_panel_gets_the_choices_of_the_draft_as_json(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    answer = clients("dario").get(f"{BASE}/riferimenti")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    choices = answer.json()
    assert set(choices) == {"roles", "forms", "processes", "decisions", "messages"}
    assert {"code": "direttore_pua", "label": "Direttore PUA"}.items() <= next(
        r for r in choices["roles"] if r["code"] == "direttore_pua"
    ).items()
    assert "approva.schema.json" in [f["schema"] for f in choices["forms"]]
    assert all(p["value"] != "sample_case" for p in choices["processes"])


def test_a_timer_is_read_in_italian(people: Platform, clients: Callable[[str], TestClient]) -> None:
    client = clients("dario")
    answer = client.get(f"{BASE}/lettura-timer", params={"tipo": "cycle", "valore": "'R/P30D'"})
    assert answer.json() == {"ok": True, "text": "ogni 30 giorni"}
    answer = client.get(f"{BASE}/lettura-timer", params={"tipo": "duration", "valore": "attesa_follow_up"})
    assert answer.json()["text"] == "valore calcolato dalla variabile attesa_follow_up, quando il timer parte"
    wrong = client.get(f"{BASE}/lettura-timer", params={"tipo": "due", "valore": "dieci giorni"})
    assert wrong.status_code == 200 and wrong.json() == {
        "ok": False,
        "text": "«dieci giorni» non è una durata ISO 8601 (es. P10D per 10 giorni, PT4H per 4 ore)",
    }
    odd = client.get(f"{BASE}/lettura-timer", params={"tipo": "x" * 500})
    assert odd.status_code == 200 and not odd.json()["ok"]


def test_the_instruction_preview_renders_or_explains_in_italian(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    client = clients("dario")
    token = csrf_of(client)
    url = f"{BASE}/anteprima-istruzioni"
    shown = client.post(url, data={"csrf_token": token, "testo": "Caso **{{ codice_caso }}**"})
    assert shown.status_code == 200
    assert shown.json() == {"html": "<p>Caso <strong>MILANO-2026-0001</strong></p>\n", "problem": None}
    hostile = client.post(url, data={"csrf_token": token, "testo": "{{ 9 ** (9 ** 7) }}"})
    assert hostile.status_code == 200 and hostile.json()["html"] == ""
    assert "troppo tempo o memoria" in hostile.json()["problem"]
    broken = client.post(url, data={"csrf_token": token, "testo": "riga\n{% if x %}"})
    assert broken.status_code == 200 and broken.json()["problem"].startswith("Istruzioni non valide: riga 2")
    assert client.post(url, data={"testo": "ciao"}).status_code == 403  # no CSRF token


def test_another_ambito_and_readers_get_nothing(people: Platform, clients: Callable[[str], TestClient]) -> None:
    leo = clients("leo")
    assert leo.get(f"{BASE}/riferimenti").status_code == 404
    assert leo.get(f"{BASE}/lettura-timer", params={"tipo": "cycle", "valore": "'R/P1D'"}).status_code == 404
    token = csrf_of(leo)
    assert leo.post(f"{BASE}/anteprima-istruzioni", data={"csrf_token": token, "testo": "x"}).status_code == 404
    assert clients("anna").get(f"{BASE}/riferimenti").status_code == 403  # an operator edits nothing
