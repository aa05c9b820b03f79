"""JSON API for integrations (`/api/v1`): start cases, list, claim and complete tasks, read case files.

Authentication: `Authorization: Bearer ilf_…` (tokens are created on the «Token API» page
and act with the roles of the person who created them). Errors are
`{"detail": "...", "code": "...", "errors": {...}}` with the status codes of `web.errors`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import select

from engine import (
    SORTS,
    CaseFile,
    InboxFilter,
    claim_task,
    complete_task,
    form_for,
    get_task,
    inbox_page,
    release_task,
    search_cases,
    start_case,
    task_data,
    ui_form_for,
)
from engine import case_file as load_case_file
from engine.access import Action
from engine.access.roles import role_label
from engine.audit import CaseRef
from engine.clock import as_utc
from engine.db import read_transaction, transaction
from engine.messages import accept_message, acknowledge, outbox, payload_of
from engine.models import HumanTask, ProcessInstance
from web.errors import diagram_message, problem_responses
from web.params import BigRowId
from web.routes.audit_reads import log_read
from web.security import ApiViewer, allow_api, platform_of

router = APIRouter(prefix="/api/v1", tags=["api"])

# Date-times leave the API with their offset (UTC), as the `date-time` format requires;
# SQLite hands them back without one.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class TaskOut(BaseModel):
    """An open human task."""

    task_id: str
    case_code: str
    ambito: str
    process_key: str
    task_name: str
    title: str
    role: str | None
    role_label: str | None
    assignee: str | None
    due_at: UtcDatetime | None
    created_at: UtcDatetime

    @classmethod
    def of(cls, row: HumanTask) -> TaskOut:
        return cls(
            task_id=row.task_id,
            case_code=row.case_code,
            ambito=row.ambito_code,
            process_key=row.process_key,
            task_name=row.task_name,
            title=row.title,
            role=row.lane,
            role_label=role_label(row.lane) if row.lane else None,
            assignee=row.assignee,
            due_at=row.due_at,
            created_at=row.created_at,
        )


class TaskList(BaseModel):
    """A page of the inbox."""

    total: int
    limit: int
    offset: int
    items: list[TaskOut]


class TaskDetail(TaskOut):
    """A task with its form and the data it was handed."""

    form_schema: dict[str, Any] | None
    ui_schema: dict[str, Any]
    data: dict[str, Any] = Field(description="Dati dell'attività; le parti annidate oltre il limite sono omesse")
    warnings: list[str] = Field(default_factory=list, description="Parti dei dati omesse (annidamento oltre il limite)")


class StartCase(BaseModel):
    """A case to open."""

    process_key: str = Field(max_length=200, examples=["inlav_caso"])
    ambito: str = Field(max_length=32, examples=["MILANO"])
    case_code: str | None = Field(None, max_length=64, description="Codice del caso (default: generato)")
    data: dict[str, Any] | None = Field(None, description="Dati iniziali del caso")


class CompleteTask(BaseModel):
    """Form data that completes a task (validated against the task's JSON Schema)."""

    data: dict[str, Any] = Field(default_factory=dict)


class StepOut(BaseModel):
    """Where the case stands after a step."""

    case_code: str
    status: str
    completed: bool
    open_tasks: list[TaskOut]


class TimelineOut(BaseModel):
    seq: int
    at: UtcDatetime
    kind: str
    label: str
    title: str | None
    actor: str
    role: str | None
    version: int | None


class PlanItemOut(BaseModel):
    title: str
    status: str | None
    partner: str | None
    due: str | None
    note: str | None


class CaseOut(BaseModel):
    """A case file."""

    case_code: str
    ambito: str
    process_key: str
    process_name: str
    version: int | None
    status: str
    stage: str
    alias: str | None
    started_at: UtcDatetime
    completed_at: UtcDatetime | None
    open_tasks: list[TaskOut]
    timeline: list[TimelineOut]
    pip: list[PlanItemOut]
    referrals: list[PlanItemOut]
    data: dict[str, Any] = Field(description="Dati del caso; le parti annidate oltre il limite sono omesse")
    warnings: list[str] = Field(default_factory=list, description="Parti dei dati omesse (annidamento oltre il limite)")

    @classmethod
    def of(cls, file: CaseFile) -> CaseOut:
        inst = file.instance
        return cls(
            case_code=inst.case_code,
            ambito=inst.ambito_code,
            process_key=inst.process_key,
            process_name=file.process_name,
            version=file.version,
            status=inst.status,
            stage=file.stage,
            alias=file.alias,
            started_at=inst.started_at,
            completed_at=inst.completed_at,
            open_tasks=[TaskOut.of(t) for t in file.open_tasks],
            timeline=[
                TimelineOut(
                    seq=e.seq,
                    at=e.at,
                    kind=e.kind,
                    label=e.label,
                    title=e.title,
                    actor=e.actor,
                    role=e.role,
                    version=e.version,
                )
                for e in file.timeline
            ],
            pip=[PlanItemOut(**p.__dict__) for p in file.pip],
            referrals=[PlanItemOut(**p.__dict__) for p in file.referrals],
            data=file.data,
            warnings=file.data_warnings,
        )


class CaseHitOut(BaseModel):
    case_code: str
    ambito: str
    alias: str | None
    stage: str | None
    status: str
    started_at: UtcDatetime


def _step(session: Any, instance: Any) -> StepOut:
    rows = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.created_at, HumanTask.task_id)
    )
    return StepOut(
        case_code=instance.case_code,
        status=instance.status,
        completed=instance.status == "completed",
        open_tasks=[TaskOut.of(r) for r in rows],
    )


