"""The only package that imports SpiffWorkflow: parsing, running and storing workflows."""

from engine.spiff.case import (
    TOP,
    Case,
    HumanTaskView,
    MessageWait,
    MigrationPlan,
    OutboundMessage,
    Snapshot,
    SpecSet,
    StepEvent,
    StepReport,
    TaskRow,
    TimerView,
    build_specset,
    has_plain_start,
)
from engine.spiff.constructs import check_constructs
from engine.spiff.diagnostics import code_message, json_syntax
from engine.spiff.parsing import (
    CodeItem,
    HumanTaskInfo,
    ParsedBundle,
    ParsedProcess,
    add_iso_duration,
    check_timer_value,
    parse_bundle,
)
from engine.spiff.paths import DiagramPath, StoredTask, element_forms, stored_parent, trace_paths

__all__ = [
    "TOP",
    "Case",
    "CodeItem",
    "DiagramPath",
    "HumanTaskInfo",
    "HumanTaskView",
    "MessageWait",
    "MigrationPlan",
    "OutboundMessage",
    "ParsedBundle",
    "ParsedProcess",
    "Snapshot",
    "SpecSet",
    "StepEvent",
    "StepReport",
    "StoredTask",
    "TaskRow",
    "TimerView",
    "add_iso_duration",
    "build_specset",
    "check_constructs",
    "check_timer_value",
    "code_message",
    "element_forms",
    "has_plain_start",
    "json_syntax",
    "parse_bundle",
    "stored_parent",
    "trace_paths",
]
