"""The studio's form editor: a draft's forms, a new empty form, and the editor of one form.

Every change is one POST the engine applies to the draft (`engine.studio.forms`), saving the
form's files into it; the answer is the editor again (its field list, the field being edited
and the live preview drawn with the operators' own renderer and field macros). With htmx the
editor part is swapped in place; without JavaScript the page posts and redirects back.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

import forms
from engine.access import Action
from engine.db import read_transaction, transaction
from engine.studio import FormEditError, create_form, draft_forms, edit_form, open_form
from engine.studio.forms import (
    DATE_RULES,
    KIND_LABELS,
    AddField,
    EditField,
    FieldInput,
    FieldSpec,
    FormDocument,
    FormOperation,
    MoveField,
    RemoveField,
    ReplaceJson,
    condition_choices,
    describe_condition,
    input_of,
    spec_from_input,
)
from web.routes.studio import scope_of
from web.security import CsrfViewer, CurrentViewer, FormPairs, allow, platform_of
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)

EDITOR = "studio/forms/partials/editor.html"
OPERATIONS = {"aggiungi", "modifica", "su", "giu", "rimuovi", "json"}


def _one(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


def _revision(pairs: list[tuple[str, str]]) -> int | None:
    text = _one(pairs, "revision").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _field_input(pairs: list[tuple[str, str]]) -> FieldInput:
    return FieldInput(
        name=_one(pairs, "nome"),
        label=_one(pairs, "etichetta"),
        kind=_one(pairs, "tipo") or "testo",
        help=_one(pairs, "aiuto"),
        required=_one(pairs, "obbligatorio") == "1",
        options=_one(pairs, "scelte"),
        options_from=_one(pairs, "scelte_da"),
        date_rule=_one(pairs, "regola_data") or "date",
        condition=tuple(v for k, v in pairs if k == "condizione" and v),
        negate=_one(pairs, "condizione_inversa") == "1",
    )


def _base(scope: str, key: str) -> str:
    return f"/processi/{scope}/{key}/bozza/moduli"


@router.get("/processi/{scope}/{key}/bozza/moduli", dependencies=allow(Action.PROCESS_EDIT))
def forms_list(request: Request, scope: str, key: str, viewer: CurrentViewer) -> Response:
    """The forms of the draft, the tasks that use each, and «Nuovo modulo»."""
    with read_transaction(platform_of(request).sessions) as session:
        draft, listed = draft_forms(session, viewer.actor, scope_of(scope), key)
    return render(request, "studio/forms/list.html", {"draft": draft, "forms": listed, "scope": scope})


@router.post("/processi/{scope}/{key}/bozza/moduli", dependencies=allow(Action.PROCESS_EDIT))
def forms_create(request: Request, scope: str, key: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Create an empty form in the draft (`<nome>.schema.json` + `.uischema.json`) and open its editor.

    A client asking for JSON (the properties panel) gets the file names and the new revision.
    """
    name, title = _one(pairs, "nome").strip(), _one(pairs, "titolo").strip()
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        with transaction(platform_of(request).sessions) as session:
            document = create_form(session, viewer.actor, scope_of(scope), key, name, title, _revision(pairs))
    except FormEditError as exc:
        if wants_json:
            return JSONResponse({"errore": exc.message, "errori": exc.problems}, status_code=422)
        with read_transaction(platform_of(request).sessions) as session:
            draft, listed = draft_forms(session, viewer.actor, scope_of(scope), key)
        context = {"draft": draft, "forms": listed, "scope": scope, "problems": exc.problems, "asked": (name, title)}
        return render(request, "studio/forms/list.html", context, status_code=422)
    if wants_json:
        return JSONResponse(
            {
                "nome": document.form.name,
                "formJsonSchemaFilename": document.form.schema_file,
                "formUiSchemaFilename": document.form.ui_file,
                "revisione": document.draft.revision,
            },
            status_code=201,
        )
    target = f"{_base(scope, key)}/{document.form.name}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _editor_context(
    document: FormDocument,
    scope: str,
    field: str = "",
    group: str = "",
    problems: dict[str, list[str]] | None = None,
    posted: FieldInput | None = None,
    operation: str = "",
    raw: tuple[str, str] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """What the editor template draws: the fields, the one being edited, the preview, the errors."""
    top = list(document.fields)
    group_spec = next((f for f in top if f.name == group and f.kind == "gruppo"), None)
    siblings = list(group_spec.fields) if group_spec is not None else top
    editing: FieldSpec | None = next((f for f in siblings if f.name == field), None) if field else None
    if editing is not None:
        edit_input = posted if posted is not None and operation == "modifica" else input_of(editing)
    else:
        edit_input = None
    add_input = posted if posted is not None and operation == "aggiungi" else FieldInput()
    return {
        "document": document,
        "draft": document.draft,
        "scope": scope,
        "base_url": f"{_base(scope, document.draft.process_key)}/{document.form.name}",
        "fields": top,
        "group": group_spec,
        "editing": editing,
        "edit_input": edit_input,
        "add_input": add_input,
        "operation": operation,
        "problems": problems or {},
        "kinds": KIND_LABELS,
        "date_rules": DATE_RULES,
        "choices_for": condition_choices,
        "describe_condition": describe_condition,
        "preview": forms.build_form(document.preview_schema, document.files.ui),
        "raw_schema": raw[0] if raw is not None else document.schema_text,
        "raw_ui": raw[1] if raw is not None else document.ui_text,
        "notice": notice,
    }


