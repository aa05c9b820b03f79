"""The auditor's workspace: the operation log of administrative acts, each instance's story.

Callers import from here.
"""

from engine.audit.diagram import (
    CallLink,
    InstanceDiagram,
    ModelFile,
    PathStep,
    instance_diagram,
    instance_paths,
    model_file,
    model_files,
)
from engine.audit.oplog import (
    ACTIONS,
    CHANGED,
    TARGET_KINDS,
    Operation,
    OperationFilter,
    OperationPage,
    list_operations,
    record,
    scrub,
    verify_oplog,
)
from engine.audit.story import (
    KIND_LABELS,
    ChainCheck,
    FieldChange,
    InstanceSummary,
    Story,
    StoryEvent,
    check_chain,
    data_after,
    get_instance,
    instance_story,
    kind_label,
    value_text,
)
from engine.audit.story_export import neutralise, story_csv, story_json

__all__ = [
    "ACTIONS",
    "CHANGED",
    "KIND_LABELS",
    "TARGET_KINDS",
    "CallLink",
    "ChainCheck",
    "FieldChange",
    "InstanceDiagram",
    "InstanceSummary",
    "ModelFile",
    "Operation",
    "OperationFilter",
    "OperationPage",
    "PathStep",
    "Story",
    "StoryEvent",
    "check_chain",
    "data_after",
    "get_instance",
    "instance_diagram",
    "instance_paths",
    "instance_story",
    "kind_label",
    "list_operations",
    "model_file",
    "model_files",
    "neutralise",
    "record",
    "scrub",
    "story_csv",
    "story_json",
    "value_text",
    "verify_oplog",
]
