"""Parse bundles with SpiffBpmnParser and extract what the deploy linter needs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.specs.MultiChoice import MultiChoice
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser, SpiffProcessParser
from SpiffWorkflow.spiff.specs.defaults import ManualTask, ScriptTask, ServiceTask, UserTask
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask

from engine.errors import Problem
from engine.spiff.constructs import ENGINE_CONFIG, EngineParser, run_abstract_tasks
from engine.spiff.decisions import register_decisions
from engine.spiff.diagnostics import SCHEMA_MESSAGE, element_at_line, parse_message, schema_problem
from engine.spiff.references import reference_problems

_REGISTRY = BpmnWorkflowSerializer.configure(ENGINE_CONFIG)
SERIALIZER = BpmnWorkflowSerializer(_REGISTRY)
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_LOOP_TOO_LONG = (
    "il flusso torna a «{target}» chiudendo un ciclo di {size} elementi (al massimo {limit}): "
    "spostare il corpo del ciclo in un sottoprocesso o in un'attività di chiamata"
)
EVENT_SUBPROCESS_UNSUPPORTED = (
    "i sottoprocessi a evento non sono supportati (SpiffWorkflow li avvia come rami paralleli, senza "
    "interrompere il processo): usare un evento di confine su un sottoprocesso o su un'attività di chiamata"
)


@dataclass
class CodeItem:
    """One piece of diagram code the linter must compile ('eval' or 'exec')."""

    file: str | None
    element: str
    mode: str
    source: str
    what: str


@dataclass
class HumanTaskInfo:
    """A user or manual task: who does it, with which form."""

    file: str | None
    element: str
    name: str
    kind: str
    lane: str | None
    properties: dict[str, str]


@dataclass
class ParsedProcess:
    """An executable process of a bundle, serialized for storage."""

    key: str
    name: str
    file: str | None
    spec_json: str
    calls: list[str]
    start_messages: list[str]
    human_tasks: list[HumanTaskInfo] = field(default_factory=list)


@dataclass
class ParsedBundle:
    """Everything the parser could learn from a bundle, plus the problems it found."""

    processes: dict[str, ParsedProcess] = field(default_factory=dict)
    code: list[CodeItem] = field(default_factory=list)
    timers: list[CodeItem] = field(default_factory=list)
    calls: list[tuple[str | None, str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # variables declared outside code (name lint)


# SpiffWorkflow parses a node by recursively parsing every node its flows lead to (two or
# three Python frames per node), so a chain of ~400 tasks exceeded the recursion limit.
PLAIN_PARSE_DEPTH = 150  # up to this depth the library parses as it always did
MAX_LOOP_ELEMENTS = 200  # a loop is still parsed recursively, once around: keep it bounded


class _FlowWalk:
    """An iterative depth-first walk of a process's flow graph, in SpiffWorkflow's own order."""

    def __init__(self, parser: Any) -> None:
        self.leaves_first: list[Any] = []
        self.depth = 0
        self.long_loops: list[tuple[Any, Any, int]] = []  # (flow, target node, elements in the loop)
        seen: set[str] = set()
        for start in parser.xpath("./bpmn:startEvent"):
            if start.get("id") in seen:
                continue
            seen.add(start.get("id"))
            on_path = {start.get("id"): 0}
            stack = [(start, iter(_next_nodes(parser, start)))]
            while stack:
                node, children = stack[-1]
                step = next(children, None)
                if step is None:
                    stack.pop()
                    del on_path[node.get("id")]
                    if not node.tag.endswith("}boundaryEvent"):  # parsed with the task it is attached to
                        self.leaves_first.append(node)
                    continue
                flow, child = step
                child_id = child.get("id")
                if child_id in on_path:
                    loop = len(stack) - on_path[child_id]
                    if flow is not None and loop > MAX_LOOP_ELEMENTS:
                        self.long_loops.append((flow, child, loop))
                elif child_id not in seen:
                    seen.add(child_id)
                    on_path[child_id] = len(stack)
                    stack.append((child, iter(_next_nodes(parser, child))))
                    self.depth = max(self.depth, len(stack))


def _next_nodes(parser: Any, node: Any) -> list[tuple[Any, Any]]:
    """(flow or None, node) pairs the library parses from `node`: boundary events, then flows."""
    found: list[tuple[Any, Any]] = [(None, event) for event in parser.get_boundary_events(node.get("id"))]
    for flow in parser.get_outgoing_sequence_flows(node.get("id")):
        target = parser.get_node_by_id(flow.get("targetRef"))
        if target is not None:  # a dangling flow is reported by the library's own parse
            found.append((flow, target))
    return found


class _OurValidation(ValidationException):  # type: ignore[misc]
    """A parse finding we raise ourselves, already in Italian."""


class _ShallowProcessParser(SpiffProcessParser):  # type: ignore[misc]
    """Keeps SpiffWorkflow's recursive parse shallow however long the process is.

    The library returns a node it has already parsed at once; so for a deep process we
    walk the flow graph ourselves (iteratively, in the library's order: boundary events,
    then outgoing flows in document order) and ask it to parse each node after the nodes
    it leads to, so each call goes one level deep. Only a flow back to an earlier node
    (a loop) still recurses once around the loop, so loops longer than
    MAX_LOOP_ELEMENTS are refused with a clear message. Shallow processes are parsed by
    the library unchanged, so their stored specs stay byte for byte the same.
    """

    def add_tasks(self) -> None:
        walk = _FlowWalk(self)
        for flow, target, size in walk.long_loops:
            raise _OurValidation(
                _LOOP_TOO_LONG.format(target=target.get("id"), size=size, limit=MAX_LOOP_ELEMENTS),
                node=flow,
                file_name=self.filename,
            )
        if walk.depth > PLAIN_PARSE_DEPTH:
            for node in walk.leaves_first:
                self.parse_node(node)
        super().add_tasks()


class _Parser(EngineParser):
    PROCESS_PARSER_CLASS = _ShallowProcessParser


def parse_bundle(bpmn: dict[str, Any], dmn: dict[str, Any]) -> ParsedBundle:
    """Parse already-safe lxml roots (file name → root) and extract lint facts."""
    result = ParsedBundle()
    parser = _Parser(validator=VALIDATOR)
    decisions = register_decisions(parser, dmn)
    result.problems.extend(decisions.problems)
    result.code.extend(CodeItem(c.file, c.element, "eval", c.source, c.what) for c in decisions.cells)
    roots_by_file: dict[str, Any] = {}
    for name, root in bpmn.items():
        roots_by_file[name] = root
        found = reference_problems(name, root)
        if found:
            result.problems.extend(found)
            continue
        try:
            parser.add_bpmn_xml(root, filename=name)
        except Exception as exc:  # the library raises more than its own exceptions on bad input
            result.problems.append(_problem(exc, name, root))
    for name, root in bpmn.items():
        for node in root.iter(f"{{{BPMN_NS}}}subProcess"):
            if node.get("triggeredByEvent") == "true":
                result.problems.append(Problem(name, node.get("id"), EVENT_SUBPROCESS_UNSUPPORTED))
    if result.problems:
        return result

    process_ids = parser.get_process_ids()
    if not process_ids:
        result.problems.append(
            Problem(
                None,
                None,
                'nessun processo eseguibile nel pacchetto: impostare isExecutable="true" sul processo da eseguire',
            )
        )
    for key in process_ids:
        proc_parser = parser.get_process_parser(key)
        if getattr(proc_parser, "parent", None) is not None:
            continue  # an embedded subprocess, stored with its parent process
        try:
            spec = parser.get_spec(key)
            embedded = _embedded_specs(parser, spec)
        except Exception as exc:  # the library raises more than its own exceptions on bad input
            result.problems.append(_problem(exc, proc_parser.filename, roots_by_file.get(proc_parser.filename)))
            continue
        process = _describe_process(key, spec, embedded, result)
        if process is not None:
            result.processes[key] = process
    return result


def _embedded_specs(parser: SpiffBpmnParser, spec: Any) -> dict[str, Any]:
    """Specs of embedded subprocesses (not call activities), recursively."""
    found: dict[str, Any] = {}
    pending = [spec]
    while pending:
        current = pending.pop()
        for ts in current.task_specs.values():
            if isinstance(ts, SubWorkflowTask) and not isinstance(ts, CallActivity) and ts.spec not in found:
                sub = parser.get_spec(ts.spec)
                found[ts.spec] = sub
                pending.append(sub)
    return found


def _describe_process(key: str, spec: Any, embedded: dict[str, Any], result: ParsedBundle) -> ParsedProcess | None:
    calls: list[str] = []
    start_messages: list[str] = []
    human: list[HumanTaskInfo] = []
    for current in [spec, *embedded.values()]:
        file = current.file
        result.names |= _declared_names(current)
        for ts in current.task_specs.values():
            element = getattr(ts, "bpmn_id", None)
            if element is None:
                continue
            _collect_code(ts, file, element, result)
            if isinstance(ts, CallActivity):
                calls.append(ts.spec)
                result.calls.append((file, element, ts.spec))
            if isinstance(ts, ServiceTask):
                result.problems.append(
                    Problem(
                        file,
                        element,
                        "i service task non sono supportati: usare un'attività script o un'attività utente",
                    )
                )
            if isinstance(ts, (UserTask, ManualTask)):
                props = dict((getattr(ts, "extensions", None) or {}).get("properties", {}) or {})
                instructions = (getattr(ts, "extensions", None) or {}).get("instructionsForEndUser")
                if instructions:
                    props.setdefault("instructionsForEndUser", instructions)
                human.append(
                    HumanTaskInfo(
                        file=file,
                        element=element,
                        name=ts.bpmn_name or element,
                        kind="user" if isinstance(ts, UserTask) else "manual",
                        lane=ts.lane,
                        properties=props,
                    )
                )
            if current is spec and isinstance(ts, StartEvent):
                for definition in _event_definitions(ts):
                    if isinstance(definition, MessageEventDefinition):
                        start_messages.append(definition.name)
    try:
        payload = {
            "spec": _REGISTRY.convert(spec),
            "embedded": {name: _REGISTRY.convert(sub) for name, sub in embedded.items()},
        }
        spec_json = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # pragma: no cover - a spec we cannot store
        result.problems.append(Problem(spec.file, key, f"impossibile serializzare il processo: {exc}"))
        return None
    return ParsedProcess(
        key=key,
        name=spec.description or key,
        file=spec.file,
        spec_json=spec_json,
        calls=sorted(set(calls)),
        start_messages=sorted(set(start_messages)),
        human_tasks=human,
    )


def _event_definitions(ts: Any) -> list[Any]:
    definition = getattr(ts, "event_definition", None)
    if definition is None:
        return []
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def _collect_code(ts: Any, file: str | None, element: str, result: ParsedBundle) -> None:
    add = result.code.append
    if isinstance(ts, ScriptTask) and ts.script:
        add(CodeItem(file, element, "exec", ts.script, "script"))
    if isinstance(ts, SpiffBpmnTask):
        if ts.prescript:
            add(CodeItem(file, element, "exec", ts.prescript, "pre-script"))
        if ts.postscript:
            add(CodeItem(file, element, "exec", ts.postscript, "post-script"))
    if isinstance(ts, MultiChoice):
        for condition, target in ts.cond_task_specs:
            if condition is not None:
                target_id = str(target).split(".")[0]
                add(CodeItem(file, f"{element} → {target_id}", "eval", condition.args[0], "condizione"))
    if isinstance(ts, MultiInstanceTask):
        if ts.cardinality:
            add(CodeItem(file, element, "eval", ts.cardinality, "cardinalità"))
        if ts.condition:
            add(CodeItem(file, element, "eval", ts.condition, "condizione di completamento"))
    if isinstance(ts, StandardLoopTask) and ts.condition:
        add(CodeItem(file, element, "eval", ts.condition, "condizione del ciclo"))
    props = (getattr(ts, "extensions", None) or {}).get("properties", {}) or {}
    if props.get("correlationKey"):
        add(CodeItem(file, element, "eval", props["correlationKey"], "chiave di correlazione"))
    if isinstance(ts, (CatchingEvent, ThrowingEvent)):
        for definition in _event_definitions(ts):
            if isinstance(definition, TimerEventDefinition):
                kind = type(definition).__name__.replace("TimerEventDefinition", "").replace("EventDefinition", "")
                result.timers.append(CodeItem(file, element, "eval", definition.expression or "", kind.lower()))
            elif isinstance(definition, ConditionalEventDefinition) and definition.expression:
                add(CodeItem(file, element, "eval", definition.expression, "condizione dell'evento"))
            elif isinstance(definition, MessageEventDefinition):
                if getattr(definition, "expression", None):
                    add(CodeItem(file, element, "eval", definition.expression, "contenuto del messaggio"))
                for prop in [*definition.correlation_properties, *getattr(definition, "process_correlations", [])]:
                    add(CodeItem(file, element, "eval", prop.retrieval_expression, "correlazione"))
            elif getattr(definition, "expression", None):
                add(CodeItem(file, element, "eval", definition.expression, "contenuto dell'evento"))
    if isinstance(ts, BusinessRuleTaskMixin):
        result.names |= {out.name for out in ts.dmnEngine.decision_table.outputs if out.name}
        result.names.add("dmninputexpr")
    result.names |= _declared_names(ts)


def _declared_names(spec: Any) -> set[str]:
    """Variables a process or task spec puts in the data besides its code (data objects, items, messages)."""
    refs: list[Any] = list((getattr(spec, "data_objects", None) or {}).values())
    refs += [getattr(spec, a, None) for a in ("data_input", "data_output", "input_item", "output_item")]
    for associations in ("data_input_associations", "data_output_associations"):
        refs += getattr(spec, associations, None) or []
    io = getattr(spec, "io_specification", None)
    if io is not None:
        refs += [*io.data_inputs, *io.data_outputs]
    names = {str(ref.bpmn_id) for ref in refs if getattr(ref, "bpmn_id", None)}
    for definition in _event_definitions(spec):
        names |= {v for v in (getattr(definition, "message_var", None), getattr(definition, "variable", None)) if v}
        names |= {p.name for p in getattr(definition, "correlation_properties", None) or [] if p.name}
    return names


def _problem(exc: Exception, file: str | None, root: Any) -> Problem:
    """Turn a parser exception into a located Italian problem (file, element id, sentence)."""
    file = getattr(exc, "file_name", None) or file
    message = str(exc.args[0]) if exc.args else str(exc)
    if isinstance(exc, _OurValidation):
        return Problem(file, getattr(exc, "id", None) or None, message)
    line = getattr(exc, "line_number", None)
    if SCHEMA_MESSAGE.match(message):
        return schema_problem(message, line if isinstance(line, int) else None, file or "", root, "BPMN 2.0")
    element = getattr(exc, "id", None) or None
    if not element and root is not None and isinstance(line, int) and line:
        element = element_at_line(root, line)
    text = parse_message(message, getattr(exc, "tag", None))
    if line and not element:
        text = f"riga {line}: {text}"
    return Problem(file, element, text)


MAX_CALENDAR_MONTHS = 1200
"""The longest calendar part of a duration (100 years): the library adds years and months one at
a time, so «P99999999999Y» would hold a thread for hours before being found valid."""
_CALENDAR_PART = re.compile(r"P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?", re.IGNORECASE)


def _calendar_too_long(value: str) -> bool:
    """A duration in `value` whose years and months exceed MAX_CALENDAR_MONTHS."""
    for found in _CALENDAR_PART.finditer(value):
        years, months = (float((g or "0").replace(",", ".")) for g in found.groups())
        if years * 12 + months > MAX_CALENDAR_MONTHS:
            return True
    return False


def check_timer_value(kind: str, value: object) -> str | None:
    """Why a timer value (already evaluated) is not valid ISO 8601 for its kind, or None."""
    example = "es. 'R3/PT10H', tre volte ogni 10 ore" if kind == "cycle" else "es. 'P30D' o '2026-12-31T09:00:00'"
    if not isinstance(value, str):
        return f"deve essere un testo ISO 8601 ({example})"
    if _calendar_too_long(value):
        return f"«{value[:40]}»: durata troppo lunga (al massimo {MAX_CALENDAR_MONTHS // 12} anni)"
    try:
        if kind == "cycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif kind == "duration":
            TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(value))
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception:
        return f"«{value}» non è un valore ISO 8601 ({example})"
    return None


def add_iso_duration(start: datetime, duration: str) -> datetime:
    """`start` plus an ISO 8601 duration such as 'P2D' (months and years by calendar)."""
    if _calendar_too_long(duration):
        raise ValueError(f"durata troppo lunga (al massimo {MAX_CALENDAR_MONTHS // 12} anni): {duration[:40]}")
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    delta: timedelta = TimerEventDefinition.get_timedelta_from_start(parsed, start)
    return start + delta


def load_spec_json(spec_json: str) -> tuple[Any, dict[str, Any]]:
    """Restore a stored process spec and its embedded subprocess specs."""
    payload = json.loads(spec_json)
    spec = _REGISTRY.restore(payload["spec"])
    embedded = {name: _REGISTRY.restore(sub) for name, sub in payload["embedded"].items()}
    for restored in [spec, *embedded.values()]:
        run_abstract_tasks(restored)
    return spec, embedded
