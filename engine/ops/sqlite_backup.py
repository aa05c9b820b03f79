"""SQLite half of backup and restore: sqlite3's online backup API, page by page under one lock.

The backup API copies a consistent snapshot while the app keeps running (WAL readers
and writers are not blocked for long), and writes the destination in one transaction,
so an interrupted restore leaves the target as it was.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from engine.config import Settings
from engine.ops.common import ALEMBIC_TABLE, BackupError, DatabaseState, Deadline, describe_difference

# How long the copy may wait for another connection's write lock before giving up. Each
# attempt waits only briefly inside SQLite, so the deadline is checked between attempts.
BUSY_LIMIT_SECONDS = 30.0
_ATTEMPT_WAIT_SECONDS = 0.5
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def sqlite_file(settings: Settings) -> Path:
    """The database file of a SQLite configuration (an in-memory database has none)."""
    path = settings.sqlite_path()
    if path is None:
        raise BackupError(f"Il database SQLite configurato ({settings.database_url}) non è un file: niente da copiare.")
    return path


def _open_readonly(path: Path, wait_seconds: float = BUSY_LIMIT_SECONDS) -> sqlite3.Connection:
    # mode=ro: never create a file by mistake, never write to the source.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=wait_seconds)


def _guard(deadline: Deadline, what: str) -> Callable[[int, int, int], None]:
    """Progress callback that aborts the copy (atomically) past the deadline or when blocked too long."""
    busy_since: list[float] = []

    def check(status: int, _remaining: int, _total: int) -> None:
        deadline.remaining(what)
        if status not in _BUSY_CODES:
            busy_since.clear()
            return
        if not busy_since:
            busy_since.append(time.monotonic())
        elif time.monotonic() - busy_since[0] > BUSY_LIMIT_SECONDS:
            raise BackupError(
                f"{what}: il database è occupato da un'altra scrittura da più di {BUSY_LIMIT_SECONDS:.0f} "
                "secondi. Fermare l'app e il worker e riprovare."
            )

    return check


def backup_sqlite(database: Path, target: Path, deadline: Deadline) -> DatabaseState:
    """Copy the live database into `target` (a new file) and describe what the copy holds."""
    if not database.is_file():
        raise BackupError(f"Il database {database} non esiste: niente da copiare.")
    source = _open_readonly(database, _ATTEMPT_WAIT_SECONDS)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy, progress=_guard(deadline, "Copia del database"), sleep=0.1)
            # The copy inherits WAL mode; make it one self-contained file.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Copia del database {database} non riuscita: {exc}") from exc
    finally:
        source.close()
    return sqlite_state(target)


def restore_sqlite(backup: Path, database: Path, deadline: Deadline) -> None:
    """Replace the content of `database` with the backup, in one transaction."""
    database.parent.mkdir(parents=True, exist_ok=True)
    source = _open_readonly(backup)
    try:
        target = sqlite3.connect(database, timeout=_ATTEMPT_WAIT_SECONDS)
        try:
            source.backup(target, progress=_guard(deadline, "Ripristino del database"), sleep=0.1)
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Ripristino in {database} non riuscito: {exc}") from exc
    finally:
        source.close()


def sqlite_state(path: Path) -> DatabaseState:
    """Revision and row counts of a SQLite file (an absent file is an empty database)."""
    if not path.exists():
        return DatabaseState(None, {})
    try:
        conn = _open_readonly(path)
        try:
            tables = [
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                    "ORDER BY name"
                )
            ]
            counts = {table: _count(conn, table) for table in tables}
            revision = None
            if ALEMBIC_TABLE in tables:
                versions = conn.execute(f"SELECT version_num FROM {ALEMBIC_TABLE}")  # noqa: S608 - a constant
                revision = ",".join(sorted(v for (v,) in versions)) or None
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Il file {path} non è un database SQLite leggibile: {exc}") from exc
    return DatabaseState(revision, counts)


def check_sqlite_backup(path: Path, expected_counts: dict[str, int]) -> None:
    """Run SQLite's integrity check on a backup and compare its rows with the manifest."""
    try:
        conn = _open_readonly(path)
        try:
            problems = [row for (row,) in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Il file {path} non è un database SQLite leggibile: {exc}") from exc
    if problems != ["ok"]:
        raise BackupError(f"Il file {path} è danneggiato: {'; '.join(problems[:5])}")
    actual = sqlite_state(path).row_counts
    if actual != expected_counts:
        difference = describe_difference(expected_counts, actual)
        raise BackupError(f"Il contenuto di {path} non corrisponde al manifesto: {difference}")


def _count(conn: sqlite3.Connection, table: str) -> int:
    quoted = '"' + table.replace('"', '""') + '"'
    return int(conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])  # noqa: S608 - a quoted table name
