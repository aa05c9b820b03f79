"""`inlav users`: accounts from the command line go through engine.admin and the operation log."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from engine import open_platform
from engine.access import authenticate
from engine.db import read_transaction
from engine.models import OperationLog
from tests.conftest import make_settings
from web.cli import app


@pytest.fixture
def inlav(fresh_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INLAV_DATABASE_URL", fresh_url)
    monkeypatch.setenv("INLAV_ENVIRONMENT", "test")
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        output = result.output + (result.stderr if result.stderr_bytes else "")
        assert (result.exit_code == 0) is ok, output
        return output

    return run


def test_users_add_list_deactivate(inlav, fresh_url: str, tmp_path: Path) -> None:
    inlav("ambiti", "add", "MILANO", "Milano")
    inlav("ambiti", "add", "LECCO", "Lecco")
    secret = tmp_path / "password.txt"
    secret.write_text("una-password-lunga\n", encoding="utf-8")
    out = inlav(
        "users", "add", "sara", "--name", "Sara Gialli",
        "--role", "operatore_contatto@milano", "--role", "mediatore@LECCO", "--password-file", str(secret),
    )  # fmt: skip
    assert "Utente sara creato." in out and "Password temporanea" not in out
    out = inlav("users", "add", "rev", "--name", "Revisione", "--role", "revisore", "--generate")
    generated = re.search(r"non verrà più mostrata\): (\S+)", out).group(1)  # type: ignore[union-attr]
    bad = inlav("users", "add", "x", "--name", "", "--role", "revisore@MILANO", "--generate", ok=False)
    assert "username" in bad and "è regionale" in bad
    assert "Indicare la password" in inlav("users", "add", "y", "--name", "Y", "--role", "revisore", ok=False)

    listing = inlav("users", "list", "--ambito", "lecco")
    assert "sara" in listing and "mediatore@LECCO" in listing and "rev " not in listing and "1 utenti." in listing
    # Someone without the administrator role may not use the command as herself.
    refused = inlav("users", "deactivate", "rev", "--user", "sara", ok=False)
    assert "admin.users" in refused
    assert "sara disattivato: 0 sessioni chiuse, 0 attività restituite" in inlav("users", "deactivate", "sara")
    assert "[disattivato]" in inlav("users", "list", "--disattivati")

    platform = open_platform(make_settings(fresh_url))
    with read_transaction(platform.sessions) as session:
        assert authenticate(session, "chiave-di-prova", "sara", "una-password-lunga", "127.0.0.1") is None, (
            "deactivated"
        )
        assert authenticate(session, "chiave-di-prova", "rev", generated, "127.0.0.1") is not None
        rows = list(session.scalars(select(OperationLog).order_by(OperationLog.seq)))
        assert [(r.actor, r.action, r.target_id) for r in rows] == [
            ("console", "ambito.created", "MILANO"),
            ("console", "ambito.created", "LECCO"),
            ("console", "user.created", "sara"),
            ("console", "user.created", "rev"),
            ("console", "user.deactivated", "sara"),
        ]
        assert json.loads(rows[2].after_json or "{}")["ruoli"] == ["operatore_contatto@MILANO", "mediatore@LECCO"]
        assert "una-password-lunga" not in (rows[2].after_json or "")
    platform.close()
