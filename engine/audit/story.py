"""One instance's whole story for the auditor: every history event with field-level values.

The history rows are read as stored (identity fields sealed) and opened with the case's
cipher; an erased identity reads as `ERASED`, never as ciphertext. Field labels come
from the form of the task in the exact bundle the event's definition came in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import codec, definitions
from engine.access.matrix import Action, require_in
from engine.access.roles import Actor, role_label
from engine.config import Settings
from engine.datadiff import apply_diff
from engine.errors import NotFound
from engine.history import verify_chain
from engine.models import Ambito, AppUser, HistoryEvent, ProcessDefinition, ProcessInstance
from engine.privacy import ERASED, CaseCipher, cipher_for
from engine.spiff import element_forms

KIND_LABELS = {
    "instance_started": "Istanza avviata",
    "task_claimed": "Attività presa in carico",
    "task_released": "Attività rilasciata",
    "task_completed": "Attività completata",
    "task_cancelled": "Attività annullata",
    "script": "Script eseguito",
    "decision": "Decisione (tabella DMN) applicata",
    "gateway": "Diramazione valutata",
    "subprocess_completed": "Sottoprocesso concluso",
    "start_event": "Evento di inizio",
    "end_event": "Evento di fine",
    "event": "Evento raggiunto",
    "event_thrown": "Evento lanciato",
    "step": "Passo automatico",
    "timer_fired": "Scadenza (timer) raggiunta",
    "message_received": "Messaggio ricevuto",
    "message_sent": "Messaggio inviato",
    "incident": "Errore",
    "retried": "Nuovo tentativo dopo un errore",
    "stalled": "Caso fermo: nessuna attività in attesa",
    "instance_completed": "Istanza conclusa",
    "instance_migrated": "Istanza migrata a una nuova versione",
    "migrated": "Migrazione a un'altra versione del processo",
    "migration_undone": "Migrazione annullata",
    "consent_recorded": "Consenso registrato",
    "consent_withdrawn": "Consenso revocato",
    "consent_override": "Invio autorizzato senza consenso",
    "identity_erased": "Identità cancellata",
    "retention_anonymised": "Anonimizzata alla scadenza della conservazione",
}
UNKNOWN_KIND = "Evento «{kind}»"
CHANGE_LABELS = {"added": "aggiunto", "changed": "modificato", "removed": "rimosso", "replaced": "sostituito"}
DETAIL_LABELS = {
    "process": "Processo",
    "version": "Versione",
    "ambito": "Ambito",
    "manifest": "Versioni dei processi",
    "message": "Messaggio",
    "correlation_key": "Chiave di correlazione",
    "from_version": "Dalla versione",
    "to_version": "Alla versione",
    "changed": "Elementi cambiati",
    "reason": "Motivo",
    "scope": "Tipo di consenso",
    "channel": "Canale",
    "consent": "Consenso n.",
    "released_messages": "Messaggi liberati",
    "at": "Momento",
    "element": "Elemento",
    "task_id": "Attività",
    "kind": "Tipo di errore",
    "last_step": "Ultimo passo",
    "job": "Lavoro di migrazione",
}
# For an error, «message» is the error itself.
DETAIL_LABELS_BY_KIND = {"incident": {"message": "Errore"}, "stalled": {"message": "Situazione"}}
STATUS_LABELS = {"running": "In corso", "completed": "Conclusa", "error": "Bloccata da un errore"}
INSTANCE_NOT_FOUND = "Istanza «{code}» non trovata."


def kind_label(kind: str) -> str:
    """Italian label of a history event kind (unknown kinds are named, never hidden)."""
    return KIND_LABELS.get(kind, UNKNOWN_KIND.format(kind=kind))


def value_text(value: Any) -> str:
    """A stored value as a person reads it (structures as compact JSON)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "sì" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


@dataclass(frozen=True)
class FieldChange:
    """One field a step added, changed or removed."""

    name: str
    label: str | None
    change: str
    before: Any
    after: Any

    @property
    def change_label(self) -> str:
        return CHANGE_LABELS.get(self.change, self.change)

    @property
    def before_text(self) -> str:
        return value_text(self.before)

    @property
    def after_text(self) -> str:
        return value_text(self.after)


