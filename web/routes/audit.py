"""The auditor's pages: the operation log of administrative acts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine.access import Action
from engine.admin import ambito_names
from engine.audit import ACTIONS, TARGET_KINDS, OperationFilter, list_operations, verify_oplog
from engine.db import read_transaction
from web.security import CurrentViewer, allow, platform_of, web_settings
from web.templating import render

router = APIRouter(include_in_schema=False)


def _day(value: str | None) -> str:
    """A yyyy-mm-dd date from the address bar, or "" when it is not one."""
    try:
        return date.fromisoformat(value or "").isoformat()
    except ValueError:
        return ""


@dataclass
class OperationQuery:
    """The log filters as they appear in the address bar."""

    attore: str = ""
    azione: str = ""
    oggetto: str = ""
    id: str = ""
    ambito: str = ""
    dal: str = ""
    al: str = ""
    pagina: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> OperationQuery:
        page = params.get("pagina", "1")
        return cls(
            attore=params.get("attore", "").strip()[:100],
            azione=params.get("azione", "") if params.get("azione") in ACTIONS else "",
            oggetto=params.get("oggetto", "") if params.get("oggetto") in TARGET_KINDS else "",
            id=params.get("id", "").strip()[:100],
            ambito=params.get("ambito", "").strip()[:32],
            dal=_day(params.get("dal")),
            al=_day(params.get("al")),
            pagina=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        )

    def filter(self) -> OperationFilter:
        return OperationFilter(
            actor=self.attore or None,
            action=self.azione or None,
            target_kind=self.oggetto or None,
            target_id=self.id or None,
            ambito=self.ambito or None,
            date_from=date.fromisoformat(self.dal) if self.dal else None,
            date_to=date.fromisoformat(self.al) if self.al else None,
        )

    def url(self, **changes: object) -> str:
        values = {**self.__dict__, **changes}
        params = {k: v for k, v in values.items() if v not in ("", None) and not (k == "pagina" and v == 1)}
        return "/audit/operazioni" + (f"?{urlencode(params)}" if params else "")


@router.get("/audit/operazioni", dependencies=allow(Action.OPLOG_READ))
def operations(request: Request, viewer: CurrentViewer) -> Response:
    """The operation log, newest first, with filters and pages."""
    query = OperationQuery.from_params(request.query_params)
    size = web_settings(request).page_size
    problem = None
    if query.dal and query.al and query.dal > query.al:
        problem = "La data «dal» viene dopo la data «al»: nessuna operazione può cadere nell'intervallo."
    with read_transaction(platform_of(request).sessions) as session:
        page = list_operations(session, viewer.actor, query.filter(), size, (query.pagina - 1) * size)
        # On request, recompute the whole hash chain (it reads every row: not on every view).
        broken = verify_oplog(session) if request.query_params.get("verifica") == "1" else None
        return render(
            request,
            "audit/operations.html",
            {
                "page": page,
                "query": query,
                "pages": max(1, (page.total + size - 1) // size),
                "actions": ACTIONS,
                "kinds": TARGET_KINDS,
                "ambiti": ambito_names(session),
                "problem": problem,
                "broken": broken,
            },
            partial="audit/partials/operation_results.html",
            headers={"HX-Push-Url": query.url()},
        )
