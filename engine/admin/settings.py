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


TARGET_FIELDS = ("intercepted_min", "intercepted_max", "taken_min", "taken_max")
_TARGET_LABELS = {
    "intercepted_min": "persone intercettate, almeno",
    "intercepted_max": "persone intercettate, obiettivo pieno",
    "taken_min": "prese in carico, almeno",
    "taken_max": "prese in carico, obiettivo pieno",
}


def _checked_targets(errors: Errors, prefix: str, values: dict[str, str | int]) -> tuple[int, int, int, int]:
    """The four numbers of a target row, or errors (keyed `prefix` + field) on `errors`."""
    before = len(errors.by_field)
    i_low, i_high, t_low, t_high = (
        _number(errors, prefix + f, values.get(f), f"{prefix.strip('.')} {_TARGET_LABELS[f]}".strip())
        for f in TARGET_FIELDS
    )
    if len(errors.by_field) == before:
        if i_low > i_high:
            errors.add(prefix + "intercepted_max", "Persone intercettate: il massimo non può essere minore del minimo.")
        if t_low > t_high:
            errors.add(prefix + "taken_max", "Prese in carico: il massimo non può essere minore del minimo.")
        if t_high > i_high:
            errors.add(prefix + "taken_max", "Le persone prese in carico non possono superare quelle intercettate.")
    return i_low, i_high, t_low, t_high


def _check_year(errors: Errors, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        errors.add("year", f"Anno non valido: tra {MIN_YEAR} e {MAX_YEAR}.")


def _store_targets(
    session: Session, actor: Actor, ambito: str, year: int, numbers: tuple[int, int, int, int]
) -> AnnualTargets | None:
    """Write one row of targets and log it; None when nothing changed."""
    i_low, i_high, t_low, t_high = numbers
    row = session.get(AnnualTarget, (ambito, year))
    after = {"intercettate": [i_low, i_high], "prese_in_carico": [t_low, t_high]}
    before = None
    if row is None:
        row = AnnualTarget(ambito_code=ambito, year=year)
        session.add(row)
    else:
        before = {
            "intercettate": [row.intercepted_min, row.intercepted_max],
            "prese_in_carico": [row.taken_min, row.taken_max],
        }
        if before == after:
            return None
    row.intercepted_min, row.intercepted_max = i_low, i_high
    row.taken_min, row.taken_max = t_low, t_high
    row.updated_at, row.updated_by = utcnow(), actor.username
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


def set_annual_targets(
    session: Session,
    actor: Actor,
    ambito: str,
    year: int,
    intercepted: tuple[str | int, str | int],
    taken_in_charge: tuple[str | int, str | int],
) -> AnnualTargets:
    """Set (or change) an Ambito's targets for a year; each pair is (at least, full target)."""
    require(actor, Action.ADMIN_SETTINGS)
    if session.get(Ambito, ambito) is None:
        raise NotFound(f"Ambito «{ambito}» non trovato.")
    errors = Errors()
    _check_year(errors, year)
    values: dict[str, str | int] = dict(zip(TARGET_FIELDS, (*intercepted, *taken_in_charge), strict=True))
    numbers = _checked_targets(errors, "", values)
    errors.raise_if_any()
    _store_targets(session, actor, ambito, year, numbers)
    found = annual_targets(session, ambito, year)
    assert found is not None
    return found


def set_targets_for_year(session: Session, actor: Actor, year: int, rows: dict[str, dict[str, str]]) -> list[str]:
    """Set the targets of several Ambiti for a year at once (all or nothing); rows left
    completely empty are skipped. Errors are keyed `t.<AMBITO>.<field>`. Returns the Ambiti changed."""
    require(actor, Action.ADMIN_SETTINGS)
    errors = Errors()
    _check_year(errors, year)
    known = set(session.scalars(select(Ambito.code)))
    wanted: dict[str, tuple[int, int, int, int]] = {}
    for ambito, values in sorted(rows.items()):
        if ambito not in known:
            raise NotFound(f"Ambito «{ambito}» non trovato.")
        if not any(str(values.get(f, "")).strip() for f in TARGET_FIELDS):
            continue
        wanted[ambito] = _checked_targets(errors, f"t.{ambito}.", dict(values))
    errors.raise_if_any()
    return [a for a, numbers in wanted.items() if _store_targets(session, actor, a, year, numbers) is not None]


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
