"""The Ambiti: list, create, rename (codes never change)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine import FormInvalid
from engine.access import Action
from engine.admin import (
    create_ambito,
    list_ambiti,
    rename_ambito,
)
from engine.db import read_transaction, transaction
from web.routes.admin.common import form_fields
from web.security import CsrfViewer, CurrentViewer, FormPairs, Viewer, allow, platform_of
from web.templating import render

router = APIRouter(include_in_schema=False)


def _ambiti_page(
    request: Request,
    viewer: Viewer,
    status: int = 200,
    new: dict[str, str] | None = None,
    error: str | None = None,
    errors: dict[str, list[str]] | None = None,
    renaming: tuple[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    with read_transaction(platform_of(request).sessions) as session:
        rows = list_ambiti(session, viewer.actor)
        return render(
            request,
            "admin/ambiti.html",
            {
                "rows": rows,
                "new": new or {},
                "error": error,
                "errors": errors or {},
                "renaming": renaming,
                "notice": notice,
            },
            partial="admin/partials/ambito_list.html",
            status_code=status,
        )


@router.get("/admin/ambiti", dependencies=allow(Action.ADMIN_AMBITI))
def ambiti(request: Request, viewer: CurrentViewer) -> Response:
    """The Ambiti, with a form to add one."""
    return _ambiti_page(request, viewer)


@router.post("/admin/ambiti", dependencies=allow(Action.ADMIN_AMBITI))
def add_ambito(request: Request, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Create an Ambito (its code is permanent)."""
    fields = form_fields(pairs)
    new = {"code": fields.get("code", ""), "name": fields.get("name", "")}
    try:
        with transaction(platform_of(request).sessions) as session:
            ambito = create_ambito(session, viewer.actor, new["code"], new["name"])
            code = ambito.code
    except FormInvalid as exc:
        return _ambiti_page(request, viewer, 422, new=new, error=exc.message, errors=exc.errors)
    return _ambiti_page(request, viewer, 201, notice=f"Ambito {code} creato.")


@router.post("/admin/ambiti/{code}", dependencies=allow(Action.ADMIN_AMBITI))
def rename(request: Request, code: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Rename an Ambito."""
    name = form_fields(pairs).get("name", "")
    try:
        with transaction(platform_of(request).sessions) as session:
            rename_ambito(session, viewer.actor, code, name)
    except FormInvalid as exc:
        return _ambiti_page(
            request,
            viewer,
            422,
            error=exc.message,
            errors={f"name-{code}": exc.errors.get("name", [])},
            renaming=(code, name),
        )
    return _ambiti_page(request, viewer, notice=f"Ambito {code} rinominato.")
