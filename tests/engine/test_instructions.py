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
    ],
)
def test_bad_templates_never_get_deployed(db, template: str, expected: str) -> None:
    with pytest.raises(DefinitionError) as err:
        deploy(db, files=builders.instructions_bundle(template))
    [problem] = err.value.problems
    assert (problem.file, problem.element) == ("istruzioni.bpmn", "leggi")
    assert problem.message.startswith("istruzioni non valide: ") and expected in problem.message


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
