"""Test fixtures: a real database (SQLite file, or PostgreSQL via INLAV_TEST_DATABASE_URL).

The schema is always built by `alembic upgrade head`. Most tests run inside a
transaction that is rolled back; tests that need committed data (several
connections, threads, processes, the CLI) get a database of their own.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from engine import Actor, Platform, open_platform
from engine.clock import utcnow
from engine.config import Settings
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.models import Ambito
from engine.platform import upgrade_database

HERE = Path(__file__).parent
BUNDLES = HERE / "bundles"
TEST_DB_URL = os.environ.get("INLAV_TEST_DATABASE_URL", "")
DB_FIXTURES = {"db", "platform", "settings", "committed", "fresh_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that touch the database are marked `db` (the PostgreSQL pass runs `-m db`)."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def is_postgres_url(url: str) -> bool:
    return url.startswith("postgresql")


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inlav")


def _reset_postgres(url: str, schema: str) -> str:
    """Create an empty schema for this run and return a URL that uses it."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def template_url(work_dir: Path) -> str:
    """A migrated database used as the template for every test database."""
    if is_postgres_url(TEST_DB_URL):
        url = _reset_postgres(TEST_DB_URL, f"t_{os.getpid()}")
    else:
        url = f"sqlite:///{work_dir / 'template.db'}"
    upgrade_database(url)
    return url


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "environment": "test",
        "script_timeout_seconds": 1.5,
        "script_pool_size": 2,
        "lease_seconds": 30.0,
        "lock_wait_seconds": 2.0,
        "worker_poll_seconds": 0.1,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(template_url: str) -> Settings:
    return make_settings(template_url)


@pytest.fixture(scope="session")
def platform(settings: Settings) -> Iterator[Platform]:
    p = open_platform(settings)
    yield p
    p.close()


@pytest.fixture
def db(platform: Platform) -> Iterator[Session]:
    """A session whose work is rolled back at the end of the test."""
    connection = platform.db.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@contextmanager
def own_database(template_url: str, work_dir: Path, prefix: str) -> Iterator[str]:
    """A migrated database that commits for real, removed afterwards (a schema or a file)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    if is_postgres_url(template_url):
        url = _reset_postgres(TEST_DB_URL, name)
        upgrade_database(url)
        try:
            yield url
        finally:
            engine = create_engine(TEST_DB_URL)
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            engine.dispose()
    else:
        path = work_dir / f"{name}.db"
        shutil.copyfile(work_dir / "template.db", path)
        try:
            yield f"sqlite:///{path}"
        finally:
            path.unlink(missing_ok=True)


@pytest.fixture
def fresh_url(template_url: str, work_dir: Path) -> Iterator[str]:
    """URL of a database of this test's own, already migrated, that commits for real."""
    with own_database(template_url, work_dir, "c") as url:
        yield url


@pytest.fixture
def committed(fresh_url: str) -> Iterator[Platform]:
    """A platform on a database of its own, for tests that commit (threads, processes, CLI)."""
    p = open_platform(make_settings(fresh_url))
    yield p
    p.close()


# --------------------------------------------------------------------------- data helpers


OPERATOR = Actor("anna", frozenset({"operatore_contatto"}), frozenset({"MILANO"}))
DIRECTOR = Actor("dario", frozenset({"direttore_pua"}), frozenset({"MILANO"}))
TUTOR = Actor("tina", frozenset({"esperto_politiche_lavoro"}), frozenset({"MILANO"}))
OTHER_AMBITO = Actor("olga", frozenset({"operatore_contatto"}), frozenset({"LECCO"}))


def add_ambiti(session: Session, *codes: str) -> None:
    for code in codes or ("MILANO", "LECCO"):
        if session.get(Ambito, code) is None:
            session.add(Ambito(code=code, name=code.title(), created_at=utcnow()))
    session.flush()


def deploy(session: Session, name: str = "sample", ambito: str | None = None, files: dict[str, bytes] | None = None):
    """Deploy a test bundle (by directory name) or explicit files."""
    return deploy_bundle(session, files or read_bundle_paths([BUNDLES / name]), ambito, "test")


def bundle_files(name: str = "sample") -> dict[str, bytes]:
    return read_bundle_paths([BUNDLES / name])
