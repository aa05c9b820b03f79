"""DMN 1.1, 1.2 and 1.3: each is deployed, called by a businessRuleTask and its result
reaches the case data; every decision of a bundle is checked, called or not."""

from __future__ import annotations

import json

import pytest

from engine import check_bundle, get_instance, start_instance
from tests import builders
from tests.conftest import OPERATOR, add_ambiti, deploy

MODEL = {
    "1.1": "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "1.2": "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "1.3": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}
DMNDI = {  # diagram interchange namespace of each version (1.1 has none)
    "1.2": ("http://www.omg.org/spec/DMN/20180521/DMNDI/", "http://www.omg.org/spec/DMN/20180521/DC/"),
    "1.3": ("https://www.omg.org/spec/DMN/20191111/DMNDI/", "http://www.omg.org/spec/DMN/20180521/DC/"),
}


def _table(decision: str, rules: str, prefix: str = "") -> str:
    p = prefix
    return (
        f'<{p}decision id="{decision}" name="Decisione {decision}">'
        f'<{p}decisionTable id="{decision}_t" hitPolicy="FIRST">'
        f'<{p}input id="{decision}_in_grado" label="Grado"><{p}inputExpression id="{decision}_ie1" typeRef="string">'
        f"<{p}text>grado</{p}text></{p}inputExpression></{p}input>"
        f'<{p}input id="{decision}_in_eta" label="Età"><{p}inputExpression id="{decision}_ie2" typeRef="integer">'
        f"<{p}text>eta</{p}text></{p}inputExpression></{p}input>"
        f'<{p}output id="{decision}_out" label="Priorità" name="priorita" typeRef="string"/>'
        f"{rules}</{p}decisionTable></{p}decision>"
    )


def _rules(prefix: str = "", minor_cell: str = "&lt; 18", ids: str = "") -> str:
    p = prefix

    def rule(rule_id: str, grado: str, eta: str, out: str) -> str:
        rule_id = ids + rule_id
        return (
            f'<{p}rule id="{rule_id}"><{p}inputEntry id="{rule_id}_1"><{p}text>{grado}</{p}text></{p}inputEntry>'
            f'<{p}inputEntry id="{rule_id}_2"><{p}text>{eta}</{p}text></{p}inputEntry>'
            f'<{p}outputEntry id="{rule_id}_o"><{p}text>{out}</{p}text></{p}outputEntry></{p}rule>'
        )

    return (
        rule("r_grave", '"grave_sfruttamento"', "-", '"alta"')
        + rule("r_minore", "-", minor_cell, '"alta"')
        + rule("r_altro", "-", "-", '"normale"')
    )


