"""`inlav users`: user accounts from the command line, through `engine.admin`, so every
change is checked by the permission matrix and written to the operation log.

Without --user a command acts as the console (the system: whoever holds the database
credentials already has every power); with --user it acts with that account's roles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy import select

from engine import EngineError, FormInvalid, open_platform
from engine.access import Action
from engine.admin import UserFilter, add_user, ambito_names, create_ambito, deactivate_user, list_users, reactivate_user
from engine.db import read_transaction, transaction
from engine.models import AppUser
from engine.platform import Platform
from web.cli_common import UserOpt, acting, fail

users_app = typer.Typer(
    help="Utenti: creazione, elenco, disattivazione (registrate nel registro delle operazioni).", no_args_is_help=True
)


def _user_id(platform: Platform, username: str) -> int:
    with read_transaction(platform.sessions) as session:
        found = session.scalar(select(AppUser.id).where(AppUser.username == username.strip().lower()))
    if found is None:
        fail(f"Utente «{username}» non trovato.")
    assert found is not None
    return found


def _grants(roles: list[str]) -> list[tuple[str, str | None]]:
    """ROLE@AMBITO (or ROLE for the regional roles) as (role, Ambito) pairs."""
    pairs: list[tuple[str, str | None]] = []
    for text in roles:
        role, _, ambito = text.partition("@")
        pairs.append((role.strip(), ambito.strip().upper() or None))
    return pairs


ambiti_app = typer.Typer(help="Ambiti territoriali (registrati nel registro delle operazioni).", no_args_is_help=True)


@ambiti_app.command("add")
def ambiti_add(code: str, name: str, user: UserOpt = None) -> None:
    """Registra un Ambito."""
    platform = open_platform()
    actor = acting(platform, user, Action.ADMIN_AMBITI)
    try:
        with transaction(platform.sessions) as session:
            ambito = create_ambito(session, actor, code, name)
            code = ambito.code
    except EngineError as exc:
        _explain(exc)
    typer.echo(f"Ambito {code} registrato.")


@ambiti_app.command("list")
def ambiti_list() -> None:
    """Elenca gli Ambiti."""
    platform = open_platform()
    with read_transaction(platform.sessions) as session:
        for code, name in ambito_names(session):
            typer.echo(f"{code:20s} {name}")


def _explain(exc: EngineError) -> NoReturn:
    lines = [exc.message]
    if isinstance(exc, FormInvalid):
        lines += [f"  {field}: {'; '.join(messages)}" for field, messages in exc.errors.items()]
    fail("\n".join(lines))


@users_app.command("add")
def users_add(
    username: str,
    name: Annotated[str, typer.Option("--name", help="Nome e cognome.")],
    role: Annotated[
        list[str],
        typer.Option("--role", help="RUOLO@AMBITO (ripetibile); i ruoli regionali senza @, es. revisore."),
    ],
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="File con la password iniziale (prima riga).")
    ] = None,
    generate: Annotated[
        bool, typer.Option("--generate", help="Genera una password temporanea, mostrata una volta sola.")
    ] = False,
    locale: Annotated[str, typer.Option("--locale", help="it o en.")] = "it",
    user: UserOpt = None,
) -> None:
    """Crea un utente con i suoi ruoli."""
    if (password_file is None) == (not generate):
        fail("Indicare la password con --password-file FILE oppure --generate (uno dei due).")
    password = None
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError):
            fail(f"Impossibile leggere la password da {password_file}.")
    platform = open_platform()
    actor = acting(platform, user, Action.ADMIN_USERS)
    try:
        with transaction(platform.sessions) as session:
            created, generated = add_user(session, actor, username, name, _grants(role), email, password, locale)
            login = created.username
    except EngineError as exc:
        _explain(exc)
        return
    typer.echo(f"Utente {login} creato.")
    if generated:
        typer.echo(f"Password temporanea (da cambiare al primo accesso; non verrà più mostrata): {generated}")


@users_app.command("list")
def users_list(
    ambito: Annotated[str | None, typer.Option("--ambito", help="Solo chi ha un ruolo in questo Ambito.")] = None,
    role: Annotated[str | None, typer.Option("--role", help="Solo chi ha questo ruolo.")] = None,
    inactive: Annotated[bool, typer.Option("--disattivati", help="Solo gli utenti disattivati.")] = False,
    user: UserOpt = None,
) -> None:
    """Elenca gli utenti con i loro ruoli."""
    platform = open_platform()
    actor = acting(platform, user, Action.ADMIN_USERS)
    flt = UserFilter(ambito=ambito.upper() if ambito else None, role=role, active=False if inactive else None)
    with read_transaction(platform.sessions) as session:
        rows, total = list_users(session, actor, flt, limit=10_000)
        for row in rows:
            state = "" if row.user.is_active else " [disattivato]"
            grants = ", ".join(f"{g.role}@{g.ambito_code}" if g.ambito_code else g.role for g in row.grants)
            typer.echo(f"{row.user.username:24s} {row.user.full_name:40s} {grants}{state}")
    typer.echo(f"{total} utenti.")


@users_app.command("deactivate")
def users_deactivate(username: str, user: UserOpt = None) -> None:
    """Disattiva un utente: chiude le sue sessioni e restituisce al gruppo le attività che aveva preso."""
    platform = open_platform()
    actor = acting(platform, user, Action.ADMIN_USERS)
    user_id = _user_id(platform, username)
    try:
        with transaction(platform.sessions) as session:
            done = deactivate_user(session, actor, user_id)
            released = [f"{t.case_code} · {t.title}" for t in done.released]
            sessions = done.sessions_ended
    except EngineError as exc:
        _explain(exc)
        return
    typer.echo(f"Utente {username} disattivato: {sessions} sessioni chiuse, {len(released)} attività restituite.")
    for line in released:
        typer.echo(f"  {line}")


@users_app.command("reactivate")
def users_reactivate(username: str, user: UserOpt = None) -> None:
    """Riattiva un utente disattivato (con i ruoli che ha)."""
    platform = open_platform()
    actor = acting(platform, user, Action.ADMIN_USERS)
    user_id = _user_id(platform, username)
    try:
        with transaction(platform.sessions) as session:
            reactivate_user(session, actor, user_id)
    except EngineError as exc:
        _explain(exc)
        return
    typer.echo(f"Utente {username} riattivato.")
