"""Search by alias without keeping it readable: a keyed blind index.

Each word of the normalised alias (lower case, accents and punctuation removed) gives
one HMAC-SHA256 token per prefix of at least `MIN_PREFIX` letters (a one-letter word gives
its own). A search for "ahm sal" finds the aliases with a word starting with "ahm" and
a word starting with "sal". The tokens reveal only which cases share a word prefix, and
only to someone holding the index key; erasure deletes a case's tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.orm import Session

from engine.models import CaseSearchToken

MIN_PREFIX = 2
MAX_WORD = 30
MAX_WORDS = 8


def words(text: str) -> list[str]:
    """Lower-case, accent-free words of a text (letters and digits only)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return [w[:MAX_WORD] for w in re.split(r"[^a-z0-9]+", folded) if w][:MAX_WORDS]


def _token(key: bytes, piece: str) -> str:
    return hmac.new(key, piece.encode("utf-8"), hashlib.sha256).hexdigest()


def tokens_for_alias(key: bytes, alias: str) -> set[str]:
    """Tokens of every word prefix of an alias."""
    found: set[str] = set()
    for word in words(alias):
        for end in range(min(MIN_PREFIX, len(word)), len(word) + 1):
            found.add(_token(key, word[:end]))
    return found


def tokens_for_query(key: bytes, text: str) -> list[str]:
    """One token per word typed (each must match a word prefix of the alias)."""
    return [_token(key, w) for w in words(text)]


def replace_tokens(session: Session, instance_id: int, tokens: set[str]) -> None:
    """Make a case's blind-index rows exactly these tokens."""
    session.execute(
        delete(CaseSearchToken)
        .where(CaseSearchToken.instance_id == instance_id)
        .execution_options(synchronize_session=False)
    )
    if tokens:
        session.execute(insert(CaseSearchToken), [{"instance_id": instance_id, "token": t} for t in sorted(tokens)])


def matching_instances(tokens: list[str]) -> Select[int]:
    """A subquery of case ids whose alias has a word matching every query token."""
    query = select(CaseSearchToken.instance_id).where(CaseSearchToken.token == tokens[0])
    for token in tokens[1:]:
        query = query.where(
            CaseSearchToken.instance_id.in_(select(CaseSearchToken.instance_id).where(CaseSearchToken.token == token))
        )
    return query
