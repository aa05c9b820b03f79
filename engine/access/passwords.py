"""Password policy: long enough, not the username, not a common password, not a keyboard run.

The rules follow NIST SP 800-63B: a minimum length and a check against passwords known
to be common, no composition rules (no "one capital, one digit"), no expiry.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from engine.errors import PasswordRejected

MIN_LENGTH = 12
MAX_LENGTH = 1000
MIN_DISTINCT = 5
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
# Words of this service: as guessable here as "password" is anywhere (800-63B "context-specific words").
CONTEXT_WORDS = frozenset(
    {"inlav", "inlavflow", "inlavlombardia", "lombardia", "regionelombardia", "pua", "sfruttamento", "caporalato"}
)
# Runs of keys or characters: any 12 of them in a row (or reversed) are refused.
RUNS = (
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#")) | CONTEXT_WORDS


def _is_common(lowered: str) -> bool:
    words = common_passwords()
    if lowered in words:
        return True
    core = _EDGES.sub("", lowered)  # "Juventus1897!" is "juventus" to a guesser
    compact = re.sub(r"[\W_]+", "", core)
    return bool(core) and (core in words or compact in words)


def _is_repetitive(lowered: str) -> bool:
    """Few distinct characters, a run of keys, or one half typed twice ("passwordpassword")."""
    half = len(lowered) // 2
    return (
        len(set(lowered)) < MIN_DISTINCT
        or any(lowered in run or lowered[::-1] in run for run in RUNS)
        or (len(lowered) % 2 == 0 and lowered[:half] == lowered[half:])
    )


def password_problems(password: str, username: str = "") -> list[str]:
    """Why a password is not acceptable for this user (empty list: acceptable)."""
    password = unicodedata.normalize("NFC", password)
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"La password deve avere almeno {MIN_LENGTH} caratteri.")
    if len(password) > MAX_LENGTH:
        problems.append(f"La password può avere al massimo {MAX_LENGTH} caratteri.")
        return problems
    lowered = password.lower()
    name = unicodedata.normalize("NFKC", username).strip().lower()
    if name and len(name) >= 3 and name in lowered:
        problems.append("La password non può contenere il nome utente.")
    if _is_common(lowered):
        problems.append(
            "La password è tra le più usate (o ne è una variante con numeri e simboli): "
            "sceglierne una meno prevedibile."
        )
    elif _is_repetitive(lowered):
        problems.append("La password è una ripetizione o una sequenza di tasti: sceglierne una meno prevedibile.")
    return problems


def check_password(password: str, username: str = "") -> None:
    """Raise PasswordRejected (field `password`) unless the password satisfies the policy."""
    problems = password_problems(password, username)
    if problems:
        raise PasswordRejected(" ".join(problems), {"password": problems})
