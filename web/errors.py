"""The one place that turns engine and request errors into status codes and messages.

Browser pages get an Italian message (a full error page, or for htmx an alert swapped
into the page's message area); the JSON API gets `{"detail", "code", "errors"}`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import (
    CaseBusy,
    Conflict,
    DefinitionError,
    EngineError,
    EngineStateError,
    Forbidden,
    FormInvalid,
    LoginLocked,
    NotFound,
    NotStartable,
    ScriptError,
    TaskNotReady,
)
from engine.limits import DataTooLarge
from web.bodylimit import TOO_LARGE
from web.security import (
    ENROL_PATH,
    PASSWORD_PAGE,
    CsrfRejected,
    EnrolmentRequired,
    FormTooLarge,
    LoginRequired,
    PasswordChangeRequired,
    TokenRejected,
    login_url,
    safe_next,
)
from web.templating import is_htmx, render

log = logging.getLogger("inlav.web")

# Most specific first: CaseBusy and TaskNotReady are Conflicts.
STATUS: list[tuple[type[EngineError], int, str]] = [
    (NotFound, 404, "not_found"),
    (LoginLocked, 429, "too_many_attempts"),
    (Forbidden, 403, "forbidden"),
    (FormInvalid, 422, "form_invalid"),
    (NotStartable, 422, "not_startable"),
    (CaseBusy, 409, "case_busy"),
    (TaskNotReady, 409, "task_not_ready"),
    (Conflict, 409, "conflict"),
    (ScriptError, 422, "diagram_error"),
    (EngineStateError, 409, "engine_state"),
    (DataTooLarge, 413, "too_large"),
    (DefinitionError, 422, "definition_invalid"),
]

TITLES = {
    400: "Richiesta non valida",
    401: "Accesso richiesto",
    403: "Operazione non consentita",
    404: "Non trovato",
    405: "Metodo non consentito",
    409: "Operazione non più possibile",
    413: "Dati troppo grandi",
    422: "Dati non validi",
    429: "Troppi tentativi",
    500: "Errore imprevisto",
    503: "Servizio momentaneamente non disponibile",
}


class ProblemOut(BaseModel):
    """Every error of the JSON API: an Italian message, a machine code and, for invalid data,
    the messages per field."""

    detail: str = Field(description="Messaggio per le persone (italiano)")
    code: str = Field(description="Codice per i programmi (not_found, request_invalid, too_large, …)")
    errors: dict[str, list[str]] | None = Field(None, description="Messaggi per campo (dati non validi)")
    case_code: str | None = Field(None, description="Caso interessato (errore del modello di processo)")


PROBLEMS: dict[int, str] = {
    400: "Corpo della richiesta illeggibile (JSON non valido o annidato troppo in profondità)",
    401: "Token mancante, scaduto o revocato",
    403: "Ruolo o Ambito non consentito",
    404: "Non trovato (anche: di un altro Ambito, o identificativo fuori dall'intervallo ammesso)",
    409: "Stato cambiato (già presa in carico, già completata, caso occupato)",
    413: "Dati troppo grandi (corpo oltre il limite delle richieste, o dati oltre il limite del caso)",
    422: "Dati non validi (`errors`: messaggi per campo) o errore del modello di processo",
    503: "Servizio momentaneamente non disponibile (database occupato o non raggiungibile): riprovare",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of an API operation: each status it can answer with, in the problem format.

    401, 403, 413, 422 and 503 apply to every call with a token (authentication, permission,
    body limit, invalid parameters, database busy or unreachable).
    """
    codes = sorted({401, 403, 413, 422, 503, *statuses})
    return {code: {"description": PROBLEMS[code], "model": ProblemOut} for code in codes}


def status_for(exc: EngineError) -> tuple[int, str]:
    """HTTP status and machine code of an engine error."""
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            return status, code
    return 400, "error"


