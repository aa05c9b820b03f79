"""Fixtures for the regional model: the real bundle (processes/ + forms/schemas/) on a real database.

The walking itself lives in `tests/model/journey.py` (shared with bench/).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.admin import add_partner
from engine.config import Settings
from engine.definitions import DeployResult, deploy_bundle, read_bundle_paths
from tests.conftest import add_ambiti
from tests.model.journey import BUNDLE, CaseDriver, start_regional_case


@pytest.fixture
def model(db: Session) -> DeployResult:
    """The regional bundle deployed, two Ambiti and a small partner registry."""
    add_ambiti(db, "MILANO", "LECCO")
    result = deploy_bundle(db, read_bundle_paths(BUNDLE), None, "test")
    add_partner(db, "MI-CPI", "Centro per l'impiego di Milano", "cpi", "MILANO")
    add_partner(db, "MI-ANTITRATTA", "Progetto antitratta", "antitratta", "MILANO")
    add_partner(db, "LC-CPI", "Centro per l'impiego di Lecco", "cpi", "LECCO")
    add_partner(db, "REG-NUMERO-VERDE", "Numero Verde Antitratta", "antitratta", None)
    return result


@pytest.fixture
def start_case(db: Session, settings: Settings, model: DeployResult):
    """Start a case of the regional path in Milano, with short timers unless told otherwise."""

    def start(avvio: dict[str, Any] | None = None, short: bool = True) -> CaseDriver:
        return start_regional_case(db, settings, avvio, short)

    return start
