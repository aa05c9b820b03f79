"""Walking the regional path through the engine API, shared by the model tests and bench/.

Every step goes through the engine API (`start_instance`, `complete_task` with server-side
form validation, `send_message` + `deliver`, timers fired after a real wait), reloading the
case from the database each time. People act with the role of the lane they work in, so a
task put in the wrong lane fails with Forbidden.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Actor, complete_task, deliver, get_instance, send_message, start_instance
from engine.access.roles import SYSTEM
from engine.config import Settings
from engine.datadiff import apply_diff
from engine.instances import Outcome, run_step
from engine.models import HistoryEvent, HumanTask, Message, ProcessInstance

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = [ROOT / "processes", ROOT / "forms" / "schemas"]
AMBITO = "MILANO"


def person(role: str, username: str, ambito: str = AMBITO) -> Actor:
    """Someone holding one role in one Ambito."""
    return Actor(username, frozenset({role}), frozenset({ambito}))


OPERATORE = person("operatore_contatto", "op.milano")
SOCIALE = person("esperto_servizi_sociali", "ss.milano")
LAVORO = person("esperto_politiche_lavoro", "lav.milano")
LEGALE = person("consulente_legale", "leg.milano")
MEDIATORE = person("mediatore", "med.milano")
NETWORK = person("network_manager", "net.milano")
DIRETTORE = person("direttore_pua", "dir.milano")
SCC = person("scc", "scc.milano")
BY_ROLE = {next(iter(a.roles)): a for a in (OPERATORE, SOCIALE, LAVORO, LEGALE, MEDIATORE, NETWORK, DIRETTORE, SCC)}

# Short timers so the tests wait for real (a second) instead of mocking time.
SHORT = {
    "attesa_ricontatto": "PT1S",
    "intervallo_monitoraggio": "PT0S",
    "attesa_risposta_partner": "PT1S",
    "attesa_follow_up": "PT1S",
}

CONTATTO = {
    "contesto": "mercato",
    "genere": "uomo",
    "fascia_eta": "25_34",
    "consenso_ricontatto": True,
    "prossimo_passo": "valutazione",
}
VALUTAZIONE = {
    "titolo_soggiorno": "richiedente_asilo",
    "settore": "agricoltura",
    "grado": "lavoro_nero",
    "indicatori_sfruttamento": ["orari_eccessivi", "retribuzione_difforme"],
    "bisogni": ["lavoro", "documenti"],
    "documenti_posseduti": ["documento_identita"],
    "adesione_percorso": True,
    "nazionalita": "PK",
}
PIANO_LAVORO = {
    "obiettivo_professionale": "Magazziniere con contratto regolare",
    "misure_lavoro": ["tirocinio"],
    "disponibilita_lavoro": "immediata",
}


def intervento(tipo: str, modalita: str = "interna", **extra: Any) -> dict[str, Any]:
    """One row of the PIP's intervention list, as the form sends it."""
    return {"tipo": tipo, "modalita": modalita, "data_inizio": "2026-12-01", **extra}


