"""The inlav command line, end to end on a database of its own."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from tests.conftest import BUNDLES
from web.cli import app

DATA = json.dumps({"durata_sollecito": "PT1H"})


@pytest.fixture
def inlav(fresh_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INLAV_DATABASE_URL", fresh_url)
    monkeypatch.setenv("INLAV_ENVIRONMENT", "test")
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        output = result.output + (result.stderr if result.stderr_bytes else "")
        assert (result.exit_code == 0) is ok, output
        return output

    return run


def test_operator_journey_through_the_cli(inlav, fresh_url: str) -> None:
    inlav("db", "upgrade")
    inlav("ambiti", "add", "MILANO", "Milano")
    assert "Pacchetto valido" in inlav("processes", "validate", str(BUNDLES / "sample"))
    out = inlav("processes", "deploy", str(BUNDLES / "sample"), "--note", "prova")
    assert "sample_case v1 (nuova versione)" in out
    assert "già presente" in inlav("processes", "deploy", str(BUNDLES / "sample"))
    assert "sample_case" in inlav("processes", "list")

    out = inlav(
        "instances",
        "start",
        "sample_case",
        "--ambito",
        "MILANO",
        "--case-code",
        "MI-1",
        "--data",
        json.dumps({"durata_sollecito": "PT1H"}),
    )
    assert "Caso MI-1 avviato" in out
    _accounts(fresh_url)
    listing = inlav("tasks", "list", "--user", "anna")
    task_id = re.search(r"^([0-9a-f-]{36})\s+MI-1", listing, re.M).group(1)
    assert "1 attività." in listing
    assert "0 attività." in inlav("tasks", "list", "--user", "dario")

    who = ("--user", "anna")
    inlav("tasks", "claim", task_id, *who)
    bad = inlav("tasks", "complete", task_id, "--data", '{"alias": ""}', *who, ok=False)
    assert "alias: campo obbligatorio" in bad
    contact = {"alias": "Amir", "eta": 40, "grado": "lavoro_grigio", "tipi_intervento": ["legale"]}
    assert "Attività completata" in inlav("tasks", "complete", task_id, "--data", json.dumps(contact), *who)

    shown = inlav("instances", "show", "MI-1")
    assert "Eroga l'intervento — legale" in shown
    history = inlav("instances", "history", "MI-1", "--verify")
    assert "task_completed" in history and "Catena di hash integra" in history
    assert "unmatched" in inlav("messages", "send", "risposta_partner", "--key", "ALTRO", "--payload", "{}", ok=False)
    assert "unmatched" in inlav("messages", "list")
    assert "Timer scattati: 0" in inlav("worker", "--once")


def _accounts(url: str) -> None:
    """People with accounts: the CLI acts with their roles, never with roles typed on the command line."""
    from engine import open_platform
    from engine.access import create_user
    from engine.db import transaction
    from tests.conftest import add_ambiti, make_settings

    platform = open_platform(make_settings(url))
    with transaction(platform.sessions) as session:
        add_ambiti(session, "LECCO")
        create_user(session, "anna", "Anna", "password-lunga-1", [("operatore_contatto", "MILANO")])
        create_user(session, "dario", "Dario", "password-lunga-1", [("direttore_pua", "MILANO")])
        create_user(session, "olga", "Olga", "password-lunga-1", [("operatore_contatto", "LECCO")])
        create_user(session, "rita", "Rita", "password-lunga-1", [("revisore", None)])
        create_user(session, "mona", "Mona", "password-lunga-1", [("monitoraggio_regionale", None)])
    platform.close()


def test_cli_commands_follow_the_permission_matrix(inlav, fresh_url: str) -> None:
    inlav("db", "upgrade")
    inlav("ambiti", "add", "MILANO", "Milano")
    inlav("processes", "deploy", str(BUNDLES / "sample"))
    _accounts(fresh_url)
    inlav("instances", "start", "sample_case", "--ambito", "MILANO", "--case-code", "MI-9", "--user", "anna")
    task_id = re.search(r"^([0-9a-f-]{36})", inlav("tasks", "list", "--user", "anna"), re.M).group(1)
    # Another Ambito: the same answer as for a case or task that does not exist.
    assert "Caso «MI-9» non trovato" in inlav("instances", "show", "MI-9", "--user", "olga", ok=False)
    assert "Attività non trovata" in inlav("tasks", "claim", task_id, "--user", "olga", ok=False)
    assert "Ambito «MILANO» non trovato" in inlav(
        "instances", "start", "sample_case", "--ambito", "MILANO", "--user", "olga", ok=False
    )
    # The auditor reads everywhere and changes nothing; the monitor sees no case at all.
    assert "Catena di hash integra" in inlav("instances", "history", "MI-9", "--verify", "--user", "rita")
    assert "(task.work)" in inlav("tasks", "claim", task_id, "--user", "rita", ok=False)
    assert "(case.read)" in inlav("instances", "show", "MI-9", "--user", "mona", ok=False)
    assert "(admin.ambiti)" in inlav("ambiti", "add", "X", "X", "--user", "dario", ok=False)
    assert "Regione" in inlav("processes", "deploy", str(BUNDLES / "sample"), "--user", "dario", ok=False)
    assert "inesistente" in inlav("tasks", "list", "--user", "nessuno", ok=False)


def test_deploy_reports_every_problem_and_fails(inlav, tmp_path) -> None:
    inlav("db", "upgrade")
    broken = tmp_path / "broken.bpmn"
    broken.write_text(
        (BUNDLES / "sample" / "sample_servizi.bpmn")
        .read_text()
        .replace('name="esperto_politiche_lavoro"', 'name="Nessuno"')
    )
    (tmp_path / "eroga.schema.json").write_text((BUNDLES / "sample" / "eroga.schema.json").read_text())
    out = inlav("processes", "deploy", str(tmp_path), ok=False)
    assert "broken.bpmn › eroga: la corsia «Nessuno» non corrisponde a nessun ruolo noto" in out
    assert "Il pacchetto non è valido (1 problema)" in out, "singular, not «(1 problemi)»"
    assert "Il pacchetto non è valido (1 problema):" in inlav("processes", "validate", str(tmp_path), ok=False)
    assert "percorso inesistente" in inlav("processes", "validate", str(tmp_path / "manca"), ok=False)
    assert "Caso «X» non trovato" in inlav("instances", "show", "X", ok=False)


def test_fix_a_broken_diagram_then_migrate_and_retry(inlav, tmp_path) -> None:
    from tests import builders

    inlav("db", "upgrade")
    inlav("ambiti", "add", "MILANO", "Milano")
    broken, fixed = tmp_path / "v1", tmp_path / "v2"
    for folder, script in ((broken, "x = manca + 1"), (fixed, "x = 1")):
        folder.mkdir()
        for name, content in builders.form_then_script(script).items():
            (folder / name).write_bytes(content)
    inlav("processes", "deploy", str(broken))
    inlav("instances", "start", "calcolo", "--ambito", "MILANO", "--case-code", "ROTTO-1")
    task_id = re.search(r"^([0-9a-f-]{36})", inlav("tasks", "list"), re.M).group(1)
    out = inlav("tasks", "complete", task_id, "--data", '{"nota": "x"}', ok=False)
    assert "Attività non completata" in out and "il nome «manca» non è definito" in out
    shown = inlav("instances", "show", "ROTTO-1")
    assert "Stato: Bloccato da un errore" in shown and "Errore nell'elemento" in shown
    assert "Errore: Errore" not in shown and "running" not in shown
    inlav("processes", "deploy", str(fixed))
    assert "Prova: nessuna modifica" in inlav("instances", "migrate", "ROTTO-1")
    assert "Migrazione eseguita" in inlav("instances", "migrate", "ROTTO-1", "--apply")
    assert "Caso ROTTO-1: in corso." in inlav("instances", "retry", "ROTTO-1")
    assert "Attività completata" in inlav("tasks", "complete", task_id, "--data", '{"nota": "x"}')


def test_migrate_all_cases_of_a_process_dry_run_then_apply(inlav, tmp_path) -> None:
    inlav("db", "upgrade")
    inlav("ambiti", "add", "MILANO", "Milano")
    inlav("processes", "deploy", str(BUNDLES / "sample"))
    for code in ("MI-1", "MI-2"):
        inlav("instances", "start", "sample_case", "--ambito", "MILANO", "--case-code", code, "--data", DATA)
    variant = tmp_path / "milano"
    shutil.copytree(BUNDLES / "sample", variant)
    main = variant / "sample_case.bpmn"
    main.write_text(main.read_text(encoding="utf-8").replace("Caso di esempio", "Caso di Milano"), encoding="utf-8")
    inlav("processes", "deploy", str(variant), "--ambito", "MILANO")
    dry = inlav("processes", "migrate-all", "sample_case", "--ambito", "MILANO")
    assert "casi su altre versioni: 2, migrabili: 2" in dry and "MI-1  v1 → v1  migrabile" in dry
    assert "Prova: nessuna modifica" in dry
    applied = inlav("processes", "migrate-all", "sample_case", "--ambito", "MILANO", "--apply")
    assert "Migrazione n. 1 avviata: 2 casi." in applied and "2/2 casi" in applied
    assert "MI-2: migrato" in applied and "Migrazione n. 1 conclusa: 2 migrati su 2." in applied
    again = inlav("processes", "migrate-all", "sample_case", "--ambito", "MILANO", "--apply", ok=False)
    assert "Nessun caso da migrare" in again


def _commands() -> dict[str, list[str]]:
    """Every command of the CLI (`group command`) and its parameter names."""
    import typer.main

    found: dict[str, list[str]] = {}

    def walk(command: object, prefix: str) -> None:
        subs = getattr(command, "commands", None)
        if subs is not None:
            for name, sub in subs.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            found[prefix] = [p.name for p in command.params]  # type: ignore[attr-defined]

    walk(typer.main.get_command(app), "")
    return found


# Arguments that get a command past Typer's own checks to the permission check.
ARGS = {
    "ambiti add": ["X", "X"],
    "processes deploy": [str(BUNDLES / "sample")],
    "processes migrate-all": ["sample_case", "--ambito", "MILANO"],
    "instances start": ["sample_case", "--ambito", "MILANO"],
    "instances show": ["MI-1"],
    "instances history": ["MI-1"],
    "instances migrate": ["MI-1"],
    "instances retry": ["MI-1"],
    "instances stalled": [],
    "tasks list": [],
    "tasks claim": ["x"],
    "tasks release": ["x"],
    "tasks complete": ["x"],
    "messages send": ["x", "--ambito", "MILANO"],
    "users add": ["nuova", "--name", "Nuova", "--role", "mediatore@MILANO", "--generate"],
    "users list": [],
    "users deactivate": ["anna"],
    "users reactivate": ["anna"],
    "audit retention": [],
    "audit retention-set": ["sample_case", "--days", "10", "--action", "purge"],
}


def test_every_cli_command_names_its_action_and_refuses_roles_without_it(inlav, fresh_url: str) -> None:
    from engine.access import Actor, permits
    from web.cli import COMMAND_ACTIONS

    commands = _commands()
    assert set(commands) == set(COMMAND_ACTIONS), "a CLI command without an entry in COMMAND_ACTIONS"
    inlav("db", "upgrade")
    inlav("ambiti", "add", "MILANO", "Milano")
    _accounts(fresh_url)
    monitor = Actor("mona", grants=frozenset({("monitoraggio_regionale", None)}))
    for name, action in COMMAND_ACTIONS.items():
        if action is None:
            assert "user" not in commands[name], f"{name} is console-only: it must not pretend to check a user"
            continue
        assert "user" in commands[name], name
        assert not permits(monitor, action)
        out = inlav(*name.split(), *ARGS[name], "--user", "mona", ok=False)
        assert f"({action.value})" in out, (name, out)


def test_keys_commands_rotate_and_encrypt_existing(inlav, fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.config import DEV_DATA_KEY

    inlav("ambiti", "add", "MILANO", "Milano")
    inlav("processes", "deploy", str(BUNDLES / "sample"))
    inlav("instances", "start", "sample_case", "--ambito", "MILANO", "--case-code", "MI-K1")
    assert "Casi cifrati: 0" in inlav("keys", "encrypt-existing")
    newest = inlav("keys", "generate").strip()
    monkeypatch.setenv("INLAV_DATA_KEYS", f"{newest},{DEV_DATA_KEY}")
    assert "ricifrate con la chiave principale più nuova: 1" in inlav("keys", "rotate")
    monkeypatch.setenv("INLAV_DATA_KEYS", newest)
    assert "MI-K1" in inlav("instances", "show", "MI-K1")
    monkeypatch.setenv("INLAV_DATA_KEYS", "non-una-chiave")
    assert "non valida" in inlav("keys", "rotate", ok=False)


def test_problem_counts_agree_with_their_number() -> None:
    from engine.errors import problems_heading

    assert problems_heading(1) == "Il pacchetto non è valido (1 problema)"
    assert problems_heading(3) == "Il pacchetto non è valido (3 problemi)"


# --------------------------------------------------------------------------- failures exit non-zero


def _write(folder, files: dict[str, bytes]) -> str:
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return str(folder)


def _case_count(url: str) -> int:
    from sqlalchemy import func, select

    from engine import open_platform
    from engine.db import read_transaction
    from engine.models import ProcessInstance
    from tests.conftest import make_settings

    platform = open_platform(make_settings(url))
    with read_transaction(platform.sessions) as session:
        count = session.scalar(select(func.count()).select_from(ProcessInstance)) or 0
    platform.close()
    return count


def test_a_process_started_only_by_message_is_refused_with_the_reason(inlav, fresh_url: str, tmp_path) -> None:
    from tests import builders

    inlav("ambiti", "add", "MILANO", "Milano")
    inlav("processes", "deploy", _write(tmp_path / "ref", builders.referral_bundle(with_none_start=False)))
    _accounts(fresh_url)
    for who in ((), ("--user", "anna")):
        out = inlav("instances", "start", "accoglienza", "--ambito", "MILANO", *who, ok=False)
        assert "si avvia solo con il messaggio «segnalazione»" in out, out
        assert "inlav messages send segnalazione --ambito MILANO" in out
    assert _case_count(fresh_url) == 0, "nothing is stored"
    # The message is the way in: it starts the case.
    assert "delivered" in inlav("messages", "send", "segnalazione", "--ambito", "MILANO", "--payload", "{}")
    assert _case_count(fresh_url) == 1


def test_a_message_nobody_awaits_fails_with_an_italian_message(inlav) -> None:
    inlav("ambiti", "add", "MILANO", "Milano")
    inlav("processes", "deploy", str(BUNDLES / "sample"))
    out = inlav("messages", "send", "risposta_partner", "--key", "NESSUNO", "--ambito", "MILANO", ok=False)
    assert "Messaggio 1 non consegnato (unmatched): nessun caso attende questo messaggio" in out, out
    assert "con la chiave «NESSUNO»" in out
    assert "unmatched" in inlav("messages", "list"), "kept, for when a case waits for it"


def test_a_worker_pass_with_failing_timers_fails(inlav, tmp_path) -> None:
    import time

    from tests import builders

    inlav("ambiti", "add", "MILANO", "Milano")
    bundle = builders.timer_bundle()
    bundle["attesa.bpmn"] = bundle["attesa.bpmn"].replace(b"scattato = True", b"scattato = manca + 1")
    inlav("processes", "deploy", _write(tmp_path / "t", bundle))
    inlav("instances", "start", "attesa", "--ambito", "MILANO", "--data", '{"durata": "PT1S"}')
    time.sleep(1.1)  # the timer is due one second after the start
    out = inlav("worker", "--once", ok=False)
    assert "falliti: 1" in out and "Passata con errori: 1 timer" in out


# Every command that can fail, made to fail: (arguments, words of the Italian message).
FAILURES = {
    "db upgrade": (["db", "upgrade", "--revision", "nessuna"], "Revisione «nessuna» sconosciuta"),
    "db downgrade": (["db", "downgrade", "nessuna"], "Revisione «nessuna» sconosciuta"),
    "ambiti add": (["ambiti", "add", "MILANO", "Milano"], "esiste già"),
    "processes validate": (["processes", "validate", "/nessun/percorso"], "percorso inesistente"),
    "processes deploy": (["processes", "deploy", "/nessun/percorso"], "percorso inesistente"),
    "processes migrate-all": (["processes", "migrate-all", "nessuno", "--ambito", "MILANO"], "Nessuna versione"),
    "instances start": (["instances", "start", "nessuno", "--ambito", "MILANO"], "Nessuna versione del processo"),
    "instances start (bad data)": (
        ["instances", "start", "sample_case", "--ambito", "MILANO", "--data", "{rotto"],
        "JSON non valido",
    ),
    "instances start (missing data file)": (
        ["instances", "start", "sample_case", "--ambito", "MILANO", "--data", "@/nessun/file.json"],
        "Impossibile leggere il file",
    ),
    "instances start (data not an object)": (
        ["instances", "start", "sample_case", "--ambito", "MILANO", "--data", "[]"],
        "I dati devono essere un oggetto JSON",
    ),
    "instances show": (["instances", "show", "X"], "non trovato"),
    "instances history": (["instances", "history", "X"], "non trovato"),
    "instances migrate": (["instances", "migrate", "X"], "non trovato"),
    "instances retry": (["instances", "retry", "X"], "non trovato"),
    "instances stalled": (["instances", "stalled", "--ambito", "NESSUNO"], "Ambito «NESSUNO» non trovato"),
    "tasks list": (["tasks", "list", "--user", "nessuno"], "inesistente"),
    "tasks claim": (["tasks", "claim", "x", "--user", "anna"], "non trovata"),
    "tasks release": (["tasks", "release", "x", "--user", "anna"], "non trovata"),
    "tasks complete": (["tasks", "complete", "x"], "non trovata"),
    "messages send": (["messages", "send", "x", "--ambito", "MILANO"], "non consegnato"),
    "messages send (unknown Ambito)": (["messages", "send", "arrivo", "--ambito", "NOPE"], "Ambito «NOPE» non trovato"),
    "backup create": (["backup", "create", "{existing}"], "esiste già"),
    "backup verify": (["backup", "verify", "/nessuna/copia.db"], "non esiste"),
    "backup restore": (["backup", "restore", "/nessuna/copia.db"], "non esiste"),
    "users add": (["users", "add", "anna", "--name", "Anna", "--role", "revisore", "--generate"], "Il modulo"),
    "users list": (["users", "list", "--user", "anna"], "(admin.users)"),
    "users deactivate": (["users", "deactivate", "nessuno"], "non trovato"),
    "users reactivate": (["users", "reactivate", "nessuno"], "non trovato"),
    "keys rotate": (["keys", "rotate"], "non valida"),
    "audit retention": (["audit", "retention", "--apply", "--user", "rita"], "non consente"),
    "audit retention-set": (
        ["audit", "retention-set", "nessuno", "--days", "0", "--action", "brucia"],
        "almeno un giorno",
    ),
}


def test_every_command_that_fails_exits_non_zero(
    inlav, fresh_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = tmp_path / "copia.db"
    existing.write_text("")
    inlav("ambiti", "add", "MILANO", "Milano")
    inlav("processes", "deploy", str(BUNDLES / "sample"))
    inlav("instances", "start", "sample_case", "--ambito", "MILANO")
    _accounts(fresh_url)
    for name, (args, words) in FAILURES.items():
        if name.startswith("keys"):
            monkeypatch.setenv("INLAV_DATA_KEYS", "non-una-chiave")
        out = inlav(*(a.replace("{existing}", str(existing)) for a in args), ok=False)
        assert words in out, (name, out)
        assert "Traceback" not in out, (name, out)
    tried = {name.split(" (")[0] for name in FAILURES}
    # Listings and key generation cannot fail on their own; the worker's failing pass is tested
    # above; `keys encrypt-existing` and `keys reindex` need the data key only when a case has
    # something to open (then they fail like `keys rotate`); serve and demo seed are not driven here.
    cannot_fail = {
        "ambiti list",
        "processes list",
        "messages list",
        "keys generate",
        "keys encrypt-existing",
        "keys reindex",
        "serve",
        "worker",
        "demo seed",
    }
    assert tried | cannot_fail == set(_commands()), set(_commands()) - tried - cannot_fail


def test_stalled_cases_are_listed_and_noted_once_by_the_worker(inlav, fresh_url: str, tmp_path) -> None:
    from engine import open_platform
    from engine.worker import notice_stalls
    from tests.conftest import make_settings
    from tests.engine.test_stalls import deadlock_bundle

    inlav("ambiti", "add", "MILANO", "Milano")
    inlav("processes", "deploy", _write(tmp_path / "s", deadlock_bundle()))
    inlav("processes", "deploy", str(BUNDLES / "sample"))
    inlav("instances", "start", "stallo", "--ambito", "MILANO", "--case-code", "FERMO-1")
    inlav("instances", "start", "sample_case", "--ambito", "MILANO", "--case-code", "VIVO-1")
    _accounts(fresh_url)
    out = inlav("instances", "stalled", "--user", "dario")
    assert "FERMO-1" in out and "MILANO" in out and "stallo v1" in out and "fermo dal" in out, out
    assert "VIVO-1" not in out and "1 caso fermo." in out
    assert "0 casi fermi." in inlav("instances", "stalled", "--ambito", "LECCO")
    assert "(case.migrate)" in inlav("instances", "stalled", "--user", "anna", ok=False)

    platform = open_platform(make_settings(fresh_url))
    try:
        assert [c.case_code for c in notice_stalls(platform.sessions)] == ["FERMO-1"]
        assert notice_stalls(platform.sessions) == [], "noted once"
    finally:
        platform.close()
    assert "stalled" in inlav("instances", "history", "FERMO-1", "--verify")
    assert "FERMO-1" in inlav("instances", "stalled"), "still listed until someone resumes it"


def test_the_console_entry_point_explains_database_and_file_failures(
    fresh_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `typer` would print as a traceback (a database never migrated, a path that cannot
    be written) reaches the person as one Italian sentence and exit code 1."""
    from web.cli import main

    def run(*args: str) -> str:
        monkeypatch.setattr("sys.argv", ["inlav", *args])
        with pytest.raises(SystemExit) as stopped:
            main()
        assert stopped.value.code == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err
        return err

    monkeypatch.setenv("INLAV_ENVIRONMENT", "test")
    monkeypatch.setenv("INLAV_DATABASE_URL", f"sqlite:///{tmp_path / 'mai-preparato.db'}")
    assert "Il database non è preparato: eseguire `inlav db upgrade`." in run("tasks", "list")
    monkeypatch.setenv("INLAV_DATABASE_URL", fresh_url)
    CliRunner().invoke(app, ["db", "upgrade"], catch_exceptions=False)
    err = run("backup", "create", "/proc/copia.db")
    assert "non riuscita: la cartella o il file non esiste" in err or "permesso negato" in err, err


