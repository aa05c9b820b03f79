"""Timers and due times read aloud in plain Italian, for the diagram editor and the version viewer.

A timer of a diagram holds a Python expression evaluated when the timer starts: a quoted ISO
8601 value (`'R/P30D'`), a variable (`attesa_follow_up`) or any other expression on the case
data. The reading says what the engine will do with it: «ogni 30 giorni», «dopo 2 ore»,
«il 5 gennaio 2027 alle 9:00 UTC (le 10:00 in Italia)», «valore calcolato dalla variabile
attesa_follow_up»; a value the engine would refuse gets a specific Italian message instead.
A task's due time (`dueIn`) is not an expression: it is the ISO duration itself.

Values are accepted exactly as the engine accepts them (`engine.spiff.check_timer_value`);
the reading only describes them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.sandbox import check_code
from engine.spiff import check_timer_value, code_message

LOCAL = ZoneInfo("Europe/Rome")
KINDS = ("date", "duration", "cycle", "due")
"""`date`, `duration`, `cycle`: the timer's timeDate, timeDuration, timeCycle (expressions);
`due`: a user task's due time (`dueIn`, an ISO duration written as it is)."""
MAX_TEXT = 2_000

MONTHS = (
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
)
# designator → (singular, plural, «ogni …» for one unit)
UNITS: dict[str, tuple[str, str, str]] = {
    "years": ("anno", "anni", "ogni anno"),
    "months": ("mese", "mesi", "ogni mese"),
    "weeks": ("settimana", "settimane", "ogni settimana"),
    "days": ("giorno", "giorni", "ogni giorno"),
    "hours": ("ora", "ore", "ogni ora"),
    "minutes": ("minuto", "minuti", "ogni minuto"),
    "seconds": ("secondo", "secondi", "ogni secondo"),
}
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"^P(?:{_NUMBER}W|(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?)$",
    re.IGNORECASE,
)
_DESIGNATORS = ("weeks", "years", "months", "days", "hours", "minutes", "seconds")
_ISO_LOOKING = re.compile(r"^(R\d*/|P\d|P T|PT\d|\d{4}-\d{2}-\d{2})", re.IGNORECASE)
EXAMPLES = {
    "date": "es. '2027-01-05T09:00:00' per una data, o 'P30D' per 30 giorni dopo",
    "duration": "es. 'P30D' per 30 giorni, 'PT2H' per 2 ore",
    "cycle": "es. 'R/P30D' per ogni 30 giorni, 'R3/PT10H' per tre volte ogni 10 ore",
    "due": "es. P10D per 10 giorni, PT4H per 4 ore",
}


@dataclass(frozen=True)
class TimerReading:
    """What a timer value means (`text`) and whether the engine accepts it (`ok`)."""

    ok: bool
    text: str


def timer_reading(kind: str, text: str) -> str:
    """The plain-Italian reading of a timer (or due time) value, or the Italian reason it is invalid."""
    return read_timer(kind, text).text


def read_timer(kind: str, text: str) -> TimerReading:
    """`timer_reading` with a flag telling a reading from an error message."""
    if kind not in KINDS:
        return TimerReading(False, f"tipo di timer sconosciuto «{kind[:40]}»: usare data, durata o ripetizione")
    source = (text or "").strip()
    if not source:
        if kind == "due":
            return TimerReading(True, "nessuna scadenza")
        return TimerReading(False, f"timer senza valore: indicare un valore ISO 8601 ({EXAMPLES[kind]})")
    if len(source) > MAX_TEXT:
        return TimerReading(False, f"valore troppo lungo (oltre {MAX_TEXT} caratteri)")
    if kind == "due":
        return _literal("duration", source, due=True)
    problems = check_code(source, "eval")
    if problems:
        return TimerReading(False, code_message("timer", problems[0]))
    tree = ast.parse(source, mode="eval").body
    if isinstance(tree, ast.Constant) and isinstance(tree.value, str):
        return _literal(kind, tree.value.strip())
    if _ISO_LOOKING.match(source) and check_timer_value(kind, source) is None:
        what = "il nome di una variabile" if isinstance(tree, ast.Name) else "un calcolo"
        meaning = _literal(kind, source).text
        return TimerReading(
            False, f"«{source}» senza virgolette è {what}: per un valore fisso ({meaning}) scrivere '{source}'"
        )
    if isinstance(tree, ast.Constant):
        return TimerReading(False, f"il timer deve essere un testo ISO 8601 tra virgolette ({EXAMPLES[kind]})")
    if isinstance(tree, ast.Name):
        return TimerReading(True, f"valore calcolato dalla variabile {tree.id}, quando il timer parte")
    return TimerReading(True, f"valore calcolato dall'espressione «{source}», quando il timer parte")


# --------------------------------------------------------------------------- ISO 8601 values


