"""Publishing a studio draft: the page that shows what would be published, and the publication itself.

GET shows the draft's validation, the reporting-facts contract check (each fact lost and where),
the versions the publication would create, a note field and (only when facts would be lost) the
reason field. POST publishes and goes back to the process page with a notice; a refusal shows
the page again with the person's text kept and the reason in Italian.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine.access import Action
from engine.db import transaction
from engine.errors import Conflict, DefinitionError, FormInvalid
from engine.studio import plan_publication, publish_draft
from web.security import CsrfViewer, CurrentViewer, FormPairs, allow, platform_of
from web.templating import render

router = APIRouter(include_in_schema=False)
REGION = "regione"

PUBLISHED: dict[str, str] = {
    "pubblicata": "Bozza pubblicata: la nuova versione è in cima all'elenco e i nuovi casi la seguono. "
    "La bozza è stata chiusa.",
    "pubblicata_con_motivo": "Bozza pubblicata nonostante i fatti per il monitoraggio persi: il motivo è nel "
    "registro delle operazioni e nella nota della versione. La bozza è stata chiusa.",
    "invariata": "Nessuna nuova versione: i file della bozza sono identici a quelli già pubblicati (la stessa "
    "pubblicazione non crea nulla due volte). La bozza è stata chiusa.",
    "scartata": "Bozza scartata: la prossima modifica riparte dalla versione che ricevono i nuovi casi.",
}
"""Notices of the process page after a publication or a discarded draft (`?esito=`), by outcome."""
INVALID = "La bozza non è valida: correggere nell'editor i problemi elencati qui sotto, poi pubblicare."


def _scope(segment: str) -> str | None:
    return None if segment == REGION else segment


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k == name), "")


def _page(
    request: Request,
    viewer: Any,
    scope: str,
    key: str,
    status: int = 200,
    error: str | None = None,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    platform = platform_of(request)
    # A transaction, not a read: the versions are found by a deployment rolled back at once.
    with transaction(platform.sessions) as session:
        plan = plan_publication(session, viewer.actor, _scope(scope), key, platform.settings.max_file_bytes)
    context = {
        "plan": plan,
        "scope": scope,
        "error": error,
        "errors": errors or {},
        "values": values or {"nota": "", "motivo": ""},
    }
    return render(request, "studio/publish.html", context, status_code=status)


@router.get("/processi/{scope}/{key}/bozza/pubblica", dependencies=allow(Action.PROCESS_DEPLOY))
def studio_publish_page(request: Request, scope: str, key: str, viewer: CurrentViewer) -> Response:
    """What publishing the draft would do: validation, facts lost, versions; the form to publish."""
    return _page(request, viewer, scope, key)


@router.post("/processi/{scope}/{key}/bozza/pubblica", dependencies=allow(Action.PROCESS_DEPLOY))
def studio_publish(request: Request, scope: str, key: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Publish the draft; back to the process page with a notice, or the page again with the refusal."""
    platform = platform_of(request)
    values = {"nota": _field(pairs, "nota"), "motivo": _field(pairs, "motivo")}
    revision = _field(pairs, "revision").strip()
    try:
        with transaction(platform.sessions) as session:
            done = publish_draft(
                session,
                viewer.actor,
                _scope(scope),
                key,
                values["nota"],
                values["motivo"],
                int(revision) if revision.isdigit() and len(revision) < 10 else None,
                platform.settings.max_file_bytes,
            )
    except FormInvalid as exc:
        return _page(request, viewer, scope, key, 422, exc.message, exc.errors, values)
    except DefinitionError:
        return _page(request, viewer, scope, key, 422, INVALID, None, values)
    except Conflict as exc:
        return _page(request, viewer, scope, key, 409, exc.message, None, values)
    outcome = "invariata" if not done.created else "pubblicata_con_motivo" if done.losses else "pubblicata"
    return RedirectResponse(f"/processi/{scope}/{key}?esito={outcome}", status_code=303)
