"""Which BPMN constructs the engine runs, and which it refuses at deploy because a case
would sit on them forever (or skip them silently).

Every element the parser accepts either moves by itself (script, decision, gateway,
abstract task, none throw event…), waits for something the product delivers (a person
in the inbox, a timer the worker fires, a message routed by name and key, a called
process) or is refused here with the cause and what to use instead. The table is in
docs/architecture.md («What the engine runs»); tests/engine/test_constructs.py proves
each line.
"""

from __future__ import annotations

from copy import copy
from typing import Any, ClassVar

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import SpiffBpmnTaskConverter
from SpiffWorkflow.spiff.specs.defaults import NoneTask
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask

from engine.errors import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


class AbstractTask(SpiffBpmnTask):  # type: ignore[misc]
    """A `bpmn:task`: BPMN's abstract activity, which does nothing and passes the token on.

    SpiffWorkflow makes it a manual task that waits for someone to run it, but no inbox
    shows it, so a case would wait there forever. Here it runs by itself (its pre- and
    post-scripts included).
    """


class EngineParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffBpmnParser with `bpmn:task` as a pass-through activity."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[Any, Any]]] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("task"): (SpiffTaskParser, AbstractTask),
    }


ENGINE_CONFIG = copy(SPIFF_CONFIG)
ENGINE_CONFIG[AbstractTask] = SpiffBpmnTaskConverter


def run_abstract_tasks(spec: Any) -> None:
    """Let the `bpmn:task` elements of a spec stored before AbstractTask existed run by themselves."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, NoneTask):
            task_spec.manual = False


# --------------------------------------------------------------------------- deploy check

_USE_MESSAGE = "usare un evento messaggio (la piattaforma instrada i messaggi per nome e chiave di correlazione)"
_CONDITIONAL = (
    "gli eventi condizionali non sono supportati (la condizione non viene più rivalutata e il caso resterebbe "
    "fermo): usare un gateway esclusivo sui dati"
)
_SIGNAL = f"gli eventi segnale non sono supportati (nessuno li recapita): {_USE_MESSAGE}"
_LINK = "gli eventi di collegamento (link) non sono supportati: collegare gli elementi con un flusso di sequenza"
_COMPENSATE = (
    "gli eventi di compensazione non sono supportati: modellare l'annullamento come attività esplicite "
    "su un ramo del processo"
)
_DEFINITION_CAUSE = {
    "conditionalEventDefinition": _CONDITIONAL,
    "signalEventDefinition": _SIGNAL,
    "linkEventDefinition": _LINK,
    "compensateEventDefinition": _COMPENSATE,
}
# Event definitions each kind of event may carry here (none: an event without definition).
_ALLOWED_DEFINITIONS = {
    "startEvent": {"none", "messageEventDefinition", "timerEventDefinition"},
    "intermediateCatchEvent": {"messageEventDefinition", "timerEventDefinition"},
    "intermediateThrowEvent": {"none", "messageEventDefinition", "escalationEventDefinition"},
    "boundaryEvent": {
        "messageEventDefinition",
        "timerEventDefinition",
        "errorEventDefinition",
        "escalationEventDefinition",
        "cancelEventDefinition",
    },
    "endEvent": {
        "none",
        "messageEventDefinition",
        "errorEventDefinition",
        "escalationEventDefinition",
        "cancelEventDefinition",
        "terminateEventDefinition",
    },
}
_EVENT_NAMES = {
    "startEvent": "evento di inizio",
    "intermediateCatchEvent": "evento intermedio di attesa",
    "intermediateThrowEvent": "evento intermedio di lancio",
    "boundaryEvent": "evento di confine",
    "endEvent": "evento di fine",
}
_REFUSED_ELEMENTS = {
    "complexGateway": "i gateway complessi non sono supportati: usare un gateway inclusivo con condizioni sui rami",
    "adHocSubProcess": (
        "i sottoprocessi ad hoc non sono supportati (nessuno sceglierebbe le attività da svolgere): "
        "usare un gateway inclusivo o parallelo con le attività in sequenza"
    ),
    "serviceTask": (
        "i service task non sono supportati (la piattaforma non chiama servizi esterni): usare un evento "
        "intermedio di lancio di messaggio, che i sistemi dei partner leggono dalla posta in uscita"
    ),
}
_WAITABLE_AFTER_EVENT_GATEWAY = "un gateway a eventi deve portare solo a eventi di attesa di messaggio o di timer"


def check_constructs(bpmn: dict[str, Any]) -> list[Problem]:
    """Elements of the bundle's BPMN files (name → lxml root) the engine would stall on or skip."""
    problems: list[Problem] = []
    for name, root in sorted(bpmn.items()):
        ids = {el.get("id"): el for el in root.iter(f"{{{BPMN_NS}}}*") if el.get("id")}
        for el in root.iter(f"{{{BPMN_NS}}}*"):
            if _in_event_subprocess(el) or _in_non_executable_process(el):
                continue  # refused as a whole when the bundle is parsed; never run
            cause = _refusal(el, ids)
            if cause:
                problems.append(Problem(name, el.get("id"), cause))
    return problems


