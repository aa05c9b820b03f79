"""The coordinators' studio: the processes each Ambito runs, their versions and diagrams.

This first part reads: the studio home per Ambito (regional processes and the Ambito's
variants, versions with publisher, time and note, cases not yet concluded per version,
the version a new case gets) and each version's diagram. The editor keeps drafts on the server (`engine.studio.drafts`)
and validates them as a deployment would. Who may read, edit and publish
is the matrix's (`process.read`, `process.edit`, `process.deploy`, checked with
`engine.access.permits_in`: an Ambito's coordinators for its variants, a regional grant for
the base).
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
from engine.studio.decisions import (
    DecisionCheck,
    DecisionOverview,
    DecisionProblem,
    check_decisions,
    decision_file,
    decision_files,
    new_decision_file,
    save_decision_file,
)
from engine.studio.diagrams import Activity, Diagram, version_diagram
from engine.studio.drafts import Draft, DraftProblem, check_draft, check_edit, open_draft, save_diagram

__all__ = [
    "REGION_NAME",
    "Activity",
    "Catalogue",
    "DecisionCheck",
    "DecisionOverview",
    "DecisionProblem",
    "Diagram",
    "Draft",
    "DraftProblem",
    "ProcessEntry",
    "Version",
    "catalogue",
    "check_decisions",
    "check_draft",
    "check_edit",
    "check_scope",
    "decision_file",
    "decision_files",
    "default_scope",
    "new_decision_file",
    "open_draft",
    "save_decision_file",
    "save_diagram",
    "studio_ambiti",
    "version_diagram",
]
