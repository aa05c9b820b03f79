"""What diagram code may do: compiled with RestrictedPython plus our own rules.

Shared by the deploy-time linter (to reject bad code early, with the element id)
and by the sandbox child (which compiles again before running, never trusting the
parent). Imports only the standard library and RestrictedPython so the child can
load it without the rest of the engine.
"""

from __future__ import annotations

import ast
import datetime
import difflib
import math
import re
import textwrap
from collections.abc import Callable
from typing import Any

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer

MAX_SOURCE_CHARS = 20_000
# Case data the platform sets when a case starts (engine.instances): diagram code reads them,
# never rebinds or deletes them.
RESERVED_NAMES = ("codice_caso", "ambito_caso")


def reserved_message(name: str) -> str:
    return f"il nome «{name}» è riservato: lo imposta la piattaforma"


class InLavPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, with imports and a few constructs refused outright."""

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "le istruzioni import non sono consentite")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self.error(node, "le istruzioni import non sono consentite")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "la definizione di classi non è consentita")
        return node

    def visit_Global(self, node: ast.Global) -> ast.AST:
        self.error(node, "l'istruzione global non è consentita")
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        self.error(node, "l'istruzione nonlocal non è consentita")
        return node


TOO_NESTED = "codice annidato troppo in profondità: spezzarlo in più istruzioni con variabili intermedie"


class RestrictedCodeError(SyntaxError):
    """The code does not compile or breaks the policy; `problems` lists each reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def compile_code(source: str, mode: str) -> Any:
    """Compile `source` ('eval' for expressions, 'exec' for scripts) under the policy."""
    if not isinstance(source, str) or not source.strip():
        raise RestrictedCodeError(["codice vuoto"])
    if len(source) > MAX_SOURCE_CHARS:
        raise RestrictedCodeError([f"codice troppo lungo (oltre {MAX_SOURCE_CHARS} caratteri)"])
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    text = prepared_source(source, mode)
    try:
        result = compiler(text, filename="<diagramma>", policy=InLavPolicy)
    except RecursionError:  # `1+1+…+1` thousands of times, `not not … x`: Python's parser gives up
        raise RestrictedCodeError([TOO_NESTED]) from None
    if result.errors or result.code is None:
        raise RestrictedCodeError([_italian(e) for e in result.errors] or ["compilazione fallita"])
    return result.code


def check_code(source: str, mode: str) -> list[str]:
    """Problems found compiling `source`; empty when the code is acceptable."""
    try:
        compile_code(source, mode)
    except RestrictedCodeError as exc:
        return exc.problems
    return []


_TRANSLATIONS = [
    (
        re.compile(r'^Line (\d+): "(.+)" is an invalid attribute name because it starts with "_"\.?$'),
        'riga \\1: l\'attributo "\\2" non è consentito (inizia con "_")',
    ),
    (
        re.compile(r'^Line (\d+): "(.+)" is an invalid variable name because it starts with "_"\.?$'),
        r'riga \1: il nome "\2" non è consentito (inizia con "_")',
    ),
    (re.compile(r'^Line (\d+): "(.+)" is a reserved name\.?$'), r'riga \1: il nome "\2" è riservato'),
    (re.compile(r"^Line (\d+): (Eval|Exec) calls are not allowed\.?$"), r"riga \1: eval ed exec non sono consentiti"),
    (re.compile(r"^Line (\d+): SyntaxError: (.+?) at statement: .*$", re.S), r"riga \1: errore di sintassi (\2)"),
    (re.compile(r"^Line (\d+): (.+)$", re.S), r"riga \1: \2"),
]


def _italian(message: str) -> str:
    for pattern, replacement in _TRANSLATIONS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def _dedent(source: str) -> str:
    return textwrap.dedent(source).strip("\n")


def prepared_source(source: str, mode: str) -> str:
    """The text `compile_code` actually compiles (line and column numbers refer to it)."""
    return source.strip() if mode == "eval" else _dedent(source)


def _inplace(op: str, target: Any, value: Any) -> Any:
    ops = {
        "+=": lambda a, b: a + b,
        "-=": lambda a, b: a - b,
        "*=": lambda a, b: a * b,
        "/=": lambda a, b: a / b,
        "//=": lambda a, b: a // b,
        "%=": lambda a, b: a % b,
        "**=": lambda a, b: a**b,
        "|=": lambda a, b: a | b,
        "&=": lambda a, b: a & b,
    }
    if op not in ops:
        raise SyntaxError(f"operatore {op} non consentito")
    return ops[op](target, value)


