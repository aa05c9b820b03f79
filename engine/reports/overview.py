"""Counts of cases per Ambito, computed from the case rows at the moment of asking."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.matrix import Action, ambiti_for, require
from engine.access.roles import Actor
from engine.models import Ambito, CaseIndex, HumanTask, ProcessInstance


@dataclass
class AmbitoFigures:
    """How many cases an Ambito has, by state and by stage, and how many tasks wait."""

    code: str
    name: str
    started: int = 0
    running: int = 0
    completed: int = 0
    other: int = 0
    open_tasks: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)


def ambito_overview(session: Session, actor: Actor) -> list[AmbitoFigures]:
    """Case counts of each Ambito the actor may see figures of (REPORT_AGGREGATE), by name."""
    require(actor, Action.REPORT_AGGREGATE)
    reach = ambiti_for(actor, Action.REPORT_AGGREGATE)
    query = select(Ambito.code, Ambito.name).order_by(Ambito.name)
    if reach is not None:
        query = query.where(Ambito.code.in_(sorted(reach)))
    figures = {row.code: AmbitoFigures(row.code, row.name) for row in session.execute(query)}
    if not figures:
        return []
    codes = sorted(figures)
    by_status = session.execute(
        select(ProcessInstance.ambito_code, ProcessInstance.status, func.count())
        .where(ProcessInstance.ambito_code.in_(codes))
        .group_by(ProcessInstance.ambito_code, ProcessInstance.status)
    )
    for ambito, status, count in by_status:
        item = figures[ambito]
        item.started += count
        if status == "running":
            item.running += count
        elif status == "completed":
            item.completed += count
        else:
            item.other += count
    stages = session.execute(
        select(ProcessInstance.ambito_code, CaseIndex.stage, func.count())
        .join(CaseIndex, CaseIndex.instance_id == ProcessInstance.id)
        .where(ProcessInstance.ambito_code.in_(codes), ProcessInstance.status == "running")
        .group_by(ProcessInstance.ambito_code, CaseIndex.stage)
    )
    for ambito, stage, count in stages:
        figures[ambito].by_stage[stage or "—"] = count
    tasks = session.execute(
        select(HumanTask.ambito_code, func.count())
        .where(HumanTask.ambito_code.in_(codes))
        .group_by(HumanTask.ambito_code)
    )
    for ambito, count in tasks:
        figures[ambito].open_tasks = count
    return list(figures.values())
