"""Demo data: the twelve Ambiti, their teams and partners, and synthetic cases run through the engine.

Everything is created through the engine's own functions (administration, `start_instance`,
`complete_task`, messages): no rows are inserted by hand, so the demo cases have real
histories, inbox rows and timers, and Ambiti, accounts, partners and targets are in the
operation log (as the system). Running the seed again adds nothing.
People are fictitious: accounts are named after their role, cases carry initials only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.roles import ROLES, SYSTEM, Actor, role_label
from engine.admin import add_partner, add_user, annual_targets, create_ambito, set_annual_targets
from engine.clock import utcnow
from engine.config import Settings
from engine.db import transaction
from engine.definitions import resolve
from engine.errors import EngineError, NotFound
from engine.instances import start_instance
from engine.messages import deliver, send_message
from engine.models import Ambito, AppUser, HumanTask, Message, Partner, ProcessInstance
from engine.platform import Platform
from engine.tasks import complete_task

AMBITI: tuple[tuple[str, str], ...] = (
    ("PAVESE", "Alto e Basso Pavese"),
    ("BERGAMO", "Bergamo"),
    ("CARATE", "Carate Brianza"),
    ("DESIO", "Desio"),
    ("SEBINO", "Sebino"),
    ("LECCO", "Lecco"),
    ("MARIANO", "Mariano Comense"),
    ("MILANO", "Milano"),
    ("SOMMA", "Somma Lombardo"),
    ("SUZZARA", "Suzzara"),
    ("TRADATE", "Tradate"),
    ("TREVIGLIO", "Treviglio"),
)

DEMO_PASSWORD = "demo-inlav-2026"  # noqa: S105 - documented demo password, dev and demo databases only
ROLE_PREFIX = {
    "operatore_contatto": "op",
    "esperto_servizi_sociali": "ss",
    "esperto_politiche_lavoro": "lav",
    "consulente_legale": "leg",
    "mediatore": "med",
    "network_manager": "net",
    "direttore_pua": "dir",
    "scc": "scc",
}
REGIONAL_USERS: tuple[tuple[str, str, str], ...] = (
    # username, full name, regional role
    ("coordinamento", "Coordinamento regionale InLav", "coordinamento_regionale"),
    ("revisore", "Revisione e controllo interno", "revisore"),
    ("monitoraggio", "Monitoraggio regionale (Regione, ANCI, università)", "monitoraggio_regionale"),
    ("admin", "Amministrazione della piattaforma", "amministratore"),
)
PARTNERS_PER_AMBITO: tuple[tuple[str, str, str], ...] = (
    # code suffix, name (the Ambito's name is appended), kind
    ("CPI", "Centro per l'impiego di", "cpi"),
    ("SAI", "Progetto SAI di", "sai"),
    ("CAS", "Centro di accoglienza straordinaria di", "cas"),
    ("CPIA", "CPIA di", "cpia"),
    ("SOCIALI", "Servizi sociali comunali di", "servizi_sociali"),
    ("SANITARI", "Servizi sanitari territoriali di", "sanitario"),
    ("SINDACATO", "Sportello sindacale di", "legale"),
    ("FORMAZIONE", "Ente di formazione professionale di", "formazione"),
    ("ETS", "Cooperativa sociale di", "terzo_settore"),
)
REGIONAL_PARTNERS: tuple[tuple[str, str, str], ...] = (
    ("REG-ANTITRATTA", "Rete regionale antitratta", "antitratta"),
    ("REG-LAVORO", "Agenzie per il lavoro della rete regionale", "lavoro"),
    ("REG-ABITARE", "Rete regionale per l'abitare", "abitare"),
)
# Annual targets of each PUA: (intercepted at least, full target), (taken in charge at least,
# full target). Milano's are the project's own (DESIGN: 70–100 and 30–50); the others are
# scaled to the size of the Ambito and to where exploitation concentrates (farm work in the
# Bassa and the Oltrepò, logistics around Milano and Bergamo).
TARGETS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "MILANO": ((70, 100), (30, 50)),
    "BERGAMO": ((45, 65), (20, 30)),
    "PAVESE": ((30, 45), (12, 20)),
    "TREVIGLIO": ((30, 45), (12, 20)),
    "SUZZARA": ((25, 40), (10, 18)),
    "LECCO": ((25, 35), (10, 15)),
    "DESIO": ((20, 30), (8, 14)),
    "CARATE": ((18, 28), (7, 12)),
    "SOMMA": ((18, 28), (7, 12)),
    "SEBINO": ((15, 25), (6, 10)),
    "MARIANO": ((15, 25), (6, 10)),
    "TRADATE": ((15, 25), (6, 10)),
}
MAIN_PROCESS = "inlav_percorso"
REPORT_PROCESS = "inlav_relazione_trimestrale"


def slug(code: str) -> str:
    """The Ambito part of a demo username (`op.milano`)."""
    return code.lower()


def username(role: str, ambito: str) -> str:
    """Demo username of a role in an Ambito."""
    return f"{ROLE_PREFIX[role]}.{slug(ambito)}"


# --------------------------------------------------------------------------- Ambiti, people, partners


def seed_ambiti(platform: Platform, codes: Sequence[str] | None = None) -> int:
    """Create the Ambiti that are missing; returns how many were added."""
    added = 0
    with transaction(platform.sessions) as session:
        existing = set(session.scalars(select(Ambito.code)))
        for code, name in AMBITI:
            if (codes is None or code in codes) and code not in existing:
                create_ambito(session, SYSTEM, code, name)
                added += 1
    return added


def seed_users(platform: Platform, codes: Sequence[str]) -> int:
    """One account per Ambito role in each Ambito, plus the regional coordinator, auditor, monitor and admin."""
    added = 0
    with transaction(platform.sessions) as session:
        existing = set(session.scalars(select(AppUser.username)))
        names = dict(AMBITI)
        for code in codes:
            for role in ROLES:
                if role.regional:
                    continue
                name = username(role.code, code)
                if name in existing:
                    continue
                full_name = f"{role_label(role.code)} · {names[code]}"
                add_user(session, SYSTEM, name, full_name, [(role.code, code)], password=DEMO_PASSWORD)
                added += 1
        for name, full_name, role_code in REGIONAL_USERS:
            if name not in existing:
                add_user(session, SYSTEM, name, full_name, [(role_code, None)], password=DEMO_PASSWORD)
                added += 1
    return added


def seed_partners(platform: Platform, codes: Sequence[str]) -> int:
    """The territorial network of each Ambito and a few regional partners."""
    added = 0
    with transaction(platform.sessions) as session:
        existing = set(session.scalars(select(Partner.code)))
        names = dict(AMBITI)
        wanted: list[tuple[str, str, str, str | None]] = [(c, n, k, None) for c, n, k in REGIONAL_PARTNERS]
        for code in codes:
            wanted.extend(
                (f"{code}-{suffix}", f"{name} {names[code]}", kind, code) for suffix, name, kind in PARTNERS_PER_AMBITO
            )
        for partner_code, name, kind, ambito in wanted:
            if partner_code not in existing:
                add_partner(session, partner_code, name, kind, ambito)
                added += 1
    return added


def seed_targets(platform: Platform, codes: Sequence[str], year: int) -> int:
    """Each PUA's annual targets for a year (inputs, set through the engine and logged); returns how many."""
    added = 0
    with transaction(platform.sessions) as session:
        for code in codes:
            if code in TARGETS and annual_targets(session, code, year) is None:
                intercepted, taken = TARGETS[code]
                set_annual_targets(session, SYSTEM, code, year, intercepted, taken)
                added += 1
    return added


