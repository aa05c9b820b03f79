"""Password policy: long enough, not the username, and not guessable.

The rules follow NIST SP 800-63B: a minimum length and a check against what attackers
try first, no composition rules (no "one capital, one digit"), no expiry. Guessability
is estimated by zxcvbn (common passwords and words, names, keyboard runs, repetitions,
dates, l33t variants), told the username and the words of this service.
"""

from __future__ import annotations

import unicodedata

from zxcvbn import zxcvbn

from engine.errors import PasswordRejected

MIN_LENGTH = 12
MAX_LENGTH = 1000
# zxcvbn's top score: more than 10^10 guesses needed (safe against offline attacks on a slow hash).
MIN_SCORE = 4
# zxcvbn estimates up to this many characters; a longer password is at least as strong as its start.
ESTIMATED_CHARS = 72
# Words of this service: as guessable here as "password" is anywhere (800-63B "context-specific words").
CONTEXT_WORDS = ("inlav", "inlavflow", "lombardia", "regione", "pua", "sfruttamento", "caporalato", "milano")


def password_problems(password: str, username: str = "") -> list[str]:
    """Why a password is not acceptable for this user (empty list: acceptable)."""
    password = unicodedata.normalize("NFC", password)
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"La password deve avere almeno {MIN_LENGTH} caratteri.")
    if len(password) > MAX_LENGTH:
        problems.append(f"La password può avere al massimo {MAX_LENGTH} caratteri.")
        return problems
    name = unicodedata.normalize("NFKC", username).strip().lower()
    if name and len(name) >= 3 and name in password.lower():
        problems.append("La password non può contenere il nome utente.")
    if password and not problems:
        estimate = zxcvbn(password[:ESTIMATED_CHARS], user_inputs=[name, *CONTEXT_WORDS] if name else CONTEXT_WORDS)
        if int(estimate["score"]) < MIN_SCORE:
            problems.append(
                "La password è troppo facile da indovinare (parole o password molto usate, sequenze di "
                "tasti, ripetizioni, date): sceglierne una più lunga, ad esempio una frase di più parole."
            )
    return problems


def check_password(password: str, username: str = "") -> None:
    """Raise PasswordRejected (field `password`) unless the password satisfies the policy."""
    problems = password_problems(password, username)
    if problems:
        raise PasswordRejected(" ".join(problems), {"password": problems})
