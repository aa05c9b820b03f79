"""Drafts of the studio: a process being edited for one Ambito (or the regional base), on the server.

A coordinator opens a draft of a process from the newest version her scope can see (the
Ambito's variant, else the regional base; for the region, the base): the draft's files start
as that version's bundle files. She saves the diagram into it; a draft is one per (scope,
process key), remembers who saved it and when, and lives in the database (it survives a
restart). Validation runs the very `check_bundle` a deployment runs, on the draft's files,
and locates each problem on an element the editor can select. Publishing (later) deploys the
draft's files with `deploy_bundle` for its scope.

Permission: `process.edit` in the Ambito (another Ambito answers «non trovato», as an
unknown one); the regional base only with a regional grant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.access.matrix import Action, permits_in, require, require_in
from engine.access.roles import Actor
from engine.audit import oplog
from engine.clock import utcnow
from engine.definitions import KINDS, check_bundle, resolve
from engine.errors import Conflict, DefinitionError, NotFound, Problem
from engine.models import BundleFile, DefinitionFile, ProcessDefinition, ProcessDraft, ProcessDraftFile
from engine.safexml import UnsafeXml, parse_xml
from engine.spiff import json_syntax
from engine.studio.catalogue import check_scope
from engine.studio.diagrams import local_name, process_element

REGION_SCOPE = "regione"
"""The scope column of a draft of the regional base (an Ambito's drafts carry its code)."""


@dataclass(frozen=True)
class Draft:
    """A draft as the editor shows it: where it sits, its files, and where it started from."""

    ambito: str | None
    scope_name: str
    process_key: str
    name: str
    main_file: str
    """The BPMN file that holds the process (the one the editor draws and saves)."""
    files: dict[str, bytes]
    revision: int
    """0: not saved yet (the files are the version it opens from); then one more at each save."""
    base_definition_id: int | None
    base_version: int | None
    base_regional: bool
    updated_at: datetime | None
    updated_by: str | None
    file_revisions: Mapping[str, int] = field(default_factory=dict)
    """The revision that last wrote each file (0 or absent: as opened from the version)."""

    @property
    def saved(self) -> bool:
        """Whether the draft is stored (someone saved it at least once)."""
        return self.revision > 0

    @property
    def xml(self) -> str:
        """The diagram being edited, as text."""
        return self.files[self.main_file].decode("utf-8")


@dataclass(frozen=True)
class DraftProblem:
    """One problem of a draft: file, element as reported, the element to select, Italian message."""

    file: str | None
    element: str | None
    """As the check reports it: an id, «decisione › regola › cella» or «gateway → destinazione»."""
    target: str | None
    """The id of the element of the edited diagram to select (None: not on that diagram)."""
    message: str


def _scope_key(ambito: str | None) -> str:
    return REGION_SCOPE if ambito is None else ambito


def check_edit(session: Session, actor: Actor, ambito: str | None) -> str:
    """The display name of the scope if the actor may edit its processes; NotFound otherwise.

    An Ambito she may not edit answers like an unknown one; the regional base needs a regional grant.
    """
    name = check_scope(session, actor, ambito)
    if ambito is None:
        require(actor, Action.PROCESS_EDIT)  # Forbidden if she may edit nowhere
        if not permits_in(actor, Action.PROCESS_EDIT, None):
            raise NotFound("Il modello di base regionale si modifica solo con un incarico regionale.")
        return name
    require_in(actor, Action.PROCESS_EDIT, ambito, f"Ambito «{ambito}» non trovato.")
    return name


def open_draft(session: Session, actor: Actor, ambito: str | None, key: str) -> Draft:
    """The draft of `key` for the scope: the stored one, else a new one from the newest version it sees.

    Nothing is written: a new draft is stored at its first save.
    """
    scope_name = check_edit(session, actor, ambito)
    stored = _stored(session, ambito, key)
    if stored is not None:
        return _loaded(session, stored, scope_name)
    source = resolve(session, key, ambito)
    files = _bundle_files(session, source.bundle_id)
    main = _main_file(files, key)
    if main is None:
        raise NotFound(f"Il diagramma del processo «{key}» non è nel pacchetto della versione {source.version}.")
    return Draft(
        ambito=ambito,
        scope_name=scope_name,
        process_key=key,
        name=source.name,
        main_file=main,
        files=files,
        revision=0,
        base_definition_id=source.id,
        base_version=source.version,
        base_regional=source.ambito_code is None,
        updated_at=None,
        updated_by=None,
    )


def save_diagram(
    session: Session,
    actor: Actor,
    ambito: str | None,
    key: str,
    content: bytes,
    revision: int | None,
    max_bytes: int = 2_000_000,
    base: int | None = None,
) -> Draft:
    """Store the diagram of the draft (creating the draft at the first save); returns the saved draft.

    Only the size and the XML's safety are checked here (the rest is the validation's job).
    `revision` is the one the editor opened: if someone saved since, Conflict (nothing overwritten).
    `base` is the version the opened draft started from (None: no check), see `check_base`.
    """
    draft = open_draft(session, actor, ambito, key)
    check_base(draft, base)
    if len(content) > max_bytes:
        raise DefinitionError(
            [Problem(draft.main_file, None, f"file troppo grande ({len(content)} byte, massimo {max_bytes})")]
        )
    try:
        text = content.decode("utf-8")
        parse_xml(content, max_bytes)
    except UnicodeDecodeError:
        raise DefinitionError(
            [Problem(draft.main_file, None, "il file non è in codifica UTF-8: salvarlo come UTF-8")]
        ) from None
    except UnsafeXml as exc:
        raise DefinitionError([Problem(draft.main_file, None, str(exc))]) from None
    return _store(session, actor, ambito, key, draft, {draft.main_file: text}, revision)


FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.(json|bpmn|dmn)$")


def save_files(
    session: Session,
    actor: Actor,
    ambito: str | None,
    key: str,
    files: dict[str, bytes],
    revision: int | None,
    max_bytes: int = 2_000_000,
) -> Draft:
    """Store files (forms, decision tables, diagrams) into the draft in one new revision; returns it.

    Same rules as `save_diagram`: the draft is created at its first save, a stale `revision`
    is a Conflict and nothing is written. Each file must have a plain name (`nome.schema.json`),
    be UTF-8 within `max_bytes`, and be well-formed (JSON parses, XML is safe); the rest is the
    validation's job. The draft's main diagram is saved with `save_diagram`.
    """
    draft = open_draft(session, actor, ambito, key)
    problems: list[Problem] = []
    texts: dict[str, str] = {}
    for name, content in files.items():
        if not FILE_NAME.match(name) or ".." in name:
            problems.append(Problem(name, None, "nome di file non valido: lettere, cifre, _ . - e l'estensione .json"))
            continue
        if len(content) > max_bytes:
            problems.append(Problem(name, None, f"file troppo grande ({len(content)} byte, massimo {max_bytes})"))
            continue
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(name, None, "il file non è in codifica UTF-8: salvarlo come UTF-8"))
            continue
        if KINDS.get(Path(name).suffix.lower()) == "json":
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append(Problem(name, None, json_syntax(exc)))
                continue
            except RecursionError:
                problems.append(Problem(name, None, "JSON annidato troppo in profondità"))
                continue
        else:
            try:
                parse_xml(content, max_bytes)
            except UnsafeXml as exc:
                problems.append(Problem(name, None, str(exc)))
                continue
        texts[name] = text
    if problems:
        raise DefinitionError(problems)
    return _store(session, actor, ambito, key, draft, texts, revision)


