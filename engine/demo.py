"""Demo data: the twelve Ambiti of InLav Lombardia and synthetic cases run through the engine."""

from __future__ import annotations

from sqlalchemy import select

from engine.clock import utcnow
from engine.db import transaction
from engine.models import Ambito, ProcessDefinition
from engine.platform import Platform

AMBITI: tuple[tuple[str, str], ...] = (
    ("PAVESE", "Alto e Basso Pavese"),
    ("BERGAMO", "Bergamo"),
    ("CARATE", "Carate Brianza"),
    ("DESIO", "Desio"),
    ("SEBINO", "Sebino"),
    ("LECCO", "Lecco"),
    ("MARIANO", "Mariano Comense"),
    ("MILANO", "Milano"),
    ("SOMMA", "Somma Lombardo"),
    ("SUZZARA", "Suzzara"),
    ("TRADATE", "Tradate"),
    ("TREVIGLIO", "Treviglio"),
)


def seed_ambiti(platform: Platform) -> int:
    """Create the twelve Ambiti that are missing; returns how many were added."""
    added = 0
    with transaction(platform.sessions) as session:
        existing = set(session.scalars(select(Ambito.code)))
        for code, name in AMBITI:
            if code not in existing:
                session.add(Ambito(code=code, name=name, created_at=utcnow()))
                added += 1
    return added


def seed(platform: Platform) -> list[str]:
    """Idempotent demo seed; returns a summary to print."""
    added = seed_ambiti(platform)
    lines = [f"Ambiti: {added} aggiunti ({len(AMBITI)} in tutto)."]
    with transaction(platform.sessions) as session:
        processes = session.scalar(select(ProcessDefinition.id).limit(1))
    if processes is None:
        lines.append("Nessun processo pubblicato: eseguire prima `inlav processes deploy processes/`.")
    return lines
