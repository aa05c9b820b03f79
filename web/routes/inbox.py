"""The task inbox: filters, counts, pagination, claim and release."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine import SORTS, InboxFilter, claim_task, drafted_task_ids, inbox_page, release_task
from engine.access import Action
from engine.db import read_transaction, transaction
from web.security import CsrfViewer, CurrentViewer, FormPairs, Viewer, allow, platform_of, safe_next, web_settings
from web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)

VIEWS = {"tutte": "Tutte", "mie": "Assegnate a me", "libere": "Da prendere in carico"}
NOTICES = {
    "presa": "Attività presa in carico.",
    "rilasciata": "Attività rilasciata: torna disponibile per il gruppo.",
    "completata": "Attività completata: il caso è andato avanti.",
}


@dataclass
class InboxQuery:
    """The inbox filters as they appear in the address bar."""

    processo: str = ""
    attivita: str = ""
    caso: str = ""
    vista: str = "tutte"
    scadute: bool = False
    ordina: str = "scadenza"
    pagina: int = 1

    @classmethod
    def from_params(cls, q: Mapping[str, str]) -> InboxQuery:
        page = q.get("pagina", "1")
        return cls(
            processo=q.get("processo", "")[:200],
            attivita=q.get("attivita", "")[:200],
            caso=q.get("caso", "").strip()[:64],
            vista=q.get("vista") if q.get("vista") in VIEWS else "tutte",  # type: ignore[arg-type]
            scadute=q.get("scadute") in ("1", "true", "on"),
            ordina=q.get("ordina") if q.get("ordina") in SORTS else "scadenza",  # type: ignore[arg-type]
            pagina=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        )

    def filter(self) -> InboxFilter:
        return InboxFilter(
            process_key=self.processo or None,
            task_name=self.attivita or None,
            case_code=self.caso or None,
            mine_only=self.vista == "mie",
            unassigned_only=self.vista == "libere",
            overdue_only=self.scadute,
        )

    def url(self, **changes: object) -> str:
        values = {**self.__dict__, **changes}
        params = {k: ("1" if v is True else v) for k, v in values.items() if v not in ("", False, None)}
        if params.get("vista") == "tutte":
            params.pop("vista")
        if params.get("ordina") == "scadenza":
            params.pop("ordina")
        if params.get("pagina") == 1:
            params.pop("pagina")
        return "/attivita" + (f"?{urlencode(params)}" if params else "")


@router.get("/attivita", dependencies=allow(Action.TASK_WORK))
def inbox(request: Request, viewer: CurrentViewer) -> Response:
    """Tasks for my roles in my Ambiti and tasks assigned to me."""
    query = InboxQuery.from_params(request.query_params)
    return _inbox(request, viewer, query, NOTICES.get(request.query_params.get("esito", "")))


def _inbox(request: Request, viewer: Viewer, query: InboxQuery, notice: str | None) -> Response:
    size = web_settings(request).page_size
    with read_transaction(platform_of(request).sessions) as session:
        page = inbox_page(session, viewer.actor, query.filter(), query.ordina, size, (query.pagina - 1) * size)
        drafts = drafted_task_ids(session, viewer.username, [t.task_id for t in page.tasks])
        pages = max(1, (page.total + size - 1) // size)
        return render(
            request,
            "inbox.html",
            {"page": page, "query": query, "pages": pages, "views": VIEWS, "drafts": drafts, "notice": notice},
            partial="partials/inbox_results.html",
        )


def _back(pairs: list[tuple[str, str]], default: str) -> str:
    return safe_next(next((v for k, v in pairs if k == "next"), default))


@router.post("/attivita/{task_id}/prendi", dependencies=allow(Action.TASK_WORK))
def claim(request: Request, task_id: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Take a task: it becomes mine."""
    with transaction(platform_of(request).sessions) as session:
        task = claim_task(session, task_id, viewer.actor)
    return _after_action(request, pairs, task.task_id, "presa", viewer)


@router.post("/attivita/{task_id}/rilascia", dependencies=allow(Action.TASK_WORK))
def release(request: Request, task_id: str, viewer: CsrfViewer, pairs: FormPairs) -> Response:
    """Give a task back to the team."""
    with transaction(platform_of(request).sessions) as session:
        task = release_task(session, task_id, viewer.actor)
    return _after_action(request, pairs, task.task_id, "rilasciata", viewer)


def _after_action(
    request: Request, pairs: list[tuple[str, str]], task_id: str, outcome: str, viewer: Viewer
) -> Response:
    back = _back(pairs, f"/attivita/{task_id}")
    path, _, query = back.partition("?")
    if is_htmx(request) and path == "/attivita":
        # The button was in the list: answer with the same list, refreshed, and a notice.
        return _inbox(request, viewer, InboxQuery.from_params(dict(parse_qsl(query))), NOTICES[outcome])
    target = f"{back}{'&' if query else '?'}esito={outcome}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