# --------------------------------------------------------------------------- cases


class DemoError(RuntimeError):
    """A demo case could not be walked as planned (the model and the seed disagree)."""


@dataclass
class Walk:
    """One demo case walked through the engine, acting as the people of its Ambito."""

    session: Session
    settings: Settings
    ambito: str
    case_code: str = ""
    steps: int = 0

    def actor(self, role: str) -> Actor:
        return Actor(username(role, self.ambito), frozenset({role}), frozenset({self.ambito}))

    def start(self, case_code: str, avvio: dict[str, Any] | None = None) -> Walk:
        outcome = start_instance(
            self.session,
            self.settings,
            MAIN_PROCESS,
            self.ambito,
            self.actor("operatore_contatto"),
            case_code,
            {"avvio": avvio or {}},
        )
        self.case_code = outcome.instance.case_code
        return self

    def open(self, name: str) -> list[HumanTask]:
        return list(
            self.session.scalars(
                select(HumanTask)
                .where(HumanTask.case_code == self.case_code, HumanTask.task_name == name)
                .order_by(HumanTask.created_at, HumanTask.task_id)
            )
        )

    def do(self, name: str, data: dict[str, Any], index: int = 0) -> Walk:
        """Complete an open task as a person of its lane, with data validated by its form."""
        tasks = self.open(name)
        if len(tasks) <= index:
            raise DemoError(f"{self.case_code}: attività «{name}» non aperta")
        task = tasks[index]
        outcome = complete_task(self.session, self.settings, task.task_id, data, self.actor(task.lane or ""))
        if outcome.error is not None:
            raise DemoError(f"{self.case_code}: {outcome.error.message}")
        self.steps += 1
        return self

    def interventions(self) -> list[dict[str, Any]]:
        instance = self.session.scalar(select(ProcessInstance).where(ProcessInstance.case_code == self.case_code))
        if instance is None:
            raise DemoError(f"caso {self.case_code} scomparso")
        data = json.loads(instance.case_data_json or "{}")
        items = data.get("interventi") or []
        return [i for i in items if isinstance(i, dict)]

    def answer_referral(self, intervention_id: str, payload: dict[str, Any]) -> Walk:
        message = send_message(self.session, "risposta_partner", payload, intervention_id, self.ambito, source="demo")
        deliver(self.session, self.settings, message.id)
        if message.status != "delivered":
            raise DemoError(f"{self.case_code}: risposta del partner non consegnata ({message.error})")
        return self


