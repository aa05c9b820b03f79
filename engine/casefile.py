"""Case file: where a person is, what was done by whom, the PIP and the referrals.

A read model built from the case row, its open tasks and its hash-chained history (the
case data is the history's data changes replayed), plus the `case_index` projection
that makes cases findable by code or alias without looking inside JSON.

Well-known variable names (the case-facts contract of the regional model) are listed
below; a model that uses other names still gets a timeline and its open tasks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import codec, definitions
from engine.access.matrix import Action, ambiti_for, require, require_in
from engine.access.roles import Actor, role_label
from engine.config import Settings
from engine.errors import NotFound
from engine.instances import Outcome, require_plain_start, start_instance
from engine.limits import DataLimits, clip_depth
from engine.models import Ambito, CaseIndex, HistoryEvent, HumanTask, Partner, ProcessDefinition, ProcessInstance
from engine.privacy import (
    ERASED,
    SHARING,
    CaseCipher,
    ConsentView,
    KeyUnavailable,
    PersonalDataUnavailable,
    cipher_for,
    consents_of,
    held_messages,
    index_key,
    master_keys,
    matching_instances,
    tokens_for_query,
)
from engine.projections import alias_of, first_present, stage_of, sync_case_index

PIP_KEYS = ("pip", "piano", "PIP")
INTERVENTION_KEYS = ("interventi", "interventions", "servizi")
REFERRAL_KEYS = ("invii", "segnalazioni", "referrals", "invii_rete")
TIMELINE_KINDS = {
    "instance_started": "Caso aperto",
    "task_completed": "Attività completata",
    "task_cancelled": "Attività annullata",
    "timer_fired": "Scadenza raggiunta",
    "message_received": "Messaggio ricevuto",
    "message_sent": "Messaggio inviato",
    "incident": "Errore del modello",
    "stalled": "Caso fermo: nessuna attività in attesa",
    "instance_completed": "Caso concluso",
    "instance_migrated": "Caso migrato a una nuova versione",
    "migrated": "Caso spostato su un'altra versione del processo",
    "migration_undone": "Migrazione annullata: caso riportato alla versione precedente",
    "consent_recorded": "Consenso registrato",
    "consent_withdrawn": "Consenso revocato",
    "consent_override": "Invio autorizzato senza consenso",
    "identity_erased": "Identità cancellata",
}
# Events whose detail (message, reason) the timeline shows.
DETAIL_KINDS = (
    "incident",
    "stalled",
    "message_received",
    "message_sent",
    "consent_override",
    "migrated",
    "migration_undone",
)
STATUS_LABELS = {"running": "In corso", "completed": "Concluso", "error": "Bloccato da un errore"}


@dataclass
class TimelineEntry:
    """One step of the case's history as a person reads it."""

    seq: int
    at: datetime
    kind: str
    label: str
    title: str | None
    actor: str
    role: str | None
    version: int | None
    changed: list[str] = field(default_factory=list)
    detail: str | None = None


@dataclass
class PlanItem:
    """One intervention of the PIP, or one referral to a partner."""

    title: str
    status: str | None
    partner: str | None = None
    due: str | None = None
    note: str | None = None


@dataclass
class CaseFile:
    """Everything the case file page shows."""

    instance: ProcessInstance
    ambito_name: str
    process_name: str
    version: int | None
    alias: str | None
    stage: str
    status_label: str
    open_tasks: list[HumanTask]
    timeline: list[TimelineEntry]
    data: dict[str, Any]
    pip: list[PlanItem]
    pip_meta: dict[str, Any]
    referrals: list[PlanItem]
    consents: list[ConsentView] = field(default_factory=list)
    held: list[HeldMessage] = field(default_factory=list)
    data_warnings: list[str] = field(default_factory=list)  # parts of `data` cut at the depth limit

    @property
    def identity_erased(self) -> bool:
        return self.instance.identity_erased_at is not None

    @property
    def sharing_consent(self) -> bool:
        return any(c.live and c.scope == SHARING for c in self.consents)


@dataclass
class HeldMessage:
    """A message of the case held back until the person consents to sharing."""

    id: int
    name: str
    correlation_key: str | None
    created_at: datetime
    reason: str | None


# --------------------------------------------------------------------------- access


