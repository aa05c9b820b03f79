"""DMN files: every version we accept, every decision registered, every table checked.

SpiffWorkflow's DMN support has three gaps we close here:

- it finds the DMN elements through the prefix ``dmn`` (or the default namespace), so
  a file that writes ``<semantic:definitions xmlns:semantic="…">`` fails with
  "Undefined namespace prefix"; we bind ``dmn`` to the namespace of the root instead;
- it registers only the *first* decision of a file (a second one "does not exist"),
  and parsing a file with two decisions raises ``AttributeError`` blamed on the BPMN
  task that calls it; we register each decision on its own;
- the schema it ships for DMN 1.2 imports the wrong file, so every 1.2 document fails
  validation; we validate 1.2 against the library's DMN12.xsd with the diagram
  interchange part (``DMNDI``, layout only) accepted as is.

A table is parsed and its cells collected whether or not a process calls it, so a
broken cell is refused at deploy, not found when a case reaches it.
"""

from __future__ import annotations

import ast
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import XSD_DIR
from SpiffWorkflow.dmn.parser.DMNParser import DMNParser

from engine.errors import Problem
from engine.sandbox import check_code
from engine.spiff.diagnostics import code_message, parse_message, schema_problem

XSD = "http://www.w3.org/2001/XMLSchema"
DMN_VERSIONS = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
}
_SCHEMA_FILES = {"1.1": "DMN.xsd", "1.2": "DMN12.xsd", "1.3": "DMN13.xsd"}
_SCHEMAS: dict[str, Any] = {}
_SCHEMA_LOCK = threading.Lock()


@dataclass
class DecisionCell:
    """One expression of a decision table the linter must compile."""

    file: str
    element: str
    source: str
    what: str


@dataclass
class DecisionSet:
    """What the DMN files of a bundle define: decision id → file, cells, problems."""

    files: dict[str, str] = field(default_factory=dict)
    cells: list[DecisionCell] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _OneDecisionParser(DMNParser):  # type: ignore[misc]
    """SpiffWorkflow's DMN parser, for one given decision of a file."""

    def __init__(self, owner: Any, root: Any, nsmap: dict[str, str], decision: Any, filename: str) -> None:
        super().__init__(owner, root, nsmap, filename=filename)
        self.decision_node = decision

    def parse(self) -> None:
        self.decision = self._parse_decision([self.decision_node])

    @property
    def bpmn_id(self) -> str:
        return str(self.decision_node.get("id"))

    def get_name(self) -> str:
        return str(self.decision_node.get("name") or self.decision_node.get("id"))


def register_decisions(parser: Any, dmn: dict[str, Any]) -> DecisionSet:
    """Validate each DMN root, register its decisions with `parser`, collect every cell."""
    found = DecisionSet()
    for name, root in dmn.items():
        namespace = etree.QName(root).namespace or ""
        version = DMN_VERSIONS.get(namespace)
        if version is None or etree.QName(root).localname != "definitions":
            found.problems.append(
                Problem(
                    name,
                    None,
                    f"non è un file DMN 1.1, 1.2 o 1.3 (elemento radice «{etree.QName(root).localname}», spazio dei "
                    f"nomi «{namespace}»): salvarlo come DMN 1.3 con Camunda Modeler o con l'editor del portale",
                )
            )
            continue
        schema_problems = _schema_problems(version, root, name)
        if schema_problems:
            found.problems.extend(schema_problems)
            continue
        nsmap = {**parser.namespaces, "dmn": namespace}
        decisions = root.findall(f"{{{namespace}}}decision")
        if not decisions:
            found.problems.append(Problem(name, None, "il file DMN non contiene nessuna decisione"))
        for decision in decisions:
            _register(parser, found, name, root, nsmap, decision, namespace)
    return found


