"""Path parameters that name a database row.

An id outside the range of its column names nothing: the request is answered 404 like
any unknown id (`web.errors` turns a path that does not validate into 404), never a 500
from the database driver (an `OverflowError` on SQLite, «integer out of range» on
PostgreSQL) nor a 422 about a number nobody typed on purpose.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

INT32_MAX = 2**31 - 1  # Integer columns on PostgreSQL
INT64_MAX = 2**63 - 1  # BigInteger columns (and every SQLite integer)

RowId = Annotated[int, Path(ge=1, le=INT32_MAX, description="Identificativo (intero positivo)")]
"""The id of a row in a table whose key is an Integer column."""

BigRowId = Annotated[int, Path(ge=1, le=INT64_MAX, description="Identificativo (intero positivo)")]
"""The id of a row in a table whose key is a BigInteger column (messages, history, operations)."""


# What an unknown id of each path parameter is called, as the engine says it for an id
# in range: an id out of range gets the same answer.
NOT_FOUND = {
    "message_id": "Messaggio non trovato nella posta in uscita.",
    "token_id": "Token non trovato.",
    "user_id": "Utente non trovato.",
    "grant_id": "Ruolo non trovato.",
    "partner_id": "Partner non trovato.",
    "consent_id": "Consenso non trovato.",
}
