"""`inlav` command line: database, bundles, cases, tasks, messages, worker, server, demo."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from alembic.util.exc import CommandError
from sqlalchemy import inspect, select
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from engine import (
    SYSTEM,
    Actor,
    DefinitionError,
    EngineError,
    FormInvalid,
    InboxFilter,
    check_bundle,
    claim_task,
    complete_task,
    deliver,
    deploy_bundle,
    list_inbox,
    open_platform,
    read_bundle_paths,
    release_task,
    send_message,
    start_instance,
    upgrade_database,
    verify_chain,
)
from engine.access import Action, permits_in, require_in
from engine.audit import CaseRef, record_read, retention_work
from engine.casefile import STATUS_LABELS, get_case, start_case
from engine.db import read_transaction, transaction
from engine.definitions import list_definitions
from engine.errors import problems_heading
from engine.limits import DataLimits
from engine.messages import FAILED, UNMATCHED, accept_message, list_messages
from engine.models import HistoryEvent, HumanTask, ProcessInstance
from engine.platform import Platform, downgrade_database
from engine.privacy import KeyUnavailable, encrypt_existing, generate_master_key, reindex, rotate_keys
from engine.studio.migrate_jobs import work as migration_work
from engine.supervision import stalled_cases
from engine.worker import run_forever, tick
from web.cli_admin import ambiti_app, users_app
from web.cli_audit import audit_app
from web.cli_backup import backup_app
from web.cli_common import UserOpt, acting, fail, os_failure

WORKER_EXTRA = (migration_work, retention_work)
"""What the worker does besides timers and messages: the studio's batches of case migrations, and
the automatic retention policies once a day."""

app = typer.Typer(help="InLav Flow: piattaforma BPMN per i PUA InLav Lombardia.", no_args_is_help=True)
db_app = typer.Typer(help="Database: migrazioni.", no_args_is_help=True)
processes_app = typer.Typer(help="Pacchetti di processi (BPMN, DMN, moduli).", no_args_is_help=True)
instances_app = typer.Typer(help="Casi (istanze di processo).", no_args_is_help=True)
tasks_app = typer.Typer(help="Attività umane.", no_args_is_help=True)
messages_app = typer.Typer(help="Messaggi tra casi e sistemi esterni.", no_args_is_help=True)
demo_app = typer.Typer(help="Dati dimostrativi.", no_args_is_help=True)
keys_app = typer.Typer(help="Chiavi dei dati personali (solo dalla console del server).", no_args_is_help=True)
for sub, name in [
    (db_app, "db"),
    (processes_app, "processes"),
    (instances_app, "instances"),
    (tasks_app, "tasks"),
    (messages_app, "messages"),
    (demo_app, "demo"),
    (keys_app, "keys"),
]:
    app.add_typer(sub, name=name)
app.add_typer(backup_app, name="backup")
app.add_typer(users_app, name="users")
app.add_typer(ambiti_app, name="ambiti")
app.add_typer(audit_app, name="audit")


# What each command does in the permission matrix. None: a console-only command (set-up,
# server processes, listings for whoever runs the server), which takes no --user.
# `instances history --verify` performs HISTORY_VERIFY instead of CASE_READ.
COMMAND_ACTIONS: dict[str, Action | None] = {
    "db upgrade": None,
    "db downgrade": None,
    "ambiti add": Action.ADMIN_AMBITI,
    "ambiti list": None,
    "processes validate": None,
    "processes deploy": Action.PROCESS_DEPLOY,
    "processes list": None,
    "processes migrate-all": Action.PROCESS_DEPLOY,
    "instances start": Action.CASE_START,
    "instances show": Action.CASE_READ,
    "instances history": Action.CASE_READ,
    "instances migrate": Action.CASE_MIGRATE,
    "instances retry": Action.CASE_MIGRATE,
    "instances stalled": Action.CASE_MIGRATE,
    "tasks list": Action.TASK_WORK,
    "tasks claim": Action.TASK_WORK,
    "tasks release": Action.TASK_WORK,
    "tasks complete": Action.TASK_WORK,
    "messages send": Action.MESSAGE_SEND,
    "messages list": None,
    "worker": None,
    "serve": None,
    "demo seed": None,
    "backup create": None,
    "backup verify": None,
    "backup restore": None,
    "users add": Action.ADMIN_USERS,
    "users list": Action.ADMIN_USERS,
    "users deactivate": Action.ADMIN_USERS,
    "users reactivate": Action.ADMIN_USERS,
    "keys generate": None,
    "keys rotate": None,
    "keys encrypt-existing": None,
    "keys reindex": None,
    # A dry run is read-only (auditors too); `--apply` performs RETENTION_MANAGE, checked by the engine.
    "audit retention": Action.AUDIT_EXPLORE,
    "audit retention-set": Action.RETENTION_MANAGE,
}


def _platform() -> Platform:
    return open_platform()


def _in_scope(session: Any, actor: Actor, action: Action, case_code: str) -> None:
    """Refuse a case outside the Ambiti where the actor may perform the action (as if unknown)."""
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == case_code))
    require_in(actor, action, instance.ambito_code if instance else None, f"Caso «{case_code}» non trovato.")


def _json_arg(value: str | None) -> Any:
    if value is None:
        return {}
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            fail(f"Impossibile leggere il file {value[1:]} (JSON in UTF-8).")
    else:
        text = value
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"JSON non valido: {exc.msg} (riga {exc.lineno}, colonna {exc.colno}).")
    if not isinstance(value, dict):
        fail('I dati devono essere un oggetto JSON, tra graffe: per esempio \'{"campo": "valore"}\'.')
    return value


# --------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Applica le migrazioni del database."""
    platform = _platform()
    try:
        upgrade_database(platform.settings.database_url, revision)
    except CommandError:
        fail(f"Revisione «{revision}» sconosciuta: senza argomenti `inlav db upgrade` porta all'ultima.")
    typer.echo(f"Database aggiornato ({revision}).")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Riporta il database alla revisione REVISION (es. base)."""
    platform = _platform()
    try:
        downgrade_database(platform.settings.database_url, revision)
    except CommandError:
        fail(f"Revisione «{revision}» sconosciuta: indicare una revisione esistente, es. base.")
    typer.echo(f"Database riportato a {revision}.")


# --------------------------------------------------------------------------- keys


@keys_app.command("generate")
def keys_generate() -> None:
    """Stampa una nuova chiave principale da mettere in testa a INLAV_DATA_KEYS."""
    typer.echo(generate_master_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Ricifra la chiave di ogni persona con la prima chiave di INLAV_DATA_KEYS (la più nuova).

    Dopo la rotazione le chiavi principali più vecchie si possono togliere da INLAV_DATA_KEYS.
    """
    platform = _platform()
    try:
        with transaction(platform.sessions) as session:
            count = rotate_keys(session, platform.settings)
    except KeyUnavailable as exc:
        fail(str(exc))
    typer.echo(f"Chiavi ricifrate con la chiave principale più nuova: {count}.")


