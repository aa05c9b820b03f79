"""The auditor's workspace: the operation log of administrative acts (more to come).

Callers import from here.
"""

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

__all__ = [
    "ACTIONS",
    "CHANGED",
    "TARGET_KINDS",
    "Operation",
    "OperationFilter",
    "OperationPage",
    "list_operations",
    "record",
    "scrub",
    "verify_oplog",
]
