"""`inlav audit`: the auditor's workspace from the command line (verification of the
history chains and their checkpoints; retention of closed cases).

Every command goes through `engine.audit`, so the permission matrix and the operation
log apply exactly as they do in the browser.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from engine import EngineError, FormInvalid, open_platform
from engine.access import Action
from engine.audit import (
    PURGE,
    RetentionPlan,
    may_manage,
    plan_retention,
    record_dry_run,
    run_retention,
    set_policy,
)
from engine.clock import as_utc
from engine.db import transaction
from web.cli_common import UserOpt, acting, fail

audit_app = typer.Typer(
    help="Revisione: verifica delle catene della storia, punti di controllo, conservazione dei casi.",
    no_args_is_help=True,
)


# --------------------------------------------------------------------------- retention


def _explain(exc: EngineError) -> NoReturn:
    lines = [exc.message]
    if isinstance(exc, FormInvalid):
        lines += [f"  {field}: {'; '.join(messages)}" for field, messages in exc.errors.items()]
    fail("\n".join(lines))


def _print_plan(plan: RetentionPlan) -> None:
    if not plan.policies:
        typer.echo("Nessuna politica di conservazione: nessun caso da trattare.")
        return
    for item in plan.policies:
        policy = item.policy
        typer.echo(
            f"{policy.process_key} ({policy.scope_label}): {policy.days} giorni, poi "
            f"{'cancellare' if policy.action == PURGE else 'anonimizzare'}"
            f"{' (automatica)' if policy.automatic else ''} — scaduti {item.due}, rimandati {item.skipped}"
        )
    for case in plan.preview:
        what = "cancellare" if case.action == PURGE else "anonimizzare"
        closed = as_utc(case.closed_at).date().isoformat()
        typer.echo(f"  {case.case_code}  {case.ambito}  chiuso il {closed}  {case.skip or what}")
    if len(plan.cases) > len(plan.preview):
        typer.echo(f"  … e altri {len(plan.cases) - len(plan.preview)} casi.")
    typer.echo(f"Da anonimizzare: {plan.to_anonymise}; da cancellare: {plan.to_purge}; rimandati: {plan.skipped}.")


@audit_app.command("retention")
def retention(
    apply: Annotated[
        bool, typer.Option("--apply", help="Applica la conservazione ai casi elencati (senza: solo la prova).")
    ] = False,
    user: UserOpt = None,
) -> None:
    """Prova della conservazione: i casi chiusi oltre il periodo, per politica; con --apply li tratta."""
    platform = open_platform()
    actor = acting(platform, user, Action.AUDIT_EXPLORE)
    try:
        with transaction(platform.sessions) as session:
            plan = plan_retention(session, actor)
            if may_manage(actor):
                record_dry_run(session, actor, plan, "cli")
        _print_plan(plan)
        if not apply:
            if plan.actionable:
                typer.echo("Nessuna modifica (prova). Per applicare: inlav audit retention --apply")
            return
        run = run_retention(
            platform.sessions,
            actor,
            "cli",
            plan.at_text,
            plan.token,
            batch=platform.settings.retention_batch_size,
        )
    except EngineError as exc:
        _explain(exc)
    typer.echo(
        f"Conservazione applicata (esecuzione {run.id}): {run.anonymised} casi anonimizzati, "
        f"{run.purged} cancellati, {run.skipped} rimandati."
    )


@audit_app.command("retention-set")
def retention_set(
    process: str,
    days: Annotated[str, typer.Option("--days", help="Giorni di conservazione dopo la chiusura del caso.")],
    action: Annotated[str, typer.Option("--action", help="purge (cancellare) o anonymise (anonimizzare).")],
    ambito: Annotated[
        str | None, typer.Option("--ambito", help="Solo per i casi di questo Ambito (senza: tutta la regione).")
    ] = None,
    automatic: Annotated[
        bool, typer.Option("--automatic/--manual", help="Applicata dal worker una volta al giorno.")
    ] = False,
    note: Annotated[str | None, typer.Option("--note", help="Perché (base giuridica, delibera...).")] = None,
    user: UserOpt = None,
) -> None:
    """Stabilisce la conservazione dei casi chiusi di un processo (registrata nel registro delle operazioni)."""
    platform = open_platform()
    actor = acting(platform, user, Action.RETENTION_MANAGE)
    try:
        with transaction(platform.sessions) as session:
            policy = set_policy(session, actor, process, days, action, ambito, automatic, note)
    except EngineError as exc:
        _explain(exc)
    typer.echo(
        f"Conservazione di «{policy.process_key}» ({policy.scope_label}), versione {policy.version}: "
        f"{policy.days} giorni, poi {'cancellare' if policy.action == PURGE else 'anonimizzare'}"
        f"{' (automatica)' if policy.automatic else ''}."
    )
