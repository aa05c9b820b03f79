"""Instruction templates: checked at deploy with the element id, filled in the sandbox with
the scripts' limits (issue #8: a hostile template used to stall the web process)."""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError
from engine.sandbox import SandboxFailure, ScriptPool, check_template
from engine.taskview import fill_instructions
from tests import builders
from tests.conftest import deploy

HOSTILE = "{{ (9**(9**7)) % 10 }}"  # the input: Jinja folds the constant while compiling
NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


@pytest.fixture(autouse=True)
def _forget_hostile_templates():
    from engine.taskview import hostile_templates

    hostile_templates.clear()
    yield
    hostile_templates.clear()


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{% for %}", "riga 1: manca un'espressione"),
        ("Ciao {{ nome|maiuscolo }}", "riga 1: filtro «maiuscolo» sconosciuto"),
        ("{% if eta is adulto %}sì{% endif %}", "riga 1: test «adulto» sconosciuto"),
        ('{% include "altro.txt" %}', "extends, include e import non sono consentiti"),
        ("{% for x in lista %}\n{{ x }}", "riga 2: testo finito prima di «{% endfor %}»"),
        ("{{ 1" + "+1" * 9000 + " }}", "annidamento troppo profondo"),  # once a RecursionError traceback
        ("{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}", "annidamento troppo profondo"),
        # Review of #8: passed the deploy check and failed on view with Python's
        # «SyntaxError: too many statically nested blocks».
        ("{% for i in x %}" * 30 + "a" + "{% endfor %}" * 30, "riga 1: blocchi annidati troppo in profondità"),
        # Jinja's token names («end of statement block») and a wrong suggestion («{% elif %}»).
        ("{% if x %}ciao", "riga 1: testo finito prima di «{% endif %}»"),
        ("{% set %}", "riga 1: manca un'espressione prima di «%}»"),
        ("{{ 1 2 }}", "riga 1: atteso «}}», trovato «un numero»"),
        ("{% if x %}a{% endfor %}", "riga 1: «{% endfor %}» non chiude il blocco aperto: manca «{% endif %}»"),
        ("{% endif %}", "riga 1: «{% endif %}» chiude un blocco che non è stato aperto"),
        ("{{ x ", "riga 1: testo finito prima di «}}»"),
    ],
)
def test_bad_templates_never_get_deployed(db, template: str, expected: str) -> None:
    import re

    with pytest.raises(DefinitionError) as err:
        deploy(db, files=builders.instructions_bundle(template))
    [problem] = err.value.problems
    assert (problem.file, problem.element) == ("istruzioni.bpmn", "leggi")
    assert problem.message.startswith("istruzioni non valide: ") and expected in problem.message
    assert not re.search(r"\b(?:statement|block|print|integer|name|Syntax\w*)\b", problem.message), problem.message


def test_blocks_nested_as_deep_as_python_takes_are_deployed(db) -> None:
    from engine.sandbox.templates import MAX_BLOCK_NESTING

    nested = "{% for i in x %}" * MAX_BLOCK_NESTING + "a" + "{% endfor %}" * MAX_BLOCK_NESTING
    assert check_template(nested) == []
    assert fill_instructions(nested, {"x": [1]}) == ("a", None), "and they render"


def test_the_deploy_check_parses_without_compiling(monkeypatch) -> None:
    # Compiling would fold 9**(9**7) in the web process: the check must only parse.
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the deploy check compiled a template")

    monkeypatch.setattr(ImmutableSandboxedEnvironment, "compile", refuse)
    assert check_template(HOSTILE) == [], "valid Jinja: its cost is the sandbox's business"
    assert check_template("{{ x|nope }}") == ["riga 1: filtro «nope» sconosciuto"]


def test_a_hostile_template_is_stopped_by_the_sandbox_deadline() -> None:
    pool = ScriptPool(size=1, timeout=0.3, memory_mb=256)
    try:
        with pytest.raises(SandboxFailure) as err:
            pool.render(HOSTILE, {})
        assert err.value.kind == "timeout"
        assert pool.render("Caso {{ codice }}", {"codice": "MI-1"}) == "Caso MI-1", "the pool keeps working"
    finally:
        pool.close()


def test_instructions_are_filled_with_task_data_or_shown_as_written() -> None:
    assert fill_instructions("Caso **{{ codice }}**", {"codice": "MI-1"}) == ("Caso **MI-1**", None)
    text, problem = fill_instructions("Totale {{ 1 / zero }}", {"zero": 0})
    assert text == "Totale {{ 1 / zero }}" and problem is not None and "riga 1: divisione per zero" in problem


