"""Which fields are identity data, and the cipher of one case.

Identity fields are the well-known names below plus every property the forms of a
case's definitions mark `"x-personal": true` (read from the bundle at deploy time into
`process_definition.personal_fields_json`). Definitions are immutable, so the names per
definition are cached in the process: a step adds no query once warm.
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

_BY_DEFINITION: dict[int, frozenset[str]] = {}


def fields_of_definitions(session: Session, definition_ids: Iterable[int]) -> frozenset[str]:
    """Identity field names for cases pinned to these definitions."""
    ids = set(definition_ids)
    missing = ids - _BY_DEFINITION.keys()
    if missing:
        if len(_BY_DEFINITION) > 5000:
            _BY_DEFINITION.clear()
        rows = session.execute(
            select(ProcessDefinition.id, ProcessDefinition.personal_fields_json).where(
                ProcessDefinition.id.in_(missing)
            )
        )
        for definition_id, text in rows:
            try:
                names = json.loads(text or "[]")
            except ValueError:
                names = []
            _BY_DEFINITION[definition_id] = frozenset(n for n in names if isinstance(n, str))
    found: set[str] = set(BUILTIN_IDENTITY_FIELDS)
    for definition_id in ids:
        found |= _BY_DEFINITION.get(definition_id, frozenset())
    return frozenset(found)


def forget_definitions() -> None:
    """Drop the cached names (after definitions were re-marked)."""
    _BY_DEFINITION.clear()


def fields_of_case(session: Session, instance: ProcessInstance) -> frozenset[str]:
    """Identity field names of a case (every definition of its manifest)."""
    try:
        manifest = json.loads(instance.manifest_json or "{}")
        ids = {int(value[0]) for value in manifest.values()}
    except (ValueError, TypeError, IndexError):
        ids = set()
    ids.add(instance.definition_id)
    return fields_of_definitions(session, ids)


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