def test_retention_from_the_command_line_dry_run_first(inlav, fresh_url: str) -> None:
    from sqlalchemy import select

    from engine import open_platform
    from engine.db import read_transaction, transaction
    from engine.models import CaseRetention, RetentionRun
    from tests.conftest import make_settings
    from tests.engine.test_retention import closed_case

    platform = open_platform(make_settings(fresh_url))
    with transaction(platform.sessions) as session:
        code = closed_case(session, platform.settings).case_code
    _accounts(fresh_url)
    out = inlav(
        "audit", "retention-set", "accoglienza_riservata", "--days", "365", "--action", "purge", "--note", "DGR"
    )
    assert "«accoglienza_riservata» (Tutta la regione), versione 1: 365 giorni, poi cancellare." in out
    out = inlav("audit", "retention", "--user", "rita")
    assert code in out and "Da anonimizzare: 0; da cancellare: 1; rimandati: 0." in out and "Nessuna modifica" in out
    assert "non consente" in inlav("audit", "retention", "--apply", "--user", "rita", ok=False)
    assert "(retention.manage)" in inlav(
        "audit", "retention-set", "x", "--days", "1", "--action", "purge", "--user", "rita", ok=False
    )
    out = inlav("audit", "retention", "--apply")
    assert "0 casi anonimizzati, 1 cancellati, 0 rimandati." in out
    with read_transaction(platform.sessions) as session:
        assert [r.case_code for r in session.scalars(select(CaseRetention))] == [code]
        modes = [(r.mode, r.trigger) for r in session.scalars(select(RetentionRun).order_by(RetentionRun.id))]
    # The auditor's dry run is not recorded (she changes nothing); the console's is, then its application.
    assert modes == [("dry_run", "cli"), ("applied", "cli")]
    assert "da cancellare: 0" in inlav("audit", "retention")
    platform.close()
