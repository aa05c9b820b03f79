"""Backup and restore round trips on the configured database (SQLite, or PostgreSQL in the second pass).

Every test runs on a migrated database of its own (`committed`/`fresh_url`), so on
PostgreSQL the backup holds that test's schema and the restore goes back into it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from engine import Platform, claim_task, complete_task, get_instance, start_instance, upgrade_database, verify_chain
from engine.db import read_transaction, transaction
from engine.models import Base, HistoryEvent, HumanTask, ProcessInstance
from engine.ops import BackupError, backup_database, manifest_path, restore_database, verify_backup
from engine.ops.pg_backup import libpq_params
from engine.platform import alembic_config, downgrade_database
from tests.conftest import OPERATOR, add_ambiti, deploy
from web.cli import app

CONTACT = {"alias": "Amir", "eta": 40, "grado": "lavoro_grigio", "tipi_intervento": ["legale"]}


def start_case(platform: Platform, code: str) -> None:
    with transaction(platform.sessions) as session:
        start_instance(
            session,
            platform.settings,
            "sample_case",
            "MILANO",
            OPERATOR,
            case_code=code,
            data={"durata_sollecito": "PT1H"},
        )


def populate(platform: Platform) -> None:
    """Real data: the sample bundle, a case, and its first step completed."""
    with transaction(platform.sessions) as session:
        add_ambiti(session)
        deploy(session)
    start_case(platform, "MI-1")
    with transaction(platform.sessions) as session:
        task = session.scalars(select(HumanTask).where(HumanTask.case_code == "MI-1")).one()
        claim_task(session, task.task_id, OPERATOR)
        complete_task(session, platform.settings, task.task_id, CONTACT, OPERATOR)


def snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table (Alembic's included), in a comparable form."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = {
                t.name: sorted(repr(tuple(r)) for r in conn.execute(t.select())) for t in Base.metadata.sorted_tables
            }
            rows["alembic_version"] = sorted(conn.scalars(text("SELECT version_num FROM alembic_version")))
            return rows
    finally:
        engine.dispose()


def case_history(platform: Platform, code: str) -> tuple[list[str], list[int]]:
    """Kinds of the case's history events, and the sequence numbers whose hash is broken."""
    with read_transaction(platform.sessions) as session:
        instance = get_instance(session, code)
        kinds = session.scalars(
            select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq)
        )
        return list(kinds), verify_chain(session, instance.id)


def case_count(platform: Platform) -> int:
    with read_transaction(platform.sessions) as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance)) or 0


