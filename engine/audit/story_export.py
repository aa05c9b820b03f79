"""One instance's history exported: JSON (structured), CSV (one row per field change or event)."""

from __future__ import annotations

import csv
import io
from typing import Any

from engine.audit.story import ChainCheck, FieldChange, Story, StoryEvent, value_text
from engine.clock import as_utc

CSV_HEADER = [
    "passo",
    "momento",
    "tipo",
    "evento",
    "utente",
    "nome",
    "ruolo",
    "processo",
    "versione",
    "elemento",
    "attivita",
    "campo",
    "etichetta",
    "modifica",
    "prima",
    "dopo",
    "dettagli",
]
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def story_json(story: Story, check: ChainCheck) -> dict[str, Any]:
    """The history as a JSON document, with its verification result."""
    s = story.summary
    return {
        "istanza": {
            "codice": s.case_code,
            "ambito": s.ambito_code,
            "processo": s.process_key,
            "nome_processo": s.process_name,
            "versione": s.version,
            "stato": s.status,
            "avviata_il": as_utc(s.started_at).isoformat(),
            "avviata_da": s.started_by,
            "conclusa_il": as_utc(s.completed_at).isoformat() if s.completed_at else None,
            "errore": s.error_message,
        },
        "verifica": {"integra": check.intact, "passi_alterati": check.broken, "eventi_verificati": check.checked},
        "eventi": [_event_json(e) for e in story.events],
    }


def _event_json(e: StoryEvent) -> dict[str, Any]:
    return {
        "passo": e.seq,
        "momento": as_utc(e.at).isoformat(),
        "tipo": e.kind,
        "evento": e.label,
        "utente": e.actor,
        "nome": e.actor_name,
        "ruolo": e.lane,
        "ruolo_etichetta": e.role,
        "processo": e.process_key,
        "versione": e.version,
        "elemento": e.element,
        "attivita": e.title,
        "modifiche": [
            {"campo": c.name, "etichetta": c.label, "modifica": c.change, "prima": c.before, "dopo": c.after}
            for c in e.changes
        ],
        "dettagli": {label: text for label, text in e.details},
    }


def story_csv(story: Story) -> str:
    """The history as CSV text: one row per field change (an event without changes: one row)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for e in story.events:
        base = [
            str(e.seq),
            as_utc(e.at).isoformat(),
            e.kind,
            e.label,
            e.actor,
            e.actor_name or "",
            e.role or "",
            e.process_key or "",
            "" if e.version is None else str(e.version),
            e.element or "",
            e.title or "",
        ]
        details = "; ".join(f"{label}: {text}" for label, text in e.details)
        changes: list[FieldChange | None] = [*e.changes] or [None]
        for c in changes:
            tail = (
                [
                    c.name,
                    c.label or "",
                    c.change_label,
                    _cell(c.before, c.change == "added"),
                    _cell(c.after, c.change == "removed"),
                ]
                if c is not None
                else ["", "", "", "", ""]
            )
            writer.writerow([neutralise(cell) for cell in [*base, *tail, details]])
    return out.getvalue()


def _cell(value: Any, absent: bool) -> str:
    return "" if absent else value_text(value)