def save_file(
    session: Session,
    actor: Actor,
    ambito: str | None,
    key: str,
    name: str,
    content: bytes,
    revision: int | None,
    max_bytes: int = 2_000_000,
) -> Draft:
    """Store one file (a form, a UI schema, a decision table) into the draft: `save_files` for one file."""
    return save_files(session, actor, ambito, key, {name: content}, revision, max_bytes)


def check_revision(draft: Draft, revision: int | None, names: Iterable[str] | None = None) -> None:
    """Conflict if the draft was saved after the editor opened `revision` (None: no check).

    With `names`, only saves that wrote one of those files count: the diagram editor may save
    its diagram after a form was saved from the form editor, never over a newer diagram.
    A revision the draft never reached (it was published and closed since) always conflicts.
    """
    if revision is None or revision == draft.revision:
        return
    if (
        names is not None
        and revision < draft.revision
        and all(draft.file_revisions.get(name, 0) <= revision for name in names)
    ):
        return
    who = f" da {draft.updated_by}" if draft.updated_by else ""
    raise Conflict(
        f"La bozza è stata salvata{who} dopo che l'hai aperta: ricaricare la pagina per vedere l'ultima "
        "versione (le tue modifiche non salvate andrebbero rifatte)."
    )


def check_base(draft: Draft, base: int | None) -> None:
    """Conflict if the draft now starts from another version than the one the editor opened (None: no check).

    Revisions restart when a publication closes a draft: an editor opened on the unsaved draft
    (revision 0) before someone else saved and published it would otherwise start the next draft
    from its old diagram, and a later publication would silently undo the published change.
    """
    if base is None or draft.base_definition_id is None or base == draft.base_definition_id:
        return
    since = f" (v{draft.base_version})" if draft.base_version is not None else ""
    raise Conflict(
        f"La bozza che hai aperto partiva da una versione precedente: nel frattempo è stata pubblicata "
        f"una nuova versione{since}. Ricaricare la pagina per ripartire da quella (le tue modifiche non "
        "salvate andrebbero rifatte)."
    )