def _in_event_subprocess(el: Any) -> bool:
    return any(
        _local(parent) == "subProcess" and parent.get("triggeredByEvent") == "true" for parent in el.iterancestors()
    )


def _in_non_executable_process(el: Any) -> bool:
    """Inside a pool drawn for context (a partner's process, isExecutable="false"), which never runs."""
    return any(_local(parent) == "process" and parent.get("isExecutable") == "false" for parent in el.iterancestors())


def _local(el: Any) -> str:
    return str(el.tag).rsplit("}", 1)[-1]


def _definitions(el: Any) -> list[str]:
    return [_local(child) for child in el if isinstance(child.tag, str) and _local(child).endswith("EventDefinition")]


def _children(el: Any) -> list[Any]:
    return [child for child in el if isinstance(child.tag, str)]


def _has_message(el: Any) -> bool:
    return bool(el.get("messageRef")) or "messageEventDefinition" in _definitions(el)


def _refusal(el: Any, ids: dict[str, Any]) -> str | None:
    tag = _local(el)
    if tag in _REFUSED_ELEMENTS:
        return _REFUSED_ELEMENTS[tag]
    if tag == "sendTask" and not _has_message(el):
        return "l'attività di invio non indica il messaggio da inviare (messageRef)"
    if tag == "receiveTask" and not _has_message(el):
        return "l'attività di ricezione non indica il messaggio da attendere (messageRef): senza, verrebbe saltata"
    if tag == "eventBasedGateway":
        for flow in ids.values():
            if _local(flow) == "sequenceFlow" and flow.get("sourceRef") == el.get("id"):
                target = ids.get(flow.get("targetRef"))
                if target is None or not _waitable(target):
                    return _WAITABLE_AFTER_EVENT_GATEWAY
        return None
    allowed = _ALLOWED_DEFINITIONS.get(tag)
    if allowed is None:
        return None
    if any(_local(child) == "messageEventDefinition" and not child.get("messageRef") for child in _children(el)):
        # SpiffWorkflow accepts it, then the case fails when it reaches the event (no message name).
        return f"{_EVENT_NAMES[tag]} di messaggio non indica quale messaggio (messageRef): sceglierlo o toglierlo"
    found = _definitions(el) or ["none"]
    for definition in found:
        if definition in allowed:
            continue
        if definition in _DEFINITION_CAUSE:
            return _DEFINITION_CAUSE[definition]
        if definition == "none":
            return (
                "un evento intermedio di attesa deve attendere qualcosa: indicare un messaggio o un timer, "
                "oppure toglierlo"
            )
        kind = definition.removesuffix("EventDefinition")
        return f"{_EVENT_NAMES[tag]} di tipo «{kind}» non supportato"
    return None


def _waitable(el: Any) -> bool:
    tag = _local(el)
    if tag == "receiveTask":
        return _has_message(el)
    if tag != "intermediateCatchEvent":
        return False
    found = _definitions(el)
    return len(found) == 1 and found[0] in {"messageEventDefinition", "timerEventDefinition"}
