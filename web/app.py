"""FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from engine import Platform, open_platform


def create_app(platform: Platform | None = None) -> FastAPI:
    """Build the web application around a platform (settings, database, sandbox)."""
    platform = platform or open_platform()
    app = FastAPI(title="InLav Flow", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.platform = platform

    @app.get("/health", tags=["sistema"])
    def health() -> JSONResponse:
        """Liveness and database reachability."""
        try:
            ok = platform.ping()
        except Exception:  # noqa: BLE001 - report, never crash the health check
            ok = False
        status = 200 if ok else 503
        return JSONResponse({"status": "ok" if ok else "degraded", "database": ok}, status_code=status)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        return (
            "<!doctype html><html lang='it'><head><meta charset='utf-8'><title>InLav Flow</title></head>"
            "<body><main><h1>InLav Flow</h1><p>Piattaforma dei processi dei PUA InLav Lombardia.</p>"
            "<p><a href='/health'>Stato del servizio</a></p></main></body></html>"
        )

    return app