@router.post(
    "/cases",
    status_code=201,
    dependencies=allow_api(Action.CASE_START),
    response_model=StepOut,
    responses=problem_responses(400, 404, 409, 422),
    summary="Apri un caso",
)
def api_start(request: Request, body: StartCase, viewer: ApiViewer) -> StepOut:
    """Start a case of a process in an Ambito where the token's user works."""
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        outcome = start_case(
            session, platform.settings, viewer.actor, body.process_key, body.ambito, body.data, body.case_code
        )
        return _step(session, outcome.instance)


@router.get(
    "/cases",
    response_model=list[CaseHitOut],
    dependencies=allow_api(Action.CASE_READ),
    responses=problem_responses(422),
    summary="Cerca casi",
)
def api_search(
    request: Request, viewer: ApiViewer, q: str = Query(min_length=1, max_length=100, description="Codice o alias")
) -> list[CaseHitOut]:
    """Cases whose code starts with `q`, or whose alias has words starting with the words of `q`."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        hits = search_cases(session, platform.settings, viewer.actor, q)
        return [
            CaseHitOut(
                case_code=h.case_code,
                ambito=h.ambito_code,
                alias=h.alias,
                stage=h.stage,
                status=h.status,
                started_at=h.started_at,
            )
            for h in hits
        ]


@router.get(
    "/cases/{case_code:path}",
    dependencies=allow_api(Action.CASE_READ),
    response_model=CaseOut,
    responses=problem_responses(404),
    summary="Fascicolo del caso",
)
def api_case(request: Request, case_code: str, viewer: ApiViewer) -> CaseOut:
    """Stage, open tasks, timeline, PIP, referrals and data of a case."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        file = load_case_file(session, platform.settings, case_code, viewer.actor)
        out, seen = CaseOut.of(file), CaseRef.of(file.instance)
    log_read(request, viewer.actor, seen, "case_file", channel="api")
    return out