@keys_app.command("encrypt-existing")
def keys_encrypt_existing() -> None:
    """Cifra i dati identificativi salvati prima della cifratura (una volta, dopo `db upgrade`)."""
    platform = _platform()
    try:
        with transaction(platform.sessions) as session:
            report = encrypt_existing(session, platform.settings)
    except KeyUnavailable as exc:
        fail(str(exc))
    typer.echo(
        f"Casi cifrati: {report.cases}; bozze: {report.drafts}; messaggi: {report.messages}; "
        f"processi con campi personali aggiornati: {report.definitions}."
    )
    if report.plain_history_events:
        typer.echo(
            f"Eventi della storia scritti prima della cifratura con dati identificativi: "
            f"{report.plain_history_events} (la storia è a sola aggiunta: restano come scritti)."
        )


@keys_app.command("reindex")
def keys_reindex() -> None:
    """Ricostruisce l'indice di ricerca per alias con INLAV_INDEX_KEY (dopo averla cambiata)."""
    platform = _platform()
    try:
        with transaction(platform.sessions) as session:
            count = reindex(session, platform.settings)
    except KeyUnavailable as exc:
        fail(str(exc))
    typer.echo(f"Casi reindicizzati: {count}.")


# --------------------------------------------------------------------------- ambiti


# --------------------------------------------------------------------------- processes


def _print_problems(problems: list[Any]) -> None:
    for problem in problems:
        typer.secho(f"  - {problem}", fg=typer.colors.RED, err=True)


