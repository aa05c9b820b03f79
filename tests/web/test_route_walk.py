"""Every route the app exposes, walked by every role and by a user of another Ambito.

Routes are enumerated from the application itself: a route that declares no permission
(`allow`, `allow_api` or `PUBLIC`), or that has no sample request below, fails the test.
For each person the expected answer is computed from the permission matrix:
allowed → 2xx/3xx; the role lacks the action → 403; another Ambito's object or an
unknown one → the same 404 (same text but for the identifier asked). While the auditor
and the regional monitor walk, nothing in the database may change but their own account.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyotp
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount, Route

from engine import Platform, deliver, resolve, start_instance
from engine.access import (
    LANE_ROLES,
    ROLES,
    SYSTEM,
    Action,
    Actor,
    actor_for,
    create_token,
    create_user,
    hash_password,
    open_session,
    permits,
    totp,
)
from engine.access.totp import confirm_enrolment, start_enrolment
from engine.admin import add_partner
from engine.clock import utcnow
from engine.db import read_transaction, transaction
from engine.models import AppUser, Base, HumanTask, Message, UserRole, WebSession
from engine.privacy import record_consent
from engine.studio import run_batch, start_job
from engine.studio.decisions import empty_table
from engine.studio.transfer import carry, unpack
from tests import builders
from tests.conftest import add_ambiti, deploy
from tests.engine.test_privacy import person_bundle
from tests.web.conftest import PASSWORD, login
from tests.web.test_privacy_pages import held_case
from web.security import ApiPermit, Permit, public_route

HOME, OTHER = "MILANO", "LECCO"
# Tables a request may touch for bookkeeping without changing anything the product holds.
# The read-access log is a deliberate write of every reader, the auditor included: viewing a
# case must leave its row there (tests/web/test_read_log_pages.py checks that it does).
BOOKKEEPING = {"web_session", "api_token", "read_log"}
# Routes Starlette/FastAPI add by themselves (static files, the OpenAPI description).
FRAMEWORK = {"/static", "/api/openapi.json"}


def _walk_bundle() -> dict[str, bytes]:
    """One one-task process per profession (`giro_<role>`), its task in that role's lane."""
    files = {"nota.schema.json": builders.form_json()}
    for role in sorted(LANE_ROLES):
        body = (
            '<bpmn:startEvent id="start"/>'
            + builders.user_task("passo", name="Passo del giro")
            + '<bpmn:endEvent id="fine"/>'
            + builders.flow("f1", "start", "passo")
            + builders.flow("f2", "passo", "fine")
        )
        files[f"giro_{role}.bpmn"] = builders.document(builders.process(f"giro_{role}", body, ["passo"], lane=role))
    return files


def lane_of(person: Person) -> str:
    """The lane of the tasks made for a person: one of her professions."""
    return min(person.actor.roles & LANE_ROLES, default="operatore_contatto")


@dataclass
class Person:
    """One walker: a logged-in browser, an API token, and what the matrix says of her."""

    name: str
    actor: Actor
    home: bool  # her objects are in MILANO (or she reaches the whole region)
    client: TestClient
    api: TestClient
    csrf: str = ""


