"""Publishing a draft of the studio: an immutable version for the Ambito (or the regional base).

`plan_publication` says what publishing would do (the draft's validation, the reporting-facts
contract check, the versions it would create) without storing anything; `publish_draft` does it.

Rules:
- Permission: `process.deploy` in the Ambito (an Ambito she may not publish in answers «non
  trovato», as an unknown one); the regional base only with a regional grant; a person who
  may publish nowhere (an operator) is refused (Forbidden).
- The draft's validation must be clean (the very `check_draft` of the editor).
- The contract check (`engine.studio.facts.contract_check`) compares the published processes
  with the regional base (for an Ambito, always with the regional model: monitoring compares
  every PUA with it; for the region, with the base published until now). If facts would be
  lost, publishing needs a reason of at least `MIN_REASON` characters; the reason and the
  facts lost go to the operation log and next to the note of the published bundle.
- What is deployed: the draft's BPMN file that holds the process (with the other processes of
  that same file), with every DMN table and form of the draft, through `deploy_bundle` for the
  scope. The draft's other BPMN files (copies of the bundle it was opened from) are left out,
  so a publication never brings back an older copy of another process; processes called from
  it resolve as a case would (the Ambito's variant, else the regional base). The first
  publication of an Ambito's edit of a regional process creates its variant (version 1 for
  the Ambito); Ambiti without a variant keep following the regional base.
- A version, once stored, never changes (deploy_bundle only adds rows); a new edit is a new
  version. Publishing files identical to those new cases of the scope already get creates
  nothing (no bundle, no version): the person is told so.
- After publishing (or finding nothing new) the stored draft is removed: the next edit opens a
  new draft from the version just published. A draft saved by someone after the person opened
  the publishing page (another revision) is not published: Conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.access.matrix import Action, permits_in, require, require_in
from engine.access.roles import Actor
from engine.audit.oplog import record
from engine.definitions import KINDS, DeployResult, deploy_bundle, resolve
from engine.errors import Conflict, DefinitionError, FormInvalid, NotFound, Problem
from engine.models import BundleFile, DefinitionFile, ProcessDefinition, ProcessDraft, ProcessDraftFile
from engine.studio.catalogue import check_scope
from engine.studio.drafts import REGION_SCOPE, Draft, DraftProblem, check_draft, lock_draft, open_draft
from engine.studio.facts import Loss, ProcessFacts, analyse_bundle, contract_check

MIN_REASON = 20
"""Shortest reason (characters, spaces trimmed) accepted to publish despite facts lost."""
MAX_TEXT = 2000
"""Longest note or reason accepted."""


@dataclass(frozen=True)
class PlannedVersion:
    """One process the publication deploys: the version it gets and whether anything changes."""

    key: str
    name: str
    version: int
    """The version the publication stores (or the existing one it finds identical)."""
    created: bool
    """A new version will be stored for the scope."""
    changed: bool
    """Its content differs from the version new cases of the scope get today."""
    first_variant: bool
    """The Ambito's first version of it: the publication creates its variant."""


@dataclass(frozen=True)
class PublishPlan:
    """What publishing the draft would do, computed now, nothing stored."""

    draft: Draft
    files: tuple[str, ...]
    """The draft's files the publication deploys."""
    problems: list[DraftProblem]
    losses: list[Loss]
    versions: list[PlannedVersion]
    deploy_problems: list[Problem] = field(default_factory=list)
    """Problems of the deployed files alone (e.g. a call to a process the scope does not have)."""

    @property
    def valid(self) -> bool:
        """The validation is clean (the draft and the files deployed)."""
        return not self.problems and not self.deploy_problems

    @property
    def changes(self) -> bool:
        """Publishing would give new cases of the scope something different."""
        return any(v.changed for v in self.versions)


@dataclass(frozen=True)
class Publication:
    """What a publication did."""

    ambito: str | None
    key: str
    created: bool
    """Something new was stored (False: the files were already published, nothing was created)."""
    bundle_id: int | None
    versions: list[PlannedVersion]
    losses: list[Loss]
    override_reason: str | None
    note: str | None

    @property
    def message(self) -> str:
        """What to tell the person, in Italian."""
        if not self.created:
            return (
                "Nessuna nuova versione: i file della bozza sono identici a quelli già pubblicati "
                "(la stessa pubblicazione non crea nulla due volte). La bozza è stata chiusa."
            )
        made = ", ".join(f"{v.key} v{v.version}" for v in self.versions if v.created)
        scope = "per la Regione" if self.ambito is None else f"per l'Ambito {self.ambito}"
        text = f"Pubblicato {scope}: {made}. I nuovi casi seguono questa versione; la bozza è stata chiusa."
        if self.losses:
            facts = ", ".join(sorted({loss.fact for loss in self.losses}))
            text += f" Pubblicato nonostante i fatti per il monitoraggio persi ({facts}): motivo registrato."
        return text