def get_case(session: Session, case_code: str, actor: Actor) -> ProcessInstance:
    """The case with this code, if the actor may see its Ambito."""
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == case_code))
    missing = f"Caso «{case_code}» non trovato."
    require_in(actor, Action.CASE_READ, instance.ambito_code if instance is not None else None, missing)
    assert instance is not None  # require_in raised otherwise
    return instance


# --------------------------------------------------------------------------- data


def case_data(session: Session, instance: ProcessInstance, cipher: CaseCipher, erased: Any = ERASED) -> dict[str, Any]:
    """The case's data so far (every step's data changes applied in order, kept by the engine),
    identity fields opened (an erased one reads `erased`)."""
    data = cipher.open_text(instance.case_data_json or "{}", erased)
    return data if isinstance(data, dict) else {}


def _label(value: Any) -> str:
    if isinstance(value, str):
        return value.replace("_", " ")
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def _items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [v if isinstance(v, dict) else {"tipo": v} for v in value]
    return []


def plan_of(data: Mapping[str, Any], partners: Mapping[str, str]) -> tuple[list[PlanItem], dict[str, Any]]:
    """Interventions of the PIP with their status, and the PIP's own fields (objectives, dates)."""
    pip = first_present(data, PIP_KEYS)
    meta: dict[str, Any] = {}
    raw: Any = None
    if isinstance(pip, dict):
        raw = first_present(pip, INTERVENTION_KEYS)
        meta = {k: v for k, v in pip.items() if k not in INTERVENTION_KEYS and not isinstance(v, dict | list)}
    if raw is None:
        raw = first_present(data, INTERVENTION_KEYS)
    return [_plan_item(item, partners) for item in _items(raw)], meta


def referrals_of(data: Mapping[str, Any], partners: Mapping[str, str]) -> list[PlanItem]:
    """Referrals to partners of the network, with their status."""
    return [_plan_item(item, partners) for item in _items(first_present(data, REFERRAL_KEYS))]


def _plan_item(item: Mapping[str, Any], partners: Mapping[str, str]) -> PlanItem:
    title = first_present(item, ("titolo", "tipo", "servizio", "intervento", "percorso", "descrizione", "label")) or "—"
    status = first_present(item, ("stato", "status", "esito"))
    partner = first_present(item, ("partner", "ente", "partner_code"))
    due = first_present(item, ("scadenza", "data", "data_invio", "entro"))
    note = first_present(item, ("note", "nota", "motivo"))
    return PlanItem(
        title=_label(title),
        status=_label(status) if status is not None else None,
        partner=partners.get(str(partner), _label(partner)) if partner is not None else None,
        due=str(due) if due is not None else None,
        note=str(note) if note is not None else None,
    )


def _partner_names(session: Session, data: Mapping[str, Any]) -> dict[str, str]:
    codes: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("partner", "ente", "partner_code") and isinstance(value, str):
                    codes.add(value)
                else:
                    visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(data)
    if not codes:
        return {}
    rows = session.execute(select(Partner.code, Partner.name).where(Partner.code.in_(codes))).all()
    return {code: name for code, name in rows}


# --------------------------------------------------------------------------- case file


UNREADABLE_DATA = "I dati del caso sono annidati troppo in profondità per essere letti: sono omessi."


