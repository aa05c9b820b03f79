"""The permission matrix: role × action × scope, the one place that says who may do what.

Every web page, API call and CLI command names the action it performs; the engine
checks the scope against the object it touches (the case's Ambito, the task's Ambito).
A person who may perform an action in *some* Ambito but asks about an object of another
Ambito gets the same `NotFound` as for an object that does not exist, so no answer
reveals what other Ambiti hold. A person whose roles do not include the action at all
gets `Forbidden`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from engine.access.roles import ROLES, Actor, Kind
from engine.errors import Forbidden, NotFound


class Scope(StrEnum):
    """How far a role's permission for an action reaches."""

    NONE = "—"
    AMBITO = "proprio Ambito"
    REGION = "regione"


class Action(StrEnum):
    """Everything a person can ask the product to do (the rows of the matrix)."""

    TASK_WORK = "task.work"
    CASE_START = "case.start"
    CASE_READ = "case.read"
    CASE_EXPORT = "case.export"
    CASE_ERASE = "case.erase"
    CONSENT_RECORD = "consent.record"
    CONSENT_OVERRIDE = "consent.override"
    MESSAGE_SEND = "message.send"
    MESSAGE_OUTBOX = "message.outbox"
    MESSAGE_ACK = "message.ack"
    PROCESS_READ = "process.read"
    PROCESS_EDIT = "process.edit"
    PROCESS_DEPLOY = "process.deploy"
    CASE_MIGRATE = "case.migrate"
    HISTORY_VERIFY = "history.verify"
    AUDIT_EXPLORE = "audit.explore"
    READLOG_READ = "readlog.read"
    RETENTION_MANAGE = "retention.manage"
    REPORT_AGGREGATE = "report.aggregate"
    ADMIN_USERS = "admin.users"
    ADMIN_AMBITI = "admin.ambiti"
    ADMIN_PARTNERS = "admin.partners"
    ADMIN_SETTINGS = "admin.settings"
    OPLOG_READ = "oplog.read"
    ACCOUNT_SELF = "account.self"


ACTION_LABELS: dict[Action, str] = {
    Action.TASK_WORK: "Lavorare le attività (elenco, presa in carico, bozze, completamento)",
    Action.CASE_START: "Aprire un caso",
    Action.CASE_READ: "Leggere fascicoli e cercare casi (dati personali)",
    Action.CASE_EXPORT: "Esportare i dati di una persona (diritto di accesso)",
    Action.CASE_ERASE: "Cancellare l'identità di una persona (crypto-shredding)",
    Action.CONSENT_RECORD: "Registrare il consenso",
    Action.CONSENT_OVERRIDE: "Autorizzare un invio senza consenso (con motivo)",
    Action.MESSAGE_SEND: "Inviare messaggi ai casi (sistemi dei partner)",
    Action.MESSAGE_OUTBOX: "Leggere la posta in uscita verso i partner",
    Action.MESSAGE_ACK: "Confermare la presa di un messaggio in uscita",
    Action.PROCESS_READ: "Consultare processi, versioni e diagrammi (studio)",
    Action.PROCESS_EDIT: "Modificare diagrammi e moduli nello studio (bozze)",
    Action.PROCESS_DEPLOY: "Pubblicare processi e moduli",
    Action.CASE_MIGRATE: "Migrare o riprendere casi su una nuova versione",
    Action.HISTORY_VERIFY: "Verificare la catena della storia dei casi",
    Action.AUDIT_EXPLORE: "Esplorare i casi e la loro storia completa, con i valori (revisione)",
    Action.READLOG_READ: "Leggere il registro degli accessi ai fascicoli",
    Action.RETENTION_MANAGE: "Stabilire la conservazione e cancellare o anonimizzare i casi scaduti",
    Action.REPORT_AGGREGATE: "Vedere dati aggregati e anonimi",
    Action.ADMIN_USERS: "Gestire utenti e ruoli",
    Action.ADMIN_AMBITI: "Gestire gli Ambiti",
    Action.ADMIN_PARTNERS: "Gestire il registro dei partner",
    Action.ADMIN_SETTINGS: "Gestire le impostazioni (es. obiettivi annuali)",
    Action.OPLOG_READ: "Leggere il registro delle operazioni amministrative",
    Action.ACCOUNT_SELF: "Gestire il proprio account (sessioni, token, secondo fattore)",
}

# Actions that change nothing: the only ones the auditor and the regional monitor may hold
# (besides their own account).
READ_ONLY = frozenset(
    {
        Action.CASE_READ,
        Action.MESSAGE_OUTBOX,
        Action.HISTORY_VERIFY,
        Action.AUDIT_EXPLORE,
        Action.READLOG_READ,
        Action.REPORT_AGGREGATE,
        Action.OPLOG_READ,
        Action.PROCESS_READ,
    }
)
# Actions that show personal data of the people the PUAs follow.
PERSONAL_DATA = frozenset(
    {
        Action.TASK_WORK,
        Action.CASE_READ,
        Action.CASE_EXPORT,
        Action.MESSAGE_OUTBOX,
        Action.CONSENT_RECORD,
        Action.AUDIT_EXPLORE,
    }
)

