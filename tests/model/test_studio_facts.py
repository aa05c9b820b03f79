"""The reporting-facts contract in code (engine.studio.facts): in step with the document, found in the
regional model, and what a variant would lose."""

from __future__ import annotations

import json
import re

import pytest

from engine.definitions import read_bundle_paths
from engine.studio.facts import CONTRACT, FACTS, analyse_bundle, contract_check, facts_written, script_writes
from tests.model.journey import BUNDLE
from tests.model.test_facts import DOC, documented

CHIUSURA = "inlav_chiusura.bpmn"
REGISTRA_CHIUSURA = re.compile(rb'<bpmn:scriptTask id="registra_chiusura".*?</bpmn:scriptTask>', re.S)


@pytest.fixture(scope="module")
def regional() -> dict[str, bytes]:
    return read_bundle_paths(BUNDLE)


def _written_by() -> dict[str, list[str]]:
    """Fact → the backticked names of the document's «Scritta da» cell."""
    rows: dict[str, list[str]] = {}
    in_table = False
    for line in DOC.splitlines():
        if line.startswith("| Variabile |"):
            in_table = True
            continue
        if not line.startswith("|") or not in_table:
            in_table = False
            continue
        if line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[re.findall(r"`([a-z_]+)`", cells[0])[0]] = re.findall(r"`([^`]+)`", cells[3])
    return rows


def test_the_contract_in_code_is_the_document() -> None:
    doc = documented()
    assert [f.name for f in CONTRACT] == list(doc), "stessi fatti, nello stesso ordine"
    written_by = _written_by()
    for fact in CONTRACT:
        row = doc[fact.name]
        assert fact.kind == row["type"], fact.name
        if fact.closed:
            assert list(fact.values) == [v for v in row["values"] if v != "null"], fact.name
            assert fact.nullable == ("null" in row["values"]), fact.name
        assert fact.open_values == row["open"] or not fact.values, fact.name
        assert sorted(written_by[fact.name]) == sorted((*fact.elements, *fact.forms, *fact.decisions)), fact.name
        assert fact.every_phase_step == (not written_by[fact.name]), fact.name
    assert "La pubblicazione dallo studio controlla questo contratto" in DOC


def test_every_fact_is_written_in_the_regional_model_where_the_document_says(regional: dict[str, bytes]) -> None:
    processes = analyse_bundle(regional)
    assert set(processes) >= {"inlav_percorso", "inlav_chiusura", "inlav_valutazione", "inlav_monitoraggio"}
    writers = [w for p in processes.values() for w in p.writers]
    for fact in CONTRACT:
        found = [w for w in writers if w.fact == fact.name]
        assert found, f"{fact.name} non è scritto da nessun elemento"
        elements = {w.element for w in found if w.how in ("script", "post-script")}
        forms = {w.source.removesuffix(".schema.json") for w in found if w.how == "modulo"}
        decisions = {w.source for w in found if w.how == "tabella DMN"}
        assert set(fact.elements) <= elements, (fact.name, fact.elements, elements)
        assert set(fact.forms) <= forms, (fact.name, fact.forms, forms)
        assert set(fact.decisions) <= decisions, (fact.name, fact.decisions, decisions)
    # A whole case (the main process and what it calls) writes every fact of the contract.
    case = facts_written("inlav_percorso", processes.get)
    assert [f.name for f in CONTRACT if f.name not in case] == []
    # Facts of a subprocess count for the caller, with the call that reaches them.
    follow = next(w for w in case["ts_follow_up"] if w.element == "registra_follow_up")
    assert follow.process == "inlav_chiusura" and follow.via == ("inlav_percorso › chiusura",)
    # The phase is written by the «Registra …» steps with fixed literal values.
    phases = set().union(*(w.values or set() for w in case["fase"]))
    assert phases == set(FACTS["fase"].values)


def test_the_forms_offer_the_documented_values(regional: dict[str, bytes]) -> None:
    processes = analyse_bundle(regional)
    for fact in CONTRACT:
        for writer in (w for p in processes.values() for w in p.writers if w.fact == fact.name):
            if writer.how == "modulo" and fact.closed and writer.values is not None:
                assert writer.values == set(fact.values), (fact.name, writer.source)


def _without_registra_chiusura_assignment(files: dict[str, bytes]) -> dict[str, bytes]:
    changed = dict(files)
    text = changed[CHIUSURA]
    assert b"ts_chiusura = datetime" in text
    changed[CHIUSURA] = text.replace(b"ts_chiusura = datetime.now(timezone.utc).isoformat(timespec='seconds')\n", b"")
    assert changed[CHIUSURA] != text
    return changed


