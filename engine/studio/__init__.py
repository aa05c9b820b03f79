"""The coordinators' studio: the processes each Ambito runs, their versions and diagrams.

This first part reads: the studio home per Ambito (regional processes and the Ambito's
variants, versions with publisher, time and note, cases not yet concluded per version,
the version a new case gets) and each version's diagram. The editor keeps drafts on the server (`engine.studio.drafts`)
and validates them as a deployment would. Who may read, edit and publish
is the matrix's (`process.read`, `process.edit`, `process.deploy`, checked with
`engine.access.permits_in`: an Ambito's coordinators for its variants, a regional grant for
the base).

Running cases move onto the version a new case gets: a dry run (`engine.studio.migrate`),
then jobs the worker settles in batches, with undo (`engine.studio.migrate_jobs`).
"""

from engine.studio.catalogue import (
    REGION_NAME,
    Catalogue,
    ProcessEntry,
    Version,
    catalogue,
    check_scope,
    default_scope,
    studio_ambiti,
)
from engine.studio.diagrams import Activity, Diagram, version_diagram
from engine.studio.drafts import Draft, DraftProblem, check_draft, check_edit, open_draft, save_diagram
from engine.studio.migrate import CaseCheck, DryRun, check_migrate, dry_run, may_migrate
from engine.studio.migrate_jobs import (
    Job,
    JobCase,
    get_job,
    list_jobs,
    run_batch,
    run_to_end,
    start_job,
    undo_case,
    undo_job,
)

__all__ = [
    "REGION_NAME",
    "Activity",
    "CaseCheck",
    "Catalogue",
    "Diagram",
    "Draft",
    "DraftProblem",
    "DryRun",
    "Job",
    "JobCase",
    "ProcessEntry",
    "Version",
    "catalogue",
    "check_draft",
    "check_edit",
    "check_migrate",
    "check_scope",
    "default_scope",
    "dry_run",
    "get_job",
    "list_jobs",
    "may_migrate",
    "open_draft",
    "run_batch",
    "run_to_end",
    "save_diagram",
    "start_job",
    "studio_ambiti",
    "undo_case",
    "undo_job",
    "version_diagram",
]
