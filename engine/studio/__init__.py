"""The coordinators' studio: the processes each Ambito runs, their versions and diagrams.

This first part reads: the studio home per Ambito (regional processes and the Ambito's
variants, versions with publisher, time and note, cases not yet concluded per version,
the version a new case gets) and each version's diagram. The editor keeps drafts on the server
(`engine.studio.drafts`) and validates them as a deployment would; publishing
(`engine.studio.publish`) deploys a draft as a new immutable version after checking the
reporting-facts contract (`engine.studio.facts`). Who may read, edit and publish is the
matrix's (`process.read`, `process.edit`, `process.deploy`, checked with
`engine.access.permits_in`: an Ambito's coordinators for its variants, a regional grant for
the base). Two versions are compared in `engine.studio.compare` (forms and decisions here, the
diagrams by bpmn-js-differ in the browser).
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
from engine.studio.compare import (
    Comparison,
    DecisionChange,
    FieldChange,
    FormChange,
    Side,
    compare_decisions,
    compare_fields,
    compare_forms,
    comparison,
    regional_pair,
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
from engine.studio.drafts import (
    Draft,
    DraftProblem,
    check_draft,
    check_edit,
    discard_draft,
    open_draft,
    save_diagram,
    save_file,
    save_files,
)
from engine.studio.editor import EditorChoices, InstructionPreview, editor_choices, preview_instructions
from engine.studio.facts import CONTRACT, Fact, Loss, Writer, analyse_bundle, contract_check
from engine.studio.forms import (
    DraftForm,
    FieldSpec,
    FormDocument,
    FormEditError,
    create_form,
    draft_forms,
    edit_form,
    open_form,
)
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
from engine.studio.publish import (
    PlannedVersion,
    Publication,
    PublishPlan,
    check_publish,
    plan_publication,
    publish_draft,
)
from engine.studio.timers import TimerReading, read_timer, timer_reading

__all__ = [
    "CONTRACT",
    "REGION_NAME",
    "Activity",
    "CaseCheck",
    "Catalogue",
    "Comparison",
    "DecisionChange",
    "DecisionCheck",
    "DecisionOverview",
    "DecisionProblem",
    "Diagram",
    "Draft",
    "DraftForm",
    "DraftProblem",
    "DryRun",
    "EditorChoices",
    "Fact",
    "FieldChange",
    "FieldSpec",
    "FormChange",
    "FormDocument",
    "FormEditError",
    "InstructionPreview",
    "Job",
    "JobCase",
    "Loss",
    "PlannedVersion",
    "ProcessEntry",
    "Publication",
    "PublishPlan",
    "Side",
    "TimerReading",
    "Version",
    "Writer",
    "analyse_bundle",
    "catalogue",
    "check_decisions",
    "check_draft",
    "check_edit",
    "check_migrate",
    "check_publish",
    "check_scope",
    "compare_decisions",
    "compare_fields",
    "compare_forms",
    "comparison",
    "contract_check",
    "create_form",
    "decision_file",
    "decision_files",
    "default_scope",
    "discard_draft",
    "draft_forms",
    "dry_run",
    "edit_form",
    "editor_choices",
    "get_job",
    "list_jobs",
    "may_migrate",
    "new_decision_file",
    "open_draft",
    "open_form",
    "plan_publication",
    "preview_instructions",
    "publish_draft",
    "read_timer",
    "regional_pair",
    "run_batch",
    "run_to_end",
    "save_decision_file",
    "save_diagram",
    "save_file",
    "save_files",
    "start_job",
    "studio_ambiti",
    "timer_reading",
    "undo_case",
    "undo_job",
    "version_diagram",
]
