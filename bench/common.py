"""Shared set-up for benchmarks: a fresh, migrated database of the requested kind."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from engine import Platform, open_platform
from engine.config import Settings
from engine.platform import upgrade_database

HERE = Path(__file__).parent
POSTGRES_URL = os.environ.get("INLAV_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fresh_platform(kind: str) -> tuple[Platform, str]:
    """A platform on a new database ('sqlite' file or a new 'postgres' schema); returns it and a label."""
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="inlav-bench-")) / "bench.db"
        url = f"sqlite:///{path}"
    elif kind == "postgres":
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    else:
        raise SystemExit(f"unknown database kind: {kind}")
    upgrade_database(url)
    settings = Settings(database_url=url, environment="test")  # type: ignore[call-arg]
    return open_platform(settings), url


def drop_postgres_schema(url: str) -> None:
    """Remove the schema a postgres benchmark created."""
    if "search_path%3D" not in url:
        return
    schema = url.rsplit("%3D", 1)[1]
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
