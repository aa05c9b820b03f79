"""What diagram code may do: compiled with RestrictedPython plus our own rules.

Shared by the deploy-time linter (to reject bad code early, with the element id)
and by the sandbox child (which compiles again before running, never trusting the
parent). Imports only the standard library and RestrictedPython so the child can
load it without the rest of the engine.
"""

from __future__ import annotations

import ast
import datetime
import math
import re
import textwrap
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
    text = source.strip() if mode == "eval" else _dedent(source)
    result = compiler(text, filename="<diagramma>", policy=InLavPolicy)
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
            "time": datetime.time,
            "timedelta": datetime.timedelta,
            "timezone": datetime.timezone,
            "floor": math.floor,
            "ceil": math.ceil,
            "_getattr_": safer_getattr,
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
