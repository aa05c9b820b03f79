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

_OPERATORS = {"** or pow()": "**", "divmod()": "divmod()"}


def _op(text: str) -> str:
    return _OPERATORS.get(text, text)


def _callee(name: str) -> str:
    """«il filtro «int»» for Jinja's `do_int`, «la funzione «f»» otherwise."""
    if name.startswith("do_"):
        return f"il filtro «{name[3:]}»"
    if name == "generate_lorem_ipsum":
        return "la funzione «lipsum»"
    return f"la funzione «{name}»"


def _of(name: str) -> str:
    """«del filtro «int»», «della funzione «f»»."""
    return "del" + _callee(name)[2:] if name.startswith("do_") else "della" + _callee(name)[2:]


def _names(text: str) -> str:
    return re.sub(r"'(\w+)'", r"«\1»", text)


_TYPE_RULES: list[_Rule] = [
    (
        re.compile(r"^'(\w+)' object is not callable$"),
        lambda m: f"{_obj(m[1])} non si può chiamare come una funzione",
    ),
    (
        re.compile(r"^unsupported operand type\(s\) for (.+?): '(\w+)' and '(\w+)'$"),
        lambda m: f"operazione {_op(m[1])} non possibile tra {_kind(m[2])} e {_kind(m[3])}",
    ),
    (
        re.compile(r"^bad operand type for unary (.+?): '(\w+)'$"),
        lambda m: f"operazione {_op(m[1])} non possibile su {_obj(m[2])}",
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
        re.compile(r"^'(\w+)' object does not support item assignment$"),
        lambda m: f"{_obj(m[1])} non si può modificare con [ ] =",
    ),
    (
        re.compile(r"^'(\w+)' object cannot be interpreted as an integer$"),
        lambda m: f"serve un numero intero, non {_obj(m[1])}",
    ),
    (
        re.compile(r"^unhashable type: '(\w+)'$"),
        lambda m: f"{_obj(m[1])} non può fare da chiave di un dizionario",
    ),
    (
        re.compile(r"^can't multiply sequence by non-int of type '(\w+)'$"),
        lambda m: f"una sequenza si può moltiplicare solo per un intero, non per {_obj(m[1])}",
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
        re.compile(r"^not enough arguments for format string$"),
        lambda m: "mancano valori per i segnaposto % del testo da formattare",
    ),
    (
        re.compile(r"^not all arguments converted during string formatting$"),
        lambda m: "ci sono più valori che segnaposto % nel testo da formattare",
    ),
    (
        re.compile(r"^%(\w) format: an? (?:real number|number|integer) is required, not (\w+)$"),
        lambda m: f"il segnaposto %{m[1]} vuole un numero, non {_obj(m[2])}",
    ),
    (
        re.compile(r"^(\w+)\(\) missing \d+ required (?:positional |keyword-only )?arguments?: (.+)$"),
        lambda m: f"nella chiamata {_of(m[1])} manca l'argomento {_names(m[2]).replace(' and ', ' e ')}",
    ),
    (
        re.compile(r"^(\w+)\(\) got an unexpected keyword argument '(\w+)'$"),
        lambda m: f"{_callee(m[1])} non accetta l'argomento «{m[2]}»",
    ),
    (
        re.compile(r"^(\w+)\(\) got multiple values for (?:keyword )?argument '(\w+)'$"),
        lambda m: f"l'argomento «{m[2]}» è dato due volte nella chiamata {_of(m[1])}",
    ),
    (
        re.compile(r"^(\w+)(?:\(\))? (?:takes|expected|expects|missing|got|must have) .*$"),
        lambda m: f"numero o tipo di argomenti sbagliato nella chiamata {_of(m[1])}",
    ),
    (
        re.compile(r"^(?:(?:\w+\(\) argument \d+|\w+) )?must be (?:a |an )?(\w+)(?:[^,]*), not '?(\w+)'?$"),
        lambda m: f"serve un valore di tipo {_kind(m[1])}, non {_obj(m[2])}",
    ),
]

_VALUE_RULES: list[_Rule] = [
    (re.compile(r"^invalid literal for int\(\) with base \d+: (.+)$"), lambda m: f"numero intero non valido: {m[1]}"),
    (re.compile(r"^could not convert string to float: (.+)$"), lambda m: f"numero non valido: {m[1]}"),
    (re.compile(r"^Invalid isoformat string: (.+)$"), lambda m: f"data o ora non valida: {m[1]}"),
    (re.compile(r"^time data (.+?) does not match format (.+)$"), lambda m: f"la data {m[1]} non ha il formato {m[2]}"),
    (re.compile(r"^(.+) is not in list$"), lambda m: f"{m[1]} non è nella lista"),
    (
        re.compile(r"^empty range (?:for|in) randrange.*$"),
        lambda m: "intervallo vuoto: non c'è alcun valore fra cui scegliere a caso (il minimo supera il massimo?)",
    ),
    (re.compile(r"^substring not found$"), lambda m: "il testo cercato non c'è"),
    (re.compile(r"^math domain error$"), lambda m: "operazione matematica non definita per questo valore"),
    (
        re.compile(r"^too many values to unpack \(expected (\d+).*$"),
        lambda m: f"troppi valori da assegnare (attesi {m[1]})",
    ),
    (
        re.compile(r"^not enough values to unpack \(expected (\d+), got (\d+)\)$"),
        lambda m: f"valori insufficienti da assegnare (attesi {m[1]}, ricevuti {m[2]})",
    ),
    (
        re.compile(r"^(?:max|min)\(\) (?:arg is an empty sequence|iterable argument is empty)$"),
        lambda m: "minimo o massimo di una sequenza vuota",
    ),
    (
        re.compile(r"^Exceeds the limit \((\d+) digits\).*$", re.S),
        lambda m: f"numero con più di {m[1]} cifre: non si può scrivere come testo",
    ),
    (
        re.compile(r"^(?:day is out of range for month|(?:year|month|day|hour|minute|second)\b.* must be in .*)$"),
        lambda m: "data o ora inesistente (giorno, mese o ora fuori dall'intervallo)",
    ),
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
        if match:
            return f"{_obj(match[1])} non ha l'attributo «{match[2]}»"
        other = re.search(r"has no attribute '(\w+)'", text)
        # Otherwise the sandbox policy's own Italian sentence (datetime hint, format()).
        return f"l'attributo «{other[1]}» non esiste" if other else text
    if isinstance(exc, ImportError):
        return text  # the sandbox policy's own Italian sentence: «importazione di «os» non consentita»
    translated = None
    if isinstance(exc, TypeError):
        translated = _apply(_TYPE_RULES, text)
    elif isinstance(exc, ValueError):
        translated = _apply(_VALUE_RULES, text)
    if translated:
        return translated
    return unrecognised(exc)


def unrecognised(exc: BaseException) -> str:
    """An error without an Italian sentence of its own: only its type, never the library's English."""
    return f"operazione non riuscita (errore di tipo {type(exc).__name__})"


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
    message = str(exc) if _raised_by_author(exc, text) and str(exc) else describe(exc)
    return {"ok": False, "kind": "runtime", "message": message, "line": line, "code": snippet}


def _raised_by_author(exc: BaseException, text: str) -> bool:
    """Whether diagram code raised `exc` itself (`raise ValueError("importo mancante")`): its text is the author's."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames or frames[-1].filename != FILENAME or frames[-1].lineno is None:
        return False
    lines = text.splitlines()
    line = frames[-1].lineno
    return 1 <= line <= len(lines) and lines[line - 1].lstrip().startswith("raise")
