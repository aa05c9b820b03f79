"""InLav Flow engine: workflow execution on SpiffWorkflow, persistence and projections.

Callers import from here; submodules are implementation detail. Functions take the
Session first and never commit: the caller owns the transaction.
"""

from engine.config import Settings, load_settings
from engine.definitions import (
    BundleCheck,
    DeployResult,
    check_bundle,
    deploy_bundle,
    read_bundle_paths,
    resolve,
)
from engine.errors import (
    CaseBusy,
    Conflict,
    DefinitionError,
    EngineError,
    EngineStateError,
    Forbidden,
    FormInvalid,
    NotFound,
    Problem,
    ScriptError,
    TaskNotReady,
)
from engine.history import verify_chain
from engine.instances import Outcome, get_instance, start_instance
from engine.messages import deliver, send_message
from engine.platform import Platform, open_platform, upgrade_database
from engine.roles import ROLES, SYSTEM, Actor, role_for_lane, role_label
from engine.tasks import (
    InboxFilter,
    claim_task,
    complete_task,
    form_for,
    get_task,
    list_inbox,
    release_task,
    ui_form_for,
)

__all__ = [
    "ROLES",
    "SYSTEM",
    "Actor",
    "BundleCheck",
    "CaseBusy",
    "Conflict",
    "DefinitionError",
    "DeployResult",
    "EngineError",
    "EngineStateError",
    "Forbidden",
    "FormInvalid",
    "InboxFilter",
    "NotFound",
    "Outcome",
    "Platform",
    "Problem",
    "ScriptError",
    "Settings",
    "TaskNotReady",
    "check_bundle",
    "claim_task",
    "complete_task",
    "deliver",
    "deploy_bundle",
    "form_for",
    "get_instance",
    "get_task",
    "list_inbox",
    "load_settings",
    "open_platform",
    "read_bundle_paths",
    "release_task",
    "resolve",
    "role_for_lane",
    "role_label",
    "send_message",
    "start_instance",
    "ui_form_for",
    "upgrade_database",
    "verify_chain",
]
