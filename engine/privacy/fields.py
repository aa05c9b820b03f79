"""Which fields are identity data, and the cipher of one case.

Identity fields are the well-known names below plus every property the forms of a
case's definitions mark `"x-personal": true` (read from the bundle at deploy time into
`process_definition.personal_fields_json`). Definitions are immutable, so the names are
cached in the process by content hash: a step adds no query once warm.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.models import ProcessDefinition, ProcessInstance
from engine.privacy.crypt import CaseCipher
from engine.privacy.keys import master_keys, new_person_key

# Names that are identity data in any model, whether or not a form marks them.
BUILTIN_IDENTITY_FIELDS = frozenset(
    {
        "alias",
        "nome",
        "cognome",
        "nome_alias",
        "pseudonimo",
        "nominativo",
        "data_nascita",
        "data_di_nascita",
        "luogo_nascita",
        "recapito",
        "telefono",
        "cellulare",
        "email",
        "indirizzo",
        "domicilio",
        "residenza",
        "documento",
        "documento_identita",
        "numero_documento",
        "codice_fiscale",
        "passaporto",
    }
)

# By content hash (what a definition is: spec and forms), never by id alone.
_BY_CONTENT: dict[str, frozenset[str]] = {}


def fields_of_definitions(session: Session, pinned: Iterable[tuple[int, str]]) -> frozenset[str]:
    """Identity field names for cases pinned to these (definition id, content hash) pairs."""
    pairs = set(pinned)
    missing = {definition_id: digest for definition_id, digest in pairs if digest not in _BY_CONTENT}
    if missing:
        if len(_BY_CONTENT) > 5000:
            _BY_CONTENT.clear()
        rows = session.execute(
            select(ProcessDefinition.content_hash, ProcessDefinition.personal_fields_json).where(
                ProcessDefinition.id.in_(missing)
            )
        )
        for digest, text in rows:
            try:
                names = json.loads(text or "[]")
            except ValueError:
                names = []
            _BY_CONTENT[digest] = frozenset(n for n in names if isinstance(n, str))
    found: set[str] = set(BUILTIN_IDENTITY_FIELDS)
    for _definition_id, digest in pairs:
        found |= _BY_CONTENT.get(digest, frozenset())
    return frozenset(found)


def forget_definitions() -> None:
    """Drop the cached names (after definitions were re-marked)."""
    _BY_CONTENT.clear()


def fields_of_case(session: Session, instance: ProcessInstance) -> frozenset[str]:
    """Identity field names of a case (every definition its manifest pins)."""
    try:
        manifest = json.loads(instance.manifest_json or "{}")
        pairs = {(int(value[0]), str(value[1])) for value in manifest.values()}
    except (ValueError, TypeError, IndexError, AttributeError):
        pairs = set()
    return fields_of_definitions(session, pairs)


def cipher_for(session: Session, settings: Settings, instance: ProcessInstance, create: bool = False) -> CaseCipher:
    """The cipher of a case, its person key unwrapped once; `create` gives a case without one a new key."""
    fields = fields_of_case(session, instance)
    keys = master_keys(settings)
    if instance.data_key is None and create:
        fresh = new_person_key()
        instance.data_key = keys.wrap(fresh)
        return CaseCipher(fields, fresh, instance.identity_erased_at is not None)
    key = keys.unwrap(instance.data_key) if instance.data_key is not None else None
    return CaseCipher(fields, key, instance.identity_erased_at is not None)
