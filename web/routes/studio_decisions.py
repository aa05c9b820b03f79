"""The studio's decision tables: the DMN files of a process draft, a new table, the table editor.

Paths live under the draft (`/processi/{scope}/{key}/bozza/decisioni`); the permission is the
draft's (`process.edit` in the scope, checked by the engine). Saving and checking answer HTML
fragments for the page script, as the diagram editor's do.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine.access import Action
from engine.db import read_transaction, transaction
from engine.studio import check_decisions, decision_file, decision_files, new_decision_file, save_decision_file
from web.routes.studio import scope_of
from web.security import CsrfViewer, CurrentViewer, FormPairs, allow, platform_of
from web.templating import render

router = APIRouter(include_in_schema=False)
BASE = "/processi/{scope}/{key}/bozza/decisioni"


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


def _revision(pairs: list[tuple[str, str]]) -> int | None:
    revision = _field(pairs, "revision").strip()
    return int(revision) if revision.isdigit() and len(revision) < 10 else None


@router.get(BASE, dependencies=allow(Action.PROCESS_EDIT))
def decision_list(request: Request, scope: str, key: str, viewer: CurrentViewer) -> Response:
    """The DMN files of the draft: their decisions, columns, rules and the rule tasks calling them."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        overview = decision_files(session, viewer.actor, scope_of(scope), key, platform.settings.max_file_bytes)
    return render(request, "studio/decisions.html", {"overview": overview, "draft": overview.draft, "scope": scope})


@router.post(BASE, dependencies=allow(Action.PROCESS_EDIT))
def decision_new(request: Request, scope: str, key: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Add a DMN file with one empty decision table to the draft, then open it in the editor."""
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        _draft, name = new_decision_file(
            session, viewer.actor, scope_of(scope), key, _field(pairs, "nome"), platform.settings.max_file_bytes
        )
    return RedirectResponse(f"/processi/{scope}/{key}/bozza/decisioni/{quote(name)}", status_code=303)


@router.get(BASE + "/{name}", dependencies=allow(Action.PROCESS_EDIT))
def decision_editor(request: Request, scope: str, key: str, name: str, viewer: CurrentViewer) -> Response:
    """The decision-table editor (dmn-js) on one DMN file of the draft."""
    with read_transaction(platform_of(request).sessions) as session:
        draft, xml = decision_file(session, viewer.actor, scope_of(scope), key, name)
    return render(request, "studio/decision.html", {"draft": draft, "name": name, "xml": xml, "scope": scope})


@router.post(BASE + "/{name}", dependencies=allow(Action.PROCESS_EDIT))
def decision_save(request: Request, scope: str, key: str, name: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Save the DMN file into the draft (size, XML safety and DMN root checked; a stale revision is refused)."""
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        draft = save_decision_file(
            session,
            viewer.actor,
            scope_of(scope),
            key,
            name,
            _field(pairs, "xml").encode("utf-8"),
            _revision(pairs),
            platform.settings.max_file_bytes,
        )
    return render(request, "studio/partials/draft_saved.html", {"draft": draft})


@router.post(BASE + "/{name}/verifica", dependencies=allow(Action.PROCESS_EDIT))
def decision_check(request: Request, scope: str, key: str, name: str, viewer: CsrfViewer) -> Response:
    """Validate the saved draft as a deployment would; the decisions' problems, each with its table element."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        draft, _xml = decision_file(session, viewer.actor, scope_of(scope), key, name)
        check = check_decisions(session, viewer.actor, scope_of(scope), key, platform.settings.max_file_bytes)
    return render(
        request,
        "studio/partials/decision_problems.html",
        {"check": check, "name": name, "scope": scope, "draft": draft},
    )
