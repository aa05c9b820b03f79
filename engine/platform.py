"""Wiring of settings, database and sandbox for one process (web, worker or CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings, load_settings
from engine.db import make_engine, make_sessionmaker
from engine.sandbox import configure_pool

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Platform:
    """Everything a process needs to talk to the engine."""

    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]

    def ping(self) -> bool:
        """Whether the database answers."""
        with self.db.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1

    def close(self) -> None:
        """Release connections."""
        self.db.dispose()


def open_platform(settings: Settings | None = None) -> Platform:
    """Build the platform from settings (read from the environment when not given)."""
    settings = settings or load_settings()
    configure_pool(
        settings.script_pool_size, settings.script_timeout_seconds, settings.script_memory_mb, settings.max_data_depth
    )
    db = make_engine(settings)
    return Platform(settings=settings, db=db, sessions=make_sessionmaker(db))


def alembic_config(database_url: str) -> object:
    """Alembic configuration for our migrations against `database_url`."""
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)  # type: ignore[arg-type]


def downgrade_database(database_url: str, revision: str) -> None:
    """Revert migrations down to `revision`."""
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)  # type: ignore[arg-type]