def check_publish(session: Session, actor: Actor, ambito: str | None) -> str:
    """The display name of the scope if the actor may publish its processes; NotFound/Forbidden otherwise."""
    name = check_scope(session, actor, ambito)
    if ambito is None:
        require(actor, Action.PROCESS_DEPLOY)
        if not permits_in(actor, Action.PROCESS_DEPLOY, None):
            raise NotFound("Il modello di base regionale si pubblica solo con un incarico regionale.")
        return name
    require_in(actor, Action.PROCESS_DEPLOY, ambito, f"Ambito «{ambito}» non trovato.")
    return name


def plan_publication(
    session: Session, actor: Actor, ambito: str | None, key: str, max_bytes: int = 2_000_000
) -> PublishPlan:
    """What publishing the draft of `key` would do: validation, contract check, versions.

    The versions are found by deploying inside a savepoint that is rolled back: nothing stays.
    """
    check_publish(session, actor, ambito)
    draft = open_draft(session, actor, ambito, key)
    problems = check_draft(session, actor, ambito, key, max_bytes)
    files = _deployed_files(draft)
    losses = _losses(session, ambito, key, files, max_bytes)
    versions: list[PlannedVersion] = []
    deploy_problems: list[Problem] = []
    if not problems:
        nested = session.begin_nested()
        try:
            result = deploy_bundle(session, files, ambito, actor.username, None, max_bytes)
            versions = _planned(session, ambito, result)
        except DefinitionError as exc:
            deploy_problems = list(exc.problems)
        finally:
            nested.rollback()
    return PublishPlan(draft, tuple(sorted(files)), problems, losses, versions, deploy_problems)


def publish_draft(
    session: Session,
    actor: Actor,
    ambito: str | None,
    key: str,
    note: str | None,
    override_reason: str | None = None,
    revision: int | None = None,
    max_bytes: int = 2_000_000,
) -> Publication:
    """Publish the draft of `key` for the scope: validated, contract-checked, logged; then close the draft.

    `revision` is the draft's revision the person saw (None: do not check). Raises DefinitionError
    (validation), FormInvalid (facts lost without a reason, texts too long), Conflict (stale revision).
    """
    check_publish(session, actor, ambito)
    note = (note or "").strip() or None
    reason = (override_reason or "").strip() or None
    errors: dict[str, list[str]] = {}
    if note is not None and len(note) > MAX_TEXT:
        errors["nota"] = [f"La nota è troppo lunga ({len(note)} caratteri, massimo {MAX_TEXT})."]
    if reason is not None and len(reason) > MAX_TEXT:
        errors["motivo"] = [f"Il motivo è troppo lungo ({len(reason)} caratteri, massimo {MAX_TEXT})."]
    if errors:
        raise FormInvalid("Controllare i campi indicati.", errors)
    # Two publications of one draft at the same moment: the later waits here, then finds it closed.
    if lock_draft(session, ambito, key) is None and revision:
        raise Conflict(
            "La bozza è stata appena pubblicata o chiusa da un'altra richiesta: aprire la pagina del processo "
            "per vedere la versione pubblicata."
        )
    draft = open_draft(session, actor, ambito, key)
    if revision is not None and revision != draft.revision:
        who = f" da {draft.updated_by}" if draft.updated_by else ""
        raise Conflict(
            f"La bozza è stata salvata{who} dopo che hai aperto la pagina di pubblicazione: ricaricarla per "
            "controllare di nuovo che cosa si pubblica."
        )
    problems = check_draft(session, actor, ambito, key, max_bytes)
    if problems:
        raise DefinitionError(
            [Problem(p.file, p.element, p.message) for p in problems]
            + [Problem(None, None, "correggere la bozza nell'editor («Verifica») prima di pubblicarla")]
        )
    files = _deployed_files(draft)
    losses = _losses(session, ambito, key, files, max_bytes)
    if losses and reason is None:
        raise FormInvalid(
            "La bozza non scrive più fatti che il monitoraggio regionale legge: per pubblicarla comunque "
            "indicare il motivo.",
            {"motivo": [loss.message for loss in losses]},
        )
    if losses and reason is not None and len(reason) < MIN_REASON:
        raise FormInvalid(
            "Il motivo è troppo breve.",
            {"motivo": [f"Spiegare perché si pubblica comunque (almeno {MIN_REASON} caratteri)."]},
        )
    # Nothing new for the scope's cases: nothing is stored (not even an empty bundle).
    nested = session.begin_nested()
    try:
        trial = deploy_bundle(session, files, ambito, actor.username, None, max_bytes)
        planned = _planned(session, ambito, trial)
    finally:
        nested.rollback()
    if not any(v.changed for v in planned):
        _close_draft(session, ambito, key)
        return Publication(ambito, key, False, None, planned, [], None, note)

    stored_note = note
    if losses:
        facts = ", ".join(sorted({loss.fact for loss in losses}))
        override = f"Contratto dei fatti: non più scritti o ridotti {facts}. Motivo: {reason}"
        stored_note = f"{note}\n{override}" if note else override
    result = deploy_bundle(session, files, ambito, actor.username, stored_note, max_bytes)
    versions = _planned(session, ambito, result)
    scope = "Regione" if ambito is None else f"Ambito {ambito}"
    made = [{"processo": v.key, "versione": v.version} for v in versions if v.created]
    record(
        session,
        actor,
        "process.published",
        f"Pubblicato {key} per {scope}: " + ", ".join(f"{m['processo']} v{m['versione']}" for m in made),
        "process",
        key,
        ambito,
        after={"pacchetto": result.bundle_id, "versioni": made, "nota": note, "file": sorted(files)},
    )
    if losses:
        record(
            session,
            actor,
            "process.contract_override",
            f"Pubblicato {key} per {scope} nonostante i fatti persi: "
            + ", ".join(sorted({loss.fact for loss in losses})),
            "process",
            key,
            ambito,
            after={
                "motivo": reason,
                "fatti_persi": [{"fatto": loss.fact, "dove": loss.message} for loss in losses],
                "pacchetto": result.bundle_id,
            },
        )
    _close_draft(session, ambito, key)
    return Publication(ambito, key, True, result.bundle_id, versions, losses, reason, note)


