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
    found = []
    for element in process.iter():
        kind = ACTIVITIES.get(local_name(element.tag))
        if kind is None:
            continue
        element_id = element.get("id") or ""
        lane = lanes.get(element_id)
        role = role_for_lane(lane)
        found.append(Activity(element_id, element.get("name") or element_id, kind, role_label(role) if role else lane))
    return found
