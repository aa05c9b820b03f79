"""PostgreSQL half of backup and restore: pg_dump / pg_restore in custom format, one schema.

The platform's tables live in one schema (the first of the connection's search_path:
`public` in production, one schema per test in the PostgreSQL test pass), so dumps are
taken with `--schema` of exactly that schema and the rest of the database is left alone.
The dump runs on a snapshot exported by our own transaction, so the row counts in the
manifest describe exactly what the file holds even while the app keeps writing. The
password travels in PGPASSWORD, never on the command line.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from engine.ops.common import ALEMBIC_TABLE, BackupError, DatabaseState, Deadline

CONNECT_TIMEOUT_SECONDS = 10
_STDERR_LIMIT = 1500
_TOC_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ", re.MULTILINE)


def libpq_params(database_url: str, application_name: str | None = None) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries it."""
    url = make_url(database_url)
    params: dict[str, str] = {}
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    for key, value in url.query.items():
        params[key] = value[-1] if isinstance(value, tuple) else value
    password = params.pop("password", None) or url.password
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))
    if application_name:
        params["application_name"] = application_name
    env = {"PGPASSWORD": str(password)} if password else {}
    return " ".join(f"{key}={_conninfo_value(value)}" for key, value in params.items()), env


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"Il programma {name} non è nel PATH: installare il client PostgreSQL "
            "(pacchetto postgresql-client, versione uguale o più recente del server)."
        )
    return path


def _run(
    args: list[str],
    extra_env: dict[str, str],
    deadline: Deadline,
    what: str,
    on_timeout: Callable[[], None] | None = None,
) -> str:
    """Run a PostgreSQL client tool to completion within the deadline; its stdout, or a `BackupError`."""
    name = Path(args[0]).name
    env = {**os.environ, **extra_env}
    try:
        result = subprocess.run(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=deadline.remaining(what),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        if on_timeout is not None:
            on_timeout()
        limit = f"{deadline.seconds:.0f} secondi"
        raise BackupError(f"{what}: tempo scaduto dopo {limit}, {name} è stato fermato.") from exc
    except OSError as exc:
        raise BackupError(f"{what}: impossibile avviare {name}: {exc}") from exc
    if result.returncode != 0:
        raise BackupError(f"{what}: {name} non è riuscito (codice {result.returncode}).\n{_trim(result.stderr)}")
    return result.stdout


def _trim(stderr: str) -> str:
    stderr = stderr.strip() or "(nessun messaggio)"
    return stderr if len(stderr) <= _STDERR_LIMIT else "…" + stderr[-_STDERR_LIMIT:]


def _schema_pattern(schema: str) -> str:
    # Inside double quotes a pg_dump pattern is taken literally (case, dots, wildcards).
    return '"' + schema.replace('"', '""') + '"'


def _session_name(tool: str) -> str:
    return f"inlav-{tool}-{secrets.token_hex(4)}"


def _terminate(database_url: str, application_name: str) -> Callable[[], None]:
    """What to do when a tool is killed: end its server session too, which may still wait for a lock."""

    def terminate() -> None:
        try:
            with _connect(database_url) as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                    {"n": application_name},
                )
        except SQLAlchemyError:
            pass  # best effort: the server ends the session anyway when it next talks to the client

    return terminate


def _connect(database_url: str) -> Connection:
    engine = create_engine(database_url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    return engine.connect()


def _state(conn: Connection, schema: str) -> DatabaseState:
    quote = conn.dialect.identifier_preparer.quote
    tables = list(
        conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"), {"s": schema})
    )
    counts = {t: _count(conn, f"{quote(schema)}.{quote(t)}") for t in tables}
    revision = None
    if ALEMBIC_TABLE in tables:
        rows = conn.scalars(text(f"SELECT version_num FROM {quote(schema)}.{ALEMBIC_TABLE}"))  # noqa: S608 - quoted names
        revision = ",".join(sorted(rows)) or None
    return DatabaseState(revision, counts, schema)


def _count(conn: Connection, quoted_table: str) -> int:
    return int(conn.scalar(text(f"SELECT count(*) FROM {quoted_table}")) or 0)  # noqa: S608 - quoted catalogue names


def postgres_state(database_url: str, schema: str | None = None) -> DatabaseState:
    """Revision and row counts of the configured schema (or `schema`); no schema yet is empty."""
    try:
        with _connect(database_url) as conn:
            schema = schema or conn.scalar(text("SELECT current_schema()"))
            if schema is None:
                return DatabaseState(None, {})
            return _state(conn, schema)
    except SQLAlchemyError as exc:
        raise BackupError(f"Impossibile leggere il database configurato: {_first_line(exc)}") from exc


def backup_postgres(database_url: str, target: Path, deadline: Deadline) -> DatabaseState:
    """Dump the configured schema into `target` (custom format) and describe what it holds."""
    pg_dump = _tool("pg_dump")
    session = _session_name("pg_dump")
    conninfo, env = libpq_params(database_url, session)
    try:
        conn = _connect(database_url).execution_options(isolation_level="REPEATABLE READ")
        with conn, conn.begin():
            # The transaction stays open while pg_dump reads the snapshot it exported.
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            schema = conn.scalar(text("SELECT current_schema()"))
            if schema is None:
                raise BackupError("Lo schema del database configurato non esiste: niente da copiare.")
            state = _state(conn, schema)
            args = [
                pg_dump,
                "--format=custom",
                "--no-password",
                f"--schema={_schema_pattern(schema)}",
                "--strict-names",
                f"--snapshot={snapshot}",
                f"--file={target}",
                f"--dbname={conninfo}",
            ]
            _run(args, env, deadline, "Copia del database", _terminate(database_url, session))
    except SQLAlchemyError as exc:
        raise BackupError(f"Copia del database non riuscita: {_first_line(exc)}") from exc
    return state


def restore_postgres(database_url: str, backup: Path, deadline: Deadline) -> None:
    """Restore a custom-format dump into the configured database, all or nothing."""
    pg_restore = _tool("pg_restore")
    session = _session_name("pg_restore")
    conninfo, env = libpq_params(database_url, session)
    args = [
        pg_restore,
        "--clean",
        "--if-exists",
        "--no-owner",
        # One transaction: a failure part-way leaves the database exactly as it was.
        "--single-transaction",
        "--no-password",
        f"--dbname={conninfo}",
        str(backup),
    ]
    _run(args, env, deadline, "Ripristino del database", _terminate(database_url, session))


def check_pg_archive(backup: Path, schema: str | None, expected_counts: dict[str, int], deadline: Deadline) -> None:
    """Read the archive's table of contents: readable, and holding data for every table in the manifest."""
    listing = _run([_tool("pg_restore"), "--list", str(backup)], {}, deadline, "Verifica della copia")
    found = {table for table_schema, table in _TOC_DATA.findall(listing) if table_schema == schema}
    missing = sorted(set(expected_counts) - found)
    if missing:
        raise BackupError(
            f"L'archivio {backup} non contiene i dati di tutte le tabelle del manifesto "
            f"(mancano: {', '.join(missing)})."
        )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
