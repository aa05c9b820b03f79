"""The studio's form editor pages: list and create, each change through htmx and without it, errors in
Italian (4xx, never 500, nothing saved), permissions, and the preview drawn as the operator's task page."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine import Platform
from engine.access import Actor
from engine.access.accounts import create_user
from engine.db import read_transaction, transaction
from engine.studio import create_form, edit_form, open_draft
from engine.studio.forms import AddField, FieldSpec
from tests import builders
from tests.conftest import add_ambiti, deploy
from tests.web.conftest import HX, PASSWORD, csrf_of, start

LIST = "/processi/MILANO/sample_case/bozza/moduli"
RITA = Actor("rita", grants=frozenset({("coordinamento_regionale", None)}))
DARIO = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
PREVIEW_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Anteprima di prova",
    "description": "Un modulo con un campo per tipo.",
    "type": "object",
    "required": ["esito", "giorno"],
    "properties": {
        "esito": {
            "type": "string",
            "title": "Esito",
            "enum": ["ok", "da_rivedere"],
            "x-inlav-labels": {"ok": "Va bene", "da_rivedere": "Da rivedere"},
        },
        "motivo": {"type": "string", "title": "Motivo", "description": "Perché va rivisto."},
        "giorno": {"type": "string", "format": "date", "title": "Giorno"},
        "ore": {"type": "number", "title": "Ore", "minimum": 0},
        "urgente": {"type": "boolean", "title": "Urgente"},
        "servizi": {
            "type": "array",
            "title": "Servizi",
            "uniqueItems": True,
            "items": {
                "type": "string",
                "enum": ["casa", "lavoro"],
                "x-inlav-labels": {"casa": "Casa", "lavoro": "Lavoro"},
            },
        },
        "cpi": {"type": "string", "title": "CPI", "x-inlav-options": "partners", "x-inlav-partner-kinds": ["cpi"]},
        "righe": {
            "type": "array",
            "title": "Righe",
            "items": {"type": "object", "properties": {"nome": {"type": "string", "title": "Nome"}}},
        },
    },
    "allOf": [
        {
            "if": {"properties": {"esito": {"const": "da_rivedere"}}, "required": ["esito"]},
            "then": {"required": ["motivo"]},
        }
    ],
}
PREVIEW_UI = {
    "ui:order": ["esito", "motivo", "giorno", "ore", "urgente", "servizi", "cpi", "righe"],
    "motivo": {"ui:widget": "textarea"},
}


def _preview_bundle() -> dict[str, bytes]:
    task = (
        '<bpmn:userTask id="anteprima" name="Compila l\'anteprima"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="anteprima.schema.json"/>'
        '<spiffworkflow:property name="formUiSchemaFilename" value="anteprima.uischema.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    )
    body = (
        '<bpmn:startEvent id="start"/>'
        + task
        + '<bpmn:endEvent id="fine"/>'
        + builders.flow("f1", "start", "anteprima")
        + builders.flow("f2", "anteprima", "fine")
    )
    return {
        "prova_anteprima.bpmn": builders.document(builders.process("prova_anteprima", body, ["anteprima"])),
        "anteprima.schema.json": json.dumps(PREVIEW_FORM).encode(),
        "anteprima.uischema.json": json.dumps(PREVIEW_UI).encode(),
    }


@pytest.fixture(scope="module")
def people(web_platform: Platform) -> Platform:
    with transaction(web_platform.sessions) as session:
        add_ambiti(session, "BERGAMO")
        deploy(session, files=_preview_bundle())
        create_user(session, "bea", "Bea Bergamo", PASSWORD, [("direttore_pua", "BERGAMO")])
        create_user(session, "rita", "Rita Regione", PASSWORD, [("coordinamento_regionale", None)])
        # Lecco's draft gets a form with one field, for the refused changes.
        create_form(session, RITA, "LECCO", "sample_case", "errori", "Errori", None)
        approvato = FieldSpec("approvato", "si_no", "Approvato?")
        edit_form(session, RITA, "LECCO", "sample_case", "errori", AddField(approvato), None)
    return web_platform


def _editor(name: str, scope: str = "MILANO", key: str = "sample_case") -> str:
    return f"/processi/{scope}/{key}/bozza/moduli/{name}"


def _revision(platform: Platform, scope: str = "MILANO", key: str = "sample_case") -> int:
    with read_transaction(platform.sessions) as session:
        return open_draft(session, RITA, scope, key).revision


def _post(client: TestClient, url: str, data: dict[str, str | list[str]], htmx: bool = True):  # type: ignore[no-untyped-def]
    headers = {**HX, "X-CSRF-Token": csrf_of(client)} if htmx else {}
    body = dict(data) if htmx else {**data, "csrf_token": csrf_of(client)}
    return client.post(url, data=body, headers=headers, follow_redirects=False)


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.text)


def _squash(fragment: str) -> str:
    return re.sub(r"\s+", " ", fragment).strip()


def test_the_list_shows_the_draft_s_forms_and_the_tasks_using_them(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    page = clients("dario").get(LIST)
    assert page.status_code == 200
    text = _text(page)
    assert "Moduli della bozza" in text and "Nuovo modulo" in text
    assert f'href="{LIST}/approva"' in text and "approva.schema.json" in text
    assert "Approva la presa in carico urgente" in text and "Sollecito al direttore" in text  # the tasks using it


def test_a_new_form_is_created_edited_reordered_and_previewed(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    dario = clients("dario")
    revision = _revision(people)
    created = _post(
        dario,
        LIST,
        {"nome": "approvazione_milano", "titolo": "Approvazione di Milano", "revision": str(revision)},
        False,
    )
    assert created.status_code == 303 and created.headers["location"] == _editor("approvazione_milano")
    page = dario.get(_editor("approvazione_milano"))
    assert page.status_code == 200 and "Nessun campo" in page.text and "Anteprima" in page.text
    url = _editor("approvazione_milano")
    revision += 1
    added = _post(
        dario,
        url,
        {
            "operazione": "aggiungi",
            "nome": "approvato",
            "etichetta": "Approvato?",
            "tipo": "si_no",
            "obbligatorio": "1",
            "revision": str(revision),
        },
    )
    assert added.status_code == 200 and 'id="form-editor"' in added.text and "<html" not in added.text
    assert "Campo aggiunto e salvato nella bozza." in added.text
    assert 'name="approvato" value="true"' in added.text  # the preview draws the Sì / No radios
    revision += 1
    added = _post(
        dario,
        url,
        {
            "operazione": "aggiungi",
            "nome": "osservazioni",
            "etichetta": "Osservazioni",
            "tipo": "testo_lungo",
            "condizione": "approvato=false",
            "revision": str(revision),
        },
    )
    assert added.status_code == 200
    assert re.search(r'data-show-when="approvato" data-show-values="\[&#34;false&#34;\]"', added.text)
    assert re.search(r'<textarea id="f-osservazioni" name="osservazioni"', added.text)
    revision += 1
    moved = _post(dario, url, {"operazione": "su", "campo": "osservazioni", "revision": str(revision)})
    assert moved.status_code == 200
    preview = moved.text[moved.text.index("data-preview-fields") :]
    assert preview.index('name="osservazioni"') < preview.index('name="approvato"')
    revision += 1
    # Without JavaScript: a plain post, then the page again.
    plain = _post(dario, url, {"operazione": "giu", "campo": "osservazioni", "revision": str(revision)}, htmx=False)
    assert plain.status_code == 303 and plain.headers["location"] == url
    revision += 1
    with read_transaction(people.sessions) as session:
        draft = open_draft(session, DARIO, "MILANO", "sample_case")
    schema = json.loads(draft.files["approvazione_milano.schema.json"])
    ui = json.loads(draft.files["approvazione_milano.uischema.json"])
    assert draft.revision == revision and ui["ui:order"] == ["approvato", "osservazioni"]
    assert schema["required"] == ["approvato"] and schema["allOf"][0]["if"]["properties"] == {
        "approvato": {"const": False}
    }
    # The edit form opens on a field, filled with it; an edit keeps it open.
    edit = dario.get(f"{url}?campo=osservazioni")
    assert "Modifica il campo «Osservazioni»" in _text(edit) and 'value="approvato=false" checked' in edit.text
    edited = _post(
        dario,
        url,
        {
            "operazione": "modifica",
            "campo": "osservazioni",
            "nome": "osservazioni",
            "etichetta": "Note del direttore",
            "tipo": "testo_lungo",
            "revision": str(revision),
        },
    )
    assert edited.status_code == 200 and "Modifica il campo «Note del direttore»" in _text(edited)
    assert "data-show-when" not in edited.text  # the condition was unticked
    revision += 1
    removed = _post(dario, url, {"operazione": "rimuovi", "campo": "osservazioni", "revision": str(revision)})
    assert removed.status_code == 200 and 'name="osservazioni"' not in removed.text


def test_the_properties_panel_creates_a_form_and_gets_its_file_names(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    dario = clients("dario")
    answer = dario.post(
        LIST,
        data={"nome": "scheda_nuova", "titolo": "Scheda nuova"},
        headers={"Accept": "application/json", "X-CSRF-Token": csrf_of(dario)},
    )
    assert answer.status_code == 201
    assert answer.json() == {
        "nome": "scheda_nuova",
        "formJsonSchemaFilename": "scheda_nuova.schema.json",
        "formUiSchemaFilename": "scheda_nuova.uischema.json",
        "revisione": _revision(people),
    }
    again = dario.post(
        LIST,
        data={"nome": "scheda_nuova", "titolo": "Scheda nuova"},
        headers={"Accept": "application/json", "X-CSRF-Token": csrf_of(dario)},
    )
    assert again.status_code == 422 and "la bozza ha già un modulo «scheda_nuova»" in again.json()["errori"]["nome"][0]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (
            {"operazione": "aggiungi", "nome": "approvato", "etichetta": "Doppio", "tipo": "testo"},
            422,
            "esiste già un campo «approvato»",
        ),
        (
            {"operazione": "aggiungi", "nome": "Nota Libera", "etichetta": "Nota", "tipo": "testo"},
            422,
            "non è un nome valido",
        ),
        (
            {"operazione": "aggiungi", "nome": "esito", "etichetta": "Esito", "tipo": "scelta"},
            422,
            "indicare almeno una scelta",
        ),
        (
            {
                "operazione": "aggiungi",
                "nome": "nota",
                "etichetta": "Nota",
                "tipo": "testo",
                "condizione": "fantasma=true",
            },
            422,
            "«fantasma», che non esiste",
        ),
        (
            {
                "operazione": "aggiungi",
                "nome": "nota",
                "etichetta": "Nota",
                "tipo": "testo",
                "condizione": "approvato=non json",
            },
            422,
            "valore di condizione non riconosciuto",
        ),
        ({"operazione": "aggiungi", "nome": "nota", "etichetta": "Nota", "tipo": "testo", "regola_data": "x"}, 200, ""),
        ({"operazione": "rimuovi", "campo": "nessuno"}, 422, "il campo «nessuno» non esiste"),
        ({"operazione": "su", "campo": "approvato"}, 422, "è già il primo campo"),
        ({"operazione": "distruggi"}, 422, "operazione «distruggi» sconosciuta"),
        ({"operazione": "json", "schema": '{"type": "object",', "uischema": "{}"}, 422, "JSON non valido alla riga 1"),
        ({"operazione": "json", "schema": "[" * 100_000, "uischema": "{}"}, 422, "annidato troppo in profondità"),
        (
            {
                "operazione": "aggiungi",
                "nome": "nota",
                "etichetta": "Nota",
                "tipo": "testo",
                "condizione": "a=" + "[" * 100_000,
            },
            422,
            "valore di condizione non riconosciuto",
        ),
        (
            {
                "operazione": "json",
                "schema": '{"type": "object", "properties": {"a": {"type": "testo", "title": "A"}}}',
                "uischema": "{}",
            },
            422,
            "il tipo «testo» non esiste",
        ),
        (
            {"operazione": "json", "schema": '{"type": "object", "properties": {}}', "uischema": "[1]"},
            422,
            "deve essere un oggetto JSON",
        ),
        (
            {"operazione": "aggiungi", "nome": "tardi", "etichetta": "Tardi", "tipo": "testo", "revision": "0"},
            409,
            "dopo che l'hai aperta",
        ),
    ],
)
def test_bad_input_is_an_italian_4xx_and_saves_nothing(
    people: Platform, clients: Callable[[str], TestClient], data: dict[str, str], status: int, message: str
) -> None:
    rita = clients("rita")
    url = _editor("errori", "LECCO")
    before = _revision(people, "LECCO")
    body = {"revision": str(before), **data}
    answer = _post(rita, url, body)
    assert answer.status_code == status, answer.text[:500]
    if status == 200:  # an unknown date rule on a text field is simply not used
        assert _post(rita, url, {"operazione": "rimuovi", "campo": "nota"}).status_code == 200
        return
    assert message in _text(answer)
    assert _revision(people, "LECCO") == before
    if status == 422:
        assert "Modifica non applicata: la bozza non è cambiata" in _text(answer)
        # Without JavaScript the whole page comes back with the same message.
        page = _post(rita, url, {"revision": str(before), **data}, htmx=False)
        assert page.status_code == 422 and "<html" in page.text and message in _text(page)


def test_creating_with_a_bad_name_lists_the_problems_by_input(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    answer = _post(clients("dario"), LIST, {"nome": "Nuovo Modulo", "titolo": ""}, htmx=False)
    assert answer.status_code == 422
    text = _text(answer)
    assert "non è un nome di modulo valido" in text and 'href="#nuovo-nome"' in text
    assert "indicare il titolo del modulo" in text and 'aria-invalid="true"' in text


def test_permissions_another_ambito_is_not_found_and_reading_is_not_editing(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    bea, anna = clients("bea"), clients("anna")
    assert bea.get(LIST).status_code == 404
    assert bea.get(_editor("approva")).status_code == 404
    assert _post(bea, _editor("approva"), {"operazione": "rimuovi", "campo": "nota"}).status_code == 404
    assert _post(bea, LIST, {"nome": "intruso", "titolo": "Intruso"}).status_code == 404
    assert anna.get(LIST).status_code == 403
    assert _post(anna, _editor("approva"), {"operazione": "rimuovi", "campo": "nota"}).status_code == 403
    assert clients("dario").get(_editor("nessuno")).status_code == 404
    assert clients("dario").get("/processi/regione/sample_case/bozza/moduli").status_code == 404
    # Bergamo's own draft is hers to edit.
    assert bea.get("/processi/BERGAMO/sample_case/bozza/moduli").status_code == 200
    # A post without the CSRF token changes nothing.
    refused = clients("dario").post(_editor("approva"), data={"operazione": "rimuovi", "campo": "nota"})
    assert refused.status_code == 403


def test_the_preview_is_what_the_operator_s_task_page_draws(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    _, task_id = start(people, "prova_anteprima")
    task_page = clients("anna").get(f"/attivita/{task_id}")
    assert task_page.status_code == 200
    on_task = re.search(
        r"I campi con \* sono obbligatori\.</p>(.*?)<div class=\"app-form-actions\">", task_page.text, re.S
    )
    editor = clients("dario").get(_editor("anteprima", "MILANO", "prova_anteprima"))
    assert editor.status_code == 200
    in_preview = re.search(r"data-preview-fields>(.*?)</div>\s*</form>", editor.text, re.S)
    assert on_task is not None and in_preview is not None
    assert _squash(in_preview.group(1)) == _squash(on_task.group(1))
    # Every kind of field is there, the partners of Milano included.
    for needle in (
        'type="radio"',
        "<textarea",
        'type="date"',
        'inputmode="decimal"',
        'type="checkbox"',
        "Centro per l&#39;impiego di Milano",
        "data-add-row",
        "data-show-when",
    ):
        assert needle in in_preview.group(1), needle
    assert "Anteprima di prova" in editor.text and "Un modulo con un campo per tipo." in editor.text


def test_a_repeatable_group_gets_its_fields_from_its_own_list(
    people: Platform, clients: Callable[[str], TestClient]
) -> None:
    bea = clients("bea")
    list_url = "/processi/BERGAMO/sample_case/bozza/moduli"
    assert _post(bea, list_url, {"nome": "righe", "titolo": "Righe"}, htmx=False).status_code == 303
    url = _editor("righe", "BERGAMO")
    group = {"operazione": "aggiungi", "nome": "familiari", "etichetta": "Familiari", "tipo": "gruppo"}
    assert _post(bea, url, group).status_code == 200
    page = bea.get(f"{url}?gruppo=familiari")
    assert "Campi di ogni riga di «Familiari»" in _text(page) and 'name="gruppo" value="familiari"' in page.text
    assert '<option value="gruppo"' not in page.text.split('id="aggiungi"')[1]  # no group inside a group
    sub = {"operazione": "aggiungi", "gruppo": "familiari", "nome": "nome", "etichetta": "Nome", "tipo": "testo"}
    added = _post(bea, url, {**sub, "obbligatorio": "1"})
    assert added.status_code == 200 and 'name="familiari[__i__].nome"' in added.text  # the row template
    edit = {**sub, "operazione": "modifica", "campo": "nome", "etichetta": "Nome del familiare"}
    edited = _post(bea, url, edit, htmx=False)
    assert edited.status_code == 303 and edited.headers["location"] == f"{url}?campo=nome&gruppo=familiari"
    page = bea.get(edited.headers["location"])
    assert "Modifica il campo «Nome del familiare»" in _text(page)
    with read_transaction(people.sessions) as session:
        bergamo = Actor("bea", grants=frozenset({("direttore_pua", "BERGAMO")}))
        schema = json.loads(open_draft(session, bergamo, "BERGAMO", "sample_case").files["righe.schema.json"])
    items = schema["properties"]["familiari"]["items"]
    assert items == {"type": "object", "properties": {"nome": {"title": "Nome del familiare", "type": "string"}}}
    refused = _post(bea, url, {"operazione": "rimuovi", "gruppo": "nessuno", "campo": "nome"})
    assert refused.status_code == 422 and "il campo «nome» non esiste" in _text(refused)
