"""Small BPMN documents for tests, written out as real files' contents."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="defs" targetNamespace="http://inlav.example/test">\n'
)

SIMPLE_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"nota": {"type": "string", "title": "Nota"}},
}


def user_task(task_id: str, form: str = "nota.schema.json", name: str = "Compila") -> str:
    return (
        f'<bpmn:userTask id="{task_id}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>\n"
    )


def instructed_task(task_id: str, instructions: str, form: str = "nota.schema.json") -> str:
    """A user task whose instructions (a Jinja template) are `instructions`."""
    return (
        f'<bpmn:userTask id="{task_id}" name="Leggi e compila"><bpmn:extensionElements>'
        f"<spiffworkflow:instructionsForEndUser>{escape(instructions)}</spiffworkflow:instructionsForEndUser>"
        f'<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>\n"
    )


def instructions_bundle(instructions: str, process_id: str = "istruzioni") -> dict[str, bytes]:
    """start → user task with the given instructions → end, as a bundle."""
    body = (
        '<bpmn:startEvent id="start"/>\n'
        + instructed_task("leggi", instructions)
        + '<bpmn:endEvent id="fine"/>\n'
        + flow("f1", "start", "leggi")
        + flow("f2", "leggi", "fine")
    )
    return {f"{process_id}.bpmn": document(process(process_id, body, ["leggi"])), "nota.schema.json": form_json()}


def script_task(task_id: str, script: str) -> str:
    body = f"<bpmn:script>{escape(script)}</bpmn:script>"
    return f'<bpmn:scriptTask id="{task_id}" name="Calcolo">{body}</bpmn:scriptTask>\n'


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>\n'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>\n"
    )


def process(process_id: str, body: str, lane_tasks: list[str], lane: str = "operatore_contatto") -> str:
    refs = "".join(f"<bpmn:flowNodeRef>{t}</bpmn:flowNodeRef>" for t in lane_tasks)
    lane_xml = f'<bpmn:lane id="lane_{process_id}" name="{lane}">{refs}</bpmn:lane>'
    lanes = f'<bpmn:laneSet id="ls_{process_id}">{lane_xml}</bpmn:laneSet>\n'
    opening = f'<bpmn:process id="{process_id}" name="Processo {process_id}" isExecutable="true">'
    return f"{opening}\n{lanes}{body}</bpmn:process>\n"


def document(*processes: str) -> bytes:
    return (HEADER + "".join(processes) + "</bpmn:definitions>\n").encode()


def form_json(schema: dict | None = None) -> bytes:
    return json.dumps(schema or SIMPLE_FORM).encode()


def form_then_script(script: str, process_id: str = "calcolo") -> dict[str, bytes]:
    """start → user task → script task → user task → end, as a bundle."""
    body = (
        '<bpmn:startEvent id="start"/>\n'
        + user_task("prima")
        + script_task("calcola", script)
        + user_task("dopo", name="Verifica")
        + '<bpmn:endEvent id="fine"/>\n'
        + flow("f1", "start", "prima")
        + flow("f2", "prima", "calcola")
        + flow("f3", "calcola", "dopo")
        + flow("f4", "dopo", "fine")
    )
    return {
        f"{process_id}.bpmn": document(process(process_id, body, ["prima", "dopo"])),
        "nota.schema.json": form_json(),
    }


def loop_bundle(process_id: str = "ciclo") -> dict[str, bytes]:
    """start → script (i += 1) → script (keep last 5) → gateway (i < n: back) → end."""
    body = (
        '<bpmn:startEvent id="start"/>\n'
        + script_task("conta", "i = i + 1")
        + script_task("annota", "storico = (storico + [i])[-5:]")
        + '<bpmn:exclusiveGateway id="ancora" default="basta"/>\n'
        + '<bpmn:endEvent id="fine"/>\n'
        + flow("f1", "start", "conta")
        + flow("f2", "conta", "annota")
        + flow("f2b", "annota", "ancora")
        + flow("di_nuovo", "ancora", "conta", "i < n")
        + flow("basta", "ancora", "fine")
    )
    return {f"{process_id}.bpmn": document(process(process_id, body, []))}


def user_loop_bundle(process_id: str = "revisioni") -> dict[str, bytes]:
    """start → user task → script (giro += 1) → gateway (continua: back) → end."""
    body = (
        '<bpmn:startEvent id="start"/>\n'
        + user_task("revisione", "revisione.schema.json", "Revisione periodica")
        + script_task("segna", "giro = giro + 1")
        + '<bpmn:exclusiveGateway id="continua" default="chiudi"/>\n'
        + '<bpmn:endEvent id="fine"/>\n'
        + flow("f1", "start", "revisione")
        + flow("f2", "revisione", "segna")
        + flow("f3", "segna", "continua")
        + flow("ancora", "continua", "revisione", "not finito")
        + flow("chiudi", "continua", "fine")
    )
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["finito"],
        "properties": {
            "finito": {"type": "boolean", "title": "Finito"},
            "nota": {"type": "string", "title": "Nota", "maxLength": 2000},
        },
    }
    return {
        f"{process_id}.bpmn": document(process(process_id, body, ["revisione"])),
        "revisione.schema.json": form_json(schema),
    }


def timer_bundle(process_id: str = "attesa") -> dict[str, bytes]:
    """start → timer (duration from data) → script → end."""
    body = (
        '<bpmn:startEvent id="start"/>\n'
        '<bpmn:intermediateCatchEvent id="aspetta" name="Attesa"><bpmn:timerEventDefinition id="t">'
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">durata</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>\n"
        + script_task("segna", "scattato = True")
        + '<bpmn:endEvent id="fine"/>\n'
        + flow("f1", "start", "aspetta")
        + flow("f2", "aspetta", "segna")
        + flow("f3", "segna", "fine")
    )
    return {f"{process_id}.bpmn": document(process(process_id, body, []))}


def referral_bundle(process_id: str = "accoglienza", with_none_start: bool = True) -> dict[str, bytes]:
    """A process started by hand or by a 'segnalazione' message; both lead to a user task."""
    message_start = (
        '<bpmn:startEvent id="da_segnalazione" name="Segnalazione ricevuta">'
        '<bpmn:messageEventDefinition id="md" messageRef="msg_segnalazione"><bpmn:extensionElements>'
        "<spiffworkflow:messageVariable>segnalazione</spiffworkflow:messageVariable>"
        "</bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:startEvent>\n"
    )
    body = (
        ('<bpmn:startEvent id="a_mano" name="Contatto diretto"/>\n' if with_none_start else "")
        + message_start
        + user_task("primo_colloquio")
        + '<bpmn:endEvent id="fine"/>\n'
        + (flow("f0", "a_mano", "primo_colloquio") if with_none_start else "")
        + flow("f1", "da_segnalazione", "primo_colloquio")
        + flow("f2", "primo_colloquio", "fine")
    )
    message = '<bpmn:message id="msg_segnalazione" name="segnalazione"/>\n'
    xml = document(process(process_id, body, ["primo_colloquio"])).replace(
        b"<bpmn:process", message.encode() + b"<bpmn:process", 1
    )
    return {f"{process_id}.bpmn": xml, "nota.schema.json": form_json()}


def throw_bundle(process_id: str = "invio_rete") -> dict[str, bytes]:
    """start → script → throw message 'invio_partner' (key from data) → end."""
    body = (
        '<bpmn:startEvent id="start"/>'
        + script_task("prepara", "rif = 'INV-1'\nrichiesta = {'servizio': 'orientamento'}")
        + '<bpmn:intermediateThrowEvent id="invia"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="correlationKey" value="rif"/></spiffworkflow:properties>'
        '</bpmn:extensionElements><bpmn:messageEventDefinition id="d_invia" messageRef="m_invio">'
        "<bpmn:extensionElements><spiffworkflow:messagePayload>richiesta</spiffworkflow:messagePayload>"
        "</bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateThrowEvent>"
        '<bpmn:endEvent id="fine"/>'
        + flow("f1", "start", "prepara")
        + flow("f2", "prepara", "invia")
        + flow("f3", "invia", "fine")
    )
    xml = document(process(process_id, body, []))
    xml = xml.replace(b"<bpmn:process", b'<bpmn:message id="m_invio" name="invio_partner"/><bpmn:process', 1)
    return {f"{process_id}.bpmn": xml}


def long_chain_bundle(nodes: int = 2500, user_every: int = 500, process_id: str = "catena") -> dict[str, bytes]:
    """start → about `nodes` flow nodes in a row → end: script tasks, exclusive split/merge
    pairs (one branch with a task, one empty), and a user task every `user_every` nodes.

    Each node has one incoming and one outgoing flow (gateways two), so the document holds
    about twice as many BPMN elements as `nodes` counting sequence flows.
    """
    parts = ['<bpmn:startEvent id="start"/>\n', script_task("n0", "passi = 0\ndeviazioni = 0")]
    flows: list[str] = [flow("f_start", "start", "n0")]
    users: list[str] = []
    previous, count, index = "n0", 2, 0
    while count < nodes:
        index += 1
        if index % user_every == 0:
            node = f"u{index}"
            parts.append(user_task(node, name=f"Verifica {index}"))
            users.append(node)
            count += 1
        elif index % 10 == 0:
            node = f"g{index}_chiudi"
            parts.append(f'<bpmn:exclusiveGateway id="g{index}" default="g{index}_salta"/>\n')
            parts.append(script_task(f"g{index}_ramo", "deviazioni = deviazioni + 1"))
            parts.append(f'<bpmn:exclusiveGateway id="{node}"/>\n')
            flows.append(flow(f"f{index}", previous, f"g{index}"))
            flows.append(flow(f"g{index}_si", f"g{index}", f"g{index}_ramo", "passi % 20 == 9"))
            flows.append(flow(f"g{index}_salta", f"g{index}", node))
            flows.append(flow(f"g{index}_rientra", f"g{index}_ramo", node))
            previous, count = node, count + 3
            continue
        else:
            node = f"n{index}"
            parts.append(script_task(node, "passi = passi + 1"))
            count += 1
        flows.append(flow(f"f{index}", previous, node))
        previous = node
    parts.append('<bpmn:endEvent id="fine"/>\n')
    flows.append(flow("f_fine", previous, "fine"))
    return {
        f"{process_id}.bpmn": document(process(process_id, "".join(parts + flows), users)),
        "nota.schema.json": form_json(),
    }
