"""Personal data: identity fields encrypted at rest, blind-index search, consent, data-subject rights.

Callers import from here. Each case has its own data key, wrapped by the master keys of
the settings (`keys`); `crypt` seals identity fields inside stored JSON; `fields` says
which fields are identity data; `blind_index` makes aliases searchable without keeping
them readable; `consent` gates sharing identity with partners; `subject_rights` exports
and erases a person's data; `backfill` seals what was stored before encryption.
"""

from engine.privacy.backfill import BackfillReport, encrypt_existing, mark_definitions, reindex
from engine.privacy.blind_index import matching_instances, replace_tokens, tokens_for_alias, tokens_for_query, words
from engine.privacy.consent import (
    CHANNELS,
    HELD_CONSENT,
    HELD_REASON,
    SCOPES,
    SHARING,
    ConsentView,
    carries_identity,
    consents_of,
    has_live_consent,
    held_messages,
    override_consent,
    record_consent,
    release_held,
    sharing_needs_consent,
    withdraw_consent,
)
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
from engine.privacy.subject_rights import erase_identity, export_subject, shred_identity

__all__ = [
    "BUILTIN_IDENTITY_FIELDS",
    "CHANNELS",
    "ENVELOPE_MARK",
    "ERASED",
    "HELD_CONSENT",
    "HELD_REASON",
    "SCOPES",
    "SHARING",
    "BackfillReport",
    "CaseCipher",
    "ConsentView",
    "KeyUnavailable",
    "MasterKeys",
    "PersonalDataUnavailable",
    "carries_identity",
    "cipher_for",
    "consents_of",
    "encrypt_existing",
    "erase_identity",
    "export_subject",
    "fields_of_case",
    "fields_of_definitions",
    "generate_master_key",
    "has_live_consent",
    "held_messages",
    "identity_values",
    "index_key",
    "is_envelope",
    "mark_definitions",
    "master_keys",
    "matching_instances",
    "new_person_key",
    "override_consent",
    "record_consent",
    "reindex",
    "release_held",
    "replace_tokens",
    "rotate_keys",
    "sharing_needs_consent",
    "shred_identity",
    "tokens_for_alias",
    "tokens_for_query",
    "withdraw_consent",
    "words",
]