@dataclass
class World:
    platform: Platform
    app: Any
    people: dict[str, Person] = field(default_factory=dict)
    case_code: str = ""
    task_id: str = ""

    def new_task(self, role: str = "operatore_contatto") -> str:
        """A fresh unclaimed task of a role's lane in MILANO."""
        with transaction(self.platform.sessions) as session:
            outcome = start_instance(session, self.platform.settings, f"giro_{role}", HOME, SYSTEM)
            return str(session.scalar(select(HumanTask.task_id).where(HumanTask.instance_id == outcome.instance.id)))

    def new_outbox_message(self) -> int:
        """A message thrown by a MILANO case, waiting in the outbox for a partner system."""
        with transaction(self.platform.sessions) as session:
            start_instance(session, self.platform.settings, "invio_rete", HOME, SYSTEM)
            for pending in session.scalars(select(Message.id).where(Message.status == "pending")).all():
                deliver(session, self.platform.settings, pending)
            return int(session.scalars(select(Message.id).where(Message.status == "outbox")).all()[-1])

    def _user(self, session: Any, person: Person) -> AppUser:
        user = session.scalar(select(AppUser).where(AppUser.username == person.name))
        assert user is not None
        return user  # type: ignore[no-any-return]

    def new_session(self, person: Person) -> str:
        """Another live browser session of the person (its public id)."""
        with transaction(self.platform.sessions) as session:
            user = self._user(session, person)
            open_session(session, self.platform.settings.secret_key, user, 30, "127.0.0.9")
            return str(
                session.scalars(
                    select(WebSession.public_id).where(WebSession.user_id == user.id).order_by(WebSession.created_at)
                ).all()[-1]
            )

    def password_back(self, person: Person) -> None:
        """The walker's password as the fixtures know it (a walk changes it)."""
        with transaction(self.platform.sessions) as session:
            self._user(session, person).password_hash = hash_password(PASSWORD)

    def totp_code(self, person: Person, offset: int) -> str:
        """A code of the person's (pending or active) second factor, `offset` steps from now."""
        with transaction(self.platform.sessions) as session:
            user = self._user(session, person)
            key = self.platform.settings.secret_key
            secret = start_enrolment(session, key, user).secret if user.totp_enabled_at is None else None
            secret = secret or totp._decrypt(key, user.totp_secret)  # the active one, as the phone holds it
            assert secret is not None
        step = int(utcnow().timestamp()) // 30 + offset
        return str(pyotp.TOTP(secret, interval=30).generate_otp(step))

    def new_user(self, with_second_factor: bool = False) -> int:
        """A colleague in MILANO for the administrator to act on."""
        with transaction(self.platform.sessions) as session:
            user = create_user(session, f"collega{uuid.uuid4().hex[:8]}", "Collega", PASSWORD, [("mediatore", HOME)])
            if with_second_factor:
                key = self.platform.settings.secret_key
                secret = start_enrolment(session, key, user).secret
                step = int(utcnow().timestamp()) // 30
                confirm_enrolment(session, key, user, str(pyotp.TOTP(secret, interval=30).generate_otp(step)))
            return user.id

    def new_grant(self) -> tuple[int, int]:
        """A colleague and the id of one of her role grants."""
        user_id = self.new_user()
        with read_transaction(self.platform.sessions) as session:
            return user_id, int(session.scalars(select(UserRole.id).where(UserRole.user_id == user_id)).one())

    def new_ambito(self) -> str:
        code = f"W{uuid.uuid4().hex[:6].upper()}"
        with transaction(self.platform.sessions) as session:
            add_ambiti(session, code)
        return code

    def new_partner(self) -> int:
        with transaction(self.platform.sessions) as session:
            code = f"W-{uuid.uuid4().hex[:8]}"
            return add_partner(session, code, f"Partner {code}", "cpi", HOME).id

    def new_case(self) -> str:
        """A fresh MILANO case (for an erasure)."""
        with transaction(self.platform.sessions) as session:
            return start_instance(session, self.platform.settings, START, HOME, SYSTEM).instance.case_code

    def new_consent(self) -> tuple[str, int]:
        """A consent recorded on the shared case: (case code, consent id)."""
        with transaction(self.platform.sessions) as session:
            consent = record_consent(session, SYSTEM, self.case_code, "trattamento", "orale")
            return self.case_code, consent.id

    def new_held_message(self) -> tuple[str, int]:
        """A case whose referral carries identity and waits for consent: (case code, message id)."""
        return held_case(self.platform)

    def base_version(self) -> int:
        """The definition id of the regional version of the walk's start process."""
        with read_transaction(self.platform.sessions) as session:
            return resolve(session, START, None).id

    def movable_case(self) -> str:
        """A MILANO case of the start process left on an older version (a newer MILANO one is published).

        Published for MILANO, not for the region: the walk's publication sample may already have
        given MILANO a variant, and then a new regional version would not concern its cases.
        """
        with transaction(self.platform.sessions) as session:
            code = start_instance(session, self.platform.settings, START, HOME, SYSTEM).instance.case_code
            files = {k: v for k, v in _walk_bundle().items() if k in (f"{START}.bpmn", "nota.schema.json")}
            mark = f'name="Passo del giro {uuid.uuid4().hex[:8]}"'.encode()
            files[f"{START}.bpmn"] = files[f"{START}.bpmn"].replace(b'name="Passo del giro"', mark)
            deploy(session, ambito=HOME, files=files)
            return code

    def new_migration(self, moved: bool = False) -> tuple[int, str]:
        """A migration job of one MILANO case (settled when `moved`): (job id, case code)."""
        code = self.movable_case()
        with transaction(self.platform.sessions) as session:
            job = start_job(session, self.platform.settings, SYSTEM, HOME, START, [code])
            if moved:
                run_batch(session, self.platform.settings, job.id)
            return job.id, code

    def saved_draft(self) -> None:
        """MILANO's draft of the start process, stored (the discard sample deletes it each time)."""
        from engine.studio import open_draft, save_diagram

        editor = Actor("giro_studio", grants=frozenset({("coordinamento_regionale", None)}))
        with transaction(self.platform.sessions) as session:
            draft = open_draft(session, editor, HOME, START)
            if not draft.saved:
                save_diagram(session, editor, HOME, START, draft.files[draft.main_file], None)

    def decision_file(self) -> str:
        """A DMN file in MILANO's draft of the walk's start process (added at the first call)."""
        from engine.studio import new_decision_file, open_draft

        editor = Actor("giro_studio", grants=frozenset({("coordinamento_regionale", None)}))
        with transaction(self.platform.sessions) as session:
            if "giro.dmn" not in open_draft(session, editor, HOME, START).files:
                new_decision_file(session, editor, HOME, START, "Giro")
        return "giro.dmn"

    def retention_confirmation(self, person: Person) -> dict[str, str]:
        """The confirmation fields of a fresh retention dry run as the person sees it."""
        from engine.audit import plan_retention

        if not permits(person.actor, Action.RETENTION_MANAGE):
            return {"confermo": "1"}
        with read_transaction(self.platform.sessions) as session:
            plan = plan_retention(session, person.actor)
        return {"anteprima": plan.at_text, "conferma": plan.token, "confermo": "1"}

    def new_token(self, person: Person) -> int:
        with transaction(self.platform.sessions) as session:
            user = session.scalar(select(AppUser).where(AppUser.username == person.name))
            assert user is not None
            row, _secret = create_token(session, self.platform.settings.secret_key, user, "giro", 5)
            return row.id


@pytest.fixture(scope="module")
def world(web_platform: Platform, app) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with transaction(web_platform.sessions) as session:
        deploy(session, files=_walk_bundle())
        deploy(session, files=builders.throw_bundle())
        deploy(session, files=person_bundle())
    walkers: list[tuple[str, list[tuple[str, str | None]], bool]] = [
        (f"w_{r.code}", [(r.code, None if r.regional else HOME)], True) for r in ROLES
    ]
    walkers.append(("w_altro_ambito", [("direttore_pua", OTHER), ("operatore_contatto", OTHER)], False))
    made = World(web_platform, app)
    for name, grants, home in walkers:
        with transaction(web_platform.sessions) as session:
            user = create_user(session, name, name, PASSWORD, grants)
            actor = actor_for(session, user)
            _row, secret = create_token(session, web_platform.settings.secret_key, user, "walk", 5)
        client = login(TestClient(app, base_url="http://testserver"), name)
        person = Person(name, actor, home, client, TestClient(app, headers={"Authorization": f"Bearer {secret}"}))
        page = client.get("/profilo/token")
        person.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        made.people[name] = person
    made.task_id = made.new_task()
    with read_transaction(web_platform.sessions) as session:
        made.case_code = str(session.scalar(select(HumanTask.case_code).where(HumanTask.task_id == made.task_id)))
    yield made
    for person in made.people.values():
        person.client.close()
        person.api.close()


# --------------------------------------------------------------------------- sample requests


@dataclass
class Call:
    """A request to make: method, URL, and keyword arguments for the TestClient."""

    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    api: bool = False


UNKNOWN_TASK = "00000000-0000-4000-8000-000000000000"
NEW_PASSWORD = {"password": "Giro-delle-rotte-2026!", "conferma": "Giro-delle-rotte-2026!"}
START = "giro_operatore_contatto"


@dataclass
class Sample:
    """How to call a route: `build(world, person, target)` with target "home" or "unknown".

    `scoped` routes touch an object of an Ambito (path or body): a person of another Ambito
    and an unknown object must both get the same 404.
    """

    action: Action
    build: Callable[[World, Person, str], Call]
    scoped: bool = True
    own: bool = False  # the object is the person's own (a token): other Ambiti do not enter into it