def test_hostile_templates_cannot_take_the_children_that_run_case_steps() -> None:
    """Templates have a pool of their own: while every template child is busy with a
    hostile render, a script still finds a free child at once."""
    import threading
    import time

    from engine import sandbox

    before = sandbox.get_pool()
    scripts = sandbox.configure_pool(2, 3.0, 256, 64)
    renders = sandbox.get_render_pool()
    try:
        assert renders is not scripts and renders.size == 1
        # As many hostile views as the scripts' pool has children.
        loops = "{% for i in range(10**5) %}{% for j in range(10**5) %}{% endfor %}{% endfor %}"  # time, not memory
        hostile = [threading.Thread(target=fill_instructions, args=(loops, {})) for _ in range(scripts.size)]
        for thread in hostile:
            thread.start()
        time.sleep(0.3)  # the render child is now looping
        assert scripts.evaluate("1 + 1", {}) == 2
        # Answered while the renders still run (had they shared the children, the script
        # would have waited for one of them to time out).
        assert any(thread.is_alive() for thread in hostile)
        for thread in hostile:
            thread.join()
    finally:
        sandbox.configure_pool(before.size, before.timeout, before.memory_bytes // (1024 * 1024), before.max_depth)


def test_views_of_a_hostile_template_cannot_make_other_instructions_wait(monkeypatch) -> None:
    """Review of #8: eight views of the nested loops held every render child, so every other
    task page with instructions waited. A view now waits for a child only briefly, and a
    template that timed out is shown as written at once on the next view."""
    import threading

    from engine import sandbox
    from engine.taskview import BUSY, TOO_COSTLY

    before = sandbox.get_pool()
    sandbox.configure_pool(2, 4.0, 256, 64)
    renders = sandbox.get_render_pool()
    try:
        assert renders.size == 1
        answers: list[tuple[str, str | None]] = []
        started = threading.Event()
        real_checkout = renders._checkout

        def checkout(wait: float | None = None):  # type: ignore[no-untyped-def]
            child = real_checkout(wait)
            started.set()
            return child

        monkeypatch.setattr(renders, "_checkout", checkout)
        hostile = threading.Thread(target=lambda: answers.append(fill_instructions(NESTED_LOOPS, {})))
        hostile.start()
        assert started.wait(10)
        monkeypatch.setattr(renders, "_checkout", real_checkout)
        benign = fill_instructions("Caso {{ codice }}", {"codice": "MI-1"})
        assert hostile.is_alive(), "the benign view answered while the hostile render still held the only child"
        assert benign in {("Caso {{ codice }}", BUSY), ("Caso MI-1", None)}
        assert "sistema è occupato: ricaricare la pagina tra poco" in BUSY
        hostile.join()
        assert answers == [(NESTED_LOOPS, TOO_COSTLY)]

        def refuse(*args: object, **kwargs: object) -> str:
            raise AssertionError("a template that timed out was rendered again")

        monkeypatch.setattr(renders, "render", refuse)
        assert fill_instructions(NESTED_LOOPS, {}) == (NESTED_LOOPS, TOO_COSTLY)
    finally:
        sandbox.configure_pool(before.size, before.timeout, before.memory_bytes // (1024 * 1024), before.max_depth)


def test_the_render_pool_gives_up_waiting_for_a_child_with_busy() -> None:
    pool = ScriptPool(size=1, timeout=5.0, memory_mb=256)
    try:
        child = pool._checkout()
        with pytest.raises(SandboxFailure) as err:
            pool.render("Caso {{ codice }}", {"codice": "MI-1"}, wait=0.05)
        assert err.value.kind == "busy"
        pool._checkin(child, True)
        assert pool.render("Caso {{ codice }}", {"codice": "MI-1"}, wait=0.05) == "Caso MI-1"
    finally:
        pool.close()


@pytest.mark.parametrize(
    "template, expected",
    [
        # Review of #8: each of these came through in Python's or Jinja's English.
        (
            "{{ lipsum(1, False, 20, 10) }}",
            "riga 1: intervallo vuoto: non c'è alcun valore fra cui scegliere a caso",
        ),  # ValueError: empty range for randrange()
        ("{{ '%s %s'|format(1) }}", "riga 1: mancano valori per i segnaposto % del testo da formattare"),
        ("{% if x == 1 %}\n{{ x|xxx }}{% endif %}", "riga 2: filtro «xxx» sconosciuto"),  # TemplateRuntimeError
        ("{{ 2 ** 'a' }}", "riga 1: operazione ** non possibile tra intero e testo"),  # «** or pow()»
        ("{{ 'a'|int(1, 2, 3) }}", "riga 1: numero o tipo di argomenti sbagliato nella chiamata del filtro «int»"),
        ("{{ range() }}", "riga 1: numero o tipo di argomenti sbagliato nella chiamata della funzione «range»"),
        ("{{ cycler() }}", "riga 1: operazione non riuscita (errore di tipo RuntimeError)"),  # anything else
    ],
)
def test_errors_while_filling_instructions_are_italian_sentences(template: str, expected: str) -> None:
    import re

    text, problem = fill_instructions(template, {"x": 1})
    assert text == template and problem is not None
    assert expected in problem
    english = r"\b(?:range|argument|arguments|format|string|named|found|object|or pow|given|provided|item)\b"
    assert not re.search(english, problem.replace("«range»", "")), problem