@processes_app.command("validate")
def processes_validate(
    paths: Annotated[list[Path], typer.Argument(help="File o cartelle del pacchetto.")],
    ambito: Annotated[str | None, typer.Option(help="Ambito per cui si valida (default: Regione).")] = None,
) -> None:
    """Controlla un pacchetto (diagrammi, decisioni, moduli) senza pubblicarlo."""
    platform = _platform()
    try:
        files = read_bundle_paths(paths, platform.settings.max_bundle_files, platform.settings.max_file_bytes)
    except DefinitionError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(1) from exc
    with read_transaction(platform.sessions) as session:
        check = check_bundle(session, files, ambito, platform.settings.max_file_bytes)
    if not check.ok:
        typer.secho(f"{problems_heading(len(check.problems))}:", fg=typer.colors.RED, err=True)
        _print_problems(check.problems)
        raise typer.Exit(1)
    names = ", ".join(sorted(check.parsed.processes)) if check.parsed else ""
    typer.echo(f"Pacchetto valido: {len(files)} file, processi: {names}.")


@processes_app.command("deploy")
def processes_deploy(
    paths: Annotated[list[Path], typer.Argument(help="File o cartelle del pacchetto.")],
    ambito: Annotated[str | None, typer.Option(help="Pubblica per questo Ambito (default: Regione).")] = None,
    user: UserOpt = None,
    note: Annotated[str | None, typer.Option(help="Nota di pubblicazione.")] = None,
) -> None:
    """Controlla e pubblica un pacchetto come nuova versione immutabile."""
    platform = _platform()
    actor = acting(platform, user, Action.PROCESS_DEPLOY)
    # The studio's rule: an Ambito's coordinators publish its variants, a regional grant the base.
    if not permits_in(actor, Action.PROCESS_DEPLOY, ambito):
        fail("Il tuo ruolo non consente di pubblicare per la Regione o per questo Ambito.")
    try:
        files = read_bundle_paths(paths, platform.settings.max_bundle_files, platform.settings.max_file_bytes)
        with transaction(platform.sessions) as session:
            result = deploy_bundle(session, files, ambito, actor.username, note, platform.settings.max_file_bytes)
    except DefinitionError as exc:
        typer.secho(exc.message.splitlines()[0], fg=typer.colors.RED, err=True)
        _print_problems(exc.problems)
        raise typer.Exit(1) from exc
    scope = f"Ambito {ambito}" if ambito else "Regione"
    verb = "pubblicato" if result.created else "già presente (nessuna modifica)"
    typer.echo(f"Pacchetto {result.bundle_id} {verb} per {scope}.")
    for d in result.definitions:
        flag = "nuova versione" if d.created else "invariato"
        typer.echo(f"  {d.process_key} v{d.version} ({flag})")