def _task(world: World, person: Person, target: str, fresh: bool) -> str:
    if target == "unknown":
        return UNKNOWN_TASK
    return world.new_task(lane_of(person)) if fresh else world.task_id


def _code(world: World, target: str) -> str:
    return world.case_code if target == "home" else "NESSUNO-1"


def _scope(target: str) -> str:
    return HOME if target == "home" else "NESSUNO"


def _user_id(world: World, target: str) -> int:
    return world.new_user() if target == "home" else 999_999


def _partner_id(world: World, target: str) -> int:
    return world.new_partner() if target == "home" else 999_999


def _someone_else(world: World, person: Person) -> Person:
    return next(other for other in world.people.values() if other.name != person.name)


def _carried() -> str:
    """The upload the import wizard's plan page carries to its next step."""
    return carry(unpack([(f"{START}.bpmn", _walk_bundle()[f"{START}.bpmn"])]))


def _page_form(person: Person, extra: dict[str, str] | None = None) -> dict[str, Any]:
    return {"data": {"csrf_token": person.csrf, **(extra or {})}}


SAMPLES: dict[tuple[str, str], Sample] = {
    # pages
    ("GET", "/attivita"): Sample(Action.TASK_WORK, lambda w, p, t: Call("GET", "/attivita"), scoped=False),
    ("GET", "/attivita/{task_id}"): Sample(
        Action.CASE_READ, lambda w, p, t: Call("GET", f"/attivita/{_task(w, p, t, False)}")
    ),
    ("POST", "/attivita/{task_id}"): Sample(
        Action.TASK_WORK,
        lambda w, p, t: Call("POST", f"/attivita/{_task(w, p, t, True)}", _page_form(p, {"nota": "giro"})),
    ),
    ("POST", "/attivita/{task_id}/prendi"): Sample(
        Action.TASK_WORK, lambda w, p, t: Call("POST", f"/attivita/{_task(w, p, t, True)}/prendi", _page_form(p))
    ),
    ("POST", "/attivita/{task_id}/rilascia"): Sample(
        Action.TASK_WORK, lambda w, p, t: Call("POST", f"/attivita/{_task(w, p, t, True)}/rilascia", _page_form(p))
    ),
    ("GET", "/contatti/nuovo"): Sample(Action.CASE_START, lambda w, p, t: Call("GET", "/contatti/nuovo"), scoped=False),
    ("POST", "/contatti"): Sample(
        Action.CASE_START,
        lambda w, p, t: Call(
            "POST",
            "/contatti",
            _page_form(p, {"ambito": HOME if t == "home" else "NESSUNO", "processo": START}),
        ),
    ),
    ("GET", "/casi"): Sample(Action.CASE_READ, lambda w, p, t: Call("GET", "/casi?q=MILANO"), scoped=False),
    ("GET", "/casi/{case_code:path}"): Sample(
        Action.CASE_READ, lambda w, p, t: Call("GET", f"/casi/{w.case_code if t == 'home' else 'NESSUNO-1'}")
    ),
    ("GET", "/monitoraggio"): Sample(
        Action.REPORT_AGGREGATE, lambda w, p, t: Call("GET", "/monitoraggio"), scoped=False
    ),
    # the studio (a scope is an Ambito, or «regione» for regional readers)
    ("GET", "/processi"): Sample(Action.PROCESS_READ, lambda w, p, t: Call("GET", "/processi"), scoped=False),
    ("GET", "/processi/{scope}"): Sample(Action.PROCESS_READ, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}")),
    ("GET", "/processi/{scope}/{key}"): Sample(
        Action.PROCESS_READ, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}")
    ),
    ("GET", "/processi/{scope}/{key}/versioni/{definition_id}"): Sample(
        Action.PROCESS_READ, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/versioni/{w.base_version()}")
    ),
    ("GET", "/processi/{scope}/{key}/versioni/{definition_id}/diagramma.bpmn"): Sample(
        Action.PROCESS_READ,
        lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/versioni/{w.base_version()}/diagramma.bpmn"),
    ),
    ("GET", "/processi/{scope}/{key}/confronta"): Sample(
        Action.PROCESS_READ,
        lambda w, p, t: Call(
            "GET", f"/processi/{_scope(t)}/{START}/confronta?da={w.base_version()}&a={w.base_version()}"
        ),
    ),
    ("GET", "/processi/{scope}/{key}/bozza"): Sample(
        Action.PROCESS_EDIT, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/bozza")
    ),
    ("POST", "/processi/{scope}/{key}/bozza"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call(
            "POST",
            f"/processi/{_scope(t)}/{START}/bozza",
            _page_form(p, {"xml": _walk_bundle()[f"{START}.bpmn"].decode()}),
        ),
    ),
    ("POST", "/processi/{scope}/{key}/bozza/verifica"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call("POST", f"/processi/{_scope(t)}/{START}/bozza/verifica", _page_form(p)),
    ),
    ("POST", "/processi/{scope}/{key}/bozza/scarta"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: (
            w.saved_draft() if t == "home" else None,
            Call("POST", f"/processi/{_scope(t)}/{START}/bozza/scarta", _page_form(p)),
        )[1],
    ),
    ("GET", "/processi/{scope}/{key}/bozza/pubblica"): Sample(
        Action.PROCESS_DEPLOY, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/bozza/pubblica")
    ),
    ("POST", "/processi/{scope}/{key}/bozza/pubblica"): Sample(
        Action.PROCESS_DEPLOY,
        lambda w, p, t: Call("POST", f"/processi/{_scope(t)}/{START}/bozza/pubblica", _page_form(p, {"nota": "giro"})),
    ),
    ("GET", "/processi/{scope}/{key}/bozza/riferimenti"): Sample(
        Action.PROCESS_EDIT, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/bozza/riferimenti")
    ),
    ("GET", "/processi/{scope}/{key}/bozza/lettura-timer"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/bozza/lettura-timer?tipo=cycle&valore='R/P30D'"),
    ),
    ("POST", "/processi/{scope}/{key}/bozza/anteprima-istruzioni"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call(
            "POST",
            f"/processi/{_scope(t)}/{START}/bozza/anteprima-istruzioni",
            _page_form(p, {"testo": "Caso {{ codice_caso }}"}),
        ),
    ),
    ("GET", "/processi/{scope}/{key}/migrazione"): Sample(
        Action.PROCESS_DEPLOY, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/migrazione")
    ),
    ("POST", "/processi/{scope}/{key}/migrazione"): Sample(
        Action.PROCESS_DEPLOY,
        lambda w, p, t: Call(
            "POST",
            f"/processi/{_scope(t)}/{START}/migrazione",
            _page_form(p, {"caso": w.movable_case() if t == "home" else "NESSUNO-1"}),
        ),
    ),
    ("GET", "/processi/{scope}/{key}/migrazione/{job_id}"): Sample(
        Action.PROCESS_DEPLOY,
        lambda w, p, t: Call(
            "GET", f"/processi/{_scope(t)}/{START}/migrazione/{w.new_migration()[0] if t == 'home' else 999_999}"
        ),
    ),
    ("POST", "/processi/{scope}/{key}/migrazione/{job_id}/annulla"): Sample(
        Action.PROCESS_DEPLOY,
        lambda w, p, t: (
            lambda job: Call(
                "POST",
                f"/processi/{_scope(t)}/{START}/migrazione/{job[0]}/annulla",
                _page_form(p, {"caso": job[1]}),
            )
        )(w.new_migration(moved=True) if t == "home" else (999_999, "NESSUNO-1")),
    ),
    # the studio's form editor (its forms live in the draft; each change saves into it)
    ("GET", "/processi/{scope}/{key}/bozza/moduli"): Sample(
        Action.PROCESS_EDIT, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/bozza/moduli")
    ),
    ("POST", "/processi/{scope}/{key}/bozza/moduli"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call(
            "POST",
            f"/processi/{_scope(t)}/{START}/bozza/moduli",
            _page_form(p, {"nome": f"m{uuid.uuid4().hex[:12]}", "titolo": "Giro"}),
        ),
    ),
    ("GET", "/processi/{scope}/{key}/bozza/moduli/{name}"): Sample(
        Action.PROCESS_EDIT, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/bozza/moduli/nota")
    ),
    ("POST", "/processi/{scope}/{key}/bozza/moduli/{name}"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call(
            "POST",
            f"/processi/{_scope(t)}/{START}/bozza/moduli/nota",
            _page_form(
                p, {"operazione": "aggiungi", "nome": f"c{uuid.uuid4().hex[:12]}", "etichetta": "Giro", "tipo": "testo"}
            ),
        ),
    ),
    ("GET", "/processi/{scope}/{key}/bozza/decisioni"): Sample(
        Action.PROCESS_EDIT, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/bozza/decisioni")
    ),
    ("POST", "/processi/{scope}/{key}/bozza/decisioni"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call(
            "POST",
            f"/processi/{_scope(t)}/{START}/bozza/decisioni",
            _page_form(p, {"nome": f"Giro {uuid.uuid4().hex}"}),
        ),
    ),
    ("GET", "/processi/{scope}/{key}/bozza/decisioni/{name}"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/bozza/decisioni/{w.decision_file()}"),
    ),
    ("POST", "/processi/{scope}/{key}/bozza/decisioni/{name}"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call(
            "POST",
            f"/processi/{_scope(t)}/{START}/bozza/decisioni/{w.decision_file()}",
            _page_form(p, {"xml": empty_table("giro", "Giro").decode()}),
        ),
    ),
    ("POST", "/processi/{scope}/{key}/bozza/decisioni/{name}/verifica"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call(
            "POST", f"/processi/{_scope(t)}/{START}/bozza/decisioni/{w.decision_file()}/verifica", _page_form(p)
        ),
    ),
    # import and export of models
    ("GET", "/processi/{scope}/importa"): Sample(
        Action.PROCESS_EDIT, lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/importa")
    ),
    ("POST", "/processi/{scope}/importa"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call(
            "POST",
            f"/processi/{_scope(t)}/importa",
            {**_page_form(p), "files": [("file", (f"{START}.bpmn", _walk_bundle()[f"{START}.bpmn"]))]},
        ),
    ),
    ("POST", "/processi/{scope}/importa/bozza"): Sample(
        Action.PROCESS_EDIT,
        lambda w, p, t: Call(
            "POST",
            f"/processi/{_scope(t)}/importa/bozza",
            _page_form(p, {"azione": "ricalcola", "pacchetto": _carried()}),
        ),
    ),
    ("GET", "/processi/{scope}/{key}/versioni/{definition_id}/esporta.zip"): Sample(
        Action.PROCESS_READ,
        lambda w, p, t: Call("GET", f"/processi/{_scope(t)}/{START}/versioni/{w.base_version()}/esporta.zip"),
    ),
    ("GET", "/profilo/token"): Sample(Action.ACCOUNT_SELF, lambda w, p, t: Call("GET", "/profilo/token"), scoped=False),
    ("POST", "/profilo/token"): Sample(
        Action.ACCOUNT_SELF,
        lambda w, p, t: Call("POST", "/profilo/token", _page_form(p, {"nome": "giro", "giorni": "5"})),
        scoped=False,
    ),
    ("POST", "/profilo/token/{token_id}/revoca"): Sample(
        Action.ACCOUNT_SELF,
        lambda w, p, t: Call(
            "POST",
            f"/profilo/token/{w.new_token(p) if t == 'home' else w.new_token(_someone_else(w, p))}/revoca",
            _page_form(p),
        ),
        own=True,
    ),
    ("GET", "/profilo"): Sample(Action.ACCOUNT_SELF, lambda w, p, t: Call("GET", "/profilo"), scoped=False),
    ("GET", "/profilo/password"): Sample(
        Action.ACCOUNT_SELF, lambda w, p, t: Call("GET", "/profilo/password"), scoped=False
    ),
    ("POST", "/profilo/password"): Sample(
        Action.ACCOUNT_SELF,
        lambda w, p, t: (
            w.password_back(p),
            Call("POST", "/profilo/password", _page_form(p, {"attuale": PASSWORD, **NEW_PASSWORD})),
        )[1],
        scoped=False,
    ),
    ("GET", "/profilo/sessioni"): Sample(
        Action.ACCOUNT_SELF, lambda w, p, t: Call("GET", "/profilo/sessioni"), scoped=False
    ),
    ("POST", "/profilo/sessioni/termina-altre"): Sample(
        Action.ACCOUNT_SELF,
        lambda w, p, t: Call("POST", "/profilo/sessioni/termina-altre", _page_form(p)),
        scoped=False,
    ),
    ("POST", "/profilo/sessioni/{public_id}/termina"): Sample(
        Action.ACCOUNT_SELF,
        lambda w, p, t: Call(
            "POST",
            f"/profilo/sessioni/{w.new_session(p if t == 'home' else _someone_else(w, p))}/termina",
            _page_form(p),
        ),
        own=True,
    ),
    # The second factor, switched on, its recovery codes renewed, then off again (codes of
    # successive time steps: each one is accepted once).
    ("GET", "/profilo/secondo-fattore"): Sample(
        Action.ACCOUNT_SELF, lambda w, p, t: Call("GET", "/profilo/secondo-fattore"), scoped=False
    ),
    ("POST", "/profilo/secondo-fattore"): Sample(
        Action.ACCOUNT_SELF,
        lambda w, p, t: Call("POST", "/profilo/secondo-fattore", _page_form(p, {"codice": w.totp_code(p, -1)})),
        scoped=False,
    ),
    ("POST", "/profilo/secondo-fattore/codici"): Sample(
        Action.ACCOUNT_SELF,
        lambda w, p, t: Call("POST", "/profilo/secondo-fattore/codici", _page_form(p, {"codice": w.totp_code(p, 0)})),
        scoped=False,
    ),
    ("POST", "/profilo/secondo-fattore/disattiva"): Sample(
        Action.ACCOUNT_SELF,
        lambda w, p, t: Call(
            "POST", "/profilo/secondo-fattore/disattiva", _page_form(p, {"codice": w.totp_code(p, 1)})
        ),
        scoped=False,
    ),
    # administration (ids of things that do not exist answer 404)
    ("GET", "/admin/utenti"): Sample(Action.ADMIN_USERS, lambda w, p, t: Call("GET", "/admin/utenti"), scoped=False),
    ("GET", "/admin/utenti/nuovo"): Sample(
        Action.ADMIN_USERS, lambda w, p, t: Call("GET", "/admin/utenti/nuovo"), scoped=False
    ),
    ("POST", "/admin/utenti"): Sample(
        Action.ADMIN_USERS,
        lambda w, p, t: Call(
            "POST",
            "/admin/utenti",
            _page_form(
                p,
                {
                    "username": f"nuova{uuid.uuid4().hex[:8]}",
                    "full_name": "Nuova",
                    "locale": "it",
                    "password_mode": "genera",
                    "ruoli[0].ruolo": "mediatore",
                    "ruoli[0].ambito": HOME,
                },
            ),
        ),
        scoped=False,
    ),
    ("GET", "/admin/utenti/{user_id}"): Sample(
        Action.ADMIN_USERS, lambda w, p, t: Call("GET", f"/admin/utenti/{_user_id(w, t)}")
    ),
    ("POST", "/admin/utenti/{user_id}"): Sample(
        Action.ADMIN_USERS,
        lambda w, p, t: Call(
            "POST", f"/admin/utenti/{_user_id(w, t)}", _page_form(p, {"full_name": "Collega", "locale": "it"})
        ),
    ),
    ("POST", "/admin/utenti/{user_id}/ruoli"): Sample(
        Action.ADMIN_USERS,
        lambda w, p, t: Call(
            "POST", f"/admin/utenti/{_user_id(w, t)}/ruoli", _page_form(p, {"ruolo": "network_manager", "ambito": HOME})
        ),
    ),
    ("POST", "/admin/utenti/{user_id}/ruoli/{grant_id}/revoca"): Sample(
        Action.ADMIN_USERS,
        lambda w, p, t: Call(
            "POST",
            "/admin/utenti/{}/ruoli/{}/revoca".format(*(w.new_grant() if t == "home" else (999_999, 999_999))),
            _page_form(p),
        ),
    ),
    ("GET", "/admin/utenti/{user_id}/disattiva"): Sample(
        Action.ADMIN_USERS, lambda w, p, t: Call("GET", f"/admin/utenti/{_user_id(w, t)}/disattiva")
    ),
    ("POST", "/admin/utenti/{user_id}/disattiva"): Sample(
        Action.ADMIN_USERS,
        lambda w, p, t: Call("POST", f"/admin/utenti/{_user_id(w, t)}/disattiva", _page_form(p)),
    ),
    ("POST", "/admin/utenti/{user_id}/riattiva"): Sample(
        Action.ADMIN_USERS,
        lambda w, p, t: Call("POST", f"/admin/utenti/{_user_id(w, t)}/riattiva", _page_form(p)),
    ),
    ("POST", "/admin/utenti/{user_id}/password"): Sample(
        Action.ADMIN_USERS,
        lambda w, p, t: Call("POST", f"/admin/utenti/{_user_id(w, t)}/password", _page_form(p)),
    ),
    ("POST", "/admin/utenti/{user_id}/secondo-fattore/azzera"): Sample(
        Action.ADMIN_USERS,
        lambda w, p, t: Call(
            "POST",
            f"/admin/utenti/{w.new_user(with_second_factor=True) if t == 'home' else 999_999}/secondo-fattore/azzera",
            _page_form(p),
        ),
    ),
    ("GET", "/admin/ambiti"): Sample(Action.ADMIN_AMBITI, lambda w, p, t: Call("GET", "/admin/ambiti"), scoped=False),
    ("POST", "/admin/ambiti"): Sample(
        Action.ADMIN_AMBITI,
        lambda w, p, t: Call(
            "POST", "/admin/ambiti", _page_form(p, {"code": f"N{uuid.uuid4().hex[:6].upper()}", "name": "Nuovo"})
        ),
        scoped=False,
    ),
    ("POST", "/admin/ambiti/{code}"): Sample(
        Action.ADMIN_AMBITI,
        lambda w, p, t: Call(
            "POST",
            f"/admin/ambiti/{w.new_ambito() if t == 'home' else 'NESSUNO'}",
            _page_form(p, {"name": "Rinominato"}),
        ),
    ),
    ("GET", "/admin/partner"): Sample(
        Action.ADMIN_PARTNERS, lambda w, p, t: Call("GET", "/admin/partner"), scoped=False
    ),
    ("GET", "/admin/partner/nuovo"): Sample(
        Action.ADMIN_PARTNERS, lambda w, p, t: Call("GET", "/admin/partner/nuovo"), scoped=False
    ),
    ("POST", "/admin/partner"): Sample(
        Action.ADMIN_PARTNERS,
        lambda w, p, t: Call(
            "POST",
            "/admin/partner",
            _page_form(p, {"name": f"Sportello {uuid.uuid4().hex[:6]}", "kind": "legale", "ambito": HOME}),
        ),
        scoped=False,
    ),
    ("GET", "/admin/partner/{partner_id}"): Sample(
        Action.ADMIN_PARTNERS, lambda w, p, t: Call("GET", f"/admin/partner/{_partner_id(w, t)}")
    ),
    ("POST", "/admin/partner/{partner_id}"): Sample(
        Action.ADMIN_PARTNERS,
        lambda w, p, t: Call(
            "POST",
            f"/admin/partner/{_partner_id(w, t)}",
            _page_form(p, {"name": f"Partner {uuid.uuid4().hex[:6]}", "kind": "cpi", "ambito": HOME}),
        ),
    ),
    ("POST", "/admin/partner/{partner_id}/disattiva"): Sample(
        Action.ADMIN_PARTNERS,
        lambda w, p, t: Call("POST", f"/admin/partner/{_partner_id(w, t)}/disattiva", _page_form(p)),
    ),
    ("POST", "/admin/partner/{partner_id}/riattiva"): Sample(
        Action.ADMIN_PARTNERS,
        lambda w, p, t: Call("POST", f"/admin/partner/{_partner_id(w, t)}/riattiva", _page_form(p)),
    ),
    ("GET", "/admin/impostazioni"): Sample(
        Action.ADMIN_SETTINGS, lambda w, p, t: Call("GET", "/admin/impostazioni"), scoped=False
    ),
    ("POST", "/admin/impostazioni/obiettivi"): Sample(
        Action.ADMIN_SETTINGS,
        lambda w, p, t: Call(
            "POST",
            "/admin/impostazioni/obiettivi",
            _page_form(
                p,
                {
                    "anno": "2031",
                    f"t.{HOME}.intercepted_min": "70",
                    f"t.{HOME}.intercepted_max": "100",
                    f"t.{HOME}.taken_min": "30",
                    f"t.{HOME}.taken_max": "50",
                },
            ),
        ),
        scoped=False,
    ),
    ("POST", "/admin/impostazioni"): Sample(
        Action.ADMIN_SETTINGS,
        lambda w, p, t: Call("POST", "/admin/impostazioni", _page_form(p, {"avviso_accesso": "Giro dei permessi."})),
        scoped=False,
    ),
    ("GET", "/audit/operazioni"): Sample(
        Action.OPLOG_READ, lambda w, p, t: Call("GET", "/audit/operazioni"), scoped=False
    ),
    # the auditor's instance page and its exports
    ("GET", "/audit/istanze/{case_code:casecode}"): Sample(
        Action.AUDIT_EXPLORE, lambda w, p, t: Call("GET", f"/audit/istanze/{_code(w, t)}?passo=1")
    ),
    ("GET", "/audit/istanze/{case_code:casecode}/diagramma.bpmn"): Sample(
        Action.AUDIT_EXPLORE, lambda w, p, t: Call("GET", f"/audit/istanze/{_code(w, t)}/diagramma.bpmn")
    ),
    ("GET", "/audit/istanze/{case_code:casecode}/file/{definition_id:int}/{name}"): Sample(
        Action.AUDIT_EXPLORE,
        lambda w, p, t: Call("GET", f"/audit/istanze/{_code(w, t)}/file/{w.base_version()}/{START}.bpmn"),
    ),
    ("GET", "/audit/istanze/{case_code:casecode}/file/{definition_id:int}/{name}/scarica"): Sample(
        Action.AUDIT_EXPLORE,
        lambda w, p, t: Call("GET", f"/audit/istanze/{_code(w, t)}/file/{w.base_version()}/{START}.bpmn/scarica"),
    ),
    ("GET", "/audit/istanze/{case_code:casecode}/storia.json"): Sample(
        Action.AUDIT_EXPLORE, lambda w, p, t: Call("GET", f"/audit/istanze/{_code(w, t)}/storia.json")
    ),
    ("GET", "/audit/istanze/{case_code:casecode}/storia.csv"): Sample(
        Action.AUDIT_EXPLORE, lambda w, p, t: Call("GET", f"/audit/istanze/{_code(w, t)}/storia.csv")
    ),
    ("GET", "/audit/istanze/{case_code:casecode}/stampa"): Sample(
        Action.AUDIT_EXPLORE, lambda w, p, t: Call("GET", f"/audit/istanze/{_code(w, t)}/stampa")
    ),
    # retention of closed cases (read-only for who explores cases; forms for who manages it)
    ("GET", "/audit/conservazione"): Sample(
        Action.AUDIT_EXPLORE, lambda w, p, t: Call("GET", "/audit/conservazione"), scoped=False
    ),
    ("POST", "/audit/conservazione"): Sample(
        Action.RETENTION_MANAGE,
        lambda w, p, t: Call(
            "POST", "/audit/conservazione", _page_form(p, {"processo": START, "giorni": "3650", "azione": "anonymise"})
        ),
        scoped=False,
    ),
    ("POST", "/audit/conservazione/applica"): Sample(
        Action.RETENTION_MANAGE,
        lambda w, p, t: Call("POST", "/audit/conservazione/applica", _page_form(p, w.retention_confirmation(p))),
        scoped=False,
    ),
    ("GET", "/audit/accessi"): Sample(
        Action.READLOG_READ, lambda w, p, t: Call("GET", f"/audit/accessi?caso={w.case_code}"), scoped=False
    ),
    # personal data (consent, export, erasure)
    ("POST", "/privacy/casi/{case_code:path}/consensi"): Sample(
        Action.CONSENT_RECORD,
        lambda w, p, t: Call(
            "POST",
            f"/privacy/casi/{_code(w, t)}/consensi",
            _page_form(p, {"ambito_consenso": "trattamento", "modalita": "orale"}),
        ),
    ),
    ("POST", "/privacy/casi/{case_code:path}/consensi/{consent_id}/revoca"): Sample(
        Action.CONSENT_RECORD,
        lambda w, p, t: Call(
            "POST",
            "/privacy/casi/{}/consensi/{}/revoca".format(*(w.new_consent() if t == "home" else ("NESSUNO-1", 999_999))),
            _page_form(p),
        ),
    ),
    ("POST", "/privacy/casi/{case_code:path}/messaggi/{message_id}/autorizza"): Sample(
        Action.CONSENT_OVERRIDE,
        lambda w, p, t: Call(
            "POST",
            "/privacy/casi/{}/messaggi/{}/autorizza".format(
                *(w.new_held_message() if t == "home" else ("NESSUNO-1", 999_999))
            ),
            _page_form(p, {"motivo": "La persona è in pericolo: invio urgente all'ente antitratta."}),
        ),
    ),
    ("GET", "/privacy/casi/{case_code:path}/esporta.json"): Sample(
        Action.CASE_EXPORT, lambda w, p, t: Call("GET", f"/privacy/casi/{_code(w, t)}/esporta.json")
    ),
    ("GET", "/privacy/casi/{case_code:path}/esporta"): Sample(
        Action.CASE_EXPORT, lambda w, p, t: Call("GET", f"/privacy/casi/{_code(w, t)}/esporta")
    ),
    ("GET", "/privacy/casi/{case_code:path}/cancella"): Sample(
        Action.CASE_ERASE, lambda w, p, t: Call("GET", f"/privacy/casi/{_code(w, t)}/cancella")
    ),
    ("POST", "/privacy/casi/{case_code:path}/cancella"): Sample(
        Action.CASE_ERASE,
        lambda w, p, t: (
            lambda code: Call(
                "POST",
                f"/privacy/casi/{code}/cancella",
                _page_form(p, {"motivo": "Richiesta della persona (art. 17 GDPR).", "conferma": code}),
            )
        )(w.new_case() if t == "home" else "NESSUNO-1"),
    ),
    ("GET", "/api/v1/privacy/cases/{case_code:path}/export"): Sample(
        Action.CASE_EXPORT, lambda w, p, t: Call("GET", f"/api/v1/privacy/cases/{_code(w, t)}/export", api=True)
    ),
    # API
    ("POST", "/api/v1/cases"): Sample(
        Action.CASE_START,
        lambda w, p, t: Call(
            "POST",
            "/api/v1/cases",
            {"json": {"process_key": START, "ambito": HOME if t == "home" else "NESSUNO"}},
            api=True,
        ),
    ),
    ("GET", "/api/v1/cases"): Sample(
        Action.CASE_READ, lambda w, p, t: Call("GET", "/api/v1/cases?q=MILANO", api=True), scoped=False
    ),
    ("GET", "/api/v1/cases/{case_code:path}"): Sample(
        Action.CASE_READ,
        lambda w, p, t: Call("GET", f"/api/v1/cases/{w.case_code if t == 'home' else 'NESSUNO-1'}", api=True),
    ),
    ("GET", "/api/v1/tasks"): Sample(
        Action.TASK_WORK, lambda w, p, t: Call("GET", "/api/v1/tasks", api=True), scoped=False
    ),
    ("GET", "/api/v1/tasks/{task_id}"): Sample(
        Action.CASE_READ, lambda w, p, t: Call("GET", f"/api/v1/tasks/{_task(w, p, t, False)}", api=True)
    ),
    ("POST", "/api/v1/tasks/{task_id}/claim"): Sample(
        Action.TASK_WORK, lambda w, p, t: Call("POST", f"/api/v1/tasks/{_task(w, p, t, True)}/claim", api=True)
    ),
    ("POST", "/api/v1/tasks/{task_id}/release"): Sample(
        Action.TASK_WORK, lambda w, p, t: Call("POST", f"/api/v1/tasks/{_task(w, p, t, True)}/release", api=True)
    ),
    ("POST", "/api/v1/tasks/{task_id}/complete"): Sample(
        Action.TASK_WORK,
        lambda w, p, t: Call(
            "POST", f"/api/v1/tasks/{_task(w, p, t, True)}/complete", {"json": {"data": {"nota": "giro"}}}, api=True
        ),
    ),
    ("POST", "/api/v1/messages"): Sample(
        Action.MESSAGE_SEND,
        lambda w, p, t: Call(
            "POST",
            "/api/v1/messages",
            {"json": {"name": "nessuno_aspetta", "ambito": HOME if t == "home" else "NESSUNO", "payload": {}}},
            api=True,
        ),
    ),
    ("GET", "/api/v1/messages/outbox"): Sample(
        Action.MESSAGE_OUTBOX, lambda w, p, t: Call("GET", "/api/v1/messages/outbox", api=True), scoped=False
    ),
    ("POST", "/api/v1/messages/{message_id}/ack"): Sample(
        Action.MESSAGE_ACK,
        lambda w, p, t: Call(
            "POST", f"/api/v1/messages/{w.new_outbox_message() if t == 'home' else 999_999}/ack", api=True
        ),
    ),
}

