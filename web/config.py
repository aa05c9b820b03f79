"""Settings of the web layer (prefix INLAV_WEB_), built when the app is created."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine import Settings


class WebSettings(BaseSettings):
    """Session lifetime, cookie flags, request limits."""

    model_config = SettingsConfigDict(env_prefix="INLAV_WEB_", env_file=None, extra="ignore")

    session_idle_minutes: int = Field(60, ge=1, le=24 * 60)
    session_max_hours: float = Field(12, gt=0, le=72)
    cookie_secure: bool | None = None  # default: on outside dev/test
    max_body_bytes: int = 1_000_000
    max_form_fields: int = 2000
    page_size: int = Field(25, ge=5, le=200)
    contact_process: str = "inlav_percorso"  # process a "Nuovo contatto" starts (the regional model)


def load_web_settings(settings: Settings, **overrides: object) -> WebSettings:
    """Web settings from the environment; secure cookies unless running in dev or test."""
    web = WebSettings(**overrides)  # type: ignore[arg-type]
    if web.cookie_secure is None:
        web.cookie_secure = settings.environment not in {"dev", "test"}
    return web
