"""Settings kept in the database: each PUA's annual targets and a few global values.

Targets are inputs, not figures: how many people each PUA means to intercept and to take
in charge in a year, each as a range (DESIGN: Milano aimed at 70–100 and 30–50).
Reports read them through `annual_targets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import codec
from engine.access.matrix import Action, require
from engine.access.roles import Actor
from engine.admin.common import Errors
from engine.audit import record
from engine.clock import utcnow
from engine.errors import NotFound
from engine.models import Ambito, AnnualTarget, AppSetting

MIN_YEAR, MAX_YEAR = 2020, 2100
MAX_TARGET = 100_000


@dataclass(frozen=True)
class Setting:
    """A global setting: its key, Italian label and help, and the longest text it takes."""

    key: str
    label: str
    help: str
    max_length: int
    default: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "avviso_accesso",
        "Avviso nella pagina di accesso",
        "Un messaggio per tutti, mostrato sopra il modulo di accesso (es. un fermo per manutenzione). "
        "Vuoto: nessun avviso.",
        500,
    ),
    Setting(
        "contatto_assistenza",
        "Contatto dell'assistenza",
        "Chi chiamare per problemi di accesso (email o telefono), mostrato nella pagina di accesso.",
        200,
    ),
)
BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class TargetRange:
    """A target as a range: at least `low`, ideally `high`."""

    low: int
    high: int


@dataclass(frozen=True)
class AnnualTargets:
    """What a PUA aims at in a year."""

    ambito: str
    year: int
    intercepted: TargetRange
    taken_in_charge: TargetRange


def _targets(row: AnnualTarget) -> AnnualTargets:
    return AnnualTargets(
        row.ambito_code,
        row.year,
        TargetRange(row.intercepted_min, row.intercepted_max),
        TargetRange(row.taken_min, row.taken_max),
    )


def annual_targets(session: Session, ambito: str, year: int) -> AnnualTargets | None:
    """The targets of an Ambito's PUA for a year, or None if none were set."""
    row = session.get(AnnualTarget, (ambito, year))
    return _targets(row) if row is not None else None


def targets_for_year(session: Session, year: int) -> list[tuple[str, str, AnnualTargets | None]]:
    """(code, name, targets or None) of every Ambito for a year, by name."""
    rows = {r.ambito_code: r for r in session.scalars(select(AnnualTarget).where(AnnualTarget.year == year))}
    return [
        (a.code, a.name, _targets(rows[a.code]) if a.code in rows else None)
        for a in session.scalars(select(Ambito).order_by(Ambito.name))
    ]


def _number(errors: Errors, field: str, value: str | int | None, label: str) -> int:
    text = str(value if value is not None else "").strip()
    if not text.isdigit():
        errors.add(field, f"{label}: inserire un numero intero (0 o più).")
        return 0
    number = int(text)
    if number > MAX_TARGET:
        errors.add(field, f"{label}: al massimo {MAX_TARGET}.")
    return number


def set_annual_targets(
    session: Session,
    actor: Actor,
    ambito: str,
    year: int,
    intercepted: tuple[str | int, str | int],
    taken_in_charge: tuple[str | int, str | int],
) -> AnnualTargets:
    """Set (or change) an Ambito's targets for a year; each pair is (at least, ideally)."""
    require(actor, Action.ADMIN_SETTINGS)
    if session.get(Ambito, ambito) is None:
        raise NotFound(f"Ambito «{ambito}» non trovato.")
    errors = Errors()
    if not MIN_YEAR <= year <= MAX_YEAR:
        errors.add("year", f"Anno non valido: tra {MIN_YEAR} e {MAX_YEAR}.")
    i_low = _number(errors, "intercepted_min", intercepted[0], "Persone intercettate, minimo")
    i_high = _number(errors, "intercepted_max", intercepted[1], "Persone intercettate, massimo")
    t_low = _number(errors, "taken_min", taken_in_charge[0], "Persone prese in carico, minimo")
    t_high = _number(errors, "taken_max", taken_in_charge[1], "Persone prese in carico, massimo")
    if not errors.by_field:
        if i_low > i_high:
            errors.add("intercepted_max", "Persone intercettate: il massimo non può essere minore del minimo.")
        if t_low > t_high:
            errors.add("taken_max", "Persone prese in carico: il massimo non può essere minore del minimo.")
        if t_high > i_high:
            errors.add("taken_max", "Le persone prese in carico non possono superare quelle intercettate.")
    errors.raise_if_any()
    row = session.get(AnnualTarget, (ambito, year))
    after = {"intercettate": [i_low, i_high], "prese_in_carico": [t_low, t_high]}
    before = None
    now = utcnow()
    if row is None:
        row = AnnualTarget(ambito_code=ambito, year=year)
        session.add(row)
    else:
        before = {
            "intercettate": [row.intercepted_min, row.intercepted_max],
            "prese_in_carico": [row.taken_min, row.taken_max],
        }
        if before == after:
            return _targets(row)
    row.intercepted_min, row.intercepted_max = i_low, i_high
    row.taken_min, row.taken_max = t_low, t_high
    row.updated_at, row.updated_by = now, actor.username
    session.flush()
    record(
        session,
        actor,
        "target.changed",
        f"Obiettivi {year} del PUA {ambito}: intercettate {i_low}–{i_high}, prese in carico {t_low}–{t_high}.",
        "target",
        f"{ambito}/{year}",
        ambito,
        before=before,
        after=after,
    )
    return _targets(row)


def setting_values(session: Session) -> dict[str, str]:
    """Every global setting's current value (its default when never set)."""
    stored = {r.key: r for r in session.scalars(select(AppSetting))}
    values: dict[str, str] = {}
    for spec in SETTINGS:
        row = stored.get(spec.key)
        values[spec.key] = str(codec.from_jsonable_text(row.value_json)) if row is not None else spec.default
    return values


def setting_value(session: Session, key: str) -> str:
    """One global setting's current value."""
    spec = BY_KEY[key]
    row = session.get(AppSetting, key)
    return str(codec.from_jsonable_text(row.value_json)) if row is not None else spec.default


def change_settings(session: Session, actor: Actor, values: dict[str, Any]) -> list[str]:
    """Change global settings (only the keys given); returns the keys that changed."""
    require(actor, Action.ADMIN_SETTINGS)
    errors = Errors()
    clean: dict[str, str] = {}
    for key, value in values.items():
        spec = BY_KEY.get(key)
        if spec is None:
            errors.add(key, f"Impostazione sconosciuta: {key}.")
            continue
        clean[key] = errors.text(key, str(value or ""), spec.label, spec.max_length) or ""
    errors.raise_if_any()
    changed: list[str] = []
    now = utcnow()
    for key, value in clean.items():
        row = session.get(AppSetting, key)
        before = str(codec.from_jsonable_text(row.value_json)) if row is not None else BY_KEY[key].default
        if before == value:
            continue
        if row is None:
            row = AppSetting(key=key)
            session.add(row)
        row.value_json = codec.dumps(value)
        row.updated_at, row.updated_by = now, actor.username
        session.flush()
        record(
            session,
            actor,
            "setting.changed",
            f"Modificata l'impostazione «{BY_KEY[key].label}».",
            "setting",
            key,
            before={"valore": before},
            after={"valore": value},
        )
        changed.append(key)
    return changed
