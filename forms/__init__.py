"""JSON-Schema forms: load, check against the meta-schema, validate with Italian messages,
build the render model a template walks, and parse submitted HTML fields back to JSON.

Imports nothing of ours: the engine and the web layer both build on it.
"""

from forms.instructions import instructions_html
from forms.options import data_options, enum_labels, fill_options, resolve_data_options
from forms.parse import Parsed, parse_form
from forms.render import (
    ROW,
    Condition,
    ErrorLink,
    Field,
    FormModel,
    Option,
    build_form,
    display_value,
    field_id,
)
from forms.schema import (
    FormDefinitionError,
    check_schema,
    check_ui_schema,
    clean_submission,
    personal_fields,
    validate_data,
)

__all__ = [
    "ROW",
    "Condition",
    "ErrorLink",
    "Field",
    "FormDefinitionError",
    "FormModel",
    "Option",
    "Parsed",
    "build_form",
    "check_schema",
    "check_ui_schema",
    "clean_submission",
    "data_options",
    "display_value",
    "enum_labels",
    "field_id",
    "fill_options",
    "instructions_html",
    "parse_form",
    "personal_fields",
    "resolve_data_options",
    "validate_data",
]