# --------------------------------------------------------------------------- helpers


def _deployed_files(draft: Draft) -> dict[str, bytes]:
    """The draft's BPMN file of the process, with every DMN table and form of the draft."""
    return {
        name: content
        for name, content in draft.files.items()
        if name == draft.main_file or KINDS.get(Path(name).suffix.lower()) != "bpmn"
    }


def _planned(session: Session, ambito: str | None, result: DeployResult) -> list[PlannedVersion]:
    """Each deployed process: its version, whether it is new and whether cases of the scope see a change."""
    planned: list[PlannedVersion] = []
    for item in result.definitions:
        definition = session.get(ProcessDefinition, item.id)
        if definition is None:  # pragma: no cover - just stored or found
            continue
        before = _current(session, item.process_key, ambito, exclude=item.id if item.created else None)
        planned.append(
            PlannedVersion(
                key=item.process_key,
                name=definition.name,
                version=item.version,
                created=item.created,
                changed=before is None or before.content_hash != definition.content_hash,
                first_variant=ambito is not None and item.created and item.version == 1,
            )
        )
    return planned


def _current(session: Session, key: str, ambito: str | None, exclude: int | None) -> ProcessDefinition | None:
    """The version new cases of the scope got before this publication (its own newest, else the region's)."""
    for scope in (ambito, None) if ambito is not None else (None,):
        query = select(ProcessDefinition).where(ProcessDefinition.process_key == key)
        query = query.where(
            ProcessDefinition.ambito_code.is_(None) if scope is None else ProcessDefinition.ambito_code == scope
        )
        if exclude is not None:
            query = query.where(ProcessDefinition.id != exclude)
        found = session.scalar(query.order_by(ProcessDefinition.version.desc()).limit(1))
        if found is not None:
            return found
    return None


def _losses(session: Session, ambito: str | None, key: str, files: dict[str, bytes], max_bytes: int) -> list[Loss]:
    """The contract check of the deployed files against the regional base (as cases would resolve calls)."""
    try:
        base = resolve(session, key, None)
    except NotFound:
        return []  # a process the region does not have: no regional fact to lose
    base_files = _bundle_files(session, base.bundle_id)
    variant_keys = set(analyse_bundle(files, max_bytes))
    return contract_check(
        base_files,
        files,
        keys=sorted(variant_keys & set(analyse_bundle(base_files, max_bytes))),
        base_calls=_resolver(session, None, max_bytes),
        variant_calls=_resolver(session, ambito, max_bytes),
        max_bytes=max_bytes,
    )


def _resolver(session: Session, ambito: str | None, max_bytes: int) -> Callable[[str], ProcessFacts | None]:
    """Finds a called process as a case of the scope would run it today (Ambito's variant, else regional)."""
    cache: dict[int, dict[str, ProcessFacts]] = {}

    def lookup(key: str) -> ProcessFacts | None:
        try:
            definition = resolve(session, key, ambito)
        except NotFound:
            return None
        if definition.bundle_id not in cache:
            cache[definition.bundle_id] = analyse_bundle(_bundle_files(session, definition.bundle_id), max_bytes)
        return cache[definition.bundle_id].get(key)

    return lookup


def _bundle_files(session: Session, bundle_id: int) -> dict[str, bytes]:
    rows = session.execute(
        select(BundleFile.name, DefinitionFile.content)
        .join(DefinitionFile, DefinitionFile.sha256 == BundleFile.sha256)
        .where(BundleFile.bundle_id == bundle_id)
    )
    return {name: content.encode("utf-8") for name, content in rows}


def _close_draft(session: Session, ambito: str | None, key: str) -> None:
    """Remove the stored draft of the scope and key (its files first)."""
    scope = REGION_SCOPE if ambito is None else ambito
    ids: list[Any] = list(
        session.scalars(select(ProcessDraft.id).where(ProcessDraft.scope == scope, ProcessDraft.process_key == key))
    )
    if ids:
        session.execute(delete(ProcessDraftFile).where(ProcessDraftFile.draft_id.in_(ids)))
        session.execute(delete(ProcessDraft).where(ProcessDraft.id.in_(ids)))
        session.flush()
