"""Encrypting what was stored before personal data was sealed (`inlav keys encrypt-existing`).

A migration cannot read the keys, so the data written before revision 0010 is sealed by
this command instead: every case without a data key gets one, and its live rows, case
data, drafts and the messages it threw or took are written again sealed; its search
row and blind index are rebuilt. History events are append-only and hash-chained, so
the data changes they recorded before 0010 stay as they were written (counted in the
report).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import forms
from engine import codec, store
from engine.config import Settings
from engine.models import (
    BundleFile,
    CaseIndex,
    DefinitionFile,
    HistoryEvent,
    Message,
    ProcessDefinition,
    ProcessInstance,
    TaskDraft,
)
from engine.privacy.blind_index import replace_tokens, tokens_for_alias
from engine.privacy.crypt import is_envelope
from engine.privacy.fields import cipher_for, forget_definitions
from engine.privacy.keys import index_key

FROM_CASE = "caso "


@dataclass
class BackfillReport:
    """What `encrypt_existing` did."""

    definitions: int = 0
    cases: int = 0
    drafts: int = 0
    messages: int = 0
    plain_history_events: int = 0


def mark_definitions(session: Session) -> int:
    """Fill the identity field names of definitions deployed before 0010 from their bundle's forms."""
    count = 0
    for definition in session.scalars(select(ProcessDefinition).where(ProcessDefinition.personal_fields_json == "[]")):
        names: set[str] = set()
        rows = session.execute(
            select(DefinitionFile.content)
            .join(BundleFile, BundleFile.sha256 == DefinitionFile.sha256)
            .where(BundleFile.bundle_id == definition.bundle_id, BundleFile.name.like("%.json"))
        )
        for (content,) in rows:
            try:
                names |= forms.personal_fields(json.loads(content))
            except ValueError:
                continue
        if names:
            definition.personal_fields_json = codec.dumps(sorted(names))
            count += 1
    forget_definitions()
    return count


def encrypt_existing(session: Session, settings: Settings) -> BackfillReport:
    """Seal the identity data of every case that has no data key yet (never erased ones)."""
    # Imported here: the projections use this package's blind index and cipher.
    from engine.projections import sync_case_index

    report = BackfillReport(definitions=mark_definitions(session))
    session.flush()
    idx = index_key(settings)
    ids = list(
        session.scalars(
            select(ProcessInstance.id)
            .where(ProcessInstance.data_key.is_(None), ProcessInstance.identity_erased_at.is_(None))
            .order_by(ProcessInstance.id)
        )
    )
    for instance_id in ids:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        cipher = cipher_for(session, settings, instance, create=True)
        if instance.workflow_json and instance.workflow_json != "{}":
            snapshot, stored = store.load(session, instance, cipher)
            store.save(session, instance, snapshot, stored, [], cipher)
        data = codec.from_jsonable_text(instance.case_data_json or "{}")
        sealed = cipher.seal_data(data)
        instance.case_data_json = codec.dumps(sealed)
        sync_case_index(session, instance, sealed if isinstance(sealed, dict) else {}, cipher, idx)
        for draft in session.scalars(select(TaskDraft).where(TaskDraft.instance_id == instance.id)):
            draft.data_json = cipher.seal_text(codec.from_jsonable_text(draft.data_json), codec.dumps)
            report.drafts += 1
        thrown = select(Message).where(
            Message.source == f"{FROM_CASE}{instance.case_code}", Message.origin_instance_id.is_(None)
        )
        taken = select(Message).where(
            Message.instance_id == instance.id, Message.status == "delivered", Message.origin_instance_id.is_(None)
        )
        for message in [*session.scalars(thrown), *session.scalars(taken)]:
            if message.source.startswith(FROM_CASE):
                message.origin_instance_id = instance.id
            message.payload_json = cipher.seal_text(codec.from_jsonable_text(message.payload_json), codec.dumps)
            report.messages += 1
        diffs = session.scalars(
            select(HistoryEvent.data_diff_json).where(
                HistoryEvent.instance_id == instance.id, HistoryEvent.data_diff_json.is_not(None)
            )
        )
        report.plain_history_events += sum(1 for text in diffs if text and cipher.mentions_fields(text))
        report.cases += 1
        session.flush()
    return report


def reindex(session: Session, settings: Settings) -> int:
    """Rebuild every case's blind index with the current index key (after INLAV_INDEX_KEY changed)."""
    idx = index_key(settings)
    count = 0
    rows = session.execute(
        select(ProcessInstance, CaseIndex.alias_sealed).join(CaseIndex, CaseIndex.instance_id == ProcessInstance.id)
    ).all()
    for instance, alias_sealed in rows:
        alias = None
        if alias_sealed:
            raw = codec.from_jsonable_text(alias_sealed)
            alias = cipher_for(session, settings, instance).open_value(raw) if is_envelope(raw) else raw
        replace_tokens(session, instance.id, tokens_for_alias(idx, str(alias)) if alias else set())
        count += 1
    return count