@dataclass
class Person:
    """What a demo person tells the PUA (fictitious: initials only)."""

    alias: str
    genere: str
    fascia_eta: str
    nazionalita: str
    lingua: str
    contesto: str
    settore: str
    grado: str
    indicatori: list[str] = field(default_factory=list)


PEOPLE: tuple[Person, ...] = (
    Person(
        "A. R.",
        "uomo",
        "25_34",
        "BD",
        "bn",
        "snodo_delivery",
        "logistica",
        "lavoro_nero",
        ["orari_eccessivi", "retribuzione_difforme"],
    ),
    Person(
        "K.", "donna", "35_44", "NG", "en", "luogo_di_culto", "servizi_persona", "lavoro_grigio", ["senza_contratto"]
    ),
    Person(
        "M. S.",
        "uomo",
        "18_24",
        "PK",
        "ur",
        "mercato",
        "agricoltura",
        "grave_sfruttamento",
        ["intermediazione_illecita", "documenti_trattenuti", "minacce_violenza"],
    ),
    Person("F.", "donna", "45_54", "UA", "uk", "cpi", "alberghiero_ristorazione", "disoccupato_a_rischio", []),
    Person(
        "O. B.",
        "uomo",
        "25_34",
        "MA",
        "ar",
        "stazione",
        "edilizia",
        "lavoro_nero",
        ["sicurezza_violata", "orari_eccessivi"],
    ),
    Person("L.", "donna", "25_34", "AL", "sq", "sai", "pulizie", "lavoro_grigio", []),
    Person("T. E.", "uomo", "35_44", "EG", "ar", "negozio_etnico", "edilizia", "lavoro_nero", ["debito"]),
    Person("R.", "altro", "non_nota", "non_nota", "non_nota", "quartiere", "nessuno", "nessuna_condizione", []),
)


def _contact(walk: Walk, person: Person, prossimo_passo: str = "valutazione") -> None:
    walk.do(
        "registra_contatto",
        {
            "contesto": person.contesto,
            "alias": person.alias,
            "genere": person.genere,
            "fascia_eta": person.fascia_eta,
            "nazionalita": person.nazionalita,
            "lingua": person.lingua,
            "consenso_ricontatto": True,
            "informazioni_fornite": ["diritti_lavoro", "servizi_pua"],
            "prossimo_passo": prossimo_passo,
        },
    )