def destroy(url: str) -> None:
    """Lose the database entirely: the SQLite file, or the PostgreSQL schema."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        schema = conn.scalar(text("SELECT current_schema()"))
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()  # type: ignore[arg-type]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part") or ".part-" in p.name)


# --------------------------------------------------------------------------- round trips


def test_restore_brings_back_exactly_what_was_saved(committed: Platform, tmp_path: Path) -> None:
    populate(committed)
    url = committed.settings.database_url
    saved = snapshot(url)
    info = backup_database(committed.settings, tmp_path / "inlav.backup")
    assert info.row_counts["process_instance"] == 1 and info.row_counts["history_event"] >= 3

    # Life goes on after the backup: a second case starts.
    start_case(committed, "MI-2")
    changed = snapshot(url)
    assert changed != saved

    with pytest.raises(BackupError, match=r"contiene già dati.*--force"):
        restore_database(committed.settings, tmp_path / "inlav.backup")
    assert snapshot(url) == changed, "a refused restore touches nothing"

    result = restore_database(committed.settings, tmp_path / "inlav.backup", force=True)
    assert snapshot(url) == saved
    assert result.replaced_data and not result.needs_upgrade
    assert result.revision == head_revision(url)
    kinds, broken = case_history(committed, "MI-1")
    assert kinds[0] == "instance_started" and "task_completed" in kinds
    assert broken == []
    assert case_count(committed) == 1

    # The restored database is live: new rows get fresh ids (sequences came back too).
    start_case(committed, "MI-3")
    assert case_count(committed) == 2
    assert case_history(committed, "MI-3")[1] == []


def test_restore_into_a_lost_database(committed: Platform, tmp_path: Path) -> None:
    populate(committed)
    url = committed.settings.database_url
    saved = snapshot(url)
    backup_database(committed.settings, tmp_path / "inlav.backup")
    committed.close()
    destroy(url)

    result = restore_database(committed.settings, tmp_path / "inlav.backup")
    assert not result.replaced_data
    assert snapshot(url) == saved
    assert case_history(committed, "MI-1")[1] == []
    start_case(committed, "MI-2")
    assert case_count(committed) == 2


def test_manifest_describes_the_file(committed: Platform, tmp_path: Path) -> None:
    populate(committed)
    target = tmp_path / "nested" / "inlav.backup"
    info = backup_database(committed.settings, target)
    manifest = json.loads(manifest_path(target).read_text(encoding="utf-8"))

    assert manifest["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest() == info.sha256
    assert manifest["size_bytes"] == target.stat().st_size
    assert manifest["kind"] == ("sqlite" if committed.settings.database_url.startswith("sqlite") else "postgresql")
    assert manifest["revision"] == head_revision(committed.settings.database_url)
    saved = snapshot(committed.settings.database_url)
    assert manifest["row_counts"] == {table: len(rows) for table, rows in saved.items()}
    if manifest["kind"] == "postgresql":
        with committed.db.connect() as conn:
            assert manifest["schema"] == conn.scalar(text("SELECT current_schema()"))
    assert verify_backup(target) == info
    assert leftovers(target.parent) == []
    assert target.stat().st_mode & 0o077 == 0, "personal data: owner only"
    assert manifest_path(target).stat().st_mode & 0o077 == 0


# --------------------------------------------------------------------------- refusals


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _drop_manifest(path: Path) -> None:
    manifest_path(path).unlink()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_flip_a_byte, "checksum SHA-256 .* non corrisponde"),
        (_truncate, "troncata o alterata"),
        (_drop_manifest, "Manca il manifesto"),
    ],
)
def test_damaged_backup_is_refused_and_nothing_is_touched(
    committed: Platform, tmp_path: Path, damage: Any, message: str
) -> None:
    populate(committed)
    backup = tmp_path / "inlav.backup"
    backup_database(committed.settings, backup)
    start_case(committed, "MI-2")
    before = snapshot(committed.settings.database_url)
    damage(backup)

    with pytest.raises(BackupError, match=message):
        verify_backup(backup)
    with pytest.raises(BackupError, match=message):
        restore_database(committed.settings, backup, force=True)
    assert snapshot(committed.settings.database_url) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "other", "è di un database (SQLite|PostgreSQL), quello configurato"),
        ("revision", "ffffffffffff", "versione più recente"),
    ],
)
def test_backup_of_another_kind_or_a_newer_version_is_refused(
    committed: Platform, tmp_path: Path, field: str, value: str, message: str
) -> None:
    populate(committed)
    backup = tmp_path / "inlav.backup"
    info = backup_database(committed.settings, backup)
    manifest = json.loads(manifest_path(backup).read_text(encoding="utf-8"))
    manifest[field] = value if value != "other" else {"sqlite": "postgresql", "postgresql": "sqlite"}[info.kind]
    manifest_path(backup).write_text(json.dumps(manifest), encoding="utf-8")
    before = snapshot(committed.settings.database_url)

    with pytest.raises(BackupError, match=message):
        restore_database(committed.settings, backup, force=True)
    assert snapshot(committed.settings.database_url) == before


def test_existing_backup_is_kept_unless_overwrite(committed: Platform, tmp_path: Path) -> None:
    populate(committed)
    target = tmp_path / "inlav.backup"
    first = backup_database(committed.settings, target)
    start_case(committed, "MI-2")

    with pytest.raises(BackupError, match="esiste già"):
        backup_database(committed.settings, target)
    assert verify_backup(target) == first

    second = backup_database(committed.settings, target, overwrite=True)
    assert second.row_counts["process_instance"] == 2
    assert verify_backup(target).sha256 == second.sha256 != first.sha256
    assert leftovers(tmp_path) == []


def test_backup_of_an_older_schema_asks_for_migrations(committed: Platform, tmp_path: Path) -> None:
    populate(committed)
    url = committed.settings.database_url
    committed.close()
    downgrade_database(url, "-1")
    info = backup_database(committed.settings, tmp_path / "old.backup")
    assert info.revision != head_revision(url)
    destroy(url)

    result = restore_database(committed.settings, tmp_path / "old.backup")
    assert result.needs_upgrade and result.revision == info.revision
    upgrade_database(url)
    start_case(committed, "MI-2")
    assert case_history(committed, "MI-1")[1] == []


@contextmanager
def another_writer(url: str) -> Iterator[None]:
    """Someone else in the middle of a transaction that a restore has to wait for."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn, conn.begin():
        conn.execute(text("LOCK TABLE history_event IN ACCESS SHARE MODE"))
        yield
    engine.dispose()


def no_session_left(url: str, application_name: str) -> bool:
    engine = create_engine(url, poolclass=NullPool)
    try:
        for _ in range(50):
            with engine.connect() as conn:
                query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE :n")
                if conn.scalar(query, {"n": application_name}) == 0:
                    return True
            time.sleep(0.1)
        return False
    finally:
        engine.dispose()


