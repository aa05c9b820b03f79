"""Every page and action of the operator app, as a full page and as an htmx fragment,
allowed and refused (wrong role, other Ambito, someone else's task)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.db import read_transaction
from engine.models import HistoryEvent, HumanTask, ProcessInstance
from tests.web.conftest import HX, csrf_of, fields_of, start

pytestmark = pytest.mark.db

FULL_PAGE = "<html"


def is_fragment(html: str) -> bool:
    return FULL_PAGE not in html


# --------------------------------------------------------------------------- pages, with and without htmx


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_inbox_lists_my_tasks_with_counts(clients, web_platform, htmx: bool) -> None:
    code, task_id = start(web_platform)
    anna = clients("anna")
    response = anna.get(f"/attivita?caso={code}", headers=HX if htmx else {})
    assert response.status_code == 200
    assert is_fragment(response.text) == htmx
    assert f"/attivita/{task_id}" in response.text
    assert "1 attività trovata" in response.text
    assert response.headers["Vary"] == "HX-Request"
    assert "Content-Security-Policy" in response.headers


def test_inbox_filters_views_sort_and_pages(clients, web_platform) -> None:
    _code, task_id = start(web_platform)
    anna = clients("anna")
    assert task_id in anna.get("/attivita?vista=libere&ordina=-creazione").text
    assert task_id not in anna.get("/attivita?vista=mie").text
    assert task_id not in anna.get("/attivita?processo=sample_case").text
    assert task_id in anna.get("/attivita?processo=prova_moduli&attivita=scheda").text
    assert task_id not in anna.get("/attivita?scadute=1").text
    # Hostile or malformed query strings are ignored, never a 500.
    assert anna.get("/attivita?pagina=-3&ordina=drop&vista=%00").status_code == 200
    assert anna.get("/attivita?pagina=999").status_code == 200


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_task_page_shows_form_instructions_and_options(clients, web_platform, htmx: bool) -> None:
    _code, task_id = start(web_platform)
    response = clients("anna").get(f"/attivita/{task_id}", headers=HX if htmx else {})
    assert response.status_code == 200
    assert is_fragment(response.text) == htmx
    html = response.text
    assert 'name="alias"' in html and 'name="familiari[__i__].nome"' in html
    assert "Corso di italiano" in html, "options taken from task data"
    assert "Centro per l&#39;impiego di Milano" in html and "Lecco" not in html, "partners of the Ambito only"
    if not htmx:
        assert "<strong>INT-7</strong>" in html and "&lt;script&gt;" in html, "instructions rendered safely"


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_claim_and_release(clients, web_platform, htmx: bool) -> None:
    _code, task_id = start(web_platform)
    anna = clients("anna")
    token = csrf_of(anna)
    headers = HX if htmx else {}
    claimed = anna.post(
        f"/attivita/{task_id}/prendi",
        data={"csrf_token": token, "next": "/attivita"},
        headers=headers,
        follow_redirects=False,
    )
    if htmx:
        assert claimed.status_code == 200 and is_fragment(claimed.text) and "Attività presa in carico." in claimed.text
    else:
        assert claimed.status_code == 303 and claimed.headers["location"] == "/attivita?esito=presa"
    assert _assignee(web_platform, task_id) == "anna"
    # A colleague with the same role cannot take it, nor release it.
    bruno = clients("bruno")
    taken = bruno.post(f"/attivita/{task_id}/prendi", data={"csrf_token": csrf_of(bruno)}, headers=headers)
    assert taken.status_code == 409 and "già stata presa in carico da anna" in taken.text
    if htmx:
        assert taken.headers["HX-Retarget"] == "#flash" and is_fragment(taken.text)
    refused = bruno.post(f"/attivita/{task_id}/rilascia", data={"csrf_token": csrf_of(bruno)}, headers=headers)
    assert refused.status_code == 403
    released = anna.post(
        f"/attivita/{task_id}/rilascia",
        data={"csrf_token": token, "next": f"/attivita/{task_id}"},
        headers=headers,
        follow_redirects=False,
    )
    assert released.status_code == (204 if htmx else 303)
    assert _assignee(web_platform, task_id) is None


def _assignee(platform, task_id: str) -> str | None:
    with read_transaction(platform.sessions) as session:
        return session.scalar(select(HumanTask.assignee).where(HumanTask.task_id == task_id))


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_new_contact_opens_the_case_and_lands_on_its_first_form(clients, web_platform, htmx: bool) -> None:
    anna = clients("anna")
    page = anna.get("/contatti/nuovo", headers=HX if htmx else {})
    assert page.status_code == 200 and is_fragment(page.text) == htmx
    assert "Prova dei moduli" in page.text and "Caso di esempio" in page.text
    response = anna.post(
        "/contatti",
        data={"csrf_token": csrf_of(anna), "ambito": "MILANO", "processo": "prova_moduli"},
        headers=HX if htmx else {},
        follow_redirects=False,
    )
    target = response.headers["HX-Redirect"] if htmx else response.headers["location"]
    assert response.status_code == (204 if htmx else 303)
    assert target.startswith("/attivita/")
    assert _assignee(web_platform, target.rsplit("/", 1)[1]) == "anna", "the first task is already hers"


def test_new_contact_refuses_missing_choice_and_other_ambito(clients) -> None:
    anna = clients("anna")
    token = csrf_of(anna)
    missing = anna.post("/contatti", data={"csrf_token": token, "ambito": "MILANO"})
    assert missing.status_code == 422 and "Scegliere il tipo di percorso." in missing.text
    other = anna.post("/contatti", data={"csrf_token": token, "ambito": "LECCO", "processo": "prova_moduli"})
    assert other.status_code == 404 and "Ambito «LECCO» non trovato." in other.text
    unknown = anna.post("/contatti", data={"csrf_token": token, "ambito": "MILANO", "processo": "nessuno"})
    assert unknown.status_code == 404


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_case_search_and_case_file(clients, web_platform, htmx: bool) -> None:
    code, _task_id = start(web_platform)
    anna = clients("anna")
    headers = HX if htmx else {}
    found = anna.get(f"/casi?q={code.lower()}", headers=headers)
    assert found.status_code == 200 and is_fragment(found.text) == htmx and f"/casi/{code}" in found.text
    recent = anna.get("/casi", headers=headers)
    assert recent.status_code == 200 and code in recent.text
    file = anna.get(f"/casi/{code}", headers=headers)
    assert file.status_code == 200 and is_fragment(file.text) == htmx
    assert "Compila la scheda" in file.text and "Caso aperto" in file.text
    assert "Lavoro regolare" in file.text and "orientamento" in file.text, "PIP from the case data"
    assert "tirocinio" in file.text and "Centro per l&#39;impiego di Milano" in file.text, "referral with partner"


def test_search_by_alias_after_completion(clients, web_platform) -> None:
    _code, task_id = start(web_platform)
    anna = clients("anna")
    done = anna.post(
        f"/attivita/{task_id}",
        data={**VALID, "alias": "Zaccaria Éolo", "csrf_token": csrf_of(anna)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Zaccaria" in anna.get("/casi?q=eolo").text, "accent-insensitive alias search"
    assert "Zaccaria" not in clients("olga").get("/casi?q=eolo").text, "other Ambito: not found"


# --------------------------------------------------------------------------- permissions both ways


def test_other_ambito_and_wrong_role_are_refused(clients, web_platform) -> None:
    code, task_id = start(web_platform)
    olga, dario = clients("olga"), clients("dario")
    # Another Ambito: the same page as for a task or case that does not exist.
    assert olga.get(f"/attivita/{task_id}").status_code == 404
    other, unknown = olga.get(f"/attivita/{task_id}"), olga.get("/attivita/non-esiste")
    assert other.text.replace(task_id, "?") == unknown.text.replace("non-esiste", "?")
    assert olga.get(f"/casi/{code}").status_code == 404
    assert task_id not in olga.get("/attivita").text
    # Same Ambito, another profession: may look (read-only), may not act.
    page = dario.get(f"/attivita/{task_id}")
    assert page.status_code == 200 and 'value="completa"' not in page.text
    assert dario.post(f"/attivita/{task_id}", data={**VALID, "csrf_token": csrf_of(dario)}).status_code == 403
    assert dario.get(f"/casi/{code}").status_code == 200, "same Ambito may read the case file"
    assert olga.post(f"/attivita/{task_id}/prendi", data={"csrf_token": csrf_of(olga)}).status_code == 404
    assert olga.post(f"/attivita/{task_id}", data={**VALID, "csrf_token": csrf_of(olga)}).status_code == 404
    assert clients("anna").get(f"/attivita/{task_id}").status_code == 200


def test_someone_elses_task_is_read_only(clients, web_platform) -> None:
    _code, task_id = start(web_platform)
    anna, bruno = clients("anna"), clients("bruno")
    anna.post(f"/attivita/{task_id}/prendi", data={"csrf_token": csrf_of(anna)})
    page = bruno.get(f"/attivita/{task_id}")
    assert page.status_code == 200 and "puoi consultarla ma non modificarla" in page.text
    assert 'value="completa"' not in page.text
    assert bruno.post(f"/attivita/{task_id}", data={**VALID, "csrf_token": csrf_of(bruno)}).status_code == 403


def test_unknown_and_closed_tasks_and_cases(clients, web_platform) -> None:
    anna = clients("anna")
    assert anna.get("/attivita/00000000-0000-0000-0000-000000000000").status_code == 404
    assert anna.get("/casi/NON-ESISTE").status_code == 404
    assert anna.get("/pagina-che-non-esiste").status_code == 404
    _code, task_id = start(web_platform)
    assert (
        anna.post(
            f"/attivita/{task_id}", data={**VALID, "csrf_token": csrf_of(anna)}, follow_redirects=False
        ).status_code
        == 303
    )
    gone = anna.get(f"/attivita/{task_id}")
    assert gone.status_code == 409 and "non è più in attesa" in gone.text


# --------------------------------------------------------------------------- the form: 422, drafts, completion

VALID = {
    "azione": "completa",
    "alias": "Amir",
    "eta": "30",
    "primo_colloquio": "2026-11-20",
    "canale": "informale",
    "bisogni": ["lingua", "casa"],
    "bisogni.__present": "1",
    "servizio": "lingua",
    "cpi": "CPI-MI",
    "familiari.__present": "1",
    "familiari[0].nome": "Ali",
    "familiari[0].eta": "4",
    "forza_errore": "false",
}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_invalid_submission_is_422_and_keeps_everything_typed(clients, web_platform, htmx: bool) -> None:
    code, task_id = start(web_platform)
    anna = clients("anna")
    bad = {
        **VALID,
        "csrf_token": csrf_of(anna),
        "alias": "",
        "eta": "trenta",
        "ore_settimanali": "7,5",
        "luogo": "altro",
        "familiari[0].eta": "cento",
        "note": "scritto a mano",
    }
    response = anna.post(f"/attivita/{task_id}", data=bad, headers=HX if htmx else {})
    assert response.status_code == 422
    assert is_fragment(response.text) == htmx
    html = response.text
    assert "Il modulo contiene 4 errori" in html
    assert "inserire un numero intero (solo cifre)" in html and "campo obbligatorio" in html
    kept = fields_of(html)
    assert kept["eta"] == "trenta" and kept["ore_settimanali"] == "7.5" and kept["familiari[0].eta"] == "cento"
    assert kept["familiari[0].nome"] == "Ali"
    assert "scritto a mano</textarea>" in html
    assert 'value="altro" selected' in html and 'value="lingua" checked' in html
    assert 'href="#f-luogo_altro"' in html, "the conditional field's error links to it"
    with read_transaction(web_platform.sessions) as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == code))
        kinds = list(session.scalars(select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance.id)))
    assert "task_completed" not in kinds, "nothing moved"


def test_hostile_fields_are_refused_or_ignored(clients, web_platform) -> None:
    _code, task_id = start(web_platform)
    anna = clients("anna")
    response = anna.post(
        f"/attivita/{task_id}",
        data={
            **VALID,
            "csrf_token": csrf_of(anna),
            "codice_interno": "X",
            "priorita": "alta",
            "familiari[99999].nome": "x",
            "canale": "<script>",
        },
    )
    assert response.status_code == 422
    assert "scegliere uno dei valori proposti" in response.text
    assert "&lt;script&gt;" not in response.text or "<script>" not in response.text.split("<main")[1]


def test_draft_is_saved_resumed_and_discarded(clients, web_platform) -> None:
    _code, task_id = start(web_platform)
    anna = clients("anna")
    token = csrf_of(anna)
    saved = anna.post(
        f"/attivita/{task_id}", data={"csrf_token": token, "azione": "bozza", "alias": "Bozza", "eta": "quaranta"}
    )
    assert saved.status_code == 422 and "Bozza salvata" in saved.text and "non sono stati salvati" in saved.text
    resumed = anna.get(f"/attivita/{task_id}")
    assert "Hai ripreso la bozza" in resumed.text and fields_of(resumed.text)["alias"] == "Bozza"
    assert "bozza" in anna.get("/attivita").text
    assert "Bozza" not in fields_of(clients("bruno").get(f"/attivita/{task_id}").text).get("alias", ""), (
        "a draft is private"
    )
    discarded = anna.post(
        f"/attivita/{task_id}", data={"csrf_token": token, "azione": "scarta"}, follow_redirects=False
    )
    assert discarded.status_code == 303
    assert fields_of(anna.get(f"/attivita/{task_id}").text)["alias"] == ""


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_completion_moves_the_case_on_to_my_next_task(clients, web_platform, htmx: bool) -> None:
    code, task_id = start(web_platform)
    anna = clients("anna")
    response = anna.post(
        f"/attivita/{task_id}",
        data={**VALID, "csrf_token": csrf_of(anna)},
        headers=HX if htmx else {},
        follow_redirects=False,
    )
    target = response.headers["HX-Redirect"] if htmx else response.headers["location"]
    assert target.endswith("?esito=completata") and target.startswith("/attivita/")
    next_page = anna.get(target)
    assert "Verifica finale" in next_page.text and "Questa è la prossima attività del caso." in next_page.text
    final = anna.post(
        target.split("?")[0], data={"csrf_token": csrf_of(anna), "azione": "completa"}, follow_redirects=False
    )
    assert final.headers["location"] == f"/casi/{code}?esito=completata"
    file = anna.get(final.headers["location"]).text
    assert "Concluso" in file and "Attività completata: Compila la scheda" in file and "Amir" in file


def test_diagram_error_keeps_the_typed_data_as_a_draft(clients, web_platform) -> None:
    code, task_id = start(web_platform)
    anna = clients("anna")
    response = anna.post(
        f"/attivita/{task_id}",
        data={**VALID, "csrf_token": csrf_of(anna), "forza_errore": "true", "alias": "Conservato"},
    )
    assert response.status_code == 422
    assert "modello di processo ha un errore" in response.text and "divisione per zero" in response.text
    assert fields_of(response.text)["alias"] == "Conservato"
    again = anna.get(f"/attivita/{task_id}")
    assert fields_of(again.text)["alias"] == "Conservato", "kept as a draft"
    assert "Bloccato da un errore" in anna.get(f"/casi/{code}").text
    # Once the cause is gone, the same task completes.
    fixed = anna.post(f"/attivita/{task_id}", data={**VALID, "csrf_token": csrf_of(anna)}, follow_redirects=False)
    assert fixed.status_code == 303


def test_token_page_creates_and_revokes(clients) -> None:
    tina = clients("tina")
    assert tina.get("/profilo/token", headers=HX).status_code == 200
    created = tina.post(
        "/profilo/token", data={"csrf_token": csrf_of(tina), "nome": "gestionale", "giorni": "30"}, headers=HX
    )
    assert created.status_code == 201 and "ilf_" in created.text and is_fragment(created.text)
    bad = tina.post("/profilo/token", data={"csrf_token": csrf_of(tina), "nome": "", "giorni": "x"})
    assert bad.status_code == 422
    import re

    token_id = re.search(r"/profilo/token/(\d+)/revoca", created.text).group(1)  # type: ignore[union-attr]
    revoked = tina.post(f"/profilo/token/{token_id}/revoca", data={"csrf_token": csrf_of(tina)})
    assert revoked.status_code == 200 and "revocato" in revoked.text
    assert (
        clients("anna")
        .post(f"/profilo/token/{token_id}/revoca", data={"csrf_token": csrf_of(clients("anna"))})
        .status_code
        == 404  # someone else's token: as if it did not exist
    )