@dataclass
class StoryEvent:
    """One event of the history as the auditor reads it."""

    seq: int
    at: datetime
    kind: str
    label: str
    actor: str
    actor_name: str | None
    lane: str | None
    role: str | None
    definition_id: int
    process_key: str | None
    version: int | None
    element: str | None
    title: str | None
    changes: list[FieldChange] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class InstanceSummary:
    """The instance itself: where, what, which version, how it stands."""

    case_code: str
    ambito_code: str
    ambito_name: str
    process_key: str
    process_name: str
    definition_id: int
    version: int | None
    status: str
    status_label: str
    started_at: datetime
    started_by: str
    completed_at: datetime | None
    error_message: str | None
    error_task_id: str | None
    last_seq: int
    identity_erased: bool


@dataclass
class Story:
    """An instance and every event of its history, oldest first."""

    summary: InstanceSummary
    events: list[StoryEvent]


@dataclass(frozen=True)
class ChainCheck:
    """The result of recomputing an instance's hash chain."""

    intact: bool
    broken: list[int]
    checked: int


# --------------------------------------------------------------------------- access


def get_instance(session: Session, actor: Actor, case_code: str) -> ProcessInstance:
    """The instance with this code if the actor may explore its Ambito (else the same NotFound as an unknown one)."""
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == case_code))
    missing = INSTANCE_NOT_FOUND.format(code=case_code)
    require_in(actor, Action.AUDIT_EXPLORE, instance.ambito_code if instance is not None else None, missing)
    assert instance is not None  # require_in raised otherwise
    return instance


def check_chain(session: Session, instance: ProcessInstance) -> ChainCheck:
    """Recompute the instance's hash chain (the one place the story's pages and exports verify)."""
    broken = verify_chain(session, instance.id)
    return ChainCheck(intact=not broken, broken=broken, checked=instance.last_event_seq)


# --------------------------------------------------------------------------- story


def summary_of(session: Session, instance: ProcessInstance) -> InstanceSummary:
    """The instance's summary (names resolved)."""
    ambito = session.get(Ambito, instance.ambito_code)
    definition = session.get(ProcessDefinition, instance.definition_id)
    return InstanceSummary(
        case_code=instance.case_code,
        ambito_code=instance.ambito_code,
        ambito_name=ambito.name if ambito else instance.ambito_code,
        process_key=instance.process_key,
        process_name=definition.name if definition else instance.process_key,
        definition_id=instance.definition_id,
        version=definition.version if definition else None,
        status=instance.status,
        status_label=STATUS_LABELS.get(instance.status, instance.status),
        started_at=instance.started_at,
        started_by=instance.started_by,
        completed_at=instance.completed_at,
        error_message=instance.error_message,
        error_task_id=instance.error_task_id,
        last_seq=instance.last_event_seq,
        identity_erased=instance.identity_erased_at is not None,
    )


def instance_story(session: Session, settings: Settings, actor: Actor, case_code: str) -> Story:
    """Every event of an instance's history, oldest first, with values opened and labelled."""
    instance = get_instance(session, actor, case_code)
    cipher = cipher_for(session, settings, instance)
    rows = list(
        session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq))
    )
    versions = {
        d.id: (d.process_key, d.version)
        for d in definitions.definitions_by_id(session, {r.definition_id for r in rows}).values()
    }
    usernames = {r.actor for r in rows}
    names = dict(
        session.execute(select(AppUser.username, AppUser.full_name).where(AppUser.username.in_(usernames))).all()
    )
    labels = _FieldLabels(session)
    events = [_event(row, cipher, versions, names, labels) for row in rows]
    return Story(summary_of(session, instance), events)


def _event(
    row: HistoryEvent,
    cipher: CaseCipher,
    versions: dict[int, tuple[str, int]],
    names: dict[str, str],
    labels: _FieldLabels,
) -> StoryEvent:
    key, version = versions.get(row.definition_id, (None, None))
    diff = cipher.open_text(row.data_diff_json, ERASED) if row.data_diff_json else None
    detail = cipher.open_text(row.detail_json, ERASED) if row.detail_json else None
    return StoryEvent(
        seq=row.seq,
        at=row.occurred_at,
        kind=row.kind,
        label=kind_label(row.kind),
        actor=row.actor,
        actor_name=names.get(row.actor),
        lane=row.lane,
        role=role_label(row.lane) if row.lane else None,
        definition_id=row.definition_id,
        process_key=key,
        version=version,
        element=row.task_name,
        title=row.task_title or row.task_name,
        changes=_changes(diff, labels.for_event(row.definition_id, row.task_name)),
        details=_details(row.kind, detail),
    )


