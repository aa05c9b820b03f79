"""What every `inlav` command shares: who it acts as (checked by the permission matrix) and how it fails."""

from __future__ import annotations

import errno
from typing import Annotated, NoReturn

import typer
from sqlalchemy import select

from engine import Actor, EngineError
from engine.access import Action, actor_for, require
from engine.db import read_transaction
from engine.models import AppUser
from engine.platform import Platform

CONSOLE = Actor("console", system=True)

UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        help="Agisce come questo utente, con i suoi ruoli e Ambiti (senza: la console, come sistema).",
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error in red and stop with an exit code."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def acting(platform: Platform, user: str | None, action: Action) -> Actor:
    """Who a command acts as, checked against the permission matrix.

    Without --user the command runs as the console: whoever holds the server's database
    credentials already has every power, so the console acts as the system. With --user
    it acts with that account's roles and Ambiti, exactly as the web app would.
    """
    if user is None:
        return CONSOLE
    with read_transaction(platform.sessions) as session:
        account = session.scalar(select(AppUser).where(AppUser.username == user.strip().lower()))
        if account is None or not account.is_active:
            fail(f"Utente «{user}» inesistente o disattivato.")
        actor = actor_for(session, account)
    try:
        require(actor, action)
    except EngineError as exc:
        fail(f"{exc.message} ({action.value})")
    return actor


_ERRNO_CAUSES = {
    errno.ENOENT: "la cartella o il file non esiste",
    errno.EACCES: "permesso negato",
    errno.EPERM: "operazione non permessa",
    errno.ENOSPC: "spazio su disco esaurito",
    errno.EROFS: "il file system è in sola lettura",
    errno.EISDIR: "è una cartella, non un file",
    errno.ENOTDIR: "una parte del percorso non è una cartella",
    errno.EEXIST: "esiste già",
}


def os_failure(exc: OSError) -> str:
    """An Italian sentence for a file or system error, naming the path."""
    cause = _ERRNO_CAUSES.get(exc.errno or 0, f"errore di sistema n. {exc.errno}" if exc.errno else "errore di sistema")
    where = f" «{exc.filename}»" if exc.filename else ""
    return f"Operazione su{where} non riuscita: {cause}."
