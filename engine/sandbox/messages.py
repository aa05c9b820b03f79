"""Italian descriptions of errors raised by diagram code, located on the code's source.

Loaded by the sandbox child by path (standard library only): it turns an exception
raised while running a script or expression into one sentence an author can act on,
plus the line and the exact piece of code (from Python's column positions) that failed.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from typing import Any

FILENAME = "<diagramma>"
MAX_SNIPPET = 120


def _kind(name: str) -> str:
    labels = {
        "NoneType": "None",
        "str": "testo",
        "string": "testo",
        "int": "intero",
        "float": "decimale",
        "bool": "booleano",
        "list": "lista",
        "tuple": "tupla",
        "dict": "dizionario",
    }
    return labels.get(name, name)


def _obj(name: str) -> str:
    return "il valore None" if name == "NoneType" else f"un valore di tipo {_kind(name)}"


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_TYPE_RULES: list[_Rule] = [
    (
        re.compile(r"^'(\w+)' object is not callable$"),
        lambda m: f"{_obj(m[1])} non si può chiamare come una funzione",
    ),
    (
        re.compile(r"^unsupported operand type\(s\) for (.+?): '(\w+)' and '(\w+)'$"),
        lambda m: f"operazione {m[1]} non possibile tra {_kind(m[2])} e {_kind(m[3])}",
    ),
    (
        re.compile(r"^bad operand type for unary (.+?): '(\w+)'$"),
        lambda m: f"operazione {m[1]} non possibile su {_obj(m[2])}",
    ),
    (
        re.compile(r"^'(.+?)' not supported between instances of '(\w+)' and '(\w+)'$"),
        lambda m: f"confronto {m[1]} non possibile tra {_kind(m[2])} e {_kind(m[3])}",
    ),
    (
        re.compile(r'^can only concatenate (\w+) \(not "(\w+)"\) to \w+$'),
        lambda m: f"a un {_kind(m[1])} si può unire solo un altro {_kind(m[1])}, non {_obj(m[2])}",
    ),
    (
        re.compile(r"^'(\w+)' object is not subscriptable$"),
        lambda m: f"{_obj(m[1])} non ha elementi da leggere con [ ]",
    ),
    (
        re.compile(r"^'(\w+)' object is not iterable$"),
        lambda m: f"{_obj(m[1])} non è una sequenza su cui si possa scorrere",
    ),
    (
        re.compile(r"^(\w+) indices must be integers.*$"),
        lambda m: f"gli indici di un {_kind(m[1])} devono essere numeri interi",
    ),
    (
        re.compile(r"^object of type '(\w+)' has no len\(\)$"),
        lambda m: f"{_obj(m[1])} non ha una lunghezza",
    ),
    (
        re.compile(r"^(\w+)\(\) (?:takes|missing|got) (.+)$"),
        lambda m: f"chiamata di {m[1]}() con argomenti sbagliati ({m[2]})",
    ),
]

_VALUE_RULES: list[_Rule] = [
    (re.compile(r"^invalid literal for int\(\) with base \d+: (.+)$"), lambda m: f"numero intero non valido: {m[1]}"),
    (re.compile(r"^could not convert string to float: (.+)$"), lambda m: f"numero non valido: {m[1]}"),
    (re.compile(r"^Invalid isoformat string: (.+)$"), lambda m: f"data o ora non valida: {m[1]}"),
    (re.compile(r"^time data (.+?) does not match format (.+)$"), lambda m: f"la data {m[1]} non ha il formato {m[2]}"),
    (re.compile(r"^(.+) is not in list$"), lambda m: f"{m[1]} non è nella lista"),
]


def _apply(rules: list[_Rule], text: str) -> str | None:
    for pattern, build in rules:
        match = pattern.match(text)
        if match:
            return build(match)
    return None


def describe(exc: BaseException) -> str:
    """One Italian sentence saying what went wrong (no location)."""
    text = str(exc)
    if isinstance(exc, UnboundLocalError):
        name = getattr(exc, "name", None) or _quoted(text)
        return f"la variabile «{name}» è usata prima di ricevere un valore"
    if isinstance(exc, NameError):
        name = getattr(exc, "name", None) or _quoted(text)
        return f"il nome «{name}» non è definito (né tra i dati del caso né tra le funzioni disponibili)"
    if isinstance(exc, KeyError):
        key = exc.args[0] if exc.args else "?"
        return f"chiave «{key}» assente" if isinstance(key, str) else f"chiave {key!r} assente"
    if isinstance(exc, IndexError):
        return "indice fuori dall'intervallo (la sequenza ha meno elementi)"
    if isinstance(exc, ZeroDivisionError):
        return "divisione per zero"
    if isinstance(exc, OverflowError):
        return "numero troppo grande"
    if isinstance(exc, AttributeError):
        match = re.match(r"^'(\w+)' object has no attribute '(\w+)'$", text)
        return f"{_obj(match[1])} non ha l'attributo «{match[2]}»" if match else text
    translated = None
    if isinstance(exc, TypeError):
        translated = _apply(_TYPE_RULES, text)
    elif isinstance(exc, ValueError):
        translated = _apply(_VALUE_RULES, text)
    if translated:
        return translated
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _quoted(text: str) -> str:
    match = re.search(r"'([^']+)'", text)
    return match[1] if match else text


def locate(exc: BaseException, text: str) -> tuple[int | None, str | None]:
    """Line and piece of `text` (the compiled source) where diagram code raised `exc`."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == FILENAME]
    if not frames:
        return getattr(exc, "lineno", None), None
    frame = frames[-1]  # the innermost diagram frame: inside a function, the line that failed
    lines = text.splitlines()
    line = frame.lineno
    if line is None or not 1 <= line <= len(lines):
        return line, None
    source = lines[line - 1]
    snippet = source.strip()
    start, end = getattr(frame, "colno", None), getattr(frame, "end_colno", None)
    if frame.end_lineno == line and start is not None and end is not None and end > start:
        # Python's columns count UTF-8 bytes.
        piece = source.encode("utf-8")[start:end].decode("utf-8", "replace").strip()
        snippet = piece or snippet
    if len(snippet) > MAX_SNIPPET:
        snippet = snippet[: MAX_SNIPPET - 1] + "…"
    return line, snippet or None


def runtime_error(exc: BaseException, text: str) -> dict[str, Any]:
    """The child's answer for an exception raised by diagram code."""
    line, snippet = locate(exc, text)
    return {"ok": False, "kind": "runtime", "message": describe(exc), "line": line, "code": snippet}
