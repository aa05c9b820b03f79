"""Pieces shared by the SQLite and PostgreSQL halves of backup and restore."""

from __future__ import annotations

import time
from dataclasses import dataclass

from engine.errors import EngineError

ALEMBIC_TABLE = "alembic_version"


class BackupError(EngineError):
    """A backup could not be written, verified or restored; nothing was left half done."""


@dataclass(frozen=True)
class DatabaseState:
    """What a database (or a backup of it) holds: Alembic revision, rows per table, schema."""

    revision: str | None
    row_counts: dict[str, int]
    schema: str | None = None

    def has_data(self) -> bool:
        """Whether any table other than Alembic's bookkeeping has rows."""
        return any(count for table, count in self.row_counts.items() if table != ALEMBIC_TABLE)


class Deadline:
    """One time limit shared by every step of an operation, so nothing waits forever."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self, what: str) -> float:
        """Seconds left; past the limit, a `BackupError` naming what was interrupted."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise BackupError(f"{what}: tempo scaduto dopo {self.seconds:.0f} secondi, operazione interrotta.")
        return left


def describe_difference(expected: dict[str, int], actual: dict[str, int]) -> str:
    """Tables whose row counts differ, as 'table: expected → actual'."""
    tables = sorted(set(expected) | set(actual))
    diffs = [f"{t}: {expected.get(t, '—')} → {actual.get(t, '—')}" for t in tables if expected.get(t) != actual.get(t)]
    return ", ".join(diffs[:10]) + (" …" if len(diffs) > 10 else "")