PUBLIC_SAMPLES: dict[tuple[str, str], Callable[[Person], Call]] = {
    ("GET", "/"): lambda p: Call("GET", "/"),
    ("GET", "/health"): lambda p: Call("GET", "/health"),
    ("GET", "/favicon.ico"): lambda p: Call("GET", "/favicon.ico"),
    ("GET", "/login"): lambda p: Call("GET", "/login"),
    ("GET", "/login/codice"): lambda p: Call("GET", "/login/codice"),
    ("POST", "/lingua"): lambda p: Call("POST", "/lingua", _page_form(p, {"lingua": "it", "next": "/"})),
}
# Logging in and out are walked with a browser of their own (they end or open sessions).
# The second step of a login with a second factor is walked in tests/web/test_account.py.
SESSION_ROUTES = {("POST", "/login"), ("POST", "/login/codice"), ("POST", "/logout")}


# --------------------------------------------------------------------------- the walk


def _declared(route: APIRoute) -> Action | str | None:
    for dependency in route.dependant.dependencies:
        call = dependency.call
        if isinstance(call, Permit | ApiPermit):
            return call.action
        if call is public_route:
            return "public"
    return None


def _routes(app: Any) -> list[tuple[str, str, Action | str | None]]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount) or (isinstance(route, Route) and not isinstance(route, APIRoute)):
            assert context.path in FRAMEWORK, f"route {context.path} not declared by the app's routers"
            continue
        assert isinstance(route, APIRoute), route
        for method in sorted((context.methods or set()) - {"HEAD"}):
            found.append((method, str(context.path), _declared(route)))
    return found