def dmn_file(version: str, prefix: str | None = None, minor_cell: str = "&lt; 18") -> bytes:
    """Two decisions (the called one second, as modelers often write them), in `version`'s namespace."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MODEL[version]}"' if prefix else f'xmlns="{MODEL[version]}"'
    di = ""
    if version in DMNDI:
        dmndi, dc = DMNDI[version]
        xmlns += f' xmlns:dmndi="{dmndi}" xmlns:dc="{dc}"'
        di = (
            '<dmndi:DMNDI><dmndi:DMNDiagram id="drd"><dmndi:DMNShape id="s1" dmnElementRef="decide_priorita">'
            '<dc:Bounds height="80" width="180" x="150" y="80"/></dmndi:DMNShape></dmndi:DMNDiagram></dmndi:DMNDI>'
        )
    body = _table("altra_decisione", _rules(p, ids="a_"), p) + _table("decide_priorita", _rules(p, minor_cell), p)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}definitions {xmlns} id="defs" name="Priorità" '
        f'namespace="http://inlav.example/dmn">\n{body}\n{di}</{p}definitions>\n'
    ).encode()


def rule_process(decision: str = "decide_priorita") -> bytes:
    body = (
        '<bpmn:startEvent id="start"/>'
        + builders.script_task("dati", "grado = 'lavoro_grigio'\neta = 17")
        + '<bpmn:businessRuleTask id="decidi" name="Decidi la priorità"><bpmn:extensionElements>'
        f"<spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements></bpmn:businessRuleTask>"
        '<bpmn:endEvent id="fine"/>'
        + builders.flow("f1", "start", "dati")
        + builders.flow("f2", "dati", "decidi")
        + builders.flow("f3", "decidi", "fine")
    )
    return builders.document(builders.process("priorita", body, []))


@pytest.mark.parametrize(("version", "prefix"), [("1.1", None), ("1.2", None), ("1.3", None), ("1.3", "semantic")])
def test_decision_of_each_dmn_version_runs_and_reaches_the_case_data(db, settings, version, prefix) -> None:
    add_ambiti(db)
    deploy(db, files={"priorita.bpmn": rule_process(), "priorita.dmn": dmn_file(version, prefix)})
    outcome = start_instance(db, settings, "priorita", "MILANO", OPERATOR)
    assert outcome.error is None and outcome.completed
    data = json.loads(get_instance(db, outcome.instance.case_code).workflow_json)["data"]
    assert data["priorita"] == "alta", "rule 2 (età < 18) matched"


def test_second_decision_of_a_file_exists() -> None:
    """Used to be «la decisione … non esiste» although the file defines it."""
    files = {"priorita.bpmn": rule_process("altra_decisione"), "priorita.dmn": dmn_file("1.1")}
    assert check_bundle(None, files).problems == []


@pytest.mark.parametrize("version", sorted(MODEL))
def test_broken_cell_of_an_uncalled_decision_is_refused(version) -> None:
    """No process calls the DMN, yet its broken cell is found, located decision › rule › cell."""
    files = {
        "altro.bpmn": builders.form_then_script("x = 1")["calcolo.bpmn"],
        "nota.schema.json": builders.form_json(),
        "priorita.dmn": dmn_file(version, minor_cell="&lt; _segreto"),
    }
    found = [(p.file, p.element, p.message) for p in check_bundle(None, files).problems]
    assert [(f, e) for f, e, _m in found] == [("priorita.dmn", "decide_priorita › r_minore › r_minore_2")]
    assert "regola 2" in found[0][2] and "«Età»" in found[0][2] and '"_segreto"' in found[0][2]


def test_broken_output_cell_is_located() -> None:
    files = {"priorita.bpmn": rule_process(), "priorita.dmn": dmn_file("1.3").replace(b'"normale"', b'"normale')}
    found = [(p.file, p.element) for p in check_bundle(None, files).problems]
    assert found == [
        ("priorita.dmn", "altra_decisione › a_r_altro › a_r_altro_o"),
        ("priorita.dmn", "decide_priorita › r_altro › r_altro_o"),
    ]


def test_unsupported_dmn_content_is_refused_with_a_reason() -> None:
    dmn = dmn_file("1.3")
    unknown = dmn.replace(MODEL["1.3"].encode(), b"https://www.omg.org/spec/DMN/20230324/MODEL/")
    literal = dmn.replace(
        b"<decision ",
        b'<decision id="calcolo" name="Calcolo">'
        b'<literalExpression id="le"><text>1</text></literalExpression></decision>'
        b"<decision ",
        1,
    )
    short = dmn.replace(b'<inputEntry id="r_minore_2"><text>&lt; 18</text></inputEntry>', b"")
    for content, element, words in [
        (unknown, None, "DMN 1.1, 1.2 o 1.3"),
        (literal, "calcolo", "non è una tabella decisionale"),
        (short, "decide_priorita › r_minore", "la regola 2 ha 1 cella di ingresso"),
    ]:
        found = check_bundle(None, {"priorita.bpmn": rule_process(), "priorita.dmn": content}).problems
        assert [(p.file, p.element) for p in found] == [("priorita.dmn", element)], found
        assert words in found[0].message


@pytest.mark.parametrize(
    "policy, words",
    [
        ('hitPolicy="COLLECT" aggregation="SUM"', "l'aggregazione SUM"),
        ('hitPolicy="COLLECT" aggregation="COUNT"', "l'aggregazione COUNT"),
        ('hitPolicy="PRIORITY"', "la politica PRIORITY"),
        ('hitPolicy="RULE ORDER"', "la politica RULE ORDER"),
    ],
)
def test_hit_policies_the_engine_would_run_as_something_else_are_refused(policy: str, words: str) -> None:
    """Review of #8: COLLECT with an aggregation ran as a plain COLLECT (a list), silently."""
    content = dmn_file("1.3").replace(
        b'id="decide_priorita_t" hitPolicy="FIRST"', f'id="decide_priorita_t" {policy}'.encode()
    )
    files = {"priorita.bpmn": rule_process(), "priorita.dmn": content}
    found = [(p.file, p.element, p.message) for p in check_bundle(None, files).problems]
    assert [(f, e) for f, e, _m in found] == [("priorita.dmn", "decide_priorita")]
    assert words in found[0][2] and "«Decisione decide_priorita»" in found[0][2]


def test_collect_without_aggregation_is_deployed() -> None:
    content = dmn_file("1.3").replace(
        b'id="decide_priorita_t" hitPolicy="FIRST"', b'id="decide_priorita_t" hitPolicy="COLLECT"'
    )
    assert check_bundle(None, {"priorita.bpmn": rule_process(), "priorita.dmn": content}).problems == []
