"""References inside a BPMN file that SpiffWorkflow silently ignores or reports obscurely.

A flow from an element that does not exist is dropped without a word; a flow to one
raises "we found two items, perhaps a form has the same ID?"; a boundary event on a
missing task vanishes; a `default` naming no outgoing flow leaves the gateway without
a way out; an event pointing to an undefined message makes the parser fail with a
TypeError. We check these before the library parses the file, so each is reported on
the element that has it, with the fix.
"""

from __future__ import annotations

from typing import Any

from engine.errors import Problem
from engine.spiff.diagnostics import a_element

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_FLOW_NODES = {
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "complexGateway",
}
_DEFINITION_REFS = {
    "messageEventDefinition": ("messageRef", "message", "il messaggio"),
    "signalEventDefinition": ("signalRef", "signal", "il segnale"),
    "errorEventDefinition": ("errorRef", "error", "l'errore"),
    "escalationEventDefinition": ("escalationRef", "escalation", "l'escalation"),
}


def reference_problems(file: str, root: Any) -> list[Problem]:
    """Broken id references of one BPMN document, each on the element that holds it."""
    problems: list[Problem] = []
    defined = {
        kind: {node.get("id") for node in root.iter(f"{{{BPMN}}}{kind}")}
        for kind in ("message", "signal", "error", "escalation")
    }
    for process in [*root.iter(f"{{{BPMN}}}process"), *root.iter(f"{{{BPMN}}}subProcess")]:
        _check_container(file, process, problems)
    for tag, (attribute, kind, label) in _DEFINITION_REFS.items():
        for definition in root.iter(f"{{{BPMN}}}{tag}"):
            ref = definition.get(attribute)
            if ref and _local(ref) not in defined[kind]:
                owner = definition.getparent()
                problems.append(
                    Problem(
                        file,
                        owner.get("id") or definition.get("id"),
                        f"l'evento usa {label} «{ref}», che non è definito nel file: aggiungerne la definizione "
                        f'(<bpmn:{kind} id="{_local(ref)}">) o scegliere uno di quelli esistenti',
                    )
                )
    return problems


def _check_container(file: str, container: Any, problems: list[Problem]) -> None:
    """Flows, boundary events and defaults of one process or subprocess (its direct children)."""
    nodes: dict[str, Any] = {}
    for child in container:
        if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{BPMN}}}"):
            continue
        local = child.tag.split("}", 1)[1]
        if local in _FLOW_NODES:
            if not child.get("id"):
                problems.append(
                    Problem(
                        file,
                        container.get("id"),
                        f"{a_element(local)} (riga {child.sourceline}) non ha l'identificativo (id): "
                        "aggiungerlo, altrimenti nessun flusso può raggiungerlo",
                    )
                )
            else:
                nodes[child.get("id")] = child
    outgoing: dict[str, set[str]] = {}
    for flow in container.findall(f"{{{BPMN}}}sequenceFlow"):
        flow_id = flow.get("id")
        for end, attribute in (("parte da", "sourceRef"), ("porta a", "targetRef")):
            ref = flow.get(attribute)
            if ref is not None and ref not in nodes:
                problems.append(
                    Problem(
                        file,
                        flow_id,
                        f"il flusso {end} «{ref}», che non è un elemento di questo processo: collegarlo a un "
                        "elemento esistente o eliminarlo",
                    )
                )
        outgoing.setdefault(flow.get("sourceRef") or "", set()).add(flow_id or "")
    for node_id, node in nodes.items():
        attached = node.get("attachedToRef")
        if attached is not None and attached not in nodes:
            problems.append(
                Problem(
                    file,
                    node_id,
                    f"l'evento di confine è agganciato a «{attached}», che non è un'attività di questo processo: "
                    "agganciarlo a un'attività esistente",
                )
            )
        default = node.get("default")
        if default is not None and default not in outgoing.get(node_id, set()):
            problems.append(
                Problem(
                    file,
                    node_id,
                    f"il flusso predefinito «{default}» non è tra i flussi che escono da questo elemento: "
                    "scegliere come predefinito uno dei suoi flussi in uscita",
                )
            )


def _local(ref: str) -> str:
    """'tns:msg' → 'msg' (QName references may carry a prefix)."""
    return ref.rsplit(":", 1)[-1]