def _send(person: Person, call: Call) -> Any:
    client = person.api if call.api else person.client
    return client.request(call.method, call.url, follow_redirects=False, **call.kwargs)


def _fingerprint(platform: Platform) -> str:
    """A digest of everything the product holds (bookkeeping tables aside)."""
    digest = hashlib.sha256()
    with read_transaction(platform.sessions) as session:
        for table in Base.metadata.sorted_tables:
            if table.name in BOOKKEEPING:
                continue
            rows = sorted(repr(tuple(r)) for r in session.execute(select(table)))
            digest.update(f"{table.name}:{len(rows)}:".encode())
            for row in rows:
                digest.update(row.encode())
    return digest.hexdigest()


def _asked(first: Call, second: Call) -> list[tuple[str, str]]:
    """What two calls of the same route asked about differently (path segments, body fields)."""
    pairs = [
        (a, b)
        for a, b in zip(first.url.split("?")[0].split("/"), second.url.split("?")[0].split("/"), strict=False)
        if a != b
    ]
    body_a = first.kwargs.get("json") or first.kwargs.get("data") or {}
    body_b = second.kwargs.get("json") or second.kwargs.get("data") or {}
    pairs += [(str(body_a[k]), str(body_b[k])) for k in body_a if k in body_b and body_a[k] != body_b[k]]
    return pairs