def _register(
    parser: Any, found: DecisionSet, file: str, root: Any, nsmap: dict[str, str], decision: Any, namespace: str
) -> None:
    decision_id = decision.get("id")
    label = f"«{decision.get('name') or decision_id}»"
    if not decision_id:
        found.problems.append(
            Problem(
                file,
                None,
                f"la decisione {label} (riga {decision.sourceline}) non ha l'identificativo (id): aggiungerlo",
            )
        )
        return
    if decision_id in found.files:
        found.problems.append(
            Problem(
                file,
                decision_id,
                f"la decisione {label} è definita anche in {found.files[decision_id]}: rinominarne una (id unici)",
            )
        )
        return
    found.files[decision_id] = file
    table = decision.find(f"{{{namespace}}}decisionTable")
    if table is None:
        found.problems.append(
            Problem(
                file,
                decision_id,
                f"la decisione {label} non è una tabella decisionale: il motore esegue solo tabelle (decisionTable); "
                "trasformarla in tabella o toglierla dal pacchetto",
            )
        )
        return
    policy_problem = _hit_policy_problem(table, label)
    if policy_problem:
        found.problems.append(Problem(file, decision_id, policy_problem))
        return
    for requirement in decision.iter(f"{{{namespace}}}requiredDecision"):
        required = (requirement.get("href") or "").lstrip("#")
        found.problems.append(
            Problem(
                file,
                decision_id,
                f"la decisione {label} richiede la decisione «{required}», ma il motore non esegue decisioni a "
                "catena: chiamare ciascuna con la propria attività di regola (businessRuleTask), una dopo l'altra",
            )
        )
    if not _cells_match(found, file, decision_id, table, namespace):
        return
    decision_parser = _OneDecisionParser(parser, root, nsmap, decision, file)
    try:
        decision_parser.parse()
    except Exception as exc:  # whatever the library's own parse finds that we did not check first
        cause = parse_message(str(exc.args[0]) if exc.args else str(exc), "decisionTable")
        found.problems.append(
            Problem(file, decision_id, f"la tabella della decisione {label} non è leggibile: {cause}")
        )
        return
    parser.dmn_parsers[decision_id] = decision_parser
    parser.dmn_parsers_by_name[decision_parser.get_name()] = decision_parser
    _collect_cells(found, file, decision_id, decision_parser.decision.decisionTables[0])


# Hit policies the engine would silently run as "first matching rule".
_FIRST_MATCH_INSTEAD = {"PRIORITY", "OUTPUT ORDER", "RULE ORDER"}


def _hit_policy_problem(table: Any, label: str) -> str | None:
    """Why a table's hit policy cannot run as written (SpiffWorkflow knows UNIQUE, FIRST, ANY, COLLECT)."""
    policy = (table.get("hitPolicy") or "UNIQUE").strip().upper()
    aggregation = (table.get("aggregation") or "").strip().upper()
    if aggregation:
        return (
            f"la tabella della decisione {label} chiede l'aggregazione {aggregation} dei risultati, che il motore "
            "non applica (restituirebbe la lista dei valori): togliere l'aggregazione e calcolarla con uno script "
            "dopo la decisione (per esempio sum(…) o len(…) della lista)"
        )
    if policy in _FIRST_MATCH_INSTEAD:
        return (
            f"la tabella della decisione {label} usa la politica {policy}, che il motore non applica (prenderebbe "
            "la prima regola vera): usare FIRST ordinando le regole per priorità, oppure COLLECT"
        )
    return None


def _cells_match(found: DecisionSet, file: str, decision_id: str, table: Any, namespace: str) -> bool:
    inputs = table.findall(f"{{{namespace}}}input")
    outputs = table.findall(f"{{{namespace}}}output")
    ok = True
    for column, output in enumerate(outputs, start=1):
        if not (output.get("name") or output.get("label")):
            found.problems.append(
                Problem(
                    file,
                    f"{decision_id} › {output.get('id')}",
                    f"la colonna di uscita {column} non ha un nome: è il nome della variabile che riceve il "
                    "risultato, indicarlo (name)",
                )
            )
            ok = False
    for row, rule in enumerate(table.findall(f"{{{namespace}}}rule"), start=1):
        n_in = len(rule.findall(f"{{{namespace}}}inputEntry"))
        entries = rule.findall(f"{{{namespace}}}outputEntry")
        n_out = len(entries)
        for column, entry in enumerate(entries[: len(outputs)]):
            text = entry.findtext(f"{{{namespace}}}text")
            messages = check_code(text, "eval") if text and text.strip() else []
            if messages:  # SpiffWorkflow would refuse the whole table with an English message
                title = outputs[column].get("label") or outputs[column].get("name") or outputs[column].get("id")
                what = f"la cella di uscita (regola {row}, colonna «{title}»)"
                for message in messages:
                    found.problems.append(
                        Problem(
                            file, f"{decision_id} › {rule.get('id')} › {entry.get('id')}", code_message(what, message)
                        )
                    )
                ok = False
        if (n_in, n_out) != (len(inputs), len(outputs)):
            found.problems.append(
                Problem(
                    file,
                    f"{decision_id} › {rule.get('id')}",
                    f"la regola {row} ha {_count(n_in, 'cella', 'celle')} di ingresso e {n_out} di uscita, ma la "
                    f"tabella ha {_count(len(inputs), 'colonna', 'colonne')} di ingresso e {len(outputs)} di uscita: "
                    "completare la riga",
                )
            )
            ok = False
    return ok


