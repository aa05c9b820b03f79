"""Tables derived from a case after every save: inbox, due timers, message subscriptions.

Each sync compares what the case says now with the rows stored for it and writes
only the difference, so a step costs the same however old the case is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import codec
from engine.access.roles import role_for_lane
from engine.clock import as_utc, utcnow
from engine.errors import ScriptError
from engine.models import CaseIndex, HumanTask, MessageSubscription, ProcessInstance, Timer
from engine.privacy.blind_index import replace_tokens, tokens_for_alias
from engine.privacy.crypt import CaseCipher, is_envelope
from engine.sandbox import SandboxFailure
from engine.spiff import Case, add_iso_duration


@dataclass
class RemovedHumanTask:
    """A human task that left the inbox during a step."""

    task_id: str
    task_name: str
    title: str
    lane: str | None
    definition_id: int


def sync_human_tasks(
    session: Session, instance: ProcessInstance, case: Case, open_titles: list[str] | None = None
) -> list[RemovedHumanTask]:
    """Make the inbox rows of a case match its READY human tasks; returns rows removed.

    If given, `open_titles` is filled with the titles of the tasks left open.
    """
    now = utcnow()
    current = {view.task_id: view for view in case.human_tasks()}
    existing = {
        row.task_id: row for row in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))
    }
    removed = []
    gone = set(existing) - set(current)
    for task_id in gone:
        row = existing[task_id]
        removed.append(RemovedHumanTask(task_id, row.task_name, row.title, row.lane, row.definition_id))
    if gone:
        session.execute(
            delete(HumanTask).where(HumanTask.task_id.in_(gone)).execution_options(synchronize_session=False)
        )
        for task_id in gone:
            session.expunge(existing[task_id])
    for task_id, view in current.items():
        title = (view.title if not view.instance_label else f"{view.title} — {view.instance_label}")[:300]
        if open_titles is not None:
            open_titles.append(title)
        stored = existing.get(task_id)
        if stored is not None:
            # After a migration the same task may point to a new definition, form or lane.
            stored.definition_id = view.definition_id
            stored.task_name = view.element
            stored.title = title
            stored.lane = role_for_lane(view.lane) or view.lane
            stored.form = view.properties.get("formJsonSchemaFilename")
            stored.ui_form = view.properties.get("formUiSchemaFilename")
            stored.instructions = view.properties.get("instructionsForEndUser")
            stored.documentation = view.documentation
            continue
        due_in = view.properties.get("dueIn")
        session.add(
            HumanTask(
                task_id=task_id,
                instance_id=instance.id,
                case_code=instance.case_code,
                ambito_code=instance.ambito_code,
                process_key=instance.process_key,
                definition_id=view.definition_id,
                task_name=view.element,
                title=title,
                lane=role_for_lane(view.lane) or view.lane,
                form=view.properties.get("formJsonSchemaFilename"),
                ui_form=view.properties.get("formUiSchemaFilename"),
                instructions=view.properties.get("instructionsForEndUser"),
                documentation=view.documentation,
                assignee=None,
                claimed_at=None,
                due_at=add_iso_duration(now, due_in) if due_in else None,
                created_at=now,
            )
        )
    return removed


def sync_timers(session: Session, instance: ProcessInstance, case: Case) -> None:
    """Make the due-time rows of a case match its waiting timers."""
    current = {view.task_id: view for view in case.timers()}
    existing = {row.task_id: row for row in session.scalars(select(Timer).where(Timer.instance_id == instance.id))}
    gone = set(existing) - set(current)
    if gone:
        session.execute(
            delete(Timer)
            .where(Timer.instance_id == instance.id, Timer.task_id.in_(gone))
            .execution_options(synchronize_session=False)
        )
        for task_id in gone:
            session.expunge(existing[task_id])
    for task_id, view in current.items():
        row = existing.get(task_id)
        if row is None:
            session.add(
                Timer(
                    instance_id=instance.id,
                    task_id=task_id,
                    task_name=view.element,
                    due_at=view.due_at,
                    locked_by=None,
                    locked_until=None,
                    attempts=0,
                    last_error=None,
                )
            )
        elif as_utc(row.due_at) != view.due_at:
            row.due_at = view.due_at
            row.locked_by = None
            row.locked_until = None


def sync_subscriptions(session: Session, instance: ProcessInstance, case: Case) -> list[MessageSubscription]:
    """Make the message subscriptions of a case match its waiting catch events; returns new ones.

    One row per (waiting task, message name): an event-based gateway waits for several.
    """
    current = {(wait.task_id, wait.message): wait for wait in case.message_waits()}
    existing = {
        (row.task_id, row.message_name): row
        for row in session.scalars(select(MessageSubscription).where(MessageSubscription.instance_id == instance.id))
    }
    gone = [existing[key] for key in set(existing) - set(current)]
    if gone:
        session.execute(
            delete(MessageSubscription)
            .where(MessageSubscription.id.in_([row.id for row in gone]))
            .execution_options(synchronize_session=False)
        )
        for row in gone:
            session.expunge(row)
    added = []
    now = utcnow()
    for key, wait in current.items():
        if key in existing:
            continue
        correlation = instance.case_code
        if wait.correlation_expression:
            try:
                correlation = str(case.evaluate(wait.correlation_expression, wait.data))
            except SandboxFailure as exc:
                raise ScriptError(
                    f"Errore nella chiave di correlazione dell'elemento «{wait.element}»: {exc}",
                    element=wait.element,
                    task_id=wait.task_id,
                    kind=exc.kind,
                    detail=str(exc),
                ) from exc
        row = MessageSubscription(
            instance_id=instance.id,
            task_id=wait.task_id,
            message_name=wait.message,
            correlation_key=correlation[:300],
            created_at=now,
        )
        session.add(row)
        added.append(row)
    return added


# --------------------------------------------------------------------------- case index

ALIAS_KEYS = ("alias", "nome_alias", "pseudonimo")
STAGE_KEYS = ("fase", "stage", "fase_caso")


def first_present(data: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in data and data[key] not in (None, "", [], {}):
            return data[key]
    return None


def alias_value(data: Mapping[str, Any]) -> Any:
    """The alias a person is known by, as stored (top level or inside a `contatto` group)."""
    value = first_present(data, ALIAS_KEYS)
    if value is None:
        for group in ("contatto", "persona", "anagrafica"):
            inner = data.get(group)
            if isinstance(inner, dict):
                value = first_present(inner, ALIAS_KEYS)
                if value is not None:
                    break
    return value


def alias_of(data: Mapping[str, Any]) -> str | None:
    """The alias a person is known by, from opened (plain) data."""
    value = alias_value(data)
    return str(value)[:200] if value is not None else None


def stage_of(status: str, data: Mapping[str, Any], open_titles: list[str]) -> str:
    """Where the case is: the model's own `fase` variable, else what it waits for."""
    if status == "completed":
        return "Concluso"
    if status == "error":
        return "Bloccato da un errore"
    value = first_present(data, STAGE_KEYS)
    if isinstance(value, str):
        return value.replace("_", " ").capitalize() if value.islower() else value
    if open_titles:
        return "In attesa di: " + "; ".join(sorted(set(open_titles)))[:180]
    return "In attesa di un evento esterno"