def _whole(identifier: str) -> re.Pattern[str]:
    """The identifier as a whole token, not as part of a longer word, number or token."""
    return re.compile(rf"(?<![\w-]){re.escape(identifier)}(?![\w-])")


def _same_404(first: Any, second: Any, asked: list[tuple[str, str]]) -> bool:
    """Both 404, with the same text but for the identifiers each one asked about.

    An identifier is replaced only where it stands alone: a short one such as «21» also occurs
    inside the page's random CSRF token, and replacing it there made the texts differ at random.
    """
    one, other = first.text, second.text
    for a, b in asked:
        one, other = _whole(a).sub("<id>", one), _whole(b).sub("<id>", other)
    return first.status_code == second.status_code == 404 and one == other


def test_the_404_comparison_ignores_identifiers_inside_other_tokens() -> None:
    """A consent id «21» inside the CSRF token of both pages must not make them differ."""

    class Page:
        status_code = 404

        def __init__(self, text: str) -> None:
            self.text = text

    token = "Awa4bV33x21kAtyZ"
    mine = Page(f'<input value="{token}"><p>/casi/MILANO-2026-00001/consensi/21/revoca</p>')
    unknown = Page(f'<input value="{token}"><p>/casi/NESSUNO-1/consensi/999999/revoca</p>')
    asked = [("MILANO-2026-00001", "NESSUNO-1"), ("21", "999999")]
    assert _same_404(mine, unknown, asked)
    assert not _same_404(mine, Page(f'<input value="{token}"><p>/casi/NESSUNO-1/consensi/999999</p>'), asked)


