"""The coordinators' studio: the processes each Ambito runs, their versions and diagrams.

This first part reads: the studio home per Ambito (regional processes and the Ambito's
variants, versions with publisher, time and note, cases not yet concluded per version,
the version a new case gets) and each version's diagram. Who may read, edit and publish
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
from engine.studio.diagrams import Activity, Diagram, version_diagram

__all__ = [
    "REGION_NAME",
    "Activity",
    "Catalogue",
    "Diagram",
    "ProcessEntry",
    "Version",
    "catalogue",
    "check_scope",
    "default_scope",
    "studio_ambiti",
    "version_diagram",
]