A, R = Scope.AMBITO, Scope.REGION
_OPERATOR: dict[Action, Scope] = {
    Action.TASK_WORK: A,
    Action.CASE_START: A,
    Action.CASE_READ: A,
    Action.CONSENT_RECORD: A,
    Action.MESSAGE_SEND: A,
    Action.MESSAGE_OUTBOX: A,
    Action.MESSAGE_ACK: A,
    Action.PROCESS_READ: A,
    Action.ACCOUNT_SELF: R,
}
_COORDINATOR: dict[Action, Scope] = {
    **_OPERATOR,
    Action.CONSENT_OVERRIDE: A,
    Action.CASE_EXPORT: A,
    Action.PROCESS_EDIT: A,
    Action.PROCESS_DEPLOY: A,
    Action.CASE_MIGRATE: A,
    Action.HISTORY_VERIFY: A,
    Action.AUDIT_EXPLORE: A,
    Action.REPORT_AGGREGATE: A,
}

MATRIX: dict[str, dict[Action, Scope]] = {
    **{r.code: dict(_OPERATOR) for r in ROLES if r.kind is Kind.OPERATOR},
    "direttore_pua": {**_COORDINATOR, Action.CASE_ERASE: A, Action.READLOG_READ: A},
    "scc": dict(_COORDINATOR),
    "coordinamento_regionale": {
        Action.CASE_READ: R,
        Action.PROCESS_READ: R,
        Action.PROCESS_EDIT: R,
        Action.PROCESS_DEPLOY: R,
        Action.CASE_MIGRATE: R,
        Action.HISTORY_VERIFY: R,
        Action.AUDIT_EXPLORE: R,
        Action.RETENTION_MANAGE: R,
        Action.REPORT_AGGREGATE: R,
        Action.MESSAGE_OUTBOX: R,
        Action.ACCOUNT_SELF: R,
    },
    "revisore": {
        Action.CASE_READ: R,
        Action.MESSAGE_OUTBOX: R,
        Action.HISTORY_VERIFY: R,
        Action.AUDIT_EXPLORE: R,
        Action.READLOG_READ: R,
        Action.REPORT_AGGREGATE: R,
        Action.OPLOG_READ: R,
        Action.PROCESS_READ: R,
        Action.ACCOUNT_SELF: R,
    },
    "monitoraggio_regionale": {
        Action.REPORT_AGGREGATE: R,
        Action.PROCESS_READ: R,
        Action.ACCOUNT_SELF: R,
    },
    "amministratore": {
        Action.ADMIN_USERS: R,
        Action.ADMIN_AMBITI: R,
        Action.ADMIN_PARTNERS: R,
        Action.ADMIN_SETTINGS: R,
        Action.OPLOG_READ: R,
        Action.ACCOUNT_SELF: R,
    },
}


def scope_of(role: str, action: Action) -> Scope:
    """How far one role reaches for one action."""
    return MATRIX.get(role, {}).get(action, Scope.NONE)


def permits(actor: Actor, action: Action, ambito: str | None = None) -> bool:
    """Whether the actor may perform the action (in that Ambito, when one is given;
    without one: anywhere at all)."""
    if actor.system:
        return True
    for role, held_in in actor.grants:
        scope = scope_of(role, action)
        if scope is Scope.REGION:
            return True
        if scope is Scope.AMBITO and (ambito is None or held_in is None or held_in == ambito):
            return True
    return False


def ambiti_for(actor: Actor, action: Action) -> frozenset[str] | None:
    """The Ambiti where the actor may perform the action; None means every Ambito."""
    if actor.system:
        return None
    found: set[str] = set()
    for role, held_in in actor.grants:
        scope = scope_of(role, action)
        if scope is Scope.REGION or (scope is Scope.AMBITO and held_in is None):
            return None
        if scope is Scope.AMBITO and held_in is not None:
            found.add(held_in)
    return frozenset(found)


def permits_in(actor: Actor, action: Action, ambito: str | None) -> bool:
    """Whether the actor may perform the action on what belongs to one Ambito, or (None) to
    the region as a whole, such as the regional base model: that takes a regional grant."""
    if ambito is None:
        return ambiti_for(actor, action) is None
    return permits(actor, action, ambito)


def require(actor: Actor, action: Action) -> None:
    """Raise Forbidden unless the actor's roles include the action somewhere."""
    if not permits(actor, action):
        raise Forbidden("Il tuo ruolo non consente questa operazione.")


def require_in(actor: Actor, action: Action, ambito: str | None, not_found: str) -> None:
    """Raise Forbidden if the actor may never perform the action, and NotFound(not_found)
    if she may, but not in this Ambito: the same answer as for something that does not exist."""
    require(actor, action)
    if ambito is None or not permits(actor, action, ambito):
        raise NotFound(not_found)


def matrix_rows(actions: Iterable[Action] = tuple(Action)) -> list[tuple[Action, list[Scope]]]:
    """The matrix as rows (one per action) of scopes in the order of ROLES."""
    return [(action, [scope_of(role.code, action) for role in ROLES]) for action in actions]


def matrix_markdown() -> str:
    """The matrix as a Markdown table (docs/security.md embeds it)."""
    head = "| Azione | " + " | ".join(r.label for r in ROLES) + " |"
    sep = "|---|" + "---|" * len(ROLES)
    cells = {Scope.NONE: "—", Scope.AMBITO: "Ambito", Scope.REGION: "Regione"}
    lines = [head, sep]
    for action, scopes in matrix_rows():
        lines.append(f"| {ACTION_LABELS[action]} (`{action.value}`) | " + " | ".join(cells[s] for s in scopes) + " |")
    return "\n".join(lines)