@processes_app.command("migrate-all")
def processes_migrate_all(
    key: Annotated[str, typer.Argument(help="Codice del processo.")],
    ambito: Annotated[str | None, typer.Option(help="Ambito dei casi (default: Regione, modello di base).")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Migra i casi che possono passare (senza: prova).")] = False,
    user: UserOpt = None,
) -> None:
    """Porta i casi in corso di un processo alla versione che riceve un nuovo caso (solo prova senza --apply)."""
    from engine.studio import dry_run, get_job, run_to_end, start_job

    platform = _platform()
    actor = acting(platform, user, Action.PROCESS_DEPLOY)
    try:
        with read_transaction(platform.sessions) as session:
            plan = dry_run(session, platform.settings, actor, ambito, key)
        typer.echo(
            f"{plan.process_name} ({plan.scope_name}): un nuovo caso riceve la versione {plan.target_version}; "
            f"casi su altre versioni: {len(plan.cases)}, migrabili: {len(plan.movable)}."
        )
        for case in plan.cases:
            verdict = "migrabile" if case.movable else f"non migrabile: {case.reason}"
            typer.echo(f"  {case.case_code}  v{case.from_version} → v{case.to_version}  {verdict}")
        if not apply:
            typer.echo("Prova: nessuna modifica (usare --apply).")
            return
        with transaction(platform.sessions) as session:
            job = start_job(session, platform.settings, actor, ambito, key)
        typer.echo(f"Migrazione n. {job.id} avviata: {job.total} casi.")
        run_to_end(
            platform.sessions, platform.settings, job.id, lambda done, total: typer.echo(f"  {done}/{total} casi")
        )
        with read_transaction(platform.sessions) as session:
            final = get_job(session, actor, ambito, key, job.id)
    except EngineError as exc:
        fail(str(exc))
    for row in final.cases:
        typer.echo(f"  {row.case_code}: {row.label.lower()}" + (f" — {row.message}" if row.message else ""))
    typer.echo(f"Migrazione n. {final.id} conclusa: {final.counts.get('moved', 0)} migrati su {final.total}.")


@processes_app.command("list")
def processes_list() -> None:
    """Elenca le versioni dei processi pubblicate."""
    platform = _platform()
    with read_transaction(platform.sessions) as session:
        for d in list_definitions(session):
            typer.echo(f"{d.process_key:30s} v{d.version:<4d} {d.ambito_code or 'Regione':15s} {d.name}")


# --------------------------------------------------------------------------- instances


@instances_app.command("start")
def instances_start(
    process: str,
    ambito: Annotated[str, typer.Option(help="Ambito del caso.")],
    case_code: Annotated[str | None, typer.Option("--case-code", help="Codice del caso (default: generato).")] = None,
    data: Annotated[str | None, typer.Option(help="Dati iniziali JSON (o @file).")] = None,
    user: UserOpt = None,
) -> None:
    """Avvia un caso del processo PROCESS in un Ambito."""
    platform = _platform()
    actor = acting(platform, user, Action.CASE_START)
    try:
        with transaction(platform.sessions) as session:
            if actor.system:
                outcome = start_instance(session, platform.settings, process, ambito, actor, case_code, _json_arg(data))
            else:
                outcome = start_case(session, platform.settings, actor, process, ambito, _json_arg(data), case_code)
            code = outcome.instance.case_code
    except EngineError as exc:
        fail(str(exc))
    typer.echo(f"Caso {code} avviato.")


@instances_app.command("show")
def instances_show(case_code: str, user: UserOpt = None) -> None:
    """Mostra un caso: stato, errori, attività aperte."""
    platform = _platform()
    actor = acting(platform, user, Action.CASE_READ)
    lines: list[tuple[str, str | None]] = []
    try:
        with read_transaction(platform.sessions) as session:
            instance = get_case(session, case_code, actor)
            seen = CaseRef.of(instance)
            lines.append((f"Caso {instance.case_code} — {instance.process_key} — Ambito {instance.ambito_code}", None))
            lines.append(
                (
                    f"Stato: {STATUS_LABELS.get(instance.status, instance.status)}  avviato da {instance.started_by} "
                    f"il {instance.started_at:%d/%m/%Y %H:%M} (UTC)",
                    None,
                )
            )
            if instance.error_message:
                # The message already says where («Errore nell'elemento …»): printed as it is.
                lines.append((instance.error_message, typer.colors.RED))
            tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))
            for task in tasks:
                assignee = task.assignee or "non assegnata"
                lines.append((f"  attività {task.task_id}  {task.title}  [{task.lane}]  {assignee}", None))
    except EngineError as exc:
        fail(str(exc))
    _log_read(platform, actor, seen, "case_summary")
    for text, colour in lines:
        typer.secho(text, fg=colour)


@instances_app.command("history")
def instances_history(
    case_code: str,
    verify: Annotated[bool, typer.Option(help="Verifica la catena di hash.")] = False,
    user: UserOpt = None,
) -> None:
    """Stampa la cronologia di un caso (chi ha fatto cosa, quando, su quale versione)."""
    platform = _platform()
    actor = acting(platform, user, Action.HISTORY_VERIFY if verify else Action.CASE_READ)
    broken: list[int] = []
    try:
        with read_transaction(platform.sessions) as session:
            instance = get_case(session, case_code, actor)
            seen = CaseRef.of(instance)
            rows = session.scalars(
                select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq)
            )
            lines = [
                f"{row.seq:4d} {row.occurred_at:%Y-%m-%d %H:%M:%S} {row.actor:12s} {row.kind:22s} "
                f"{row.task_title or row.task_name or ''}"
                for row in rows
            ]
            if verify:
                broken = verify_chain(session, instance.id)
    except EngineError as exc:
        fail(str(exc))
    _log_read(platform, actor, seen, "history", "con verifica della catena" if verify else None)
    for line in lines:
        typer.echo(line)
    if broken:
        fail(f"Catena di hash NON integra agli eventi: {broken}")
    if verify:
        typer.echo("Catena di hash integra.")