def _literal(kind: str, value: str, due: bool = False) -> TimerReading:
    """Reading of an ISO value of `kind` (validated by the engine's own check first)."""
    error = check_timer_value(kind, value)
    if error:
        if due:
            return TimerReading(False, f"«{value}» non è una durata ISO 8601 ({EXAMPLES['due']})")
        return TimerReading(False, error)
    reading: str | None
    if kind == "cycle":
        reading = _cycle(value)
    elif kind == "duration":
        amount = _duration(value)
        if amount is None:
            reading = None
        elif due:
            reading = "scade subito" if amount == "0" else f"scade {amount} dopo l'apertura dell'attività"
        else:
            reading = "subito" if amount == "0" else f"dopo {amount}"
    else:
        amount = _duration(value) if value.upper().startswith("P") else None
        reading = _date(value) if amount is None else "subito" if amount == "0" else f"dopo {amount}"
    if reading is None:
        return TimerReading(True, f"valore ISO 8601 «{value}» (accettato)")
    return TimerReading(True, reading)


def _number(text: str) -> str:
    """'1.5' → '1,5' (Italian decimal comma); '07' → '7'."""
    text = text.replace(".", ",")
    if "," in text:
        whole, _, decimals = text.partition(",")
        return f"{int(whole)},{decimals}"
    return str(int(text))


def _parts(value: str) -> list[tuple[str, str]] | None:
    """[(number, designator)] of an ISO duration, None if it is not one this reading knows."""
    match = _DURATION.match(value.strip())
    if match is None:
        return None
    groups = match.groups()
    return [(_number(number), name) for number, name in zip(groups, _DESIGNATORS, strict=True) if number is not None]


def _amount(number: str, designator: str) -> str:
    singular, plural, _ = UNITS[designator]
    return f"{number} {singular if number == '1' else plural}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " e " + items[-1]


def _duration(value: str) -> str | None:
    """«30 giorni», «1 anno e 2 mesi», «0» for a zero duration, None if unknown."""
    parts = _parts(value)
    if parts is None:
        return None
    nonzero = [(n, d) for n, d in parts if n.strip("0,") != ""]
    if not nonzero:
        return "0"
    return _join([_amount(n, d) for n, d in nonzero])


def _every(value: str) -> str | None:
    """«ogni 30 giorni», «ogni giorno», «ogni 1 giorno e 12 ore»."""
    parts = _parts(value)
    if parts is None:
        return None
    nonzero = [(n, d) for n, d in parts if n.strip("0,") != ""]
    if not nonzero:
        return None
    if len(nonzero) == 1 and nonzero[0][0] == "1":
        return UNITS[nonzero[0][1]][2]
    return "ogni " + _join([_amount(n, d) for n, d in nonzero])


def _cycle(value: str) -> str | None:
    """«ogni 30 giorni», «3 volte, ogni 10 ore», with the start or the end when given."""
    components = value.upper().replace("--", "/").split("/")
    if not 2 <= len(components) <= 3 or not components[0].startswith("R"):
        return None
    repeat = components[0][1:]
    first, second = components[1], components[2] if len(components) == 3 else None
    if first.startswith("P"):
        every, start, end = _every(first), None, _date(second) if second else None
    else:
        every, start, end = _every(second or ""), _date(first), None
    if every is None or (second and (start or end) is None):
        return None
    times = int(repeat) if repeat else None
    if times == 0:
        return "mai (zero ripetizioni)"
    if times == 1:
        head = f"una volta, dopo {_duration(first)}" if start is None else "una volta"
    elif times is None:
        head = every
    else:
        head = f"{times} volte, {every}"
    if start is not None:
        return f"{head} a partire dal {start.removeprefix('il ')}" if times != 1 else f"una volta, {start}"
    if end is not None:
        return f"{head}, con termine {end}"
    return head


def _date(value: str) -> str | None:
    """«il 5 gennaio 2027 alle 9:00 UTC (le 10:00 in Italia)», as the engine reads the time zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    day = "1º" if moment.day == 1 else str(moment.day)
    when = f"il {day} {MONTHS[moment.month - 1]} {moment.year}"
    clock = f"{moment.hour}:{moment.minute:02d}" + (f":{moment.second:02d}" if moment.second else "")
    offset = moment.utcoffset()
    aware = moment if offset is not None else moment.replace(tzinfo=UTC)  # the engine reads it as UTC
    local = aware.astimezone(LOCAL)
    local_clock = f"{local.hour}:{local.minute:02d}" + (f":{local.second:02d}" if local.second else "")
    same_day = local.date() == moment.date()
    local_text = f"le {local_clock}" if same_day else f"il {local.day} {MONTHS[local.month - 1]} alle {local_clock}"
    if offset is not None and offset == local.utcoffset():
        return f"{when} alle {clock} (ora italiana)"
    if offset is None or offset == timedelta(0):
        zone = "UTC"
    else:
        zone = "UTC" + aware.strftime("%z")[:3] + ":" + aware.strftime("%z")[3:]
    note = "; senza fuso orario l'ora è intesa UTC" if offset is None else ""
    return f"{when} alle {clock} {zone} ({local_text} in Italia{note})"
