"""Operations on the platform's database as a whole: backup, verification, restore."""

from engine.ops.backup import (
    POSTGRESQL,
    SQLITE,
    BackupError,
    BackupInfo,
    RestoreInfo,
    backup_database,
    manifest_path,
    restore_database,
    verify_backup,
)

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
