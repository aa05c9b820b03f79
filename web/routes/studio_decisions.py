"""The studio's decision tables: the DMN files of a process draft, a new table, the table editor.

Paths live under the draft (`/processi/{scope}/{key}/bozza/decisioni`); the permission is the
draft's (`process.edit` in the scope, checked by the engine). Saving and checking answer HTML
fragments for the page script, as the diagram editor's do.
"""

from __future__ import annotations

import base64
import hashlib
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

# The style attributes dmn-js writes into its markup for the bpmn.io project logo (which its
# licence requires on every view) and the logo's information box. The editor's page allows
# exactly these values ('unsafe-hashes' with their hashes) and no other inline style; a new
# dmn-js release that changes them shows up as a CSP violation in the browser test.
LIBRARY_STYLES = (
    "position: absolute; bottom: 15px; right: 15px; z-index: 100;",
    "vertical-align:middle",
    "z-index: 1001;position: fixed;top: 0;left: 0;right: 0;bottom: 0",
    "width: 100%;height: 100%;background: rgba(40,40,40,0.2)",
    "position: absolute;left: 50%;top: 40%;transform: translate(-50%);width: 260px;padding: 10px;"
    "background: white;box-shadow: 0 1px 4px rgba(0,0,0,0.3);font-family: Helvetica, Arial, sans-serif;"
    "font-size: 14px;display: flex;line-height: 1.3",
    "margin: 15px 20px 15px 10px; align-self: center;",
)
STYLE_HASHES = " ".join(
    f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'" for style in LIBRARY_STYLES
)


def _editor_csp() -> str:
    """The site's policy with the library's style attributes allowed (scripts stay 'self' only)."""
    from web.app import CSP  # imported here: web.app imports this module

    return CSP.replace("style-src 'self'", f"style-src 'self' 'unsafe-hashes' {STYLE_HASHES}", 1)


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


def _number(pairs: list[tuple[str, str]], name: str) -> int | None:
    value = _field(pairs, name).strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _revision(pairs: list[tuple[str, str]]) -> int | None:
    return _number(pairs, "revision")


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
    response = render(request, "studio/decision.html", {"draft": draft, "name": name, "xml": xml, "scope": scope})
    response.headers["Content-Security-Policy"] = _editor_csp()
    return response


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
            base=_number(pairs, "base"),
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
