"""The read-access log: its page for auditors, and how pages put their views on record."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError

from engine.access import Action, Actor
from engine.audit import READ_CHANNELS, READ_WHAT, CaseRef, ReadFilter, list_reads, record_read, record_reads
from engine.db import read_transaction, transaction
from engine.models import ProcessInstance
from web.errors import error_response
from web.security import CurrentViewer, allow, platform_of, web_settings
from web.templating import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("inlav.web")

REFRESH = timedelta(minutes=10)
"""An htmx request for a case already read this recently is a refresh of what is on screen."""

UNAVAILABLE = (
    "Il registro degli accessi non si può scrivere in questo momento: per tutelare la riservatezza "
    "i dati del caso non vengono mostrati senza che la consultazione resti registrata. Riprovare tra qualche secondo."
)


class ReadLogUnavailable(Exception):
    """A view could not be put on record, so it is refused."""


def log_read(
    request: Request,
    actor: Actor,
    case: ProcessInstance | CaseRef | str,
    what: str,
    channel: str = "web",
    detail: str | None = None,
    coalesce: timedelta | None = None,
) -> None:
    """Put a view on record in a short transaction of its own (the page's own is read-only).

    Called after the read succeeded and before the response leaves. If the row cannot be
    written the view is refused (503): a case shown without a trace would defeat the log.
    Outside the read transaction pass a `CaseRef` taken inside it (or the case code): an
    instance of a closed session can no longer be read.
    """
    try:
        with transaction(platform_of(request).sessions) as session:
            record_read(session, actor, case, what, channel, detail, coalesce)
    except SQLAlchemyError as exc:
        log.error("registro degli accessi non scritto (%s %s): %s", request.method, request.url.path, exc)
        raise ReadLogUnavailable from exc


def log_reads(
    request: Request,
    actor: Actor,
    cases: Iterable[ProcessInstance | CaseRef],
    what: str,
    channel: str = "web",
    detail: str | None = None,
) -> int:
    """Put a view of many cases (a bulk export) on record, one row per case; refused as `log_read`."""
    try:
        with transaction(platform_of(request).sessions) as session:
            return record_reads(session, actor, cases, what, channel, detail)
    except SQLAlchemyError as exc:
        log.error("registro degli accessi non scritto (%s %s): %s", request.method, request.url.path, exc)
        raise ReadLogUnavailable from exc


def install(app: FastAPI) -> None:
    """Answer a refused view with a 503 and a message that says why."""

    @app.exception_handler(ReadLogUnavailable)
    def read_log_unavailable(request: Request, exc: ReadLogUnavailable) -> Response:
        response = error_response(request, 503, UNAVAILABLE, "read_log_unavailable")
        response.headers["Retry-After"] = "5"
        return response


def _day(value: str | None) -> str:
    """A yyyy-mm-dd date from the address bar, or "" when it is not one."""
    try:
        return date.fromisoformat(value or "").isoformat()
    except ValueError:
        return ""


@dataclass
class ReadQuery:
    """The log filters as they appear in the address bar."""

    caso: str = ""
    utente: str = ""
    cosa: str = ""
    canale: str = ""
    dal: str = ""
    al: str = ""
    pagina: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ReadQuery:
        page = params.get("pagina", "1")
        return cls(
            caso=params.get("caso", "").strip()[:64],
            utente=params.get("utente", "").strip().lower()[:100],
            cosa=params.get("cosa", "") if params.get("cosa") in READ_WHAT else "",
            canale=params.get("canale", "") if params.get("canale") in READ_CHANNELS else "",
            dal=_day(params.get("dal")),
            al=_day(params.get("al")),
            pagina=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        )

    def filter(self) -> ReadFilter:
        return ReadFilter(
            case_code=self.caso or None,
            actor=self.utente or None,
            what=self.cosa or None,
            channel=self.canale or None,
            date_from=date.fromisoformat(self.dal) if self.dal else None,
            date_to=date.fromisoformat(self.al) if self.al else None,
        )

    def url(self, **changes: object) -> str:
        values = {**self.__dict__, **changes}
        params = {k: v for k, v in values.items() if v not in ("", None) and not (k == "pagina" and v == 1)}
        return "/audit/accessi" + (f"?{urlencode(params)}" if params else "")


@router.get("/audit/accessi", dependencies=allow(Action.READLOG_READ))
def reads(request: Request, viewer: CurrentViewer) -> Response:
    """Who viewed which case, newest first, with filters (case, person, what, channel, period) and pages."""
    query = ReadQuery.from_params(request.query_params)
    size = web_settings(request).page_size
    problem = None
    if query.dal and query.al and query.dal > query.al:
        problem = "La data «dal» viene dopo la data «al»: nessuna consultazione può cadere nell'intervallo."
    with read_transaction(platform_of(request).sessions) as session:
        page = list_reads(session, viewer.actor, query.filter(), size, (query.pagina - 1) * size)
        return render(
            request,
            "audit/reads.html",
            {
                "page": page,
                "query": query,
                "pages": max(1, (page.total + size - 1) // size),
                "what": READ_WHAT,
                "channels": READ_CHANNELS,
                "problem": problem,
            },
            partial="audit/partials/read_results.html",
            headers={"HX-Push-Url": query.url()},
        )