# C code of the standard library (date.today, strftime, strptime) imports a few modules
# through the builtins' __import__. Diagram code itself can never name __import__ (the
# policy refuses names starting with "_"), so this is reachable only from inside them.
_INTERNAL_IMPORTS = frozenset({"time", "_strptime", "calendar", "locale", "_locale", "datetime", "_datetime"})


def _internal_import(name: str, *args: Any, **kwargs: Any) -> Any:
    if name not in _INTERNAL_IMPORTS:
        raise ImportError(f"importazione di «{name}» non consentita")
    return __import__(name, *args, **kwargs)


_MISSING = object()
_safer_getattr: Callable[..., Any] = safer_getattr  # keeps its guards: "_" names, str.format

# `datetime` is the class datetime.datetime (as after `from datetime import datetime`),
# not the module that SpiffArena's environment binds to the same name. What a module-style
# `datetime.X` would mean on the class is either missing or a different thing
# (`datetime.date` is the instance method, not the class): refuse those names with the fix.
DATETIME_MODULE_NAMES = {
    "datetime": "datetime",
    "date": "date",
    "time": "un orario si ottiene da un datetime: `datetime.now(timezone.utc).time()`",
    "timedelta": "timedelta",
    "timezone": "timezone",
    "tzinfo": "timezone",
    "UTC": "timezone.utc",
    "MINYEAR": "1",
    "MAXYEAR": "9999",
}


def datetime_module_hint(name: str) -> str:
    fix = DATETIME_MODULE_NAMES[name]
    advice = fix if " " in fix else f"al posto di «datetime.{name}» scrivere «{fix}»"
    return f"«datetime» è la classe datetime (come dopo `from datetime import datetime`), non il modulo: {advice}"


def _type_label(obj: Any) -> str:
    if obj is None:
        return "il valore None"
    if isinstance(obj, type):
        return f"la classe {obj.__name__}"
    return f"l'oggetto {type(obj).__name__}"


def _missing_attribute(obj: Any, name: str) -> str:
    message = f"{_type_label(obj)} non ha l'attributo «{name}»"
    if isinstance(obj, dict) and name in obj:
        return f"{message} (per leggere la chiave scrivere ['{name}'] oppure .get('{name}'))"
    public = [n for n in dir(obj) if not n.startswith("_")]
    close = difflib.get_close_matches(name, public, n=1)
    return f"{message} (forse «{close[0]}»?)" if close else message


def guarded_getattr(obj: Any, name: str) -> Any:
    """`obj.name` as Python does it (AttributeError when missing), with RestrictedPython's guards."""
    if obj is datetime.datetime and name in DATETIME_MODULE_NAMES:
        raise AttributeError(datetime_module_hint(name))
    if name in ("format", "format_map") and (isinstance(obj, str) or obj is str):
        raise AttributeError("i metodi format() e format_map() dei testi non sono consentiti: usare una f-string")
    value = _safer_getattr(obj, name, _MISSING)
    if value is _MISSING:
        raise AttributeError(_missing_attribute(obj, name))
    return value


def _apply(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _guarded_iter(obj: Any) -> Any:
    return iter(obj)


def build_builtins() -> dict[str, Any]:
    """The names a diagram script can see besides its task data."""
    allowed = dict(safe_builtins)
    for name in ("setattr", "delattr", "__build_class__", "SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        allowed.pop(name, None)
    allowed.update(
        {
            "list": list,
            "dict": dict,
            "set": set,
            "frozenset": frozenset,
            "min": min,
            "max": max,
            "sum": sum,
            "any": any,
            "all": all,
            "enumerate": enumerate,
            "map": map,
            "filter": filter,
            "reversed": reversed,
            "sorted": sorted,
            "tuple": tuple,
            "zip": zip,
            "datetime": datetime.datetime,
            "date": datetime.date,
            "timedelta": datetime.timedelta,
            "timezone": datetime.timezone,
            "floor": math.floor,
            "ceil": math.ceil,
            "_getattr_": guarded_getattr,
            "_getitem_": default_guarded_getitem,
            "_getiter_": _guarded_iter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": full_write_guard,
            "_inplacevar_": _inplace,
            "_print_": PrintCollector,
            "_apply_": _apply,
            "__import__": _internal_import,
        }
    )
    return allowed