def _log_read(platform: Platform, actor: Actor, seen: CaseRef, what: str, detail: str | None = None) -> None:
    """Put a case printed on the command line on record first, in its own transaction.

    If the row cannot be written nothing is printed: a case shown without a trace would
    defeat the read-access log (the same choice as the web pages).
    """
    if actor.system:
        detail = "; ".join(d for d in ("console del server, senza --user", detail) if d)
    try:
        with transaction(platform.sessions) as session:
            record_read(session, actor, seen, what, "cli", detail)
    except SQLAlchemyError:
        fail(
            "Il registro degli accessi non si può scrivere: per tutelare la riservatezza il caso non viene "
            "mostrato. Riprovare tra poco."
        )


@instances_app.command("migrate")
def instances_migrate(
    case_code: str,
    apply: Annotated[bool, typer.Option("--apply", help="Esegue la migrazione (senza: solo prova).")] = False,
    user: UserOpt = None,
) -> None:
    """Porta un caso all'ultima versione del suo processo (solo prova senza --apply)."""
    from engine.migration import migrate_case

    platform = _platform()
    actor = acting(platform, user, Action.CASE_MIGRATE)
    try:
        with transaction(platform.sessions) as session:
            _in_scope(session, actor, Action.CASE_MIGRATE, case_code)
            result = migrate_case(session, platform.settings, case_code, actor, dry_run=not apply)
    except EngineError as exc:
        fail(str(exc))
    typer.echo(f"Caso {case_code}: versione {result.from_version} → {result.to_version}.")
    if result.changed:
        typer.echo(f"  elementi modificati: {', '.join(result.changed)}")
    if result.removed:
        fail(f"  elementi attivi assenti nella nuova versione: {', '.join(result.removed)}")
    typer.echo("Migrazione eseguita." if result.applied else "Prova: nessuna modifica (usare --apply).")


@instances_app.command("retry")
def instances_retry(case_code: str, user: UserOpt = None) -> None:
    """Riesegue i passi automatici di un caso e riarma i timer dopo un errore."""
    from engine.migration import retry_case

    platform = _platform()
    actor = acting(platform, user, Action.CASE_MIGRATE)
    try:
        with transaction(platform.sessions) as session:
            _in_scope(session, actor, Action.CASE_MIGRATE, case_code)
            outcome = retry_case(session, platform.settings, case_code, actor)
    except EngineError as exc:
        fail(str(exc))
    if outcome.error is not None:
        fail(f"Il caso è ancora bloccato: {outcome.error.message}")
    typer.echo(f"Caso {case_code}: {STATUS_LABELS.get(outcome.instance.status, outcome.instance.status).lower()}.")


@instances_app.command("stalled")
def instances_stalled(
    ambito: Annotated[str | None, typer.Option(help="Solo i casi di questo Ambito.")] = None,
    user: UserOpt = None,
) -> None:
    """Elenca i casi in corso fermi: senza attività aperte, timer o messaggi attesi."""
    platform = _platform()
    actor = acting(platform, user, Action.CASE_MIGRATE)
    try:
        with read_transaction(platform.sessions) as session:
            found = stalled_cases(session, actor, ambito)
    except EngineError as exc:
        fail(str(exc))
    for case in found:
        typer.echo(
            f"{case.case_code:20s} {case.ambito:12s} {case.process_key} v{case.version}  "
            f"fermo dal {case.since:%Y-%m-%d %H:%M}  ultimo passo: {case.last_step or '-'}"
        )
    typer.echo(f"{len(found)} {'caso fermo' if len(found) == 1 else 'casi fermi'}.")


# --------------------------------------------------------------------------- tasks


