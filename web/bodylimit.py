"""One size limit for every request body (forms and JSON API alike), enforced as it arrives.

A body whose declared `Content-Length` is over the limit is refused before the route
runs; a body sent without one (chunked) is counted as it streams in and refused as soon
as it passes the limit, so no request can make the server hold more than the limit.
Refusals are 413 in the usual error format (JSON problem for the API, a page otherwise).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE = "I dati inviati sono troppo grandi."


class BodyTooLarge(HTTPException):
    """The body passed the limit while it was being read (handled like any HTTP error: 413)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=TOO_LARGE)


class BodyLimit:
    """ASGI middleware: at most `max_bytes` of request body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            from web.errors import error_response  # errors imports the app's security helpers

            response = error_response(Request(scope, receive), 413, TOO_LARGE, "too_large")
            # The unread body is dropped: tell the client the connection will not be reused.
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
