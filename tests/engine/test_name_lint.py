"""Deploy-time lint of names: calls of names defined nowhere are refused with their element,
while every bundle that is meant to deploy stays clean (issue #8: no false positives)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.definitions import check_bundle, read_bundle_paths
from engine.sandbox import build_builtins, bundle_names, name_problems
from tests import builders

ROOT = Path(__file__).parents[2]
BUILTINS = set(build_builtins())

DEPLOYABLE = {
    "regional model": [ROOT / "processes", ROOT / "forms" / "schemas"],
    "sample": [ROOT / "tests" / "bundles" / "sample"],
    "constructs": [ROOT / "tests" / "bundles" / "constructs"],
    "web forms": [ROOT / "tests" / "web" / "bundles" / "forms"],
    "web journey": [ROOT / "tests" / "web" / "bundles" / "journey"],
}


@pytest.mark.parametrize("name", sorted(DEPLOYABLE))
def test_bundles_meant_to_deploy_have_no_name_problems(name: str) -> None:
    check = check_bundle(None, read_bundle_paths(DEPLOYABLE[name]))
    assert [str(p) for p in check.problems] == []


def problems(source: str, mode: str = "exec", declared: frozenset[str] = frozenset()) -> list[str]:
    bundle = bundle_names([(source, mode)], declared)
    return [str(p) for p in name_problems(source, mode, BUILTINS, bundle)]


def test_calls_of_names_defined_nowhere_are_reported_with_line_and_code() -> None:
    assert problems("a = 1\nv = get_env()") == [
        "riga 2: `get_env()`: la funzione «get_env» non esiste: non è tra quelle disponibili negli script "
        "e nessuno script la definisce"
    ]
    assert problems("t = time.time()") == [
        "riga 1: `time.time()`: il modulo «time» non è disponibile negli script (niente import)"
    ]
    assert [p.split(": ")[0] for p in problems("x = datetime.timedelta(days=1)")] == ["riga 1"]
    assert problems("sorted(valori) or get_env()", "eval") == [
        "riga 1: `get_env()`: la funzione «get_env» non esiste: non è tra quelle disponibili negli script "
        "e nessuno script la definisce"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "def conta(xs):\n    return len(xs)\nn = conta(voci)",
        "doppio = lambda v: v * 2\nn = doppio(3)",
        "fs = [lambda: 1]\nn = [f() for f in fs]",
        "def applica(fn, v):\n    return fn(v)\nn = applica(str, 1)",
        "try:\n    x = 1\nexcept ValueError as errore:\n    errore()",
        "n = datetime.now(timezone.utc).date().isoformat()",
        "n = nota.upper().strip()",  # a method of data: its existence depends on the data, checked at run time
        "time = {'ore': 1}\nv = time.get('ore')",  # a variable named like a module
        "print('controllo', codice_caso)",  # allowed by the sandbox (docs/scripting.md), output discarded
    ],
)
def test_names_bound_anywhere_in_the_code_count_as_defined(source: str) -> None:
    assert problems(source) == []


def test_names_declared_outside_code_count_as_defined() -> None:
    assert problems("v = calcola_punteggio(1)", declared=frozenset({"calcola_punteggio"})) == []
    assert problems("v = json.dumps(x)", declared=frozenset({"json"})) == []


@pytest.mark.parametrize(
    "definition",
    ["def aiuto(x):\n    return x", "aiuto = lambda x: x", "def altra(aiuto):\n    return aiuto(1)"],
)
def test_a_function_defined_in_another_script_does_not_count(definition: str) -> None:
    """Review of #8: only data is kept between scripts, so a function defined in one script
    does not exist in another; calling it there used to pass the check and fail at run time."""
    files = builders.form_then_script("v = aiuto(1)")
    other = builders.form_then_script(definition, process_id="altro")
    assert [p.element for p in check_bundle(None, {**files, **other}).problems] == ["calcola"]
    data = builders.form_then_script("aiuto = 'testo'", process_id="altro")  # data is kept
    assert check_bundle(None, {**files, **data}).problems == []


def test_form_fields_and_dmn_outputs_count_as_defined() -> None:
    sample = read_bundle_paths([ROOT / "tests" / "bundles" / "sample"])  # its DMN table outputs `priorita`
    extra = builders.form_then_script("v = priorita() if punteggio() else None", process_id="usa_nomi")
    field = {"punteggio": {"type": "integer", "title": "Punteggio"}}
    extra["nota.schema.json"] = builders.form_json({"type": "object", "properties": field})
    assert check_bundle(None, {**sample, **extra}).problems == []
    extra["nota.schema.json"] = builders.form_json()
    assert [p.message.split("`")[1] for p in check_bundle(None, {**sample, **extra}).problems] == ["punteggio()"]
    assert [p.message.split("`")[1] for p in check_bundle(None, extra).problems] == ["priorita()", "punteggio()"]