def test_a_variant_that_drops_the_closing_time_loses_it_where_the_base_wrote_it(regional: dict[str, bytes]) -> None:
    variant = _without_registra_chiusura_assignment(regional)
    losses = contract_check(regional, variant)
    assert [(loss.fact, loss.process) for loss in losses] == [("ts_chiusura", "inlav_chiusura")]
    loss = losses[0]
    assert loss.whole and [(w.process, w.element, w.element_name) for w in loss.where] == [
        ("inlav_chiusura", "registra_chiusura", "Registra la chiusura")
    ]
    assert "«ts_chiusura» non è più scritto" in loss.message and "«Registra la chiusura» (registra_chiusura)" in (
        loss.message
    )
    # The same file alone (a variant holds only the process it changes) loses the same.
    alone = {n: c for n, c in variant.items() if not n.endswith(".bpmn") or n == CHIUSURA}
    assert [(x.fact, x.process) for x in contract_check(regional, alone)] == [("ts_chiusura", "inlav_chiusura")]
    assert contract_check(regional, regional) == []


def test_removing_the_element_loses_every_fact_it_alone_wrote(regional: dict[str, bytes]) -> None:
    variant = dict(regional)
    variant[CHIUSURA] = REGISTRA_CHIUSURA.sub(b"", regional[CHIUSURA])
    losses = contract_check(regional, variant, keys=["inlav_chiusura"])
    # Inside the closing subprocess only «Registra la chiusura» wrote these (the form still writes the rest).
    assert [loss.fact for loss in losses] == ["fase", "esito_percorso", "ts_chiusura"]
    assert all([w.element for w in loss.where] == ["registra_chiusura"] for loss in losses)


def test_a_fact_moved_into_a_pre_script_is_lost(regional: dict[str, bytes]) -> None:
    variant = _without_registra_chiusura_assignment(regional)
    variant[CHIUSURA] = variant[CHIUSURA].replace(
        b"note_chiusura = ''</spiffworkflow:preScript>",
        b"note_chiusura = ''\nts_chiusura = datetime.now(timezone.utc).isoformat()</spiffworkflow:preScript>",
    )
    assert [loss.fact for loss in contract_check(regional, variant)] == ["ts_chiusura"]


def test_a_form_that_no_longer_offers_a_fixed_value_is_a_loss(regional: dict[str, bytes]) -> None:
    variant = dict(regional)
    schema = json.loads(regional["chiusura.schema.json"])
    schema["properties"]["tipo_contratto"]["enum"].remove("stagionale")
    variant["chiusura.schema.json"] = json.dumps(schema).encode()
    losses = contract_check(regional, variant, keys=["inlav_chiusura"])
    assert [(loss.fact, loss.values) for loss in losses] == [("tipo_contratto", ("stagionale",))]
    assert "non può più valere «stagionale»" in losses[0].message and "chiusura.schema.json" in losses[0].message
    # Removing the field from the form loses the fact where only the form wrote it.
    del schema["properties"]["emersione"]
    variant["chiusura.schema.json"] = json.dumps(schema).encode()
    facts = {loss.fact for loss in contract_check(regional, variant, keys=["inlav_chiusura"]) if loss.whole}
    assert facts == {"emersione"}


def test_a_caller_that_no_longer_calls_loses_the_subprocess_facts(regional: dict[str, bytes]) -> None:
    variant = dict(regional)
    variant["inlav_percorso.bpmn"] = regional["inlav_percorso.bpmn"].replace(
        b'calledElement="inlav_chiusura"', b'calledElement="inlav_chiusura_milano"'
    )
    losses = contract_check(regional, variant, keys=["inlav_percorso"])
    follow = next(loss for loss in losses if loss.fact == "ts_follow_up")
    assert follow.where[0].process == "inlav_chiusura" and "chiamato da inlav_percorso › chiusura" in follow.message
    assert "ts_chiusura" not in {loss.fact for loss in losses}  # still written in the main process
    # A variant that calls its own copy of the subprocess, resolved as a case would, loses nothing.
    copy = regional[CHIUSURA].replace(b'process id="inlav_chiusura"', b'process id="inlav_chiusura_milano"')
    assert contract_check(regional, {**variant, "chiusura_milano.bpmn": copy}, keys=["inlav_percorso"]) == []


def test_script_writes_reads_assignments_at_the_scripts_top_level() -> None:
    source = """
a = 'x'
b, c = 1, 2
if a:
    d = 'uno'
else:
    d = 'due'
try:
    e
except NameError:
    e = None
for f in []:
    pass
g = [h for h in range(3)]
def k():
    inner = 1
m = 'p' if a else 'q'
n = a.upper()
d += ''
"""
    found = script_writes(source)
    assert set(found) == {"a", "b", "c", "d", "e", "f", "g", "m", "n"}
    assert found["a"] == {"x"} and found["m"] == {"p", "q"} and found["e"] == {None}
    assert found["d"] is None and found["n"] is None  # augmented or computed: values unknown
    assert "h" not in found and "inner" not in found
    assert script_writes("x = (") == {}