def sync_case_index(
    session: Session,
    instance: ProcessInstance,
    data: Mapping[str, Any],
    cipher: CaseCipher,
    index_key: bytes,
    open_titles: list[str] | None = None,
) -> CaseIndex:
    """Bring a case's search row (code, sealed alias, stage) and its blind index up to date.

    `data` is the case data as stored (identity fields sealed). `open_titles` are the
    titles of its open tasks (read from the inbox if not given). The row is written only
    when something a search shows has changed, the blind index only when the alias has.
    """
    if open_titles is None:
        open_titles = list(session.scalars(select(HumanTask.title).where(HumanTask.instance_id == instance.id)))
    raw = alias_value(data)
    if raw is not None and not is_envelope(raw) and cipher.can_seal:
        raw = cipher.seal_value(str(raw)[:200])
    alias_sealed = codec.dumps(raw) if raw is not None else None
    values = {
        "case_code": instance.case_code,
        "ambito_code": instance.ambito_code,
        "alias_sealed": alias_sealed,
        "stage": stage_of(instance.status, data, open_titles)[:200],
        "status": instance.status,
    }
    row = session.get(CaseIndex, instance.id)
    alias_changed = row is None or row.alias_sealed != alias_sealed
    if row is None:
        row = CaseIndex(instance_id=instance.id, updated_at=utcnow(), **values)
        session.add(row)
    elif any(getattr(row, key) != value for key, value in values.items()):
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
    if alias_changed:
        alias = cipher.open_value(raw) if is_envelope(raw) else raw
        replace_tokens(session, instance.id, tokens_for_alias(index_key, str(alias)) if alias else set())
    return row
