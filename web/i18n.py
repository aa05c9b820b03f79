"""Languages of the interface: Italian (the source text) and English (a Babel catalog)."""

from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "it"
LANGUAGES: dict[str, str] = {"it": "Italiano", "en": "English"}
DOMAIN = "messages"


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    """Translations for a language: the compiled catalog, else the .po compiled in memory."""
    if lang == DEFAULT or lang not in LANGUAGES:
        return NullTranslations()
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    mo = folder / f"{DOMAIN}.mo"
    po = folder / f"{DOMAIN}.po"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    if po.is_file():
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    return NullTranslations()


def pick_language(cookie: str | None, user_locale: str | None) -> str:
    """The language to speak: the explicit choice, else the user's, else Italian."""
    for candidate in (cookie, user_locale):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT
