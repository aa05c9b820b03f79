"""Import and export of process models in the studio: the import wizard and a version's zip.

The wizard: upload (files or zips) → the plan (processes, lanes and groups to map to roles,
what the platform will not execute with a suggested fix, call targets) → the draft, opened in
the editor. Nothing is kept on the server between the pages: the plan page carries the upload
back, and it is checked again. Registered before the studio's routes, whose `/processi/{scope}/{key}`
would otherwise take «importa» for a process key.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from engine.access import LANE_ROLES, Action, role_label
from engine.db import read_transaction, transaction
from engine.errors import Conflict, DefinitionError, Problem
from engine.studio.drafts import check_edit
from engine.studio.transfer import (
    NO_LANE,
    carry,
    export_version,
    import_draft,
    mapping_from_pairs,
    plan_import,
    unpack,
    unpack_carried,
)
from web.routes.studio import scope_of
from web.security import CurrentViewer, FormTooLarge, allow, check_csrf, platform_of, web_settings
from web.templating import render

router = APIRouter(include_in_schema=False)
MAX_UPLOADS = 50
ROLE_CHOICES = sorted(((code, role_label(code)) for code in LANE_ROLES), key=lambda item: item[1])


class Upload:
    """The multipart form of the upload page: its text fields and its files."""

    def __init__(self, pairs: list[tuple[str, str]], files: list[tuple[str, bytes]]) -> None:
        self.pairs = pairs
        self.files = files


async def upload_form(request: Request) -> Upload:
    """Fields and files of a multipart post (the other forms of the site refuse files)."""
    settings = web_settings(request)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_body_bytes:
        raise FormTooLarge()
    if not request.headers.get("content-type", "").startswith(
        ("multipart/form-data", "application/x-www-form-urlencoded")
    ):
        return Upload([], [])
    try:
        form = await request.form(max_files=MAX_UPLOADS, max_fields=settings.max_form_fields)
    except MultiPartException:
        raise DefinitionError(
            [Problem(None, None, f"troppi file o campi nel modulo (al massimo {MAX_UPLOADS} file per volta)")]
        ) from None
    pairs: list[tuple[str, str]] = []
    files: list[tuple[str, bytes]] = []
    for key, value in form.multi_items():
        if isinstance(value, str):
            pairs.append((key, value))
        elif isinstance(value, UploadFile) and key == "file" and value.filename:
            files.append((value.filename, await value.read()))
    return Upload(pairs, files)


UploadForm = Annotated[Upload, Depends(upload_form)]


def _limits(request: Request) -> dict[str, int]:
    settings = platform_of(request).settings
    return {"max_files": settings.max_bundle_files, "max_bytes": settings.max_file_bytes}


@router.get("/processi/{scope}/importa", dependencies=allow(Action.PROCESS_EDIT))
def import_page(request: Request, scope: str, viewer: CurrentViewer) -> Response:
    """The first page of the wizard: choose the files or zips to import."""
    with read_transaction(platform_of(request).sessions) as session:
        scope_name = check_edit(session, viewer.actor, scope_of(scope))
    return render(request, "studio/transfer/upload.html", _upload_context(request, scope, scope_name, []))


def _upload_context(request: Request, scope: str, scope_name: str, problems: list[Problem]) -> dict[str, Any]:
    return {
        "scope": scope,
        "scope_name": scope_name,
        "problems": problems,
        "max_body": web_settings(request).max_body_bytes,
        "max_file": platform_of(request).settings.max_file_bytes,
    }


@router.post("/processi/{scope}/importa", dependencies=allow(Action.PROCESS_EDIT))
def import_upload(request: Request, scope: str, viewer: CurrentViewer, form: UploadForm) -> Response:
    """Read the upload and show the plan (nothing is stored yet)."""
    check_csrf(request, viewer, form.pairs)
    platform = platform_of(request)
    ambito = scope_of(scope)
    with read_transaction(platform.sessions) as session:
        scope_name = check_edit(session, viewer.actor, ambito)
        if not form.files:
            problems = [Problem(None, None, "scegliere almeno un file da importare")]
            context = _upload_context(request, scope, scope_name, problems)
            return render(request, "studio/transfer/upload.html", context, status_code=422)
        try:
            unpacked = unpack(form.files, **_limits(request))
        except DefinitionError as exc:
            context = _upload_context(request, scope, scope_name, exc.problems)
            return render(request, "studio/transfer/upload.html", context, status_code=422)
        plan = plan_import(session, unpacked, ambito, None, False, platform.settings.max_file_bytes)
        mapping = plan.default_mapping()
        return _plan_page(request, scope, scope_name, plan, carry(unpacked), mapping, plan.primary, False, [])


def _plan_page(
    request: Request,
    scope: str,
    scope_name: str,
    plan: Any,
    carried: str,
    mapping: dict[str, str],
    primary: str | None,
    make_forms: bool,
    errors: list[str],
    status_code: int = 200,
) -> Response:
    context = {
        "scope": scope,
        "scope_name": scope_name,
        "plan": plan,
        "carried": carried,
        "mapping": mapping,
        "primary": primary,
        "make_forms": make_forms,
        "roles": ROLE_CHOICES,
        "no_lane": NO_LANE,
        "errors": errors,
    }
    return render(request, "studio/transfer/plan.html", context, status_code=status_code)


@router.post("/processi/{scope}/importa/bozza", dependencies=allow(Action.PROCESS_EDIT))
def import_create(request: Request, scope: str, viewer: CurrentViewer, form: UploadForm) -> Response:
    """Recompute the plan with the chosen roles («Ricalcola») or store it as the draft («Crea la bozza»)."""
    check_csrf(request, viewer, form.pairs)
    platform = platform_of(request)
    ambito = scope_of(scope)
    values = dict(form.pairs)
    make_forms = values.get("moduli") == "1"
    with transaction(platform.sessions) as session:
        scope_name = check_edit(session, viewer.actor, ambito)
        carried = values.get("pacchetto", "")
        try:
            unpacked = unpack_carried(carried, **_limits(request))
        except DefinitionError as exc:
            context = _upload_context(request, scope, scope_name, exc.problems)
            return render(request, "studio/transfer/upload.html", context, status_code=422)
        plan = plan_import(session, unpacked, ambito, None, False, platform.settings.max_file_bytes)
        primary = values.get("principale") or plan.primary
        if primary not in {p.id for p in plan.processes}:
            primary = plan.primary
        errors: list[str] = []
        try:
            mapping = mapping_from_pairs(form.pairs, plan)
        except DefinitionError as exc:
            mapping, errors = plan.default_mapping(), [p.message for p in exc.problems]
        mapped = plan_import(
            session,
            unpack_carried(carried, **_limits(request)),
            ambito,
            mapping,
            make_forms,
            platform.settings.max_file_bytes,
            primary,
        )
        if errors or values.get("azione") != "crea":
            status = 422 if errors else 200
            return _plan_page(request, scope, scope_name, mapped, carried, mapping, primary, make_forms, errors, status)
        try:
            draft = import_draft(
                session, viewer.actor, ambito, plan, mapping, primary, make_forms, platform.settings.max_file_bytes
            )
        except (Conflict, DefinitionError) as exc:
            messages = [p.message for p in exc.problems] if isinstance(exc, DefinitionError) else [str(exc)]
            status = 409 if isinstance(exc, Conflict) else 422
            return _plan_page(
                request, scope, scope_name, mapped, carried, mapping, primary, make_forms, messages, status
            )
    return RedirectResponse(f"/processi/{scope}/{draft.process_key}/bozza", status_code=303)


@router.get("/processi/{scope}/{key}/versioni/{definition_id}/esporta.zip", dependencies=allow(Action.PROCESS_READ))
def export_zip(request: Request, scope: str, key: str, definition_id: int, viewer: CurrentViewer) -> Response:
    """A version's files and its process_model.json, as a zip that imports back identically."""
    with read_transaction(platform_of(request).sessions) as session:
        exported = export_version(session, viewer.actor, scope_of(scope), key, definition_id)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", exported.filename)
    return Response(
        exported.content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