def _store(
    session: Session,
    actor: Actor,
    ambito: str | None,
    key: str,
    draft: Draft,
    texts: dict[str, str],
    revision: int | None,
) -> Draft:
    """Write files into the draft (creating it from the opened files at the first save), one new revision."""
    check_revision(draft, revision, texts)
    now = utcnow()
    # The row is locked and read again: on PostgreSQL another save may have committed since the
    # draft was read, and its work must not be overwritten unseen.
    record = lock_draft(session, ambito, key)
    if record is not None and record.revision != draft.revision:
        check_revision(_loaded(session, record, draft.scope_name), revision, texts)
    if record is None:
        record = ProcessDraft(
            scope=_scope_key(ambito),
            ambito_code=ambito,
            process_key=key,
            main_file=draft.main_file,
            base_definition_id=draft.base_definition_id,
            revision=0,
            created_at=now,
            created_by=actor.username,
            updated_at=now,
            updated_by=actor.username,
        )
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
        except IntegrityError:  # another first save created the draft at the same moment
            raise Conflict(
                "La bozza è stata appena creata da un altro salvataggio: ricaricare la pagina per vedere "
                "l'ultima versione (le tue modifiche non salvate andrebbero rifatte)."
            ) from None
        for name, data in draft.files.items():
            session.add(
                ProcessDraftFile(
                    draft_id=record.id,
                    name=name,
                    kind=KINDS.get(Path(name).suffix.lower(), "json"),
                    content=data.decode("utf-8"),
                    size=len(data),
                )
            )
        session.flush()
    for name, text in texts.items():
        size = len(text.encode("utf-8"))
        row = session.get(ProcessDraftFile, (record.id, name))
        if row is None:
            kind = KINDS.get(Path(name).suffix.lower(), "json")
            row = ProcessDraftFile(draft_id=record.id, name=name, kind=kind, content=text, size=size)
            session.add(row)
        row.content = text
        row.size = size
        row.revision = record.revision + 1
    record.revision += 1
    record.updated_at = now
    record.updated_by = actor.username
    session.flush()
    return _loaded(session, record, draft.scope_name)


def check_draft(
    session: Session, actor: Actor, ambito: str | None, key: str, max_bytes: int = 2_000_000
) -> list[DraftProblem]:
    """Validate the draft as a deployment would (`check_bundle`), each problem located for the editor."""
    draft = open_draft(session, actor, ambito, key)
    check = check_bundle(session, draft.files, ambito, max_bytes)
    ids, flows = _element_ids(draft.files[draft.main_file], max_bytes)
    return [
        DraftProblem(
            p.file,
            p.element,
            _target(p, draft.main_file, ids, flows),
            p.message,
        )
        for p in check.problems
    ]


def discard_draft(session: Session, actor: Actor, ambito: str | None, key: str, revision: int | None) -> Draft:
    """Delete the stored draft of `key` for the scope (its files too); returns the draft as it was.

    The next edit starts again from the newest version the scope sees. `revision` is the one the
    page showed: a draft saved since is not discarded unseen (Conflict). Nothing stored: NotFound.
    Written to the operation log (who, which draft, from which version, how many saves).
    """
    draft = open_draft(session, actor, ambito, key)
    record = lock_draft(session, ambito, key)
    if record is None or not draft.saved:
        raise NotFound(f"Non c'è una bozza salvata del processo «{key}» da scartare.")
    if revision is not None and revision != record.revision:
        raise Conflict(
            "La bozza è stata salvata di nuovo dopo che hai aperto la pagina: ricaricarla e decidere se scartarla."
        )
    session.execute(delete(ProcessDraftFile).where(ProcessDraftFile.draft_id == record.id))
    session.delete(record)
    session.flush()
    scope = "Regione" if ambito is None else f"Ambito {ambito}"
    oplog.record(
        session,
        actor,
        "process.draft_discarded",
        f"Scartata la bozza di {key} per {scope} (salvata {draft.revision} volte, ultima da {draft.updated_by})",
        "process",
        key,
        ambito,
        before={"revisione": draft.revision, "versione_di_partenza": draft.base_version, "file": sorted(draft.files)},
    )
    return draft