def diagram_message(exc: ScriptError, kept_as_draft: bool = True) -> str:
    """What to tell a person when the diagram failed on her step (nothing moved)."""
    kept = "I dati inseriti sono stati conservati come bozza; " if kept_as_draft else ""
    cause = exc.message.rstrip() + ("" if exc.message.rstrip().endswith((".", "!", "?")) else ".")
    return (
        f"Il passo non è stato registrato perché il modello di processo ha un errore: {cause} "
        f"{kept}{'avvisare' if kept else 'Avvisare'} il coordinatore che gestisce i modelli e riprovare più tardi."
    )


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(
    request: Request, status: int, message: str, code: str, extra: dict[str, Any] | None = None
) -> Response:
    """An error as JSON (API), as an alert fragment (htmx) or as a page."""
    if _is_api(request):
        body: dict[str, Any] = {"detail": message, "code": code}
        body.update(extra or {})
        return JSONResponse(body, status_code=status)
    context = {"title": TITLES.get(status, "Errore"), "message": message, "status": status}
    if is_htmx(request):
        return render(
            request,
            "error.html",
            context,
            partial="partials/alert_error.html",
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    return render(request, "error.html", context, status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers."""

    @app.exception_handler(EngineError)
    def engine_error(request: Request, exc: EngineError) -> Response:
        status, code = status_for(exc)
        extra = {"errors": exc.errors} if isinstance(exc, FormInvalid) else None
        return error_response(request, status, exc.message, code, extra)

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, exc: LoginRequired) -> Response:
        target = login_url(exc.next_url, exc.expired)
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(EnrolmentRequired)
    def enrolment_required(request: Request, exc: EnrolmentRequired) -> Response:
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": ENROL_PATH})
        return RedirectResponse(ENROL_PATH, status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    def password_change_required(request: Request, exc: PasswordChangeRequired) -> Response:
        target = f"{PASSWORD_PAGE}?next={quote(safe_next(exc.next_url), safe='/')}"
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfRejected)
    def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        return error_response(
            request,
            403,
            "Richiesta rifiutata: il modulo è scaduto o non proviene da questa applicazione. "
            "Ricaricare la pagina e riprovare.",
            "csrf",
        )

    @app.exception_handler(TokenRejected)
    def token_rejected(request: Request, exc: TokenRejected) -> Response:
        return JSONResponse(
            {"detail": "Token API mancante, scaduto o revocato.", "code": "unauthorized"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(FormTooLarge)
    def too_large(request: Request, exc: FormTooLarge) -> Response:
        return error_response(request, 413, TOO_LARGE, "too_large")

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            errors.setdefault(where, []).append(_pydantic_message(err))
        return error_response(
            request, 422, "La richiesta contiene dati non validi.", "request_invalid", {"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            400: "Il corpo della richiesta non è leggibile (JSON non valido o annidato troppo in profondità).",
            404: "La pagina richiesta non esiste.",
            405: "Operazione non consentita su questo indirizzo.",
            413: TOO_LARGE,
        }
        message = messages.get(exc.status_code) or (str(exc.detail) if exc.detail else "Errore.")
        code = {413: "too_large", 400: "bad_request"}.get(exc.status_code, f"http_{exc.status_code}")
        return error_response(request, exc.status_code, message, code)

    @app.exception_handler(OperationalError)
    def database_unavailable(request: Request, exc: OperationalError) -> Response:
        # SQLite's write lock held past its busy timeout, PostgreSQL's lock or statement
        # timeout, a connection lost: the transaction was rolled back, nothing was saved.
        log.warning("database non disponibile su %s %s: %s", request.method, request.url.path, exc.orig)
        response = error_response(
            request,
            503,
            "Il database è momentaneamente occupato o non raggiungibile: l'operazione non è stata registrata. "
            "Riprovare tra qualche secondo.",
            "unavailable",
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(DataError)
    def unstorable_value(request: Request, exc: DataError) -> Response:
        # A value the database refuses as such (U+0000 in a PostgreSQL text, a number out of
        # its column's range) that reached a query: the transaction was rolled back.
        log.warning("valore rifiutato dal database su %s %s: %s", request.method, request.url.path, exc.orig)
        return error_response(
            request,
            422,
            "Un valore inviato non si può usare (per esempio contiene un carattere nullo, U+0000): "
            "l'operazione non è stata registrata. Correggere il valore e riprovare.",
            "invalid_value",
        )

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("errore imprevisto su %s %s", request.method, request.url.path)
        return error_response(
            request,
            500,
            "Si è verificato un errore imprevisto: l'operazione non è stata "
            "registrata. Riprovare; se il problema persiste avvisare l'assistenza.",
            "internal",
        )


def _pydantic_message(err: Any) -> str:
    kind = str(err.get("type", ""))
    if kind == "missing":
        return "campo obbligatorio"
    if kind.startswith("int"):
        return "deve essere un numero intero"
    if kind.startswith(("string_too_long", "too_long")):
        return "testo troppo lungo"
    if kind.startswith(("string", "str")):
        return "deve essere un testo"
    if kind.startswith("bool"):
        return "deve essere vero o falso"
    if kind.startswith("dict") or kind == "model_attributes_type":
        return "deve essere un oggetto JSON"
    if kind == "json_invalid":
        return "JSON non valido"
    return "valore non valido"
