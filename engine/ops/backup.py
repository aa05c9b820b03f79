"""Backup, verification and restore of the platform's whole database.

These work on the database as a whole, below the ORM, so they take the settings rather
than a Session: SQLite is copied with sqlite3's online backup API, PostgreSQL with
pg_dump/pg_restore. Every backup file has a JSON manifest beside it (`<file>.json`)
with the database kind, Alembic revision, creation time, SHA-256, size and row counts;
a restore checks all of it before touching the target. Files are written under a
temporary name and renamed only when complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from engine.clock import utcnow
from engine.config import Settings
from engine.ops.common import BackupError, DatabaseState, Deadline, describe_difference
from engine.ops.pg_backup import backup_postgres, check_pg_archive, postgres_state, restore_postgres
from engine.ops.sqlite_backup import backup_sqlite, check_sqlite_backup, restore_sqlite, sqlite_file, sqlite_state
from engine.platform import alembic_config

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
KIND_LABELS = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
MANIFEST_FORMAT = "inlav-backup"
MANIFEST_VERSION = 1
DEFAULT_TIMEOUT_SECONDS = 3600.0

__all__ = [
    "POSTGRESQL",
    "SQLITE",
    "BackupError",
    "BackupInfo",
    "RestoreInfo",
    "backup_database",
    "manifest_path",
    "restore_database",
    "verify_backup",
]


@dataclass(frozen=True)
class BackupInfo:
    """A backup file and what its manifest says about it."""

    path: Path
    kind: str
    revision: str | None
    created_at: datetime
    sha256: str
    size_bytes: int
    row_counts: dict[str, int]
    schema: str | None = None

    @property
    def total_rows(self) -> int:
        """Rows in all tables together."""
        return sum(self.row_counts.values())


@dataclass(frozen=True)
class RestoreInfo:
    """What was restored, and whether the database now needs `inlav db upgrade`."""

    backup: BackupInfo
    revision: str | None
    head: str | None
    replaced_data: bool

    @property
    def needs_upgrade(self) -> bool:
        """Whether the restored database is behind this version's migrations."""
        return self.revision != self.head


def manifest_path(path: Path) -> Path:
    """Where the manifest of a backup file lives: beside it, with `.json` appended."""
    return path.with_name(path.name + ".json")