def _assess(walk: Walk, person: Person) -> None:
    walk.do(
        "colloquio_valutazione",
        {
            "genere": person.genere,
            "fascia_eta": person.fascia_eta,
            "nazionalita": person.nazionalita,
            "titolo_soggiorno": "richiedente_asilo",
            "settore": person.settore,
            "grado": person.grado,
            "indicatori_sfruttamento": person.indicatori,
            "bisogni": ["lavoro", "documenti", "lingua"],
            "documenti_posseduti": ["documento_identita", "codice_fiscale"],
            "adesione_percorso": True,
            "modalita_colloquio": "sede_pua",
        },
    )
    if walk.open("parere_legale"):
        walk.do(
            "parere_legale",
            {
                "parere_legale": "Indici di sfruttamento lavorativo: valutare la denuncia.",
                "percorsi_tutela": ["denuncia", "permesso_art18ter"],
                "urgenza_protezione": True,
            },
        )


def _take_in_charge(walk: Walk) -> None:
    walk.do(
        "decidi_presa_in_carico",
        {"presa_in_carico": True, "motivazione_decisione": "Condizione di lavoro irregolare emersa al colloquio"},
    )


def _plan(walk: Walk, approve: bool = True) -> None:
    code = walk.ambito
    walk.do(
        "redigi_pip",
        {
            "obiettivi_pip": "Regolarizzare i documenti, imparare l'italiano, trovare un lavoro con contratto.",
            "condiviso_con_persona": True,
            "interventi_nuovi": [
                {"tipo": "consulenza_legale", "modalita": "interna", "data_inizio": "2026-12-01"},
                {
                    "tipo": "politica_attiva_cpi",
                    "modalita": "invio",
                    "partner": f"{code}-CPI",
                    "data_inizio": "2026-12-01",
                    "descrizione": "iscrizione e DID",
                },
                {"tipo": "corso_italiano", "modalita": "invio", "partner": f"{code}-CPIA", "data_inizio": "2027-01-10"},
            ],
        },
    )
    walk.do(
        "piano_reinserimento",
        {
            "obiettivo_professionale": "Magazziniere o addetto alla logistica",
            "misure_lavoro": ["orientamento", "tirocinio"],
            "disponibilita_lavoro": "immediata",
            "settori_interesse": ["logistica"],
        },
    )
    if approve:
        walk.do("approva_pip", {"esito_approvazione_pip": "approvato"})


def _deliver_all(walk: Walk) -> None:
    walk.do("eroga_legale", {"stato_erogazione": "concluso", "data_erogazione": "2026-12-03"})
    while walk.open("invia_al_partner"):
        walk.do("invia_al_partner", {"consenso_condivisione": True})
    for item in walk.interventions():
        if item.get("modalita") == "invio" and item.get("stato") == "pianificato":
            walk.answer_referral(item["id"], {"esito": "accettato", "data_avvio": "2026-12-15"})


def _to_review(walk: Walk, person: Person) -> None:
    _contact(walk, person)
    _assess(walk, person)
    _take_in_charge(walk)
    _plan(walk)
    _deliver_all(walk)


def _decide_closure(walk: Walk) -> None:
    walk.do("verifica_pip", {"andamento": "positivo", "decisione_verifica": "chiudi", "nuovo_intervallo": "invariato"})


def _close(walk: Walk, follow_up: bool) -> None:
    _decide_closure(walk)
    walk.do(
        "chiudi_percorso",
        {
            "esiti_chiusura": ["inserimento_lavorativo", "documenti_regolarizzati"],
            "tipo_contratto": "tempo_determinato",
            "settore_inserimento": "logistica",
            "emersione": "si",
            "follow_up": follow_up,
        },
    )


def stage_new_contact(walk: Walk, person: Person) -> None:
    """The case is open, its first record still to fill in."""


def stage_recontact(walk: Walk, person: Person) -> None:
    _contact(walk, person, "ricontatto")


def stage_contact_only(walk: Walk, person: Person) -> None:
    _contact(walk, person, "nessun_seguito")


