"""The studio's comparison of two versions of a process (a variant's, the regional base's).

`/processi/{scope}/{key}/confronta?da=<id>&a=<id>`; without ids, the Ambito's newest variant
against the newest regional version (else the two newest versions). The diagrams are compared
in the browser by bpmn-js-differ; forms and decisions by the engine.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from engine.access import Action
from engine.db import read_transaction
from engine.studio import comparison, regional_pair
from web.routes.studio import scope_of
from web.security import CurrentViewer, allow, platform_of
from web.templating import render

router = APIRouter(include_in_schema=False)
VERSION_ID = re.compile(r"^[0-9]{1,9}$")


def _version_param(request: Request, name: str) -> int | None:
    """A version id from the query string (absent: None); anything but a number is refused in Italian."""
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    if not VERSION_ID.match(raw.strip()):
        raise HTTPException(422, f"Il parametro «{name}» deve essere il numero di una versione del processo.")
    return int(raw.strip())


@router.get("/processi/{scope}/{key}/confronta", dependencies=allow(Action.PROCESS_READ))
def studio_compare(request: Request, scope: str, key: str, viewer: CurrentViewer) -> Response:
    """Two versions side by side: both diagrams with their differences marked, and the list of differences."""
    old_id, new_id = _version_param(request, "da"), _version_param(request, "a")
    with read_transaction(platform_of(request).sessions) as session:
        result = comparison(session, viewer.actor, scope_of(scope), key, old_id, new_id)
    return render(
        request,
        "studio/compare.html",
        {"comparison": result, "scope": scope, "shortcut": regional_pair(result.entry)},
    )
