"""The auditor's instance page: the whole story, the path on the diagram, the model files, the exports.

Case codes may hold slashes and dots, so the page is a catch-all under /audit/istanze/: its
sub-routes come first here, and the `casecode` convertor never takes the explorer's
exports (`esporta.csv`, `esporta.xlsx`) for a case code, whatever the order of routers.
"""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.convertors import Convertor, register_url_convertor

from engine.access import Action
from engine.audit import (
    CaseRef,
    check_chain,
    data_after,
    get_instance,
    instance_diagram,
    instance_story,
    model_file,
    model_files,
    recent_readers,
    story_csv,
    story_json,
    value_text,
)
from engine.clock import utcnow
from engine.db import read_transaction
from engine.errors import NotFound
from engine.spiff import TOP
from web.routes.audit_reads import REFRESH, log_read
from web.security import CurrentViewer, allow, platform_of
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)


class CaseCodeConvertor(Convertor[str]):
    """A case code in a path (slashes and dots allowed), never the explorer's export files."""

    regex = r"(?!esporta\.(?:csv|xlsx)$)[A-Za-z0-9][A-Za-z0-9._/-]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("casecode", CaseCodeConvertor())

BASE = "/audit/istanze/{case_code:casecode}"
STEP_RE = re.compile(r"^[0-9]{1,9}$")
WORKFLOW_RE = re.compile(r"^(top|[0-9a-f-]{36})$")


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:120] or "file"


def _step(request: Request) -> int | None:
    """The step asked with ?passo=N (None: the latest); a malformed one is a clear 404."""
    raw = request.query_params.get("passo")
    if raw is None or raw == "":
        return None
    if not STEP_RE.match(raw):
        raise NotFound(f"Passo «{raw[:20]}» non valido: indicare il numero di un passo della storia.")
    return int(raw)


def _workflow(request: Request) -> str:
    raw = request.query_params.get("diagramma") or TOP
    if not WORKFLOW_RE.match(raw):
        raise NotFound("Diagramma non trovato.")
    return raw


@router.get(BASE + "/diagramma.bpmn", dependencies=allow(Action.AUDIT_EXPLORE))
def story_diagram_xml(request: Request, case_code: str, viewer: CurrentViewer) -> Response:
    """The BPMN file of the diagram the instance ran (the viewer reads it; plain text, an attachment)."""
    with read_transaction(platform_of(request).sessions) as session:
        diagram = instance_diagram(session, platform_of(request).settings, viewer.actor, case_code, _workflow(request))
    name = _safe_name(f"{diagram.process_key}-v{diagram.version}.bpmn")
    return Response(
        diagram.xml,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(BASE + "/file/{definition_id:int}/{name}/scarica", dependencies=allow(Action.AUDIT_EXPLORE))
def story_file_download(
    request: Request, case_code: str, definition_id: int, name: str, viewer: CurrentViewer
) -> Response:
    """A model file the instance ran on, downloaded as it was published."""
    with read_transaction(platform_of(request).sessions) as session:
        _file, text = model_file(session, viewer.actor, case_code, definition_id, name)
    return Response(
        text,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{_safe_name(name)}"'},
    )


@router.get(BASE + "/file/{definition_id:int}/{name}", dependencies=allow(Action.AUDIT_EXPLORE))
def story_file(request: Request, case_code: str, definition_id: int, name: str, viewer: CurrentViewer) -> Response:
    """A model file the instance ran on, shown as text."""
    with read_transaction(platform_of(request).sessions) as session:
        file, text = model_file(session, viewer.actor, case_code, definition_id, name)
        instance = get_instance(session, viewer.actor, case_code)
        return render(request, "audit/story_file.html", {"case_code": instance.case_code, "file": file, "text": text})


@router.get(BASE + "/storia.json", dependencies=allow(Action.AUDIT_EXPLORE))
def story_export_json(request: Request, case_code: str, viewer: CurrentViewer) -> Response:
    """The whole history as JSON, with its verification result."""
    with read_transaction(platform_of(request).sessions) as session:
        story = instance_story(session, platform_of(request).settings, viewer.actor, case_code)
        instance = get_instance(session, viewer.actor, case_code)
        check = check_chain(session, instance)
        seen = CaseRef.of(instance)
    log_read(request, viewer.actor, seen, "history_json")
    body = json.dumps(story_json(story, check), ensure_ascii=False, indent=2, default=str)
    name = _safe_name(f"storia-{case_code}.json")
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(BASE + "/storia.csv", dependencies=allow(Action.AUDIT_EXPLORE))
def story_export_csv(request: Request, case_code: str, viewer: CurrentViewer) -> Response:
    """The whole history as CSV: one row per field change, or per event without changes."""
    with read_transaction(platform_of(request).sessions) as session:
        story = instance_story(session, platform_of(request).settings, viewer.actor, case_code)
        seen = CaseRef.of(get_instance(session, viewer.actor, case_code))
    log_read(request, viewer.actor, seen, "history_csv")
    name = _safe_name(f"storia-{case_code}.csv")
    # A byte-order mark so spreadsheet programs read the accents right.
    return Response(
        "\ufeff" + story_csv(story),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(BASE + "/stampa", dependencies=allow(Action.AUDIT_EXPLORE))
def story_print(request: Request, case_code: str, viewer: CurrentViewer) -> Response:
    """The whole history as a printable page, with the chain's verification result."""
    with read_transaction(platform_of(request).sessions) as session:
        story = instance_story(session, platform_of(request).settings, viewer.actor, case_code)
        instance = get_instance(session, viewer.actor, case_code)
        check = check_chain(session, instance)
        response = render(request, "audit/story_print.html", {"story": story, "check": check, "printed_at": utcnow()})
        seen = CaseRef.of(instance)
    log_read(request, viewer.actor, seen, "history_print")
    return response


@router.get(BASE, dependencies=allow(Action.AUDIT_EXPLORE))
def story_page(request: Request, case_code: str, viewer: CurrentViewer) -> Response:
    """The instance page: summary, diagram with the path, timeline, data after a step, model files."""
    settings = platform_of(request).settings
    step = _step(request)
    workflow = _workflow(request)
    with read_transaction(platform_of(request).sessions) as session:
        story = instance_story(session, settings, viewer.actor, case_code)
        last = story.summary.last_seq
        shown_step = last if step is None else step
        data = data_after(session, settings, viewer.actor, case_code, shown_step)
        context = {
            "story": story,
            "step": shown_step,
            "data": [(key, value_text(data[key])) for key in sorted(data)],
            "base": f"/audit/istanze/{story.summary.case_code}",
        }
        seen = CaseRef.of(get_instance(session, viewer.actor, case_code))
        if is_htmx(request):
            response = render(request, "audit/partials/story_data.html", context)
        else:
            diagram = instance_diagram(session, settings, viewer.actor, case_code, workflow)
            files = model_files(session, viewer.actor, case_code)
            readers = recent_readers(session, viewer.actor, story.summary.case_code)
            extra = {"diagram": diagram, "files": files, "case_reads": readers, "case_code": story.summary.case_code}
            response = render(request, "audit/story.html", {**context, **extra})
    # One record per view of the page; the data of another step (htmx) is the same view unless
    # the last record of this person for this case is older than the refresh window.
    log_read(request, viewer.actor, seen, "instance_page", coalesce=REFRESH if is_htmx(request) else None)
    return response
