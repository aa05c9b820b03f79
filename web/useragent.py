"""A short, human description of a browser's User-Agent ("Firefox su Windows"), stored with
each session so its owner can recognise it on her "Sessioni" page."""

from __future__ import annotations

import re

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS: list[tuple[str, str]] = [
    (r"Edg(e|A|iOS)?/", "Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"SamsungBrowser/", "Samsung Internet"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Safari/", "Safari"),
    (r"curl/", "curl"),
    (r"python-httpx|python-requests|testclient", "programma"),
]
_SYSTEMS: list[tuple[str, str]] = [
    (r"Android", "Android"),
    (r"iPhone|iPad|iPod", "iOS"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux", "Linux"),
]


def user_agent_summary(header: str | None) -> str | None:
    """«Browser su sistema» from a User-Agent header (None when there is none)."""
    if not header:
        return None
    header = header[:1000]
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, header)), "browser sconosciuto")
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, header)), None)
    return f"{browser} su {system}" if system else browser
