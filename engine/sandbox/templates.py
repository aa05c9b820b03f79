"""Task instructions: Jinja templates written in diagrams, checked at deploy, rendered in the sandbox.

An instruction text is a Jinja template (SpiffArena's `instructionsForEndUser`
convention) filled with the task's data. Jinja's own sandbox keeps a template away from
Python internals but not from the CPU: `{{ 9**(9**7) }}` or two nested loops take
seconds, and Jinja's compiler folds constant expressions while *compiling*. So the web
process only ever parses (to check a template at deploy); compiling and rendering happen
in the sandbox child (`child.py`, op "render") with the scripts' deadline and memory cap.

Standard library and Jinja only: the child loads this file by path.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from typing import Any

from jinja2 import TemplateRuntimeError, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "TemplateSyntaxError",
    "check_template",
    "compile_template",
    "environment",
    "fill",
    "runtime_message",
    "syntax_message",
]

MAX_TEMPLATE = 20_000
MAX_OUTPUT = 50_000


def environment() -> ImmutableSandboxedEnvironment:
    """The one Jinja configuration used to check and to render instructions."""
    return ImmutableSandboxedEnvironment(autoescape=False)


_SYNTAX = [
    (re.compile(r"^Encountered unknown tag '(\w+)'.*$", re.S), r"istruzione «{% \1 %}» sconosciuta"),
    (
        re.compile(r"^Unexpected end of template\. Jinja was looking for the following tags: '(\w+)'.*$", re.S),
        r"testo finito prima di «{% \1 %}»",
    ),
    (re.compile(r"^unexpected end of template.*$", re.S), "testo finito prima della chiusura di un blocco"),
    (re.compile(r"^unexpected '(.+)'$", re.S), r"simbolo inatteso «\1»"),
    (re.compile(r"^unexpected char '(.+)'.*$", re.S), r"carattere inatteso «\1»"),
    (re.compile(r"^Expected an expression, got '(.+)'$", re.S), r"manca un'espressione (trovato «\1»)"),
    (re.compile(r"^expected token '(.+?)', got '(.+)'$", re.S), r"atteso «\1», trovato «\2»"),
]


def syntax_message(exc: TemplateSyntaxError) -> str:
    text = exc.message or "errore di sintassi"
    known = re.match(r"^No (filter|test) named '(\w+)'.*$", text, re.S)
    if known:
        what = "filtro" if known[1] == "filter" else "test"
        text = f"{what} «{known[2]}» sconosciuto"
        return f"riga {exc.lineno}: {text}" if exc.lineno else text
    for pattern, replacement in _SYNTAX:
        if pattern.match(text):
            text = pattern.sub(replacement, text)
            break
    else:
        text = f"errore di sintassi ({text})"
    return f"riga {exc.lineno}: {text}" if exc.lineno else text


def check_template(source: str) -> list[str]:
    """Problems of an instruction template (syntax, unknown filters or tests); never compiles it."""
    if len(source) > MAX_TEMPLATE:
        return [f"istruzioni troppo lunghe (oltre {MAX_TEMPLATE} caratteri)"]
    env = environment()
    try:
        return _tree_problems(env, env.parse(source))
    except TemplateSyntaxError as exc:
        return [syntax_message(exc)]
    except RecursionError:  # `{{ 1+1+…+1 }}` or ((((…)))) thousands deep: Jinja's parser and walker recurse
        return [TOO_NESTED]


TOO_NESTED = "annidamento troppo profondo: spezzare l'espressione in più passi con {% set %}"


def _tree_problems(env: ImmutableSandboxedEnvironment, tree: nodes.Template) -> list[str]:
    problems: list[str] = []
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = env.filters if isinstance(node, nodes.Filter) else env.tests
        what = "filtro" if isinstance(node, nodes.Filter) else "test"
        if node.name not in known:
            problems.append(f"riga {node.lineno}: {what} «{node.name}» sconosciuto")
    for other in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        problems.append(
            f"riga {other.lineno}: extends, include e import non sono consentiti (le istruzioni sono un testo solo)"
        )
    return problems


def compile_template(source: str) -> Any:
    """Compile a template; only ever called inside the sandbox child (compiling folds constants)."""
    return environment().from_string(source[:MAX_TEMPLATE])


def fill(template: Any, data: dict[str, Any]) -> str:
    """Render a compiled template with task data, cut to MAX_OUTPUT characters."""
    text: str = template.render(data)
    return text[:MAX_OUTPUT]


def runtime_message(exc: BaseException, describe: Callable[[BaseException], str]) -> str:
    """Italian sentence for an error raised while filling a template, with its line if known."""
    if isinstance(exc, TemplateSyntaxError):  # includes TemplateAssertionError (unknown filter at compile)
        return syntax_message(exc)
    if isinstance(exc, SecurityError):
        text = "operazione non consentita nelle istruzioni"
    elif isinstance(exc, UndefinedError):
        name = re.search(r"'([^']+)' is undefined", str(exc))
        text = f"«{name[1]}» non è definito" if name else "valore non definito usato come funzione o oggetto"
    elif isinstance(exc, TemplateRuntimeError):
        # An unknown filter or test inside a branch is only looked up when the branch runs.
        known = re.match(r"^No (filter|test) named '(\w+)'", str(exc))
        if known:
            text = f"{'filtro' if known[1] == 'filter' else 'test'} «{known[2]}» sconosciuto"
        else:
            text = f"operazione non riuscita (errore di tipo {type(exc).__name__})"
    else:
        text = describe(exc)
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
    return f"riga {lines[-1]}: {text}" if lines else text