class CaseDriver:
    """A case walked through the engine API, reloaded from the database at every look."""

    def __init__(self, db: Session, settings: Settings, instance: ProcessInstance) -> None:
        self.db = db
        self.settings = settings
        self.case_code = instance.case_code

    @property
    def instance(self) -> ProcessInstance:
        instance = get_instance(self.db, self.case_code)
        self.db.refresh(instance)
        return instance

    def open_tasks(self) -> list[HumanTask]:
        return list(
            self.db.scalars(
                select(HumanTask).where(HumanTask.case_code == self.case_code).order_by(HumanTask.task_name)
            )
        )

    def names(self) -> list[str]:
        return sorted(t.task_name for t in self.open_tasks())

    def task(self, name: str) -> HumanTask:
        found = [t for t in self.open_tasks() if t.task_name == name]
        assert len(found) == 1, f"attese una «{name}», aperte: {self.names()}"
        return found[0]

    def complete(self, name: str, data: dict[str, Any], actor: Actor | None = None) -> Outcome:
        """Complete the one open task `name` as a person of its lane (form validated by the engine)."""
        task = self.task(name)
        who = actor or BY_ROLE[task.lane or ""]
        outcome = complete_task(self.db, self.settings, task.task_id, data, who)
        assert outcome.error is None, outcome.error.message
        return outcome

    def complete_task(self, task: HumanTask, data: dict[str, Any]) -> Outcome:
        outcome = complete_task(self.db, self.settings, task.task_id, data, BY_ROLE[task.lane or ""])
        assert outcome.error is None, outcome.error.message
        return outcome

    def fire_timers(self, wait: float = 0.0) -> None:
        """Wait (really) and let the case fire its due timers, as the worker does."""
        if wait:
            time.sleep(wait)
        outcome = run_step(self.db, self.settings, self.instance.id, SYSTEM, lambda c: c.fire_timers())
        assert outcome.error is None, outcome.error.message

    def facts(self) -> dict[str, Any]:
        """The case data as reports see it: the data changes of its history, replayed."""
        data: dict[str, Any] = {}
        rows = self.db.scalars(
            select(HistoryEvent.data_diff_json)
            .where(HistoryEvent.instance_id == self.instance.id, HistoryEvent.data_diff_json.is_not(None))
            .order_by(HistoryEvent.seq)
        )
        for text in rows:
            apply_diff(data, json.loads(text))
        return data

    def final_data(self) -> dict[str, Any]:
        instance = self.instance
        assert instance.status == "completed"
        return dict(json.loads(instance.workflow_json)["data"])

    def history(self, kind: str | None = None) -> list[HistoryEvent]:
        query = select(HistoryEvent).where(HistoryEvent.instance_id == self.instance.id)
        if kind:
            query = query.where(HistoryEvent.kind == kind)
        return list(self.db.scalars(query.order_by(HistoryEvent.seq)))

    def outbound(self, name: str) -> list[Message]:
        return [
            m
            for m in self.db.scalars(select(Message).where(Message.name == name).order_by(Message.id))
            if m.source == f"caso {self.case_code}"
        ]

    def answer_referral(self, key: str, payload: dict[str, Any]) -> Message:
        """A partner answers a referral: a message keyed by the intervention's code."""
        message = send_message(self.db, "risposta_partner", payload, key, AMBITO, source="partner")
        outcome = deliver(self.db, self.settings, message.id)
        assert outcome is not None and outcome.error is None, message.error
        return message

    # ---- walking the regional path, one stage at a time

    def contact(self, **data: Any) -> CaseDriver:
        self.complete("registra_contatto", {**CONTATTO, **data})
        return self

    def assess(self, **data: Any) -> CaseDriver:
        self.complete("colloquio_valutazione", {**VALUTAZIONE, **data})
        return self

    def decide(self, presa: bool = True, **data: Any) -> CaseDriver:
        self.complete(
            "decidi_presa_in_carico",
            {"presa_in_carico": presa, "motivazione_decisione": "Valutazione dell'équipe", **data},
        )
        return self

    def plan(self, interventi: list[dict[str, Any]], approve: bool = True) -> CaseDriver:
        self.complete(
            "redigi_pip",
            {
                "obiettivi_pip": "Lavoro regolare e documenti in ordine",
                "interventi_nuovi": interventi,
                "condiviso_con_persona": True,
            },
        )
        self.complete("piano_reinserimento", PIANO_LAVORO)
        if approve:
            self.complete("approva_pip", {"esito_approvazione_pip": "approvato"})
        return self

    def to_pip(self, interventi: list[dict[str, Any]]) -> CaseDriver:
        return self.contact().assess().decide().plan(interventi)

    def review(self, decisione: str = "prosegui", **data: Any) -> CaseDriver:
        self.complete("verifica_pip", {"andamento": "in_linea", "decisione_verifica": decisione, **data})
        return self


def task_data(driver: CaseDriver, name: str) -> dict[str, Any]:
    """The data an open task's form is shown with (its current values)."""
    from engine import store
    from engine.instances import specset_for
    from engine.privacy import cipher_for
    from engine.spiff import Case

    instance = driver.instance
    snapshot, _stored = store.load(driver.db, instance, cipher_for(driver.db, driver.settings, instance))
    case = Case.restore(specset_for(driver.db, instance), snapshot, instance.case_code)
    task_id = driver.task(name).task_id
    view = next(v for v in case.human_tasks() if v.task_id == task_id)
    return dict(view.data)


def start_regional_case(
    db: Session, settings: Settings, avvio: dict[str, Any] | None = None, short: bool = True
) -> CaseDriver:
    """Start a case of the regional path in Milano, with short timers unless told otherwise."""
    data = {"avvio": {**(SHORT if short else {}), **(avvio or {})}}
    outcome = start_instance(db, settings, "inlav_percorso", AMBITO, OPERATORE, data=data)
    assert outcome.error is None
    return CaseDriver(db, settings, outcome.instance)