@router.get(
    "/tasks",
    response_model=TaskList,
    dependencies=allow_api(Action.TASK_WORK),
    responses=problem_responses(422),
    summary="Attività in attesa",
)
def api_tasks(
    request: Request,
    viewer: ApiViewer,
    process: str | None = Query(None, max_length=200),
    task: str | None = Query(None, max_length=200),
    case: str | None = Query(None, max_length=64),
    mine: bool = False,
    unassigned: bool = False,
    overdue: bool = False,
    sort: str = Query("scadenza", pattern="^-?(scadenza|creazione)$"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> TaskList:
    """Tasks for the token user's roles in her Ambiti, and tasks assigned to her."""
    flt = InboxFilter(
        process_key=process,
        task_name=task,
        case_code=case,
        mine_only=mine,
        unassigned_only=unassigned,
        overdue_only=overdue,
    )
    with read_transaction(platform_of(request).sessions) as session:
        page = inbox_page(session, viewer.actor, flt, sort if sort in SORTS else "scadenza", limit, offset)
        return TaskList(total=page.total, limit=limit, offset=offset, items=[TaskOut.of(t) for t in page.tasks])


@router.get(
    "/tasks/{task_id}",
    response_model=TaskDetail,
    dependencies=allow_api(Action.CASE_READ),
    responses=problem_responses(404),
    summary="Dettaglio attività",
)
def api_task(request: Request, task_id: str, viewer: ApiViewer) -> TaskDetail:
    """A task with its JSON Schema, UI schema and current data."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        row = get_task(session, task_id, viewer.actor, Action.CASE_READ)
        base = TaskOut.of(row).model_dump()
        warnings: list[str] = []
        data = task_data(session, platform.settings, row, warnings)
        return TaskDetail(
            **base,
            form_schema=form_for(session, row),
            ui_schema=ui_form_for(session, row),
            data=data,
            warnings=warnings,
        )


@router.post(
    "/tasks/{task_id}/claim",
    dependencies=allow_api(Action.TASK_WORK),
    response_model=TaskOut,
    responses=problem_responses(404, 409),
    summary="Prendi in carico",
)
def api_claim(request: Request, task_id: str, viewer: ApiViewer) -> TaskOut:
    """Take a task."""
    with transaction(platform_of(request).sessions) as session:
        return TaskOut.of(claim_task(session, task_id, viewer.actor))


@router.post(
    "/tasks/{task_id}/release",
    dependencies=allow_api(Action.TASK_WORK),
    response_model=TaskOut,
    responses=problem_responses(404, 409),
    summary="Rilascia",
)
def api_release(request: Request, task_id: str, viewer: ApiViewer) -> TaskOut:
    """Give a task back."""
    with transaction(platform_of(request).sessions) as session:
        return TaskOut.of(release_task(session, task_id, viewer.actor))


@router.post(
    "/tasks/{task_id}/complete",
    dependencies=allow_api(Action.TASK_WORK),
    response_model=StepOut,
    responses=problem_responses(400, 404, 409, 422),
    summary="Completa",
)
def api_complete(request: Request, task_id: str, body: CompleteTask, viewer: ApiViewer) -> StepOut | JSONResponse:
    """Complete a task with form data; the case moves on. A diagram error leaves the case as it was (422)."""
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        outcome = complete_task(session, platform.settings, task_id, body.data, viewer.actor)
        if outcome.error is not None:
            error = outcome.error
            result: StepOut | JSONResponse = JSONResponse(
                {
                    "detail": diagram_message(error, kept_as_draft=False),
                    "code": "diagram_error",
                    "case_code": outcome.instance.case_code,
                },
                status_code=422,
            )
        else:
            result = _step(session, outcome.instance)
    return result


# --------------------------------------------------------------------------- messages


class MessageIn(BaseModel):
    """A message from a partner system: a referral, an answer to a referral, ..."""

    name: str = Field(min_length=1, max_length=200, description="Nome del messaggio nel diagramma")
    ambito: str = Field(min_length=1, max_length=32, description="Ambito destinatario")
    correlation_key: str | None = Field(None, max_length=300, description="Chiave (es. codice del caso o dell'invio)")
    payload: dict[str, Any] = Field(default_factory=dict)


class MessageOut(BaseModel):
    """A message and where it stands."""

    id: int
    name: str
    ambito: str | None
    correlation_key: str | None
    status: str = Field(description="pending, delivered, unmatched, failed, outbox, held_consent, sent")
    case_code: str | None = None
    error: str | None = None
    payload: dict[str, Any] | None = None
    created_at: UtcDatetime

    @classmethod
    def of(cls, message: Any, case_code: str | None = None, payload: Any = None) -> MessageOut:
        return cls(
            id=message.id,
            name=message.name,
            ambito=message.ambito_code,
            correlation_key=message.correlation_key,
            status=message.status,
            case_code=case_code,
            error=message.error,
            payload=payload,
            created_at=message.created_at,
        )


@router.post(
    "/messages",
    status_code=202,
    dependencies=allow_api(Action.MESSAGE_SEND),
    response_model=MessageOut,
    responses=problem_responses(400, 404, 409, 422),
    summary="Invia un messaggio",
)
def api_send_message(request: Request, body: MessageIn, viewer: ApiViewer) -> MessageOut:
    """Deliver a message to the case waiting for it (by name and key), or start a case with it;
    a message nobody waits for yet is kept (`unmatched`) and delivered when a case gets there."""
    platform = platform_of(request)
    with transaction(platform.sessions) as session:
        message = accept_message(
            session, platform.settings, viewer.actor, body.name, body.payload, body.correlation_key, body.ambito
        )
        instance = session.get(ProcessInstance, message.instance_id) if message.instance_id else None
        return MessageOut.of(message, instance.case_code if instance else None)


@router.get(
    "/messages/outbox",
    dependencies=allow_api(Action.MESSAGE_OUTBOX),
    response_model=list[MessageOut],
    responses=problem_responses(422),
    summary="Posta in uscita",
)
def api_outbox(
    request: Request,
    viewer: ApiViewer,
    name: str | None = Query(None, max_length=200),
    limit: int = Query(100, ge=1, le=500),
) -> list[MessageOut]:
    """Messages thrown by cases (e.g. a referral to a partner) waiting to be taken by a partner system."""
    platform = platform_of(request)
    with read_transaction(platform.sessions) as session:
        return [
            MessageOut.of(m, payload=payload_of(session, platform.settings, m))
            for m in outbox(session, viewer.actor, name, limit)
        ]


@router.post(
    "/messages/{message_id}/ack",
    dependencies=allow_api(Action.MESSAGE_ACK),
    response_model=MessageOut,
    responses=problem_responses(404, 409),
    summary="Conferma presa",
)
def api_ack(request: Request, message_id: BigRowId, viewer: ApiViewer) -> MessageOut:
    """Mark an outbox message as taken by the partner system (`sent`)."""
    with transaction(platform_of(request).sessions) as session:
        return MessageOut.of(acknowledge(session, message_id, viewer.actor))
