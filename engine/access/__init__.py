"""Who may do what: roles, the permission matrix, accounts, browser sessions, API tokens.

Callers import from here. `matrix` is the single source of permissions: routes, API
calls and CLI commands name an `Action`; the engine checks it against the Ambito of
what they touch.
"""

from engine.access.accounts import (
    actor_for,
    authenticate,
    change_password,
    create_user,
    grant_role,
    hash_password,
)
from engine.access.matrix import (
    ACTION_LABELS,
    MATRIX,
    PERSONAL_DATA,
    READ_ONLY,
    Action,
    Scope,
    ambiti_for,
    matrix_markdown,
    matrix_rows,
    permits,
    require,
    require_in,
    scope_of,
)
from engine.access.roles import (
    BY_CODE,
    LANE_ROLES,
    ROLE_CODES,
    ROLES,
    SYSTEM,
    Actor,
    Grant,
    Kind,
    Role,
    role_for_lane,
    role_label,
)
from engine.access.sessions import (
    OpenedSession,
    close_session,
    find_session,
    needs_touch,
    open_session,
    purge_expired_sessions,
    touch_session,
)
from engine.access.tokens import create_token, list_tokens, revoke_token, user_for_token

__all__ = [
    "ACTION_LABELS",
    "BY_CODE",
    "LANE_ROLES",
    "MATRIX",
    "PERSONAL_DATA",
    "READ_ONLY",
    "ROLES",
    "ROLE_CODES",
    "SYSTEM",
    "Action",
    "Actor",
    "Grant",
    "Kind",
    "OpenedSession",
    "Role",
    "Scope",
    "actor_for",
    "ambiti_for",
    "authenticate",
    "change_password",
    "close_session",
    "create_token",
    "create_user",
    "find_session",
    "grant_role",
    "hash_password",
    "list_tokens",
    "matrix_markdown",
    "matrix_rows",
    "needs_touch",
    "open_session",
    "permits",
    "purge_expired_sessions",
    "require",
    "require_in",
    "revoke_token",
    "role_for_lane",
    "role_label",
    "scope_of",
    "touch_session",
    "user_for_token",
]
