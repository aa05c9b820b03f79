"""The import wizard and the export of a version: pages, Italian errors, permissions, no 500s."""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine import Platform
from engine.access.accounts import create_user
from engine.db import read_transaction, transaction
from engine.models import ProcessDefinition
from tests.conftest import bundle_files
from tests.engine.test_studio_transfer import CAMUNDA, TWO_FOLDERS, _zip
from tests.web.conftest import PASSWORD, csrf_of

IMPORT = "/processi/MILANO/importa"


@pytest.fixture(scope="module")
def people(web_platform: Platform) -> Platform:
    with transaction(web_platform.sessions) as session:
        create_user(session, "leo", "Leo Lecco", PASSWORD, [("direttore_pua", "LECCO")])
    return web_platform


def _upload(client: TestClient, files: list[tuple[str, bytes]], csrf: bool = True) -> object:
    data = {"csrf_token": csrf_of(client)} if csrf else {}
    return client.post(IMPORT, data=data, files=[("file", (name, content)) for name, content in files])


def _carried(page: str) -> str:
    found = re.search(r'name="pacchetto" value="([^"]*)"', page)
    assert found is not None
    return html.unescape(found.group(1))


def _selects(page: str) -> dict[str, str]:
    """Each role select's name and the name it maps (the row's header)."""
    rows = re.findall(r'<th scope="row" data-label="Nel modello">(.*?)</th>.*?name="(ruolo_\d+)"', page, re.S)
    return {html.unescape(label): name for label, name in rows}


def test_the_upload_page_is_for_those_who_edit_the_scope(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    page = clients("dario").get(IMPORT)
    assert page.status_code == 200
    assert "Importa un modello" in page.text and 'enctype="multipart/form-data"' in page.text
    assert IMPORT in clients("dario").get("/processi/MILANO").text
    assert IMPORT not in clients("anna").get("/processi/MILANO").text
    assert clients("anna").get(IMPORT).status_code == 403
    assert clients("leo").get(IMPORT).status_code == 404
    assert clients("dario").get("/processi/regione/importa").status_code == 404


def test_a_camunda_diagram_goes_through_the_wizard_into_the_editor(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    dario = clients("dario")
    plan = _upload(dario, [("approva.bpmn", CAMUNDA)])
    assert plan.status_code == 200, plan.text
    text = html.unescape(plan.text)
    assert "Approvazione spesa" in text and "gruppo candidato" in text
    assert "il modulo «embedded:app:forms/approva.html» è un modulo Camunda, che la piattaforma non mostra" in text
    assert "Correzione suggerita" in text
    selects = _selects(plan.text)
    assert set(selects) == {"management", "Attività senza corsia né gruppo"}
    form = {
        "csrf_token": csrf_of(dario),
        "pacchetto": _carried(plan.text),
        selects["management"]: "direttore_pua",
        selects["Attività senza corsia né gruppo"]: "operatore_contatto",
        "moduli": "1",
    }
    again = dario.post(f"{IMPORT}/bozza", data={**form, "azione": "ricalcola"})
    assert again.status_code == 200 and "non corrisponde a nessun ruolo" not in html.unescape(again.text)
    assert "non è in nessuna corsia" not in html.unescape(again.text)
    created = dario.post(f"{IMPORT}/bozza", data={**form, "azione": "crea"}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/processi/MILANO/approva_spesa/bozza"
    editor = dario.get("/processi/MILANO/approva_spesa/bozza")
    assert editor.status_code == 200 and "Direttore PUA" in html.unescape(editor.text)
    twice = dario.post(f"{IMPORT}/bozza", data={**form, "azione": "crea"}, follow_redirects=False)
    assert twice.status_code == 409
    assert "Esiste già una bozza del processo «approva_spesa»" in html.unescape(twice.text)


def test_spiffarena_folders_show_the_renamed_files_and_the_call(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    plan = _upload(clients("dario"), [("gruppo.zip", _zip(TWO_FOLDERS))])
    text = html.unescape(plan.text)
    assert plan.status_code == 200
    assert "verifica-modulo.json" in text and "Richiesta" in text and "Verifica" in text
    assert "nel caricamento" in text and "Process Initiator" in text


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("male.zip", _zip({"../fuori.bpmn": CAMUNDA}))], "percorso non ammesso nell'archivio: «../fuori.bpmn»"),
        ([("bomba.zip", _zip({"b.bpmn": b"<a>" + b" " * 1_900_000 + b"</a>"}))], "archivio sospetto (zip bomb)"),
        ([("rotto.zip", b"PK\x03\x04 rotto")], "l'archivio zip non è valido o è danneggiato"),
        (
            [("profondo.zip", _zip({"process_model.json": b"[" * 3000, "a.bpmn": CAMUNDA}))],
            "process_model.json non è un oggetto JSON valido",
        ),
        ([("foto.png", b"\x89PNG")], "tipo di file non supportato"),
    ],
)
def test_bad_uploads_are_refused_in_italian(
    people: Platform, clients: Callable[[str], TestClient], files: list[tuple[str, bytes]], message: str
) -> None:
    page = _upload(clients("dario"), files)
    assert page.status_code == 422
    assert "Il caricamento è stato rifiutato" in page.text and message in html.unescape(page.text)


def test_no_file_csrf_and_a_tampered_plan(people: Platform, clients: Callable[[str], TestClient]) -> None:
    dario = clients("dario")
    empty = dario.post(IMPORT, data={"csrf_token": csrf_of(dario)}, files=[("file", ("", b""))])
    assert empty.status_code == 422 and "scegliere almeno un file da importare" in empty.text
    assert _upload(dario, [("approva.bpmn", CAMUNDA)], csrf=False).status_code == 403
    tampered = dario.post(f"{IMPORT}/bozza", data={"csrf_token": csrf_of(dario), "pacchetto": "%%%", "azione": "crea"})
    assert tampered.status_code == 422
    assert "il caricamento non è più leggibile: caricare di nuovo i file" in html.unescape(tampered.text)
    plan = _upload(dario, [("approva.bpmn", CAMUNDA)])
    wrong = dario.post(
        f"{IMPORT}/bozza",
        data={"csrf_token": csrf_of(dario), "pacchetto": _carried(plan.text), "ruolo_0": "amministratore"},
    )
    assert wrong.status_code == 422 and "ruolo sconosciuto scelto per «management»" in html.unescape(wrong.text)
    malformed = _upload(dario, [("rotto.bpmn", b"<bpmn:definitions")])
    assert malformed.status_code == 200 and "XML non valido" in html.unescape(malformed.text)


def test_a_version_exports_as_a_zip_that_imports_back_clean(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    with read_transaction(people.sessions) as session:
        definition_id = session.scalar(
            select(ProcessDefinition.id).where(
                ProcessDefinition.process_key == "sample_case", ProcessDefinition.ambito_code.is_(None)
            )
        )
    page = clients("anna").get(f"/processi/MILANO/sample_case/versioni/{definition_id}")
    url = f"/processi/MILANO/sample_case/versioni/{definition_id}/esporta.zip"
    assert url in page.text
    exported = clients("anna").get(url)
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    assert 'filename="sample_case-v' in exported.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert {n: archive.read(n) for n in archive.namelist() if n != "process_model.json"} == bundle_files()
    assert clients("leo").get(url).status_code == 404
    assert clients("dario").get(url.replace(str(definition_id), "999999")).status_code == 404
    plan = _upload(clients("dario"), [("sample_case.zip", exported.content)])
    assert plan.status_code == 200
    assert "Nessun problema: con i ruoli scelti il modello si può pubblicare così com'è." in html.unescape(plan.text)