def stage_assessment(walk: Walk, person: Person) -> None:
    _contact(walk, person)


def stage_decision(walk: Walk, person: Person) -> None:
    _contact(walk, person)
    _assess(walk, person)


def stage_not_taken(walk: Walk, person: Person) -> None:
    _contact(walk, person)
    _assess(walk, PEOPLE[-1])
    walk.do(
        "decidi_presa_in_carico",
        {"presa_in_carico": False, "motivazione_decisione": "Nessuna condizione di sfruttamento rilevata"},
    )
    walk.do("orienta", {"esito_orientamento": "invio_servizio", "partner_orientamento": f"{walk.ambito}-SOCIALI"})


def stage_pip(walk: Walk, person: Person) -> None:
    stage_decision(walk, person)
    _take_in_charge(walk)


def stage_pip_approval(walk: Walk, person: Person) -> None:
    stage_pip(walk, person)
    _plan(walk, approve=False)


def stage_delivery(walk: Walk, person: Person) -> None:
    stage_pip(walk, person)
    _plan(walk)
    # One referral sent and waiting for the partner; the legal advice and the other referral still to do.
    walk.do("invia_al_partner", {"consenso_condivisione": True})


def stage_closure(walk: Walk, person: Person) -> None:
    _to_review(walk, person)
    _decide_closure(walk)


def stage_follow_up(walk: Walk, person: Person) -> None:
    _to_review(walk, person)
    _close(walk, follow_up=True)


def stage_closed(walk: Walk, person: Person) -> None:
    _to_review(walk, person)
    _close(walk, follow_up=False)


# Each stage: (label, how to get there, start parameters). In the demo the first review comes
# at once (prima_verifica PT0S); the following ones every 30 days as in the regional model.
FAST_REVIEW = {"prima_verifica": "PT0S"}
STAGES: tuple[tuple[str, Callable[[Walk, Person], None], dict[str, Any]], ...] = (
    ("contatto da registrare", stage_new_contact, {}),
    ("in attesa di ricontatto", stage_recontact, {}),
    ("solo contatto (chiuso)", stage_contact_only, {}),
    ("colloquio di valutazione", stage_assessment, {}),
    ("decisione sulla presa in carico", stage_decision, {}),
    ("non presa in carico (chiuso)", stage_not_taken, {}),
    ("PIP da redigere", stage_pip, {}),
    ("PIP da approvare", stage_pip_approval, {}),
    ("interventi in erogazione", stage_delivery, {}),
    ("verifica periodica", _to_review, FAST_REVIEW),
    ("chiusura da registrare", stage_closure, FAST_REVIEW),
    ("chiuso, follow-up programmato", stage_follow_up, FAST_REVIEW),
    ("percorso concluso", stage_closed, FAST_REVIEW),
)


def _stages_for(index: int, code: str) -> list[int]:
    """Milano gets every stage; the other Ambiti a rotating handful, so every stage appears often."""
    if code == "MILANO":
        return list(range(len(STAGES)))
    return sorted({(index + k * 3) % len(STAGES) for k in range(5)})


def _deployed(session: Session, process_key: str) -> bool:
    try:
        resolve(session, process_key, None)
    except NotFound:
        return False
    return True


def seed_cases(platform: Platform, codes: Sequence[str]) -> tuple[int, list[str]]:
    """Synthetic cases at every stage; returns how many were started and any problem met."""
    started = 0
    problems: list[str] = []
    with transaction(platform.sessions) as session:
        if not _deployed(session, MAIN_PROCESS):
            return 0, [
                f"Il processo «{MAIN_PROCESS}» non è pubblicato: nessun caso dimostrativo "
                "(pubblicare prima con `inlav processes deploy processes forms/schemas`)."
            ]
    order = [c for c, _ in AMBITI]
    for code in codes:
        index = order.index(code)
        for stage in _stages_for(index, code):
            label, walk_to, avvio = STAGES[stage]
            case_code = f"DEMO-{code}-{stage + 1:02d}"
            person = PEOPLE[(index + stage) % (len(PEOPLE) - 1)]
            try:
                with transaction(platform.sessions) as session:
                    if session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_code == case_code)):
                        continue
                    walk = Walk(session, platform.settings, code).start(case_code, avvio)
                    walk_to(walk, person)
                started += 1
            except (DemoError, EngineError) as exc:
                problems.append(f"{case_code} ({label}): {exc}")
        try:
            started += _seed_referral(platform, code, PEOPLE[index % (len(PEOPLE) - 1)])
            started += _seed_report(platform, code)
        except (DemoError, EngineError) as exc:
            problems.append(f"{code}: {exc}")
    return started, problems