def test_every_route_declares_its_permission_and_has_a_sample(app) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(app)
    undeclared = [(m, p) for m, p, action in routes if action is None]
    assert undeclared == [], "routes without a permission (allow/allow_api/PUBLIC)"
    missing = [
        (m, p)
        for m, p, action in routes
        if (m, p) not in SAMPLES and (m, p) not in PUBLIC_SAMPLES and (m, p) not in SESSION_ROUTES
    ]
    assert missing == [], "routes without a sample request in this test"
    stale = set(SAMPLES) - {(m, p) for m, p, _ in routes}
    assert stale == set(), "samples of routes that no longer exist"


def test_every_role_gets_exactly_what_the_matrix_says(world: World) -> None:
    routes = _routes(world.app)
    problems: list[str] = []
    read_only = {"w_revisore", "w_monitoraggio_regionale"}
    for method, path, action in routes:
        if action == "public" or (method, path) in SESSION_ROUTES:
            continue
        assert isinstance(action, Action)
        sample = SAMPLES[(method, path)]
        if action is not sample.action:
            problems.append(f"{method} {path} declares {action.value}, the matrix wants {sample.action.value}")
            continue
        for person in world.people.values():
            allowed_somewhere = permits(person.actor, action)
            call = sample.build(world, person, "home")
            # Their own account (password, sessions, tokens, second factor) is theirs to change.
            watched = person.name in read_only and action is not Action.ACCOUNT_SELF
            before = _fingerprint(world.platform) if watched else None
            response = _send(person, call)
            if before is not None and before != _fingerprint(world.platform):
                problems.append(f"{person.name} changed the database with {method} {path} ({response.status_code})")
            if not allowed_somewhere:
                expected = "403"
                ok = response.status_code == 403
            elif sample.scoped and not sample.own and not person.home:
                expected = "404 (other Ambito)"
                ok = response.status_code == 404
            else:
                expected = "2xx/3xx"
                ok = 200 <= response.status_code < 400
            if not ok:
                problems.append(f"{person.name} {method} {call.url}: {response.status_code}, expected {expected}")
                continue
            if allowed_somewhere and sample.scoped:
                unknown_call = sample.build(world, person, "unknown")
                unknown = _send(person, unknown_call)
                if unknown.status_code != 404:
                    problems.append(f"{person.name} {method} {unknown_call.url}: {unknown.status_code}, expected 404")
                elif (
                    not person.home and not sample.own and not _same_404(response, unknown, _asked(call, unknown_call))
                ):
                    problems.append(f"{person.name} {method} {path}: other-Ambito 404 differs from unknown 404")
    for person in world.people.values():
        world.password_back(person)
    assert problems == []


def test_public_and_session_routes_answer_everyone(world: World, app) -> None:  # type: ignore[no-untyped-def]
    anonymous = TestClient(app, base_url="http://testserver")
    for key, build in PUBLIC_SAMPLES.items():
        if key[0] == "GET":
            response = anonymous.get(key[1], follow_redirects=False)
            assert 200 <= response.status_code < 400, (key, response.status_code)
        for person in world.people.values():
            response = _send(person, build(person))
            assert 200 <= response.status_code < 400, (person.name, key, response.status_code)
    for person in world.people.values():
        browser = login(TestClient(app, base_url="http://testserver"), person.name)
        page = browser.get("/profilo/token")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert browser.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        assert browser.get("/profilo/token", follow_redirects=False).status_code == 303, "logged out"