def test_restore_that_cannot_get_the_database_gives_up_and_changes_nothing(committed: Platform, tmp_path: Path) -> None:
    populate(committed)
    url = committed.settings.database_url
    backup = tmp_path / "inlav.backup"
    backup_database(committed.settings, backup)
    start_case(committed, "MI-2")
    before = snapshot(url)

    with another_writer(url):
        started = time.monotonic()
        with pytest.raises(BackupError, match="tempo scaduto dopo 2 secondi"):
            restore_database(committed.settings, backup, force=True, timeout_seconds=2)
        assert time.monotonic() - started < 15
        if url.startswith("postgresql"):
            assert no_session_left(url, "inlav-pg_restore-%"), "the killed pg_restore's session is ended too"
    assert snapshot(url) == before


# --------------------------------------------------------------------------- PostgreSQL client tools


def test_libpq_parameters_keep_the_password_off_the_command_line() -> None:
    conninfo, env = libpq_params(
        "postgresql+psycopg://inlav:s3gr%27eta@db.example:6432/inlav?options=-csearch_path%3Dpua&sslmode=require",
        "inlav-pg_dump-1",
    )
    assert "s3gr" not in conninfo
    assert env == {"PGPASSWORD": "s3gr'eta"}
    assert conninfo == (
        "host='db.example' port='6432' user='inlav' dbname='inlav' options='-csearch_path=pua' "
        "sslmode='require' connect_timeout='10' application_name='inlav-pg_dump-1'"
    )
    assert libpq_params("postgresql+psycopg://postgres@127.0.0.1/test")[1] == {}


@pytest.fixture
def postgres_only(committed: Platform) -> Platform:
    if not committed.settings.database_url.startswith("postgresql"):
        pytest.skip("riguarda pg_dump/pg_restore: gira nel passaggio PostgreSQL")
    return committed


def fake_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, script: str) -> None:
    """Put a stand-in for a PostgreSQL client tool first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text("#!/bin/sh\n" + script + "\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


WRITE_HALF_A_DUMP = 'for a in "$@"; do case "$a" in --file=*) printf PGDMP > "${a#--file=}";; esac; done'


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (WRITE_HALF_A_DUMP + '\necho "pg_dump: error: query failed: guasto di prova" >&2\nexit 1', "guasto di prova"),
        (WRITE_HALF_A_DUMP + "\nexec sleep 60", "tempo scaduto dopo 2 secondi, pg_dump è stato fermato"),
    ],
    ids=["fails", "hangs"],
)
def test_pg_dump_failure_is_reported_and_leaves_no_file(
    postgres_only: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, message: str
) -> None:
    fake_tool(tmp_path, monkeypatch, "pg_dump", script)
    out = tmp_path / "out"
    with pytest.raises(BackupError, match=message):
        backup_database(postgres_only.settings, out / "inlav.backup", timeout_seconds=2)
    assert list(out.iterdir()) == []


def test_missing_pg_dump_is_named(postgres_only: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump non è nel PATH"):
        backup_database(postgres_only.settings, tmp_path / "inlav.backup")
    assert not (tmp_path / "inlav.backup").exists()


# --------------------------------------------------------------------------- command line


def test_cli_create_verify_restore(committed: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INLAV_DATABASE_URL", committed.settings.database_url)
    monkeypatch.setenv("INLAV_ENVIRONMENT", "test")
    runner = CliRunner()

    def inlav(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        output = result.output + (result.stderr if result.stderr_bytes else "")
        assert result.exit_code == (0 if ok else 1), output
        return output

    populate(committed)
    saved = snapshot(committed.settings.database_url)
    backup = str(tmp_path / "inlav.backup")

    out = inlav("backup", "create", backup)
    assert "Copia salvata" in out and "SHA-256" in out
    assert "esiste già" in inlav("backup", "create", backup, ok=False)
    out = inlav("backup", "verify", backup)
    assert "Copia integra" in out and "process_instance" in out

    start_case(committed, "MI-2")
    assert "--force" in inlav("backup", "restore", backup, ok=False)
    out = inlav("backup", "restore", backup, "--force")
    assert "Database ripristinato" in out and "nessuna migrazione" in out
    assert snapshot(committed.settings.database_url) == saved

    _flip_a_byte(Path(backup))
    assert "non corrisponde" in inlav("backup", "verify", backup, ok=False)
    assert "non esiste" in inlav("backup", "restore", str(tmp_path / "nessuno.backup"), ok=False)
