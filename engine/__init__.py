"""InLav Flow engine: workflow execution on SpiffWorkflow, persistence and projections.

Callers import from here; submodules are implementation detail. Functions take the
Session first and never commit: the caller owns the transaction.
"""

from engine.apitokens import create_token, list_tokens, revoke_token, user_for_token
from engine.casefile import (
    CaseFile,
    CaseHit,
    PlanItem,
    Startable,
    TimelineEntry,
    case_file,
    get_case,
    recent_cases,
    refresh_case_index,
    search_cases,
    start_case,
    startable_processes,
)
from engine.config import Settings, load_settings
from engine.definitions import (
    BundleCheck,
    DeployResult,
    check_bundle,
    deploy_bundle,
    read_bundle_paths,
    resolve,
)
from engine.drafts import discard_draft, drafted_task_ids, drop_task_drafts, load_draft, save_draft
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
from engine.inbox import SORTS, InboxCounts, InboxPage, inbox_page
from engine.instances import Outcome, get_instance, start_instance
from engine.messages import deliver, send_message
from engine.platform import Platform, open_platform, upgrade_database
from engine.projections import alias_of
from engine.roles import ROLES, SYSTEM, Actor, role_for_lane, role_label
from engine.tasks import (
    InboxFilter,
    check_access,
    claim_task,
    complete_task,
    form_for,
    get_task,
    list_inbox,
    release_task,
    ui_form_for,
)
from engine.taskview import TaskContext, task_context, task_data
from engine.websessions import OpenedSession, close_session, find_session, needs_touch, open_session, touch_session

__all__ = [
    "ROLES",
    "SORTS",
    "SYSTEM",
    "Actor",
    "BundleCheck",
    "CaseBusy",
    "CaseFile",
    "CaseHit",
    "Conflict",
    "DefinitionError",
    "DeployResult",
    "EngineError",
    "EngineStateError",
    "Forbidden",
    "FormInvalid",
    "InboxCounts",
    "InboxFilter",
    "InboxPage",
    "NotFound",
    "OpenedSession",
    "Outcome",
    "PlanItem",
    "Platform",
    "Problem",
    "ScriptError",
    "Settings",
    "Startable",
    "TaskContext",
    "TaskNotReady",
    "TimelineEntry",
    "alias_of",
    "case_file",
    "check_access",
    "check_bundle",
    "claim_task",
    "close_session",
    "complete_task",
    "create_token",
    "deliver",
    "deploy_bundle",
    "discard_draft",
    "drafted_task_ids",
    "drop_task_drafts",
    "find_session",
    "form_for",
    "get_case",
    "get_instance",
    "get_task",
    "inbox_page",
    "list_inbox",
    "list_tokens",
    "load_draft",
    "load_settings",
    "needs_touch",
    "open_platform",
    "open_session",
    "read_bundle_paths",
    "recent_cases",
    "refresh_case_index",
    "release_task",
    "resolve",
    "revoke_token",
    "role_for_lane",
    "role_label",
    "save_draft",
    "search_cases",
    "send_message",
    "start_case",
    "start_instance",
    "startable_processes",
    "task_context",
    "task_data",
    "touch_session",
    "ui_form_for",
    "upgrade_database",
    "user_for_token",
    "verify_chain",
]