def database_kind(settings: Settings) -> str:
    """`sqlite` or `postgresql`, from the configured URL."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return SQLITE
    if url.startswith("postgresql"):
        return POSTGRESQL
    raise BackupError(f"Tipo di database non gestito per backup e ripristino: {url.split(':', 1)[0]}.")


# --------------------------------------------------------------------------- backup


def backup_database(
    settings: Settings, target: Path, *, overwrite: bool = False, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> BackupInfo:
    """Write a consistent copy of the configured database to `target`, with its manifest beside it."""
    kind = database_kind(settings)
    manifest = manifest_path(target)
    _refuse_existing(target, manifest, overwrite)
    if kind == SQLITE and target.resolve() == sqlite_file(settings).resolve():
        raise BackupError("La copia non può sostituire il database stesso: scegliere un altro file.")
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = Deadline(timeout_seconds)
    created_at = utcnow()
    with _staged(target) as data_part, _staged(manifest) as manifest_part:
        if kind == SQLITE:
            state = backup_sqlite(sqlite_file(settings), data_part, deadline)
        else:
            state = backup_postgres(settings.database_url, data_part, deadline)
        _fsync(data_part)
        info = BackupInfo(
            path=target,
            kind=kind,
            revision=state.revision,
            created_at=created_at,
            sha256=_sha256(data_part),
            size_bytes=data_part.stat().st_size,
            row_counts=state.row_counts,
            schema=state.schema,
        )
        manifest_part.write_text(json.dumps(_manifest(info), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _fsync(manifest_part)
        _refuse_existing(target, manifest, overwrite)  # written by someone else meanwhile?
        os.replace(data_part, target)
        os.replace(manifest_part, manifest)
        _fsync(target.parent)
    return info


def _refuse_existing(target: Path, manifest: Path, overwrite: bool) -> None:
    if overwrite:
        return
    for path in (target, manifest):
        if path.exists():
            raise BackupError(f"Il file {path} esiste già: scegliere un altro nome o chiedere di sovrascriverlo.")


@contextlib.contextmanager
def _staged(final: Path) -> Iterator[Path]:
    """An empty private file beside `final`, removed (with any SQLite side files) unless renamed."""
    part = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
    # Backups hold personal data: readable by the owner only, whatever the umask.
    os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield part
    finally:
        for leftover in (part, *(part.with_name(part.name + s) for s in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest(info: BackupInfo) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "kind": info.kind,
        "schema": info.schema,
        "revision": info.revision,
        "created_at": info.created_at.isoformat(),
        "file": info.path.name,
        "size_bytes": info.size_bytes,
        "sha256": info.sha256,
        "row_counts": info.row_counts,
    }


# --------------------------------------------------------------------------- verify


def verify_backup(source: Path, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> BackupInfo:
    """Check a backup against its manifest (size, SHA-256, readable content) without restoring it."""
    info = _read_manifest(source)
    _check_file(info, timeout_seconds)
    return info


def _check_file(info: BackupInfo, timeout_seconds: float) -> None:
    source = info.path
    size = source.stat().st_size
    if size != info.size_bytes:
        raise BackupError(
            f"Il file {source} misura {size} byte, il manifesto ne indica {info.size_bytes}: "
            "la copia è troncata o alterata e non va usata."
        )
    if _sha256(source) != info.sha256:
        raise BackupError(
            f"Il checksum SHA-256 di {source} non corrisponde al manifesto: "
            "la copia è danneggiata o alterata e non va usata."
        )
    if info.kind == SQLITE:
        check_sqlite_backup(source, info.row_counts)
    else:
        check_pg_archive(source, info.schema, info.row_counts, Deadline(timeout_seconds))


def _read_manifest(source: Path) -> BackupInfo:
    if not source.is_file():
        raise BackupError(f"Il file {source} non esiste.")
    manifest = manifest_path(source)
    if not manifest.is_file():
        raise BackupError(f"Manca il manifesto {manifest} (checksum e conteggi): senza non si può verificare la copia.")
    try:
        raw = json.loads(manifest.read_text(encoding="utf-8"))
        if raw.get("format") != MANIFEST_FORMAT:
            raise ValueError("non è un manifesto di InLav Flow")
        if raw.get("version") != MANIFEST_VERSION:
            raise ValueError(f"versione {raw.get('version')!r} non gestita")
        kind, sha256, size = raw["kind"], raw["sha256"], raw["size_bytes"]
        counts = raw["row_counts"]
        if kind not in KIND_LABELS or not isinstance(sha256, str) or len(sha256) != 64 or not isinstance(size, int):
            raise ValueError("campi non validi")
        if not isinstance(counts, dict) or not all(isinstance(n, int) for n in counts.values()):
            raise ValueError("conteggi non validi")
        return BackupInfo(
            path=source,
            kind=cast(str, kind),
            revision=raw.get("revision"),
            created_at=datetime.fromisoformat(raw["created_at"]),
            sha256=sha256,
            size_bytes=size,
            row_counts=cast(dict[str, int], counts),
            schema=raw.get("schema"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"Il manifesto {manifest} non è valido: {exc}") from exc


# --------------------------------------------------------------------------- restore


def restore_database(
    settings: Settings, source: Path, force: bool = False, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> RestoreInfo:
    """Replace the configured database with a verified backup; refuses to overwrite data unless `force`."""
    kind = database_kind(settings)
    info = _read_manifest(source)
    if info.kind != kind:
        raise BackupError(
            f"La copia è di un database {KIND_LABELS[info.kind]}, quello configurato è {KIND_LABELS[kind]}: "
            "non si può ripristinare qui."
        )
    _check_file(info, timeout_seconds)
    head = _check_known_revision(settings, info.revision)
    deadline = Deadline(timeout_seconds)
    if kind == SQLITE:
        database = sqlite_file(settings)
        before = sqlite_state(database)
        _refuse_data(before, force, str(database))
        restore_sqlite(source, database, deadline)
        after = sqlite_state(database)
    else:
        before = postgres_state(settings.database_url)
        _check_postgres_target(before, info)
        _refuse_data(before, force, f"lo schema «{before.schema}»")
        restore_postgres(settings.database_url, source, deadline)
        after = postgres_state(settings.database_url, info.schema)
    if after.row_counts != info.row_counts:
        raise BackupError(
            "Dopo il ripristino i dati non corrispondono alla copia: "
            f"{describe_difference(info.row_counts, after.row_counts)}"
        )
    return RestoreInfo(backup=info, revision=after.revision, head=head, replaced_data=before.has_data())


def _check_known_revision(settings: Settings, revision: str | None) -> str | None:
    """This version's head revision; a backup made by a newer version (unknown revision) is refused."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(cast(Config, alembic_config(settings.database_url)))
    for rev in (revision or "").split(","):
        if not rev:
            continue
        try:
            script.get_revision(rev)
        except CommandError as exc:
            raise BackupError(
                f"La copia è alla revisione {rev} dello schema, che questa versione di InLav Flow non conosce: "
                "è stata fatta con una versione più recente. Aggiornare il programma prima di ripristinarla."
            ) from exc
    return script.get_current_head()


def _refuse_data(state: DatabaseState, force: bool, where: str) -> None:
    if state.has_data() and not force:
        rows = sum(state.row_counts.values())
        raise BackupError(
            f"Il database di destinazione ({where}) contiene già dati ({rows} righe): "
            "il ripristino li sostituirebbe. Ripetere con --force per confermare."
        )


def _check_postgres_target(target: DatabaseState, info: BackupInfo) -> None:
    # pg_restore recreates objects under the schema names stored in the archive and cannot
    # rename them; and --clean drops only what the archive contains.
    if target.schema is not None and target.schema != info.schema:
        raise BackupError(
            f"La copia contiene lo schema «{info.schema}», il database configurato usa «{target.schema}»: "
            "pg_restore non può cambiare il nome dello schema."
        )
    extra = sorted(set(target.row_counts) - set(info.row_counts))
    if extra:
        raise BackupError(
            f"Lo schema «{target.schema}» contiene tabelle che la copia non ha ({', '.join(extra)}), "
            "probabilmente di una versione più recente: ripristinare in uno schema vuoto."
        )
