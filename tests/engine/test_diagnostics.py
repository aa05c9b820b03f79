"""Every deploy diagnostic is one Italian sentence, «file › element › cause», with no
Python repr, not cut off, stable from run to run, reported once, under the right count."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from engine import check_bundle
from engine.errors import DefinitionError, problems_heading
from tests import builders as b
from web.cli import app

S = '<bpmn:startEvent id="start"/>'
E = '<bpmn:endEvent id="fine"/>'


def _flows(*pairs: tuple[str, str]) -> str:
    return "".join(b.flow(f"f{i}", source, target) for i, (source, target) in enumerate(pairs, start=1))


def _timer(spec: str) -> str:
    return (
        S + f'<bpmn:intermediateCatchEvent id="attesa"><bpmn:timerEventDefinition id="td">{spec}'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        + E
        + _flows(("start", "attesa"), ("attesa", "fine"))
    )


# name → (process body, the element the first problem must name)
BROKEN_BODIES: dict[str, tuple[str, str | None]] = {
    "task without id": (
        S
        + '<bpmn:scriptTask name="x"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>'
        + E
        + _flows(("start", "fine")),
        "p",
    ),
    "flow to a missing target": (S + E + b.flow("f1", "start", "nessuno"), "f1"),
    "flow from a missing source": (S + E + _flows(("start", "fine")) + b.flow("fx", "nessuno", "fine"), "fx"),
    "two flows out of a script task": (
        S
        + b.script_task("t", "a = 1")
        + E
        + '<bpmn:endEvent id="fine2"/>'
        + _flows(("start", "t"), ("t", "fine"), ("t", "fine2")),
        "t",
    ),
    "timer without a time": (_timer(""), "attesa"),
    "timer with a bad duration": (
        _timer("<bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">'P1X'</bpmn:timeDuration>"),
        "attesa",
    ),
    "condition with a syntax error": (
        S
        + '<bpmn:exclusiveGateway id="g" default="f3"/>'
        + E
        + '<bpmn:endEvent id="fine2"/>'
        + b.flow("f1", "start", "g")
        + b.flow("f2", "g", "fine", "a ==")
        + b.flow("f3", "g", "fine2"),
        "g → fine",
    ),
    "gateway flow without condition": (
        S
        + '<bpmn:exclusiveGateway id="g"/>'
        + E
        + '<bpmn:endEvent id="fine2"/>'
        + b.flow("f1", "start", "g")
        + b.flow("f2", "g", "fine", "a == 1")
        + b.flow("f3", "g", "fine2"),
        "f3",
    ),
    "unknown called process": (
        S
        + '<bpmn:callActivity id="chiama" calledElement="altrove"/>'
        + E
        + _flows(("start", "chiama"), ("chiama", "fine")),
        "chiama",
    ),
    "call activity without a target": (
        S + '<bpmn:callActivity id="chiama"/>' + E + _flows(("start", "chiama"), ("chiama", "fine")),
        "chiama",
    ),
    "duplicate id": (
        S + b.script_task("t", "a = 1") + b.script_task("t", "b = 1") + E + _flows(("start", "t"), ("t", "fine")),
        "t",
    ),
    "unknown element": (S + '\n<bpmn:nonEsiste id="x"/>\n' + E + _flows(("start", "fine")), "x"),
    "no start event": (b.script_task("t", "a = 1") + E + _flows(("t", "fine")), "p"),
    "undefined message": (
        S + '<bpmn:intermediateCatchEvent id="m"><bpmn:messageEventDefinition id="md" messageRef="manca"/>'
        "</bpmn:intermediateCatchEvent>" + E + _flows(("start", "m"), ("m", "fine")),
        "m",
    ),
    "multi-instance without cardinality": (
        S + '<bpmn:scriptTask id="t"><bpmn:multiInstanceLoopCharacteristics/><bpmn:script>a = 1</bpmn:script>'
        "</bpmn:scriptTask>" + E + _flows(("start", "t"), ("t", "fine")),
        "t",
    ),
    "unsupported gateway": (
        S + '<bpmn:complexGateway id="cg"/>' + E + _flows(("start", "cg"), ("cg", "fine")),
        "cg",
    ),
    "event-based gateway before a task": (
        S
        + '<bpmn:eventBasedGateway id="eg"/>'
        + b.script_task("t", "a = 1")
        + E
        + _flows(("start", "eg"), ("eg", "t"), ("t", "fine")),
        "eg",
    ),
    "default that is not an outgoing flow": (
        S
        + '<bpmn:exclusiveGateway id="g" default="manca"/>'
        + E
        + b.flow("f1", "start", "g")
        + b.flow("f2", "g", "fine", "a == 1"),
        "g",
    ),
    "boundary event on a missing task": (
        S + '<bpmn:boundaryEvent id="be" attachedToRef="manca"><bpmn:timerEventDefinition id="td">'
        "<bpmn:timeDuration>'P1D'</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        + E
        + _flows(("start", "fine"), ("be", "fine")),
        "be",
    ),
    "bad attribute value": (
        S + '<bpmn:exclusiveGateway id="g" gatewayDirection="Sideways"/>' + E + _flows(("start", "g"), ("g", "fine")),
        "g",
    ),
    "subprocess without end": (
        S
        + '<bpmn:subProcess id="sp"><bpmn:startEvent id="s2"/></bpmn:subProcess>'
        + E
        + _flows(("start", "sp"), ("sp", "fine")),
        "sp",
    ),
    "script with a syntax error": (S + b.script_task("t", "x = (") + E + _flows(("start", "t"), ("t", "fine")), "t"),
}

ENGLISH = re.compile(
    r"\b(not|is|are|must|should|supported|found|missing|expected|element|attribute|invalid|error|the|of|for|with)\b"
)
REPR = re.compile(r"object at 0x|\{'|SpiffWorkflow\.|\w+(Error|Exception)\(|Traceback|<\w+[ >]|\\n")


def _bundle(body: str) -> dict[str, bytes]:
    return {"p.bpmn": b.document(b.process("p", body, [])), "nota.schema.json": b.form_json()}


def _other_broken_bundles() -> dict[str, tuple[dict[str, bytes], str, str | None]]:
    """name → (files, file of the first problem, its element)."""
    ok = _bundle(S + E + _flows(("start", "fine")))
    eight = "".join(b.user_task(f"u{i}") for i in range(8))
    chain = [("start", "u0"), *((f"u{i}", f"u{i + 1}") for i in range(7)), ("u7", "fine")]
    forms = {
        "p.bpmn": b.document(b.process("p", S + eight + E + _flows(*chain), [f"u{i}" for i in range(8)])),
        "nota.schema.json": b'{"type": "object", "properties": {"a": {"type": "booleano", "title": "A"}}}',
    }
    return {
        "malformed XML": ({**ok, "p.bpmn": ok["p.bpmn"][:-40]}, "p.bpmn", None),
        "mismatched tag": (
            {**ok, "p.bpmn": ok["p.bpmn"].replace(b"</bpmn:process>", b"</bpmn:proces>")},
            "p.bpmn",
            None,
        ),
        "duplicate process": ({**ok, "q.bpmn": ok["p.bpmn"]}, "q.bpmn", "p"),
        "not executable": (
            {**ok, "p.bpmn": ok["p.bpmn"].replace(b'isExecutable="true"', b'isExecutable="false"')},
            None,
            None,
        ),
        "form used by eight tasks": (forms, "nota.schema.json", None),
        "form that is not JSON": ({**ok, "nota.schema.json": b'{"type": "object", '}, "nota.schema.json", None),
    }


def _cases() -> dict[str, tuple[dict[str, bytes], str | None, str | None]]:
    cases = {name: (_bundle(body), "p.bpmn", element) for name, (body, element) in BROKEN_BODIES.items()}
    cases.update(_other_broken_bundles())
    return cases


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_problem_is_one_located_italian_sentence(name: str) -> None:
    files, file, element = CASES[name]
    problems = check_bundle(None, files).problems
    assert problems, "a broken bundle is refused"
    assert (problems[0].file, problems[0].element) == (file, element), [str(p) for p in problems]
    for problem in problems:
        text = str(problem)
        assert "\n" not in text
        assert not ENGLISH.search(problem.message), f"English in: {text}"
        assert not REPR.search(problem.message), f"Python repr in: {text}"
        assert re.search(r"[\w»)'\"]$", problem.message), f"cut off: {text}"
        assert not re.search(r"\b(of|for|the|di|del|della|per|a|da|in|con)$", problem.message), f"cut off: {text}"
    again = [str(p) for p in check_bundle(None, files).problems]
    assert [str(p) for p in problems] == again, "the same words on every run"
    assert len(set(again)) == len(again), "no finding twice"


def test_a_broken_form_is_reported_once_with_every_task_using_it() -> None:
    files, _file, _element = CASES["form used by eight tasks"]
    problems = check_bundle(None, files).problems
    assert len(problems) == 1
    assert "«booleano»" in problems[0].message and all(f"u{i}" in problems[0].message for i in range(8))


@pytest.mark.parametrize(("count", "heading"), [(1, "(1 problema)"), (3, "(3 problemi)")])
def test_heading_counts_problems_in_italian(count: int, heading: str) -> None:
    from engine.errors import Problem

    error = DefinitionError([Problem("a.bpmn", f"e{i}", "causa") for i in range(count)])
    assert heading in str(error) and heading in problems_heading(count)


def test_cli_validate_reads_well(fresh_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("INLAV_DATABASE_URL", fresh_url)
    monkeypatch.setenv("INLAV_ENVIRONMENT", "test")
    files = _bundle(BROKEN_BODIES["two flows out of a script task"][0])
    files["nota.schema.json"] = b'{"type": "object", "properties": {"a": {"type": "testo", "title": "A"}}}'
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    result = CliRunner().invoke(app, ["processes", "validate", str(tmp_path)], catch_exceptions=False)
    output = result.stderr if result.stderr_bytes else result.output
    assert result.exit_code == 1
    lines = [line.strip() for line in output.strip().splitlines()]
    assert lines == [
        "Il pacchetto non è valido (1 problema):",
        "- p.bpmn › t: un'attività script non può avere più flussi in uscita: farli partire da un gateway "
        "(esclusivo per scegliere un ramo, parallelo per seguirli tutti) posto dopo l'elemento",
    ], output
