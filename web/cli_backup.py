"""`inlav backup`: copy, verify and restore the configured database from the server's console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from engine import EngineError, load_settings
from engine.ops import BackupInfo, backup_database, manifest_path, restore_database, verify_backup

backup_app = typer.Typer(help="Backup e ripristino del database.", no_args_is_help=True)

TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=1, help="Tempo massimo in secondi, poi l'operazione viene interrotta.")
]


def _fail(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _size(size_bytes: int) -> str:
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:.1f} KB".replace(".", ",")
    return f"{size_bytes / (1024 * 1024):.1f} MB".replace(".", ",")


def _describe(info: BackupInfo) -> None:
    kind = "SQLite" if info.kind == "sqlite" else f"PostgreSQL, schema {info.schema}"
    typer.echo(f"  database: {kind}, revisione {info.revision or '(nessuna)'}")
    typer.echo(f"  creata il: {info.created_at:%Y-%m-%d %H:%M:%S} UTC, {_size(info.size_bytes)}")
    typer.echo(f"  SHA-256: {info.sha256}")
    typer.echo(f"  righe: {info.total_rows} in {len(info.row_counts)} tabelle")


@backup_app.command("create")
def backup_create(
    path: Annotated[Path, typer.Argument(help="File da scrivere; accanto nasce PATH.json (checksum e conteggi).")],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Sostituisce un file già esistente.")] = False,
    timeout: TimeoutOpt = 3600.0,
) -> None:
    """Salva una copia coerente del database configurato (anche con l'app in funzione)."""
    try:
        info = backup_database(load_settings(), path, overwrite=overwrite, timeout_seconds=timeout)
    except EngineError as exc:
        _fail(str(exc))
    typer.echo(f"Copia salvata in {info.path} (manifesto {manifest_path(info.path)}).")
    _describe(info)


@backup_app.command("verify")
def backup_verify(
    path: Annotated[Path, typer.Argument(help="File di copia da controllare (con il suo PATH.json).")],
    timeout: TimeoutOpt = 600.0,
) -> None:
    """Controlla checksum e contenuto di una copia senza ripristinarla."""
    try:
        info = verify_backup(path, timeout_seconds=timeout)
    except EngineError as exc:
        _fail(str(exc))
    typer.echo(f"Copia integra: {info.path}")
    _describe(info)
    for table, count in sorted(info.row_counts.items()):
        typer.echo(f"    {table:<28} {count:>10}")


@backup_app.command("restore")
def backup_restore(
    path: Annotated[Path, typer.Argument(help="File di copia da ripristinare (con il suo PATH.json).")],
    force: Annotated[
        bool, typer.Option("--force", help="Sostituisce anche un database che contiene già dati.")
    ] = False,
    timeout: TimeoutOpt = 3600.0,
) -> None:
    """Ripristina il database configurato da una copia verificata (fermare prima app e worker)."""
    try:
        result = restore_database(load_settings(), path, force, timeout_seconds=timeout)
    except EngineError as exc:
        _fail(str(exc))
    typer.echo(f"Database ripristinato da {path}.")
    _describe(result.backup)
    if result.needs_upgrade:
        typer.secho(
            f"Lo schema è alla revisione {result.revision}, questa versione usa {result.head}: "
            "eseguire `inlav db upgrade` prima di avviare l'app.",
            fg=typer.colors.YELLOW,
        )
    else:
        typer.echo("Lo schema è aggiornato: nessuna migrazione da eseguire.")
