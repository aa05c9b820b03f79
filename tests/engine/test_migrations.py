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
