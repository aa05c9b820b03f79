"""The auditor's workspace: the operation log of administrative acts and the read-access log.

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
from engine.audit.reads import (
    READ_CHANNELS,
    READ_WHAT,
    CaseRef,
    Read,
    ReadFilter,
    ReadPage,
    case_ref,
    list_reads,
    reads_by_user,
    reads_of_case,
    record_read,
    record_reads,
)

__all__ = [
    "ACTIONS",
    "CHANGED",
    "READ_CHANNELS",
    "READ_WHAT",
    "TARGET_KINDS",
    "CaseRef",
    "Operation",
    "OperationFilter",
    "OperationPage",
    "Read",
    "ReadFilter",
    "ReadPage",
    "case_ref",
    "list_operations",
    "list_reads",
    "reads_by_user",
    "reads_of_case",
    "record",
    "record_read",
    "record_reads",
    "scrub",
    "verify_oplog",
]
