"""FastAPI application factory: pages (Jinja2 + htmx), the JSON API, static files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from engine import Platform, open_platform
from web import errors
from web.bodylimit import BodyLimit
from web.config import WebSettings, load_web_settings
from web.routes import (
    account,
    admin,
    api,
    audit,
    audit_reads,
    audit_retention,
    audit_story,
    auth,
    cases,
    contacts,
    inbox,
    privacy,
    profile,
    reports,
    studio,
    studio_compare,
    studio_decisions,
    studio_editor,
    studio_forms,
    studio_migrate,
    studio_publish,
    studio_transfer,
    tasks,
)
from web.security import PUBLIC, landing_page, load_viewer
from web.templating import make_templates

STATIC_DIR = Path(__file__).parent / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(platform: Platform | None = None, web_settings: WebSettings | None = None) -> FastAPI:
    """Build the web application around a platform (settings, database, sandbox)."""
    platform = platform or open_platform()
    platform.settings.check()
    app = FastAPI(
        title="InLav Flow",
        version="0.1.0",
        description="API dei PUA InLav Lombardia: avvio dei casi, attività, completamento, fascicolo del caso. "
        "Autenticazione con token API (`Authorization: Bearer ilf_…`).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.platform = platform
    app.state.web_settings = web_settings or load_web_settings(platform.settings)
    app.state.templates = make_templates()
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR), check_dir=False), name="static")
    errors.install(app)
    audit_reads.install(app)
    # Forms and JSON API bodies share one limit, checked on the declared and the streamed size.
    app.add_middleware(BodyLimit, max_bytes=app.state.web_settings.max_body_bytes)
    # privacy before cases: its pages live under /privacy/casi/, never under the case page's catch-all;
    # studio_transfer before studio: /processi/{scope}/importa is not a process key.
    studio_routers = (
        studio_transfer,
        studio,
        studio_compare,
        studio_decisions,
        studio_editor,
        studio_forms,
        studio_publish,
        studio_migrate,
    )
    routers = (auth, inbox, tasks, contacts, privacy, cases, account, profile, reports, *studio_routers)
    for module in (*routers, admin, audit, audit_story, audit_reads, audit_retention, api):
        app.include_router(module.router)
    app.include_router(privacy.api_router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get(
        "/health",
        tags=["sistema"],
        dependencies=PUBLIC,
        responses={503: {"description": errors.PROBLEMS[503]}, 413: {"description": errors.PROBLEMS[413]}},
    )
    def health() -> JSONResponse:
        """Liveness and database reachability."""
        try:
            ok = platform.ping()
        except Exception:
            ok = False
        status = 200 if ok else 503
        return JSONResponse({"status": "ok" if ok else "degraded", "database": ok}, status_code=status)

    @app.get("/favicon.ico", include_in_schema=False, dependencies=PUBLIC)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/", include_in_schema=False, dependencies=PUBLIC)
    def home(request: Request) -> RedirectResponse:
        viewer = load_viewer(request)
        return RedirectResponse(landing_page(viewer) if viewer else "/login", status_code=303)

    return app