# --------------------------------------------------------------------------- helpers


def lock_draft(session: Session, ambito: str | None, key: str) -> ProcessDraft | None:
    """The stored draft's row, locked until the transaction ends and read afresh (None: not stored).

    On PostgreSQL a concurrent save or publication of the same draft waits here for this one.
    """
    return session.scalar(
        select(ProcessDraft)
        .where(ProcessDraft.scope == _scope_key(ambito), ProcessDraft.process_key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _stored(session: Session, ambito: str | None, key: str) -> ProcessDraft | None:
    return session.scalar(
        select(ProcessDraft).where(ProcessDraft.scope == _scope_key(ambito), ProcessDraft.process_key == key)
    )


def _loaded(session: Session, record: ProcessDraft, scope_name: str) -> Draft:
    rows = session.execute(
        select(ProcessDraftFile.name, ProcessDraftFile.content, ProcessDraftFile.revision)
        .where(ProcessDraftFile.draft_id == record.id)
        .order_by(ProcessDraftFile.name)
    ).all()
    files = {name: content.encode("utf-8") for name, content, _revision in rows}
    base = session.get(ProcessDefinition, record.base_definition_id) if record.base_definition_id else None
    return Draft(
        ambito=record.ambito_code,
        scope_name=scope_name,
        process_key=record.process_key,
        name=base.name if base is not None else record.process_key,
        main_file=record.main_file,
        files=files,
        revision=record.revision,
        base_definition_id=record.base_definition_id,
        base_version=base.version if base is not None else None,
        base_regional=base is None or base.ambito_code is None,
        updated_at=record.updated_at,
        updated_by=record.updated_by,
        file_revisions={name: revision for name, _content, revision in rows},
    )


def _bundle_files(session: Session, bundle_id: int) -> dict[str, bytes]:
    rows = session.execute(
        select(BundleFile.name, DefinitionFile.content)
        .join(DefinitionFile, DefinitionFile.sha256 == BundleFile.sha256)
        .where(BundleFile.bundle_id == bundle_id)
        .order_by(BundleFile.name)
    )
    return {name: content.encode("utf-8") for name, content in rows}


def _main_file(files: dict[str, bytes], key: str) -> str | None:
    """The BPMN file of the bundle that holds the process `key`."""
    for name, content in files.items():
        if KINDS.get(Path(name).suffix.lower()) != "bpmn":
            continue
        if process_element(content.decode("utf-8"), key) is not None:
            return name
    return None


def _element_ids(content: bytes, max_bytes: int) -> tuple[set[str], dict[tuple[str, str], str]]:
    """Ids of the elements of a diagram, and (source, target) → id of each sequence flow."""
    try:
        root = parse_xml(content, max_bytes)
    except UnsafeXml:
        return set(), {}
    ids: set[str] = set()
    flows: dict[tuple[str, str], str] = {}
    for element in root.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if not element_id:
            continue
        ids.add(element_id)
        if local_name(element.tag) == "sequenceFlow":
            flows.setdefault((element.get("sourceRef") or "", element.get("targetRef") or ""), element_id)
    return ids, flows


def _target(problem: Problem, main_file: str, ids: set[str], flows: dict[tuple[str, str], str]) -> str | None:
    """The element of the edited diagram to select for a problem (None if it is not on it).

    A gateway condition («gateway → destinazione») selects its flow when the diagram has it, else
    the gateway; a nested location («a › b») selects its outermost element.
    """
    if problem.file != main_file or not problem.element:
        return None
    element: Any = problem.element
    if "→" in element:
        source, _, target = (part.strip() for part in element.partition("→"))
        flow = flows.get((source, target))
        if flow is not None:
            return flow
        element = source
    element = element.split("›", 1)[0].strip()
    return element if element in ids else None
