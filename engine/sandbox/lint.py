"""Deploy-time name check of a bundle's code: calls of names that exist nowhere.

A script that calls `get_env()` compiles fine and fails only when a case reaches it.
Task data are JSON (never callable), so a call can only work on a sandbox function or on
a function the bundle's own code defines. To stay free of false positives the check is
generous about what counts as "defined": the sandbox globals, every name the same piece of code binds anywhere
(`def`, `lambda` and their parameters too), every name any code of the bundle binds as
data (assignments, loop and comprehension variables, `except … as`, walrus: functions
are not kept between scripts, only data is), and every variable the bundle declares
elsewhere (form fields, DMN outputs, message variables, multi-instance items, data
objects — collected by the caller). Scope is otherwise ignored on purpose.

Reported, each with its line and code:
- a call `f(...)` of a name defined nowhere;
- a call rooted in a module the sandbox does not offer (`time.time()`, `json.dumps(x)`),
  unless the bundle defines that name;
- `datetime.datetime`, `datetime.timedelta`… : module-style use of `datetime`, which here
  is the class (SpiffArena binds the module to the same name).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from engine.sandbox.policy import (
    DATETIME_MODULE_NAMES,
    RESERVED_NAMES,
    datetime_module_hint,
    prepared_source,
    reserved_message,
)

# Modules that other BPMN engines' script environments offer and ours does not.
FOREIGN_MODULES = frozenset(
    {"time", "json", "math", "random", "re", "os", "sys", "uuid", "decimal", "dateparser", "pytz", "calendar"}
)
MAX_SNIPPET = 80


@dataclass(frozen=True)
class NameProblem:
    """One finding: the line (in the code item), the code concerned and why."""

    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"riga {self.line}: `{self.code}`: {self.message}"


def _tree(source: str, mode: str) -> ast.AST | None:
    try:
        return ast.parse(prepared_source(source, mode), mode="eval" if mode == "eval" else "exec")
    except (SyntaxError, ValueError, RecursionError):
        return None  # reported by the compiler check


def _bindings(tree: ast.AST) -> Iterable[tuple[ast.AST, str]]:
    """(node, name) for every name the code binds or deletes, in any scope."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            yield node, node.id
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node, node.name
        elif isinstance(node, ast.arg):
            yield node, node.arg
        elif isinstance(node, ast.ExceptHandler) and node.name:
            yield node, node.name
        elif isinstance(node, ast.alias):
            yield node, (node.asname or node.name).split(".")[0]
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            yield node, node.name
        elif isinstance(node, ast.MatchMapping) and node.rest:
            yield node, node.rest


def bound_names(source: str, mode: str) -> set[str]:
    """Every name a piece of code binds, in any scope."""
    tree = _tree(source, mode)
    return set() if tree is None else {name for _node, name in _bindings(tree)}


def kept_names(source: str, mode: str) -> set[str]:
    """Names a piece of code binds that can outlive it as case data.

    Only data is kept between scripts (the sandbox drops callables from the result), so a
    name bound only by `def`, `class` or `name = lambda …`, or a function's parameter,
    is defined for that piece of code alone.
    """
    tree = _tree(source, mode)
    if tree is None:
        return set()
    functions: set[str] = set()
    kept: set[str] = set()
    lambdas = {
        id(target)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Lambda)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
    }
    for node, name in _bindings(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.arg)) or id(node) in lambdas:
            functions.add(name)
        else:
            kept.add(name)
    return kept


def reserved_problems(source: str, mode: str) -> list[NameProblem]:
    """Assignments, `del`, loop or `with` targets… of a name the platform sets (`codice_caso`)."""
    tree = _tree(source, mode)
    if tree is None:
        return []
    text = prepared_source(source, mode)
    found = {
        NameProblem(getattr(node, "lineno", 1), _snippet(text, node) or name, reserved_message(name))
        for node, name in _bindings(tree)
        if name in RESERVED_NAMES
    }
    return sorted(found, key=lambda p: (p.line, p.code))


def _snippet(text: str, node: ast.AST) -> str:
    code = ast.get_source_segment(text, node) or ""
    code = " ".join(code.split())
    return code if len(code) <= MAX_SNIPPET else code[: MAX_SNIPPET - 1] + "…"


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def name_problems(source: str, mode: str, builtins: set[str], bundle: set[str]) -> list[NameProblem]:
    """Calls of names defined nowhere and module-style uses of `datetime` in one piece of code.

    `builtins` are the sandbox globals, `bundle` the names the bundle itself defines
    (see `bundle_names`).
    """
    defined = builtins | bundle | bound_names(source, mode)
    if "_print_" in builtins:
        defined = defined | {"print"}  # RestrictedPython rewrites print(...) onto the `_print_` collector
    tree = _tree(source, mode)
    if tree is None:
        return []
    text = prepared_source(source, mode)
    found: list[NameProblem] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id not in defined:
                message = f"la funzione «{func.id}» non esiste: non è tra quelle disponibili negli script"
                found.append(NameProblem(node.lineno, _snippet(text, node), message + " e nessuno script la definisce"))
            elif isinstance(func, ast.Attribute):
                root = _root(func)
                if root in FOREIGN_MODULES and root not in defined:
                    message = f"il modulo «{root}» non è disponibile negli script (niente import)"
                    found.append(NameProblem(node.lineno, _snippet(text, node), message))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "datetime"
            and node.attr in DATETIME_MODULE_NAMES
            and "datetime" not in bundle
        ):
            found.append(NameProblem(node.lineno, _snippet(text, node), datetime_module_hint(node.attr)))
    return sorted(found, key=lambda p: (p.line, p.code))


def bundle_names(code: Iterable[tuple[str, str]], declared: Iterable[str]) -> set[str]:
    """Names a bundle defines: bound by any of its code, or declared by forms, DMN, messages…"""
    names = set(declared)
    for source, mode in code:
        names |= kept_names(source, mode)
    return names
