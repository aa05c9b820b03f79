"""A published version's diagram: its BPMN file, and its activities as text (for the viewer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.roles import Actor, role_for_lane, role_label
from engine.errors import NotFound
from engine.models import BundleFile, DefinitionFile, ProcessDefinition
from engine.safexml import UnsafeXml, parse_xml
from engine.studio.catalogue import Catalogue, ProcessEntry, Version, catalogue
from engine.studio.timers import timer_reading

ACTIVITIES = {
    "task": "Attività automatica",
    "userTask": "Attività utente",
    "manualTask": "Attività manuale",
    "scriptTask": "Script",
    "businessRuleTask": "Decisione (DMN)",
    "sendTask": "Invio di messaggio",
    "receiveTask": "Attesa di messaggio",
    "callActivity": "Chiamata di processo",
    "subProcess": "Sottoprocesso",
    "transaction": "Transazione",
}


@dataclass(frozen=True)
class Activity:
    """An activity of the diagram as the text alternative lists it."""

    element: str
    name: str
    kind: str
    lane: str | None
    timing: tuple[str, ...] = ()
    """Its due time and the timers on its border, read in Italian («scade 10 giorni dopo…»)."""


@dataclass(frozen=True)
class Diagram:
    """One version's diagram: where it sits in the studio, its BPMN file and its activities."""

    catalogue: Catalogue
    entry: ProcessEntry
    version: Version
    file_name: str
    xml: str
    activities: list[Activity]


def version_diagram(session: Session, actor: Actor, ambito: str | None, key: str, definition_id: int) -> Diagram:
    """The diagram of a version the studio of `ambito` shows (NotFound outside the actor's reach)."""
    view = catalogue(session, actor, ambito, key)
    entry = view.get(key)
    version = next((v for v in entry.versions if v.definition_id == definition_id), None) if entry else None
    if entry is None or version is None:
        raise NotFound(f"Versione {definition_id} del processo «{key}» non trovata.")
    files = session.execute(
        select(BundleFile.name, DefinitionFile.content)
        .join(DefinitionFile, DefinitionFile.sha256 == BundleFile.sha256)
        .join(ProcessDefinition, ProcessDefinition.bundle_id == BundleFile.bundle_id)
        .where(ProcessDefinition.id == definition_id, BundleFile.kind == "bpmn")
        .order_by(BundleFile.name)
    ).all()
    for name, content in files:
        process = process_element(content, key)
        if process is not None:
            return Diagram(view, entry, version, name, content, _activities(process))
    raise NotFound(f"Il diagramma del processo «{key}» non è nel pacchetto della versione {version.version}.")


def local_name(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def process_element(content: str, key: str) -> Any | None:
    """The `process` element with id `key` in a stored BPMN file, if it holds one."""
    if f'"{key}"' not in content and f"'{key}'" not in content:
        return None
    try:
        root = parse_xml(content.encode("utf-8"), max_bytes=len(content.encode("utf-8")) + 1)
    except UnsafeXml:
        return None  # stored files passed this check at deploy; never fail a page on one
    return next((el for el in root.iter() if local_name(el.tag) == "process" and el.get("id") == key), None)


def _activities(process: Any) -> list[Activity]:
    """Activities of a process in document order, nested ones included, with their lane's role."""
    lanes: dict[str, str] = {}
    for lane in process.iter():
        if local_name(lane.tag) == "lane":
            for ref in lane:
                if local_name(ref.tag) == "flowNodeRef" and ref.text:
                    lanes[ref.text.strip()] = lane.get("name") or lane.get("id") or ""
    timers = _border_timers(process)
    found = []
    for element in process.iter():
        kind = ACTIVITIES.get(local_name(element.tag))
        if kind is None:
            continue
        element_id = element.get("id") or ""
        lane = lanes.get(element_id)
        role = role_for_lane(lane)
        timing = tuple(_due(element) + timers.get(element_id, []))
        found.append(
            Activity(element_id, element.get("name") or element_id, kind, role_label(role) if role else lane, timing)
        )
    return found


TIMER_KINDS = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}


def _due(element: Any) -> list[str]:
    """The reading of a task's due time (`dueIn` property), if it has one."""
    for child in element.iter():
        if local_name(child.tag) == "property" and child.get("name") == "dueIn" and child.get("value"):
            return [timer_reading("due", child.get("value"))]
    return []


def _border_timers(process: Any) -> dict[str, list[str]]:
    """Activity id → readings of the timers on its border («Nessuna risposta: dopo 5 giorni»)."""
    found: dict[str, list[str]] = {}
    for event in process.iter():
        if local_name(event.tag) != "boundaryEvent" or not event.get("attachedToRef"):
            continue
        for definition in event:
            if local_name(definition.tag) != "timerEventDefinition":
                continue
            for value in definition:
                kind = TIMER_KINDS.get(local_name(value.tag))
                if kind is not None:
                    label = event.get("name") or event.get("id") or "timer"
                    reading = timer_reading(kind, value.text or "")
                    found.setdefault(event.get("attachedToRef"), []).append(f"{label}: {reading}")
    return found
