"""Incremental storage of a case's live task tree.

A case is stored as one row per live task (structure as JSON, data by content hash),
one row per live subprocess, and the workflow's own attributes on the instance row.
Loading reads only the live rows; saving writes only rows whose hash changed,
deletes rows that pruning removed and archives their metadata. Neither depends on
how many tasks the case has completed before.

Identity fields are sealed on the way in and opened on the way out (`engine.privacy`):
what the database holds is ciphertext, what the workflow sees is the plain value.
Sealing is deterministic per case, so hashes and change detection work on what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine import codec
from engine.clock import utcnow
from engine.models import ProcessInstance, SubprocessState, TaskArchive, TaskData, TaskState
from engine.privacy.crypt import CaseCipher
from engine.spiff import Snapshot, TaskRow

# Bump with a conversion in `_upgrade` when the row layout changes.
# 1: plain JSON. 2: identity fields may be sealed envelopes (format 1 rows simply have none).
STORAGE_FORMAT = 2
READABLE_FORMATS = {1, 2}


class UnknownStorageFormat(RuntimeError):
    """A case was written by a newer (or unknown) version of the engine."""


def _upgrade(workflow: dict[str, Any]) -> dict[str, Any]:
    """Bring stored workflow attributes to the current format (1 → 2 needs no conversion)."""
    version = workflow.pop("format", 1)
    if version not in READABLE_FORMATS:
        raise UnknownStorageFormat(f"formato di memorizzazione {version} non supportato")
    return workflow


def _insert_ignoring_duplicates(session: Session, model: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite_insert(model).on_conflict_do_nothing()
    return insert(model).prefix_with("IGNORE")  # pragma: no cover - other databases are not supported


@dataclass
class Stored:
    """What is in the database for a case, as loaded (used to diff on save)."""

    row_hashes: dict[str, str] = field(default_factory=dict)
    data_hashes: dict[str, str] = field(default_factory=dict)
    subprocess_hashes: dict[str, str] = field(default_factory=dict)


def load(session: Session, instance: ProcessInstance, cipher: CaseCipher) -> tuple[Snapshot, Stored]:
    """Read the live rows of a case, identity fields opened."""
    stored = Stored()
    rows = session.execute(
        select(
            TaskState.task_id,
            TaskState.workflow_id,
            TaskState.spec_name,
            TaskState.state,
            TaskState.row_json,
            TaskState.data_hash,
            TaskState.row_hash,
        ).where(TaskState.instance_id == instance.id)
    ).all()
    hashes = {r.data_hash for r in rows}
    blobs = (
        dict(
            session.execute(
                select(TaskData.hash, TaskData.data_json).where(
                    TaskData.instance_id == instance.id, TaskData.hash.in_(hashes)
                )
            ).all()
        )
        if hashes
        else {}
    )
    decoded: dict[str, Any] = {h: cipher.open_text(text, remember=True) for h, text in blobs.items()}
    tasks = []
    for r in rows:
        tasks.append(
            TaskRow(
                task_id=r.task_id,
                workflow_id=r.workflow_id,
                spec_name=r.spec_name,
                state=r.state,
                row=cipher.open_text(r.row_json, remember=True),
                data=decoded[r.data_hash],
            )
        )
        stored.row_hashes[r.task_id] = r.row_hash
        stored.data_hashes[r.task_id] = r.data_hash
    subprocesses: dict[str, tuple[str, dict[str, Any]]] = {}
    for sp in session.scalars(select(SubprocessState).where(SubprocessState.instance_id == instance.id)):
        subprocesses[sp.subprocess_id] = (sp.spec_name, cipher.open_text(sp.attrs_json, remember=True))
        stored.subprocess_hashes[sp.subprocess_id] = codec.digest(sp.spec_name + sp.attrs_json)
    workflow = _upgrade(cipher.open_text(instance.workflow_json, remember=True))
    return Snapshot(workflow=workflow, subprocesses=subprocesses, tasks=tasks), stored


def save(
    session: Session,
    instance: ProcessInstance,
    snapshot: Snapshot,
    stored: Stored,
    archived: list[dict[str, Any]],
    cipher: CaseCipher,
) -> Stored:
    """Write what changed since `stored`, identity fields sealed; returns the new stored fingerprint."""
    now = utcnow()
    sealed = cipher.seal_text
    dumps = codec.dumps
    new = Stored()
    blob_texts: dict[str, str] = {}
    known_blobs = set(stored.data_hashes.values())
    inserts: list[dict[str, Any]] = []
    for task in snapshot.tasks:
        data_text = sealed(task.data, dumps)
        data_hash = codec.digest(data_text)
        row_text = sealed(task.row, dumps)
        row_hash = codec.digest(f"{task.workflow_id}|{task.spec_name}|{task.state}|{data_hash}|{row_text}")
        new.row_hashes[task.task_id] = row_hash
        new.data_hashes[task.task_id] = data_hash
        if data_hash not in known_blobs:
            blob_texts[data_hash] = data_text
        previous = stored.row_hashes.get(task.task_id)
        values = {
            "workflow_id": task.workflow_id,
            "spec_name": task.spec_name,
            "state": task.state,
            "row_json": row_text,
            "data_hash": data_hash,
            "row_hash": row_hash,
        }
        if previous is None:
            inserts.append({"instance_id": instance.id, "task_id": task.task_id, **values})
        elif previous != row_hash:
            session.execute(
                update(TaskState)
                .where(TaskState.instance_id == instance.id, TaskState.task_id == task.task_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    removed = set(stored.row_hashes) - set(new.row_hashes)
    if removed:
        session.execute(
            delete(TaskState)
            .where(TaskState.instance_id == instance.id, TaskState.task_id.in_(removed))
            .execution_options(synchronize_session=False)
        )
    if blob_texts:
        # Data blobs of a case are content-addressed: an identical one may already exist.
        rows = [{"instance_id": instance.id, "hash": h, "data_json": text} for h, text in blob_texts.items()]
        session.execute(_insert_ignoring_duplicates(session, TaskData), rows)
    if inserts:
        session.execute(insert(TaskState), inserts)
    orphans = known_blobs - set(new.data_hashes.values())
    if orphans:
        session.execute(
            delete(TaskData)
            .where(TaskData.instance_id == instance.id, TaskData.hash.in_(orphans))
            .execution_options(synchronize_session=False)
        )

    archive_rows = [{**entry, "instance_id": instance.id, "archived_at": now} for entry in archived]
    if archive_rows:
        session.execute(insert(TaskArchive), archive_rows)
    instance.archived_task_count += len(archive_rows)

    for sp_id, (spec_name, attrs) in snapshot.subprocesses.items():
        attrs_text = sealed(attrs, dumps)
        digest = codec.digest(spec_name + attrs_text)
        new.subprocess_hashes[sp_id] = digest
        previous = stored.subprocess_hashes.get(sp_id)
        if previous is None:
            session.add(
                SubprocessState(
                    instance_id=instance.id, subprocess_id=sp_id, spec_name=spec_name, attrs_json=attrs_text
                )
            )
        elif previous != digest:
            session.execute(
                update(SubprocessState)
                .where(SubprocessState.instance_id == instance.id, SubprocessState.subprocess_id == sp_id)
                .values(spec_name=spec_name, attrs_json=attrs_text)
                .execution_options(synchronize_session=False)
            )
    gone = set(stored.subprocess_hashes) - set(new.subprocess_hashes)
    if gone:
        session.execute(
            delete(SubprocessState)
            .where(SubprocessState.instance_id == instance.id, SubprocessState.subprocess_id.in_(gone))
            .execution_options(synchronize_session=False)
        )

    instance.workflow_json = sealed({**snapshot.workflow, "format": STORAGE_FORMAT}, dumps)
    instance.live_task_count = len(snapshot.tasks)
    instance.updated_at = now
    return new
