"""Path parameters that name a database row.

An id outside the range of its column names nothing: it reaches the route as 0, which
no row has, so the engine answers exactly as for any unknown id (the same 404 and the
same message), never a 500 from the database driver (an `OverflowError` on SQLite,
«integer out of range» on PostgreSQL) nor a 422 about a number nobody typed on purpose.
Text that is not a number at all stays a malformed request (422).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator

INT32_MAX = 2**31 - 1  # Integer columns on PostgreSQL
INT64_MAX = 2**63 - 1  # BigInteger columns (and every SQLite integer)
NO_ROW = 0  # no table's key is 0


def _within(maximum: int) -> BeforeValidator:
    def named_row(value: Any) -> Any:
        try:
            number = int(value)
        except (TypeError, ValueError):
            return value  # not a number: int validation refuses it
        return number if 1 <= number <= maximum else NO_ROW

    return BeforeValidator(named_row)


def _described(maximum: int) -> Any:
    return Path(
        description="Identificativo (intero positivo)",
        json_schema_extra={"minimum": 1, "maximum": maximum},
    )


RowId = Annotated[int, _within(INT32_MAX), _described(INT32_MAX)]
"""The id of a row in a table whose key is an Integer column."""

BigRowId = Annotated[int, _within(INT64_MAX), _described(INT64_MAX)]
"""The id of a row in a table whose key is a BigInteger column (messages, history, operations)."""