@router.get("/processi/{scope}/{key}/bozza/moduli/{name}", dependencies=allow(Action.PROCESS_EDIT))
def form_editor(request: Request, scope: str, key: str, name: str, viewer: CurrentViewer) -> Response:
    """The editor of one form: fields (with the one chosen by `?campo=`), preview, JSON view."""
    field = request.query_params.get("campo", "")[:80]
    group = request.query_params.get("gruppo", "")[:80]
    with read_transaction(platform_of(request).sessions) as session:
        document = open_form(session, viewer.actor, scope_of(scope), key, name)
    context = _editor_context(document, scope, field, group)
    return render(request, "studio/forms/editor.html", context)


NOTICES = {
    "aggiungi": "Campo aggiunto e salvato nella bozza.",
    "modifica": "Campo modificato e salvato nella bozza.",
    "su": "Campo spostato e salvato nella bozza.",
    "giu": "Campo spostato e salvato nella bozza.",
    "rimuovi": "Campo tolto e salvato nella bozza.",
    "json": "JSON salvato nella bozza.",
}


@router.post("/processi/{scope}/{key}/bozza/moduli/{name}", dependencies=allow(Action.PROCESS_EDIT))
def form_change(request: Request, scope: str, key: str, name: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Apply one change (`operazione`: aggiungi, modifica, su, giu, rimuovi, json) and save it into the draft."""
    platform = platform_of(request)
    operation = _one(pairs, "operazione")
    field = _one(pairs, "campo")[:80]
    group = _one(pairs, "gruppo")[:80] or None
    posted = _field_input(pairs)
    raw = (_one(pairs, "schema"), _one(pairs, "uischema"))
    try:
        with transaction(platform.sessions) as session:
            current = open_form(session, viewer.actor, scope_of(scope), key, name)
            if operation not in OPERATIONS:
                raise FormEditError({"": [f"operazione «{operation[:40]}» sconosciuta"]})
            change = _operation(current, operation, field, group, posted, raw)
            document = edit_form(session, viewer.actor, scope_of(scope), key, name, change, _revision(pairs))
    except FormEditError as exc:
        with read_transaction(platform.sessions) as session:
            document = open_form(session, viewer.actor, scope_of(scope), key, name)
        context = _editor_context(
            document,
            scope,
            field,
            group or "",
            exc.problems,
            posted,
            operation,
            raw if operation == "json" else None,
        )
        return render(request, "studio/forms/editor.html", context, partial=EDITOR, status_code=422)
    # After an edit the field stays open (under its new name); after the rest the list is shown.
    keep = posted.name.strip() if operation == "modifica" else ""
    if is_htmx(request):
        context = _editor_context(document, scope, keep, group or "", notice=NOTICES[operation])
        return render(request, "studio/forms/editor.html", context, partial=EDITOR)
    query = [f"campo={keep}"] if keep else []
    if group:
        query.append(f"gruppo={group}")
    target = f"{_base(scope, key)}/{name}" + (f"?{'&'.join(query)}" if query else "")
    return RedirectResponse(target, status_code=303)


def _operation(
    document: FormDocument,
    operation: str,
    field: str,
    group: str | None,
    posted: FieldInput,
    raw: tuple[str, str],
) -> FormOperation:
    """The engine operation a posted change asks for."""
    if operation == "json":
        return ReplaceJson(raw[0], raw[1])
    if operation == "aggiungi":
        return AddField(spec_from_input(posted, None), group)
    siblings: tuple[FieldSpec, ...] = document.fields
    if group:
        parent = next((f for f in document.fields if f.name == group), None)
        siblings = parent.fields if parent is not None else ()
    old = next((f for f in siblings if f.name == field), None)
    if old is None:
        raise FormEditError({"": [f"il campo «{field}» non esiste nel modulo"]})
    if operation == "modifica":
        return EditField(field, spec_from_input(posted, old), group)
    if operation == "rimuovi":
        return RemoveField(field, group)
    return MoveField(field, -1 if operation == "su" else +1, group)