def case_file(session: Session, settings: Settings, case_code: str, actor: Actor) -> CaseFile:
    """The case file of a case the actor may see (identity fields opened)."""
    instance = get_case(session, case_code, actor)
    cipher = cipher_for(session, settings, instance)
    ambito = session.get(Ambito, instance.ambito_code)
    definition = session.get(ProcessDefinition, instance.definition_id)
    tasks = list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance.id)
            .order_by(HumanTask.created_at, HumanTask.task_id)
        )
    )
    # Cut at the depth limit: data stored before the limits existed must still be readable.
    try:
        data, data_warnings = clip_depth(case_data(session, instance, cipher), DataLimits.of(settings))
    except RecursionError:
        data, data_warnings = {}, [UNREADABLE_DATA]
    versions: dict[int, int] = {
        row[0]: row[1]
        for row in session.execute(
            select(ProcessDefinition.id, ProcessDefinition.version).where(
                ProcessDefinition.id.in_(
                    select(HistoryEvent.definition_id).where(HistoryEvent.instance_id == instance.id).distinct()
                )
            )
        )
    }
    timeline = []
    rows = session.scalars(
        select(HistoryEvent)
        .where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind.in_(TIMELINE_KINDS))
        .order_by(HistoryEvent.seq.desc())
    )
    for row in rows:
        diff = codec.from_jsonable_text(row.data_diff_json) if row.data_diff_json else {}
        changed = sorted({*(diff.get("added") or {}), *(diff.get("changed") or {})}) if isinstance(diff, dict) else []
        detail = None
        if row.detail_json and row.kind in DETAIL_KINDS:
            info = codec.from_jsonable_text(row.detail_json)
            if isinstance(info, dict):
                detail = " — ".join(str(info[k]) for k in ("message", "reason") if info.get(k)) or None
        elif row.detail_json and row.kind == "identity_erased":
            info = codec.from_jsonable_text(row.detail_json)
            detail = str(info.get("reason") or "") or None if isinstance(info, dict) else None
        timeline.append(
            TimelineEntry(
                seq=row.seq,
                at=row.occurred_at,
                kind=row.kind,
                label=TIMELINE_KINDS[row.kind],
                title=row.task_title or row.task_name,
                actor=row.actor,
                role=role_label(row.lane) if row.lane else None,
                version=versions.get(row.definition_id),
                changed=changed,
                detail=detail,
            )
        )
    partners = _partner_names(session, data)
    pip, meta = plan_of(data, partners)
    return CaseFile(
        instance=instance,
        ambito_name=ambito.name if ambito else instance.ambito_code,
        process_name=definition.name if definition else instance.process_key,
        version=definition.version if definition else None,
        alias=alias_of(data),
        stage=stage_of(instance.status, data, [t.title for t in tasks]),
        status_label=STATUS_LABELS.get(instance.status, instance.status),
        open_tasks=tasks,
        timeline=timeline,
        data=data,
        pip=pip,
        pip_meta=meta,
        referrals=referrals_of(data, partners),
        consents=consents_of(session, instance.id),
        held=[
            HeldMessage(m.id, m.name, m.correlation_key, m.created_at, m.error)
            for m in held_messages(session, instance.id)
        ],
        data_warnings=data_warnings,
    )


# --------------------------------------------------------------------------- index and search


def refresh_case_index(session: Session, settings: Settings, instance: ProcessInstance) -> CaseIndex:
    """Bring a case's search row and blind index up to date (the engine does it after every step)."""
    cipher = cipher_for(session, settings, instance, create=True)
    stored = codec.from_jsonable_text(instance.case_data_json or "{}")
    row = sync_case_index(session, instance, stored if isinstance(stored, dict) else {}, cipher, index_key(settings))
    session.flush()
    return row


@dataclass
class CaseHit:
    """One search result."""

    case_code: str
    ambito_code: str
    alias: str | None
    stage: str | None
    status: str
    started_at: datetime


def search_cases(session: Session, settings: Settings, actor: Actor, text: str, limit: int = 50) -> list[CaseHit]:
    """Cases of the actor's Ambiti whose code starts with the text, or whose alias has a word
    starting with each word typed (through the blind index: aliases are never compared in clear)."""
    needle = text.strip()
    if not needle:
        return []
    code_like = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    by_code = ProcessInstance.case_code.ilike(f"{code_like}%", escape="\\")
    tokens = tokens_for_query(index_key(settings), needle)
    condition = or_(by_code, ProcessInstance.id.in_(matching_instances(tokens))) if tokens else by_code
    return _hits(session, settings, _hits_query(actor).where(condition), limit)


def _hits_query(actor: Actor) -> Any:
    """Cases of the actor's Ambiti with their search row (code, alias, stage)."""
    query = select(
        ProcessInstance.case_code,
        ProcessInstance.ambito_code,
        ProcessInstance.status,
        ProcessInstance.started_at,
        ProcessInstance.data_key,
        ProcessInstance.identity_erased_at,
        CaseIndex.alias_sealed,
        CaseIndex.stage,
    ).outerjoin(CaseIndex, CaseIndex.instance_id == ProcessInstance.id)
    require(actor, Action.CASE_READ)
    ambiti = ambiti_for(actor, Action.CASE_READ)
    if ambiti is not None:
        query = query.where(ProcessInstance.ambito_code.in_(sorted(ambiti)))
    return query


def _hits(session: Session, settings: Settings, query: Any, limit: int) -> list[CaseHit]:
    rows = session.execute(query.order_by(ProcessInstance.started_at.desc()).limit(limit)).all()
    return [
        CaseHit(r.case_code, r.ambito_code, _open_alias(settings, r), r.stage, r.status, r.started_at) for r in rows
    ]