@tasks_app.command("list")
def tasks_list(
    user: UserOpt = None,
    case_code: Annotated[str | None, typer.Option("--case-code")] = None,
    mine: bool = False,
    unassigned: bool = False,
    overdue: bool = False,
    limit: int = 50,
) -> None:
    """Elenca le attività in attesa di un utente (o tutte, dalla console)."""
    platform = _platform()
    actor = acting(platform, user, Action.TASK_WORK)
    flt = InboxFilter(case_code=case_code, mine_only=mine, unassigned_only=unassigned, overdue_only=overdue)
    with read_transaction(platform.sessions) as session:
        rows, total = list_inbox(session, actor, flt, limit=limit)
        for row in rows:
            due = f"scade {row.due_at:%Y-%m-%d}" if row.due_at else ""
            typer.echo(
                f"{row.task_id}  {row.case_code:20s} {row.title[:40]:40s} [{row.lane}] {row.assignee or '-':10s} {due}"
            )
        typer.echo(f"{total} attività.")


def _task_command(action: str, task_id: str, user: str | None) -> None:
    platform = _platform()
    actor = acting(platform, user, Action.TASK_WORK)
    try:
        with transaction(platform.sessions) as session:
            if action == "claim":
                claim_task(session, task_id, actor)
            else:
                release_task(session, task_id, actor)
    except EngineError as exc:
        fail(str(exc))
    typer.echo("Attività presa in carico." if action == "claim" else "Attività rilasciata.")


@tasks_app.command("claim")
def tasks_claim(task_id: str, user: UserOpt = None) -> None:
    """Prende in carico un'attività."""
    _task_command("claim", task_id, user)


@tasks_app.command("release")
def tasks_release(task_id: str, user: UserOpt = None) -> None:
    """Rilascia un'attività."""
    _task_command("release", task_id, user)


@tasks_app.command("complete")
def tasks_complete(
    task_id: str,
    data: Annotated[str | None, typer.Option(help="Dati del modulo in JSON (o @file).")] = None,
    user: UserOpt = None,
) -> None:
    """Completa un'attività con i dati del modulo (validati sul suo JSON Schema)."""
    platform = _platform()
    actor = acting(platform, user, Action.TASK_WORK)
    payload = _json_arg(data)
    try:
        with transaction(platform.sessions) as session:
            outcome = complete_task(session, platform.settings, task_id, payload, actor)
    except FormInvalid as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        for field, messages in exc.errors.items():
            typer.secho(f"  {field or 'modulo'}: {'; '.join(messages)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    except EngineError as exc:
        fail(str(exc))
    if outcome.error is not None:
        fail(f"Attività non completata: {outcome.error.message}")
    state = "concluso" if outcome.completed else "in corso"
    typer.echo(f"Attività completata. Caso {outcome.instance.case_code}: {state}.")


# --------------------------------------------------------------------------- messages


@messages_app.command("send")
def messages_send(
    name: str,
    key: Annotated[str | None, typer.Option(help="Chiave di correlazione (es. codice del caso).")] = None,
    payload: Annotated[str | None, typer.Option(help="Contenuto JSON (o @file).")] = None,
    ambito: Annotated[str | None, typer.Option(help="Ambito destinatario.")] = None,
    now: Annotated[bool, typer.Option(help="Consegna subito invece di lasciarlo al worker.")] = True,
    user: UserOpt = None,
) -> None:
    """Invia un messaggio ai casi in attesa (per nome e chiave di correlazione)."""
    platform = _platform()
    actor = acting(platform, user, Action.MESSAGE_SEND)
    try:
        with transaction(platform.sessions) as session:
            if not actor.system:
                message = accept_message(session, platform.settings, actor, name, _json_arg(payload), key, ambito or "")
            else:
                bounds = DataLimits.of(platform.settings)
                message = send_message(session, name, _json_arg(payload), key, ambito, source="cli", bounds=bounds)
                if now:
                    deliver(session, platform.settings, message.id)
            status, mid, error = message.status, message.id, message.error
    except EngineError as exc:
        fail(str(exc))
    if status == UNMATCHED:
        fail(
            f"Messaggio {mid} non consegnato (unmatched): {error or 'nessun caso lo attende'}. "
            f"Resta in attesa e il worker lo consegnerà quando un caso attenderà «{name}»"
            f"{f' con la chiave «{key}»' if key else ''}."
        )
    if status == FAILED:
        fail(f"Messaggio {mid} non consegnato (failed): il caso che lo attendeva si è fermato per un errore: {error}")
    typer.echo(f"Messaggio {mid}: {status}.")


@messages_app.command("list")
def messages_list(status: str | None = None, limit: int = 50) -> None:
    """Elenca i messaggi recenti con il loro stato di consegna (console)."""
    platform = _platform()
    with read_transaction(platform.sessions) as session:
        for m in list_messages(session, status, limit):
            typer.echo(f"{m.id:6d} {m.status:10s} {m.name:30s} {m.correlation_key or '-':25s} {m.error or ''}")


# --------------------------------------------------------------------------- worker, server, demo


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option(help="Una sola passata, poi esce.")] = False,
    worker_id: Annotated[str | None, typer.Option("--id", help="Identificativo del worker.")] = None,
) -> None:
    """Fa scattare i timer scaduti e consegna i messaggi (su PostgreSQL se ne avviano più d'uno)."""
    platform = _platform()
    wid = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    if once:
        result = tick(platform.sessions, platform.settings, wid, WORKER_EXTRA)
        typer.echo(
            f"Timer scattati: {result.timers_fired}, falliti: {result.timers_failed}, "
            f"messaggi gestiti: {result.messages_handled}, "
            f"casi migrati, riportati indietro o trattati dalla conservazione: {result.other_work}, "
            f"conflitti: {result.conflicts}."
        )
        for error in result.errors:
            typer.secho(error, fg=typer.colors.YELLOW, err=True)
        if result.timers_failed or result.errors:
            fail(
                f"Passata con errori: {result.timers_failed} timer non scattati per un errore del caso, "
                f"{len(result.errors)} altri errori (i casi interessati: inlav instances show CODICE)."
            )
        return
    typer.echo(f"Worker {wid} avviato (Ctrl+C per fermare).")
    try:
        run_forever(platform.sessions, platform.settings, wid, extra=WORKER_EXTRA)
    except KeyboardInterrupt:
        typer.echo("Worker fermato.")