def _seed_referral(platform: Platform, code: str, person: Person) -> int:
    """A person referred by the Ambito's Centro per l'impiego: the case opens by message."""
    with transaction(platform.sessions) as session:
        already = session.scalar(
            select(Message.id).where(
                Message.name == "segnalazione_pua", Message.ambito_code == code, Message.source == "demo"
            )
        )
        if already is not None:
            return 0
        payload = {
            "partner": f"{code}-CPI",
            "ente": f"Centro per l'impiego di {dict(AMBITI)[code]}",
            "motivo": "Riferisce turni di dodici ore pagati a giornata, senza contratto.",
            "alias": person.alias,
            "genere": person.genere,
            "fascia_eta": person.fascia_eta,
            "nazionalita": person.nazionalita,
            "lingua": person.lingua,
            "contesto": "cpi",
            "consenso_ricontatto": True,
        }
        message = send_message(session, "segnalazione_pua", payload, ambito=code, source="demo")
        outcome = deliver(session, platform.settings, message.id)
        if outcome is None or outcome.error is not None:
            raise DemoError(f"segnalazione non consegnata: {message.error}")
    return 1


def _seed_report(platform: Platform, code: str) -> int:
    """The quarterly report of the Ambito, at the draft stage, with figures from the demo cases."""
    case_code = f"DEMO-{code}-REL"
    with transaction(platform.sessions) as session:
        if session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_code == case_code)):
            return 0
        if not _deployed(session, REPORT_PROCESS):
            return 0
        cases = (
            session.scalar(
                select(func.count())
                .select_from(ProcessInstance)
                .where(ProcessInstance.ambito_code == code, ProcessInstance.process_key == MAIN_PROCESS)
            )
            or 0
        )
        taken = (
            session.scalar(
                select(func.count())
                .select_from(ProcessInstance)
                .where(
                    ProcessInstance.ambito_code == code,
                    ProcessInstance.process_key == MAIN_PROCESS,
                    ProcessInstance.case_data_json.contains('"ts_presa_in_carico"'),
                )
            )
            or 0
        )
        director = Actor(username("direttore_pua", code), frozenset({"direttore_pua"}), frozenset({code}))
        start_instance(
            session,
            platform.settings,
            REPORT_PROCESS,
            code,
            director,
            case_code,
            {"avvio": {"dati_trimestre": {"persone_intercettate": cases, "prese_in_carico": taken}}},
        )
    return 1


# --------------------------------------------------------------------------- entry point


WARNING = "Attenzione: "  # starts each summary line about something the seed could not do


def seed(platform: Platform, ambiti: Sequence[str] | None = None) -> list[str]:
    """Idempotent demo seed (all twelve Ambiti unless told otherwise); returns a summary to print."""
    codes = [c for c, _ in AMBITI if ambiti is None or c in ambiti]
    added = seed_ambiti(platform, codes)
    lines = [f"Ambiti: {added} aggiunti ({len(codes)} nel seme dimostrativo)."]
    users = seed_users(platform, codes)
    lines.append(
        f"Utenti: {users} aggiunti (password dimostrativa «{DEMO_PASSWORD}», es. op.milano, "
        "ss.milano, dir.milano; coordinamento, revisore, admin)."
    )
    lines.append(f"Partner: {seed_partners(platform, codes)} aggiunti.")
    year = utcnow().year
    lines.append(f"Obiettivi annuali {year}: {seed_targets(platform, codes, year)} Ambiti.")
    started, problems = seed_cases(platform, codes)
    lines.append(f"Casi dimostrativi: {started} avviati.")
    lines.extend(f"{WARNING}{p}" for p in problems)
    return lines
