"""Aggregate figures for regional monitoring and coordinators (no personal data)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine.access import Action
from engine.db import read_transaction
from engine.reports import ambito_overview
from web.security import CurrentViewer, allow, platform_of
from web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/monitoraggio", dependencies=allow(Action.REPORT_AGGREGATE))
def overview(request: Request, viewer: CurrentViewer) -> Response:
    """Cases per Ambito by state and stage, computed now from the cases."""
    with read_transaction(platform_of(request).sessions) as session:
        figures = ambito_overview(session, viewer.actor)
    return render(request, "reports/overview.html", {"figures": figures})