def _changes(diff: Any, titles: dict[str, str]) -> list[FieldChange]:
    if not isinstance(diff, dict):
        return []
    out = [FieldChange(k, titles.get(k), "added", None, v) for k, v in sorted((diff.get("added") or {}).items())]
    for name, pair in sorted((diff.get("changed") or {}).items()):
        before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        out.append(FieldChange(name, titles.get(name), "changed", before, after))
    out.extend(
        FieldChange(k, titles.get(k), "removed", v, None) for k, v in sorted((diff.get("removed") or {}).items())
    )
    replaced = diff.get("replaced")
    if isinstance(replaced, dict):
        out.append(FieldChange("(tutti i dati)", None, "replaced", replaced.get("before"), replaced.get("after")))
    return out


def _details(kind: str, detail: Any) -> list[tuple[str, str]]:
    if not isinstance(detail, dict):
        return [] if detail is None else [("Dettaglio", value_text(detail))]
    labels = {**DETAIL_LABELS, **DETAIL_LABELS_BY_KIND.get(kind, {})}
    return [(labels.get(str(k), str(k)), value_text(v)) for k, v in detail.items() if v not in (None, "", [], {})]


class _FieldLabels:
    """Field titles of the forms of a definition's bundle, read once per definition."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_definition: dict[int, tuple[dict[str, dict[str, str]], dict[str, str]]] = {}

    def for_event(self, definition_id: int, element: str | None) -> dict[str, str]:
        """Titles for an event: its task's form first, then titles all the bundle's forms agree on."""
        per_element, common = self._load(definition_id)
        return {**common, **per_element.get(element or "", {})}

    def _load(self, definition_id: int) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        if definition_id not in self.by_definition:
            self.by_definition[definition_id] = self._read(definition_id)
        return self.by_definition[definition_id]

    def _read(self, definition_id: int) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        definition = self.session.get(ProcessDefinition, definition_id)
        if definition is None:
            return {}, {}
        forms = element_forms(definition.content_hash, definition.spec_json)
        by_form: dict[str, dict[str, str]] = {}
        for name in set(forms.values()):
            try:
                by_form[name] = _titles(definitions.form_schema(self.session, definition_id, name))
            except (NotFound, ValueError):
                by_form[name] = {}
        seen: dict[str, set[str]] = {}
        for titles in by_form.values():
            for key, title in titles.items():
                seen.setdefault(key, set()).add(title)
        common = {key: next(iter(found)) for key, found in seen.items() if len(found) == 1}
        return {element: by_form.get(form, {}) for element, form in forms.items()}, common


def _titles(schema: dict[str, Any]) -> dict[str, str]:
    """Field name → title of a JSON form (top-level properties)."""
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    return {k: str(v["title"]) for k, v in props.items() if isinstance(v, dict) and isinstance(v.get("title"), str)}


# --------------------------------------------------------------------------- data as it stood


def data_after(session: Session, settings: Settings, actor: Actor, case_code: str, seq: int) -> dict[str, Any]:
    """The case data as it stood after step `seq` (the stored diffs 1..seq replayed, then opened)."""
    instance = get_instance(session, actor, case_code)
    if seq < 0 or seq > instance.last_event_seq:
        raise NotFound(f"Il passo {seq} non esiste: la storia dell'istanza va da 1 a {instance.last_event_seq}.")
    data: dict[str, Any] = {}
    diffs = session.scalars(
        select(HistoryEvent.data_diff_json)
        .where(HistoryEvent.instance_id == instance.id, HistoryEvent.seq <= seq)
        .where(HistoryEvent.data_diff_json.is_not(None))
        .order_by(HistoryEvent.seq)
    )
    # Sealing is deterministic per case: sealed diffs replay onto sealed data exactly.
    for text in diffs:
        diff = codec.from_jsonable_text(text or "null")
        apply_diff(data, diff if isinstance(diff, dict) else None)
    opened = cipher_for(session, settings, instance).open_data(data, ERASED)
    return opened if isinstance(opened, dict) else {}