def _collect_cells(found: DecisionSet, file: str, decision_id: str, table: Any) -> None:
    add = found.cells.append
    for column, inp in enumerate(table.inputs, start=1):
        where = f"{decision_id} › {inp.id}"
        if not inp.expression:
            found.problems.append(
                Problem(
                    file,
                    where,
                    f"la colonna di ingresso {column} («{inp.label or inp.id}») non ha un'espressione: indicare la "
                    "variabile da confrontare (es. eta)",
                )
            )
            continue
        add(DecisionCell(file, where, inp.expression, f"l'espressione della colonna di ingresso {column}"))
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if lhs is not None and entry.input.expression:
                    add(
                        DecisionCell(
                            file,
                            f"{decision_id} › {rule.id} › {entry.id}",
                            match_expression(entry.input.expression, lhs),
                            f"la cella di ingresso (regola {rule.row_number}, colonna «{_title(entry.input)}»)",
                        )
                    )
        for entry in rule.outputEntries:
            if entry.text:
                add(
                    DecisionCell(
                        file,
                        f"{decision_id} › {rule.id} › {entry.id}",
                        entry.text,
                        f"la cella di uscita (regola {rule.row_number}, colonna «{_title(entry.output)}»)",
                    )
                )


def match_expression(input_expr: str, match_expr: str) -> str:
    """The expression SpiffWorkflow's DMN engine evaluates for one input cell."""
    match_expr = re.sub(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", "dmninputexpr", match_expr)
    if "dmninputexpr" in match_expr:
        return match_expr
    try:
        ast.parse(match_expr)
        return f"({input_expr}) == ({match_expr})"
    except SyntaxError:
        return input_expr + match_expr


def _title(column: Any) -> str:
    return str(column.label or column.name or column.id)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# --------------------------------------------------------------------------- schemas


def _schema(version: str) -> Any:
    with _SCHEMA_LOCK:
        schema = _SCHEMAS.get(version)
        if schema is None:
            doc = etree.parse(os.path.join(XSD_DIR, _SCHEMA_FILES[version]))
            if version == "1.2":
                _accept_any_dmndi(doc)
            schema = _SCHEMAS[version] = etree.XMLSchema(doc)
        return schema


def _accept_any_dmndi(doc: Any) -> None:
    """DMN12.xsd imports a file that is not the DMNDI schema: drop the import and accept
    the (layout-only) DMNDI element without checking it."""
    root = doc.getroot()
    for node in root.findall(f"{{{XSD}}}import"):
        root.remove(node)
    for node in root.iter(f"{{{XSD}}}element"):
        if (node.get("ref") or "").startswith("dmndi:"):
            replacement = etree.Element(
                f"{{{XSD}}}any", namespace="##other", processContents="skip", minOccurs="0", maxOccurs="1"
            )
            node.getparent().replace(node, replacement)


def _schema_problems(version: str, root: Any, file: str) -> list[Problem]:
    schema = _schema(version)
    with _SCHEMA_LOCK:  # validation fills the schema's shared error log
        if schema.validate(root):
            return []
        errors = list(schema.error_log)
    problems: list[Problem] = []
    for error in errors[:10]:
        problem = schema_problem(error.message, error.line, file, root, f"DMN {version}")
        if all(str(p) != str(problem) for p in problems):
            problems.append(problem)
    return problems