@app.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    with_worker: Annotated[bool, typer.Option("--with-worker/--no-worker", help="Avvia anche il worker.")] = True,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Indirizzi dei reverse proxy di cui fidarsi per X-Forwarded-For (default di uvicorn: 127.0.0.1). "
            "L'indirizzo del client serve al limite dei tentativi di accesso: mai «*» se l'app è raggiungibile "
            "anche senza passare dal proxy."
        ),
    ] = None,
) -> None:
    """Avvia l'applicazione web."""
    import threading

    import uvicorn

    from web.app import create_app

    platform = _platform()
    stop = threading.Event()
    if with_worker:
        thread = threading.Thread(
            target=run_forever,
            args=(platform.sessions, platform.settings, f"serve:{os.getpid()}", stop, WORKER_EXTRA),
            daemon=True,
        )
        thread.start()
    try:
        uvicorn.run(
            create_app(platform),
            host=host,
            port=port,
            log_level="info",
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
        )
    finally:
        stop.set()


@demo_app.command("seed")
def demo_seed() -> None:
    """Crea gli Ambiti, gli utenti, i partner e i casi dimostrativi (attraverso il motore)."""
    from engine.demo import WARNING, seed

    platform = _platform()
    summary = seed(platform)
    for line in summary:
        typer.echo(line)
    problems = [line for line in summary if line.startswith(WARNING)]
    if problems:
        fail(f"Seme dimostrativo incompleto: {len(problems)} problemi (vedi sopra).")


def main() -> None:  # pragma: no cover - console entry point
    """Entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except EngineError as exc:  # a command that let one through: still a clear message and a failure
        _stop(str(exc))
    except (OperationalError, ProgrammingError):
        _stop(_database_failure())
    except OSError as exc:
        _stop(os_failure(exc))


def _stop(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    sys.exit(1)


def _database_failure() -> str:
    """Why a command's database work failed: never migrated, unreachable, or busy."""
    try:
        platform = open_platform()
        with platform.db.connect() as conn:
            migrated = inspect(conn).has_table("alembic_version")
    except Exception:  # any failure here means the database cannot be reached
        return "Il database non risponde: controllare INLAV_DATABASE_URL e che il server del database sia avviato."
    if not migrated:
        return "Il database non è preparato: eseguire `inlav db upgrade`."
    return (
        "Il database ha rifiutato l'operazione o è occupato, e nulla è stato registrato: riprovare tra poco; "
        "se il problema resta, eseguire `inlav db upgrade` (forse mancano migrazioni)."
    )


if __name__ == "__main__":  # pragma: no cover
    main()

__all__ = ["SYSTEM", "app"]
