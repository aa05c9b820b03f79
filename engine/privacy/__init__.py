"""Personal data: identity fields encrypted at rest, blind-index search, consent, data-subject rights.

Callers import from here. Each case has its own data key, wrapped by the master keys of
the settings (`keys`); `crypt` seals identity fields inside stored JSON; `fields` says
which fields are identity data; `blind_index` makes aliases searchable without keeping
them readable.
"""

from engine.privacy.blind_index import matching_instances, replace_tokens, tokens_for_alias, tokens_for_query, words
from engine.privacy.crypt import (
    ENVELOPE_MARK,
    ERASED,
    CaseCipher,
    PersonalDataUnavailable,
    identity_values,
    is_envelope,
)
from engine.privacy.fields import (
    BUILTIN_IDENTITY_FIELDS,
    cipher_for,
    fields_of_case,
    fields_of_definitions,
)
from engine.privacy.keys import (
    KeyUnavailable,
    MasterKeys,
    generate_master_key,
    index_key,
    master_keys,
    new_person_key,
    rotate_keys,
)

__all__ = [
    "BUILTIN_IDENTITY_FIELDS",
    "ENVELOPE_MARK",
    "ERASED",
    "CaseCipher",
    "KeyUnavailable",
    "MasterKeys",
    "PersonalDataUnavailable",
    "cipher_for",
    "fields_of_case",
    "fields_of_definitions",
    "generate_master_key",
    "identity_values",
    "index_key",
    "is_envelope",
    "master_keys",
    "matching_instances",
    "new_person_key",
    "replace_tokens",
    "rotate_keys",
    "tokens_for_alias",
    "tokens_for_query",
    "words",
]
