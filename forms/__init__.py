"""JSON-Schema forms: load, check against the meta-schema, validate with Italian messages.

Imports nothing of ours: the engine and the web layer both build on it.
"""

from forms.schema import (
    FormDefinitionError,
    check_schema,
    check_ui_schema,
    clean_submission,
    validate_data,
)

__all__ = [
    "FormDefinitionError",
    "check_schema",
    "check_ui_schema",
    "clean_submission",
    "validate_data",
]
