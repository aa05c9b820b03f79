"""Alembic is the only source of the schema: no drift, and every migration goes both ways."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from alembic import command
from engine.models import Base
from engine.platform import alembic_config, downgrade_database, upgrade_database


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_without_drift(fresh_url: str) -> None:
    config = alembic_config(fresh_url)
    command.check(config)  # raises if the models and the migrated schema differ
    assert table_names(fresh_url) == set(Base.metadata.tables)
    downgrade_database(fresh_url, "base")
    assert table_names(fresh_url) == set()
    upgrade_database(fresh_url)
    command.check(config)
    assert table_names(fresh_url) == set(Base.metadata.tables)


def test_each_revision_downgrades_one_step(fresh_url: str) -> None:
    revisions = list(ScriptDirectory.from_config(alembic_config(fresh_url)).walk_revisions())
    assert len(revisions) >= 2
    for revision in revisions:  # newest first
        downgrade_database(fresh_url, revision.down_revision or "base")
    assert table_names(fresh_url) == set()
    upgrade_database(fresh_url)
    assert table_names(fresh_url) == set(Base.metadata.tables)


def test_migration_files_follow_the_house_rules() -> None:
    config = alembic_config("sqlite://")
    for revision in ScriptDirectory.from_config(config).walk_revisions():
        path = revision.path
        name = path.rsplit("/", 1)[1]
        assert name[:4].isdigit() and name[4] == "_", f"dated file name: {name}"
        source = Path(path).read_text(encoding="utf-8")
        assert "def downgrade" in source and "\n    pass\n" not in source.split("def downgrade")[1][:40]
        for forbidden in ("from engine", "import engine", "from web", "from forms"):
            assert forbidden not in source, f"{name} imports application code"


def test_downgrade_and_upgrade_keep_existing_cases(fresh_url: str) -> None:
    from sqlalchemy import func, select

    from engine import open_platform, start_instance
    from engine.db import transaction
    from engine.models import HistoryEvent, ProcessInstance, TaskState
    from tests.conftest import OPERATOR, add_ambiti, deploy, make_settings

    platform = open_platform(make_settings(fresh_url))
    with transaction(platform.sessions) as session:
        add_ambiti(session)
        deploy(session)
        start_instance(
            session, platform.settings, "sample_case", "MILANO", OPERATOR, "KEEP-1", {"durata_sollecito": "P1D"}
        )

    def counts() -> tuple[int, int, int]:
        with transaction(platform.sessions) as session:
            return tuple(
                session.scalar(select(func.count()).select_from(model))
                for model in (ProcessInstance, TaskState, HistoryEvent)
            )

    before = counts()
    revisions = list(ScriptDirectory.from_config(alembic_config(fresh_url)).walk_revisions())
    downgrade_database(fresh_url, revisions[1].revision)  # one step back from head
    upgrade_database(fresh_url)
    platform.db.dispose()
    assert counts() == before
    platform.close()
