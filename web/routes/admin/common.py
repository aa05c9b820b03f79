"""What the administration pages share: form fields, page numbers, redirects, choices."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from engine import ROLES
from web.templating import is_htmx

STATES = {"attivi": True, "disattivati": False}
NOTICES = {
    "creato": "Partner registrato.",
    "modificato": "Modifiche salvate.",
    "disattivato": "Partner disattivato: i moduli non lo propongono più; i casi che lo citano lo conservano.",
    "riattivato": "Partner riattivato.",
    "utente-riattivato": "Utente riattivato: può accedere di nuovo con i ruoli che ha.",
}


def form_fields(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """First value of each submitted field."""
    found: dict[str, str] = {}
    for key, value in pairs:
        found.setdefault(key, value)
    return found


def page_number(value: str | None) -> int:
    """A page number from the address bar (1 when it is not a sensible one)."""
    return int(value) if value and value.isdigit() and 0 < int(value) < 100_000 else 1


def go_to(request: Request, target: str) -> Response:
    """After a change: the browser goes to `target` (htmx follows the redirect too)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def role_choices() -> list[tuple[str, str]]:
    """(code, label) of every role, regional ones marked, for selects."""
    return [(r.code, r.label + ("" if not r.regional else " (regionale)")) for r in ROLES]