def _open_alias(settings: Settings, row: Any) -> str | None:
    """The alias of a search hit, opened with its case's key (erased or unreadable: a label)."""
    if not row.alias_sealed:
        return None
    sealed = codec.from_jsonable_text(row.alias_sealed)
    try:
        key = master_keys(settings).unwrap(row.data_key) if row.data_key else None
    except KeyUnavailable:
        return None
    cipher = CaseCipher(frozenset(), key, erased=row.identity_erased_at is not None)
    try:
        value = cipher.open_data(sealed, ERASED)
    except PersonalDataUnavailable:
        return None
    return str(value) if value is not None else None


def recent_cases(session: Session, settings: Settings, actor: Actor, limit: int = 20) -> list[CaseHit]:
    """Most recently started cases of the actor's Ambiti."""
    return _hits(session, settings, _hits_query(actor), limit)


# --------------------------------------------------------------------------- starting cases from the web and the API


@dataclass
class Startable:
    """A process a person can start a case of."""

    process_key: str
    name: str
    version: int
    ambito_code: str | None


def startable_processes(session: Session, ambito: str | None) -> list[Startable]:
    """Latest version of each process a person can start in an Ambito (its own variant, else the regional one).

    A process needs a plain (none) start event. Processes called by a process that a person starts are
    its parts (assessment, PIP...) and are left out; a process called only by message-started ones
    (a referral from a partner opening a normal path) stays in.
    """
    rows = list(
        session.execute(
            select(
                ProcessDefinition.id,
                ProcessDefinition.process_key,
                ProcessDefinition.name,
                ProcessDefinition.version,
                ProcessDefinition.ambito_code,
                ProcessDefinition.calls_json,
            ).where(or_(ProcessDefinition.ambito_code.is_(None), ProcessDefinition.ambito_code == ambito))
        ).all()
    )
    latest: dict[str, Any] = {}
    for row in rows:
        best = latest.get(row.process_key)
        if best is None or (row.ambito_code is not None, row.version) > (best.ambito_code is not None, best.version):
            latest[row.process_key] = row
    manual = {key: _has_none_start(session, row.id) for key, row in latest.items()}
    parts: set[str] = set()
    for key, row in latest.items():
        if not manual[key]:
            continue
        try:
            calls = json.loads(row.calls_json or "[]")
        except ValueError:
            calls = []
        parts.update(c for c in calls if isinstance(c, str))
    out = [
        Startable(key, row.name, row.version, row.ambito_code)
        for key, row in latest.items()
        if manual[key] and key not in parts
    ]
    return sorted(out, key=lambda s: s.name.lower())


_NONE_START: dict[int, bool] = {}


def _has_none_start(session: Session, definition_id: int) -> bool:
    """Whether a definition's main process has a plain start event (read once per definition)."""
    if definition_id not in _NONE_START:
        text = session.scalar(select(ProcessDefinition.spec_json).where(ProcessDefinition.id == definition_id))
        try:
            spec = json.loads(text or "{}").get("spec") or {}
        except ValueError:
            spec = {}
        found = False
        for task in (spec.get("task_specs") or {}).values():
            if isinstance(task, dict) and task.get("typename") == "StartEvent":
                event = task.get("event_definition")
                if not isinstance(event, dict) or event.get("typename") == "NoneEventDefinition":
                    found = True
                    break
        if len(_NONE_START) > 5000:
            _NONE_START.clear()
        _NONE_START[definition_id] = found
    return _NONE_START[definition_id]


def start_case(
    session: Session,
    settings: Settings,
    actor: Actor,
    process_key: str,
    ambito: str,
    data: dict[str, Any] | None = None,
    case_code: str | None = None,
) -> Outcome:
    """Start a case for a person who works in the Ambito (the engine indexes it for search)."""
    known = session.get(Ambito, ambito) is not None
    require_in(actor, Action.CASE_START, ambito if known else None, f"Ambito «{ambito}» non trovato.")
    if process_key not in {s.process_key for s in startable_processes(session, ambito)}:
        try:
            latest = definitions.resolve(session, process_key, ambito)
        except NotFound:
            latest = None
        if latest is not None:
            require_plain_start(latest, ambito)  # says how a message-started process starts
        raise NotFound(f"Processo «{process_key}» non disponibile per l'Ambito {ambito}.")
    return start_instance(session, settings, process_key, ambito, actor, case_code, data)
