"""Settings, read from the environment (prefix INLAV_) when `load_settings` is called."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/inlav.db"
DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - refused outside dev by `check`
# Fernet key and blind-index secret for development and tests only, refused elsewhere by `check`.
DEV_DATA_KEY = "ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE="
DEV_INDEX_KEY = "dev-only-index-key-change-me"


class Settings(BaseSettings):
    """Runtime configuration of engine, worker and web app."""

    model_config = SettingsConfigDict(env_prefix="INLAV_", env_file=None, extra="ignore")

    environment: str = Field("dev", description="dev, test or production")
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = DEV_SECRET

    # Personal data: master keys that wrap each person's data key (comma-separated Fernet
    # keys, newest first: the first wraps, all unwrap) and the secret of the search index.
    data_keys: str = DEV_DATA_KEY
    index_key: str = DEV_INDEX_KEY

    # Script sandbox: each expression/script runs in a separate, limited process.
    script_timeout_seconds: float = 2.0
    script_memory_mb: int = 256
    script_pool_size: int = 4

    # Engine safety nets.
    max_engine_tasks_per_step: int = 20_000
    # Wall-clock budget of the automatic part of one step (a runaway loop stops here, and
    # the database write lock is never held longer); below SQLite's 30 s busy timeout.
    max_step_seconds: float = Field(20.0, gt=0, le=25.0)
    lease_seconds: float = 30.0
    lock_wait_seconds: float = 5.0

    # Case data (engine.limits): encoded size (bytes of JSON) and nesting depth (levels per
    # variable) the data of a case may reach. A step that would exceed them is refused as a
    # task error; data sent from outside beyond them is refused before it is stored.
    max_case_data_bytes: int = Field(2_000_000, ge=1_000)
    max_data_depth: int = Field(64, ge=4, le=200)

    # Worker.
    worker_poll_seconds: float = 2.0
    worker_batch_size: int = 20
    timer_lock_seconds: float = 60.0
    # Retention (engine.audit.retention): the worker applies the automatic policies at most
    # once per this many hours, acting on this many cases per transaction.
    retention_interval_hours: float = Field(24.0, ge=1.0)
    retention_batch_size: int = Field(100, ge=1, le=10_000)

    # Accounts: groups whose accounts must use a second factor (TOTP), comma-separated:
    # amministratori, coordinatori, operatori, regionali, tutti. Empty: optional for everyone.
    require_2fa_for: str = ""

    # Bundles.
    max_file_bytes: int = 2_000_000
    max_bundle_files: int = 500

    def check(self) -> None:
        """Refuse insecure defaults outside development and tests."""
        if self.environment not in {"dev", "test"} and self.secret_key == DEV_SECRET:
            raise ValueError("INLAV_SECRET_KEY must be set outside dev/test")
        from engine.access.roles import roles_requiring_second_factor

        roles_requiring_second_factor(self.require_2fa_for)  # refuses unknown group names
        if self.environment not in {"dev", "test"} and DEV_DATA_KEY in self.data_key_list():
            raise ValueError("INLAV_DATA_KEYS must be set outside dev/test")
        if self.environment not in {"dev", "test"} and self.index_key == DEV_INDEX_KEY:
            raise ValueError("INLAV_INDEX_KEY must be set outside dev/test")

    def data_key_list(self) -> list[str]:
        """The master keys, newest first."""
        return [k.strip() for k in self.data_keys.split(",") if k.strip()]

    def sqlite_path(self) -> Path | None:
        """File path of a SQLite database URL, if it is one."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :])
        return None


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides winning."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.check()
    return settings
