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


# Jinja's names for its tokens, as they appear in its messages.
_TOKENS = {
    "end of statement block": "%}",
    "begin of statement block": "{%",
    "end of print statement": "}}",
    "begin of print statement": "{{",
    "end of comment": "#}",
    "begin of comment": "{#",
    "end of template": "fine del testo",
    "template data / text": "testo",
    "name": "un nome",
    "integer": "un numero",
    "float": "un numero",
    "string": "un testo tra virgolette",
    "operator": "un operatore",
}


def _token(text: str) -> str:
    return _TOKENS.get(text, text)


def _closing(tags: str, inner: str | None) -> str:
    """«{% endif %}» from Jinja's "'elif' or 'else' or 'endif'" (the tag that closes the block)."""
    names = re.findall(r"'(\w+)'", tags)
    end = f"end{inner}" if inner else next((n for n in names if n.startswith("end")), names[-1] if names else "")
    return f"«{{% {end} %}}»"


def _inner(text: str) -> str | None:
    match = re.search(r"The innermost block that needs to be closed is '(\w+)'", text)
    return match[1] if match else None


_SYNTAX: list[tuple[re.Pattern[str], Callable[[re.Match[str], str], str]]] = [
    (
        re.compile(r"^Encountered unknown tag '(\w+)'\. (?:Jinja was looking|You probably made a nesting).*$", re.S),
        lambda m, t: f"«{{% {m[1]} %}}» non chiude il blocco aperto: manca {_closing(t, _inner(t))}",
    ),
    (
        re.compile(r"^Encountered unknown tag '(end\w+)'\.?$", re.S),
        lambda m, t: f"«{{% {m[1]} %}}» chiude un blocco che non è stato aperto",
    ),
    (re.compile(r"^Encountered unknown tag '(\w+)'.*$", re.S), lambda m, t: f"istruzione «{{% {m[1]} %}}» sconosciuta"),
    (
        re.compile(r"^Unexpected end of template\. Jinja was looking for the following tags: (.*)$", re.S),
        lambda m, t: f"testo finito prima di {_closing(m[1], _inner(t))}",
    ),
    (
        re.compile(r"^unexpected end of template, expected '(.+?)'\.?$", re.S),
        lambda m, t: f"testo finito prima di «{_token(m[1])}»",
    ),
    (re.compile(r"^unexpected end of template.*$", re.S), lambda m, t: "testo finito prima della fine di un blocco"),
    (re.compile(r"^Missing end of raw directive.*$", re.S), lambda m, t: "testo finito prima di «{% endraw %}»"),
    (re.compile(r"^Missing end of comment tag.*$", re.S), lambda m, t: "commento «{#» senza la chiusura «#}»"),
    (re.compile(r"^unexpected '(.+)'$", re.S), lambda m, t: f"simbolo inatteso «{_token(m[1])}»"),
    (re.compile(r"^unexpected char '(.+)'.*$", re.S), lambda m, t: f"carattere inatteso «{m[1]}»"),
    (
        re.compile(r"^Expected an expression, got '(.+)'$", re.S),
        lambda m, t: f"manca un'espressione prima di «{_token(m[1])}»",
    ),
    (
        re.compile(r"^expected token '(.+?)', got '(.+)'$", re.S),
        lambda m, t: f"atteso «{_token(m[1])}», trovato «{_token(m[2])}»",
    ),
]


def syntax_message(exc: TemplateSyntaxError) -> str:
    text = exc.message or "errore di sintassi"
    known = re.match(r"^No (filter|test) named '(\w+)'.*$", text, re.S)
    if known:
        what = "filtro" if known[1] == "filter" else "test"
        text = f"{what} «{known[2]}» sconosciuto"
        return f"riga {exc.lineno}: {text}" if exc.lineno else text
    for pattern, build in _SYNTAX:
        match = pattern.match(text)
        if match:
            text = build(match, text)
            break
    else:
        text = "errore di sintassi"
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


# Python refuses more than 20 nested loops in one function ("too many statically nested
# blocks") and each `{% for %}` compiles to one; counting every kind of block keeps well
# clear of that, and no real instruction text nests this deep.
MAX_BLOCK_NESTING = 15
_BLOCKS = (
    nodes.For,
    nodes.If,
    nodes.With,
    nodes.FilterBlock,
    nodes.CallBlock,
    nodes.Macro,
    nodes.AssignBlock,
    nodes.ScopedEvalContextModifier,
)


def _too_deep_blocks(tree: nodes.Template) -> str | None:
    """A sentence if blocks nest deeper than MAX_BLOCK_NESTING (walked without recursion)."""
    stack: list[tuple[nodes.Node, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, _BLOCKS):
            depth += 1
            if depth > MAX_BLOCK_NESTING:
                return (
                    f"riga {node.lineno}: blocchi annidati troppo in profondità (oltre {MAX_BLOCK_NESTING} "
                    "uno dentro l'altro): semplificare le istruzioni o preparare i dati con uno script"
                )
        stack.extend((child, depth) for child in node.iter_child_nodes())
    return None


def _tree_problems(env: ImmutableSandboxedEnvironment, tree: nodes.Template) -> list[str]:
    problems: list[str] = []
    deep = _too_deep_blocks(tree)
    if deep:
        problems.append(deep)
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
