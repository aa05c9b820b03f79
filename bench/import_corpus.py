"""Import third-party process models and report, per model, how far each gets.

    .venv/bin/python -m bench.import_corpus DIR_OR_ZIP [...] [--json out.json] [--role operatore_contatto]

A model is a SpiffArena process-model folder (a folder with `process_model.json`, with every
file under it) or a loose `.bpmn` file (one that no model folder holds). For each model:

- before: what a plain deployment did before the import wizard — `read_bundle_paths` of the
  folder or file, then `check_bundle`: «deploys as is» or the first problem;
- after: `unpack` + `plan_import` + `import_draft` (every lane or candidate group the platform
  does not know, and the tasks with neither, mapped to `--role`; forms made for the user tasks
  without one; the primary process made executable), then `check_bundle` of the draft
  («validates clean», i.e. would publish), `deploy_bundle`, and a case started and walked:
  every open task completed with data made from its form (required fields filled with a
  default of their type), due timers fired with the engine's clock moved forward a year at a
  time, until the case ends, fails, or waits for something no one sends (a message).

Each model runs on a new SQLite database. Nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import sys
import tempfile
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import select

from engine import open_platform
from engine.access.roles import LANE_ROLES, Actor
from engine.clock import utcnow
from engine.config import Settings
from engine.definitions import check_bundle, deploy_bundle, read_bundle_paths
from engine.errors import DefinitionError, EngineError
from engine.instances import run_step, start_instance
from engine.models import Ambito, HumanTask, ProcessInstance, Timer
from engine.platform import upgrade_database
from engine.studio.transfer import NO_LANE, import_draft, plan_import, unpack
from engine.tasks import complete_task, form_for

MODEL_FILE = "process_model.json"
AMBITO = "MILANO"


@dataclass
class Result:
    """How far one model got."""

    model: str
    before: str
    """«deploys» or the first problem of a plain check."""
    imported: bool = False
    valid: bool = False
    ran: bool = False
    reason: str = ""
    problems: int = 0
    before_kinds: list[str] = field(default_factory=list)
    after_kinds: list[str] = field(default_factory=list)


_PROCESS = re.compile(rb"<(?:\w+:)?process\b[^>]*?\bid=\"([^\"]+)\"")
_CALL = re.compile(rb"calledElement=\"([^\"]+)\"")


def _zip_folders(folders: list[Path], root: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in folders:
            for file in sorted(folder.rglob("*")):
                if file.is_file() and file.suffix.lower() in {".bpmn", ".dmn", ".json"}:
                    archive.writestr(str(file.relative_to(root)), file.read_bytes())
    return buffer.getvalue()


def models_in(
    paths: list[Path], folders_as_models: bool = False, with_callees: bool = False
) -> list[tuple[str, list[tuple[str, bytes]], Path | None]]:
    """(label, uploaded files, path for the plain check) of each model under the arguments.

    A model is a folder with `process_model.json`, else a loose .bpmn file (or, with
    `folders_as_models`, each folder that directly holds .bpmn files). With `with_callees`, a
    model's upload also carries the model folders that define the processes it calls (as a
    person would zip them together), so calls across folders resolve.
    """
    found: list[tuple[str, list[tuple[str, bytes]], Path | None]] = []
    for path in paths:
        if path.suffix == ".zip":
            found.append((path.name, [(path.name, path.read_bytes())], None))
            continue
        if path.is_file():
            found.append((path.name, [(path.name, path.read_bytes())], path))
            continue
        folders = sorted(p.parent for p in path.rglob(MODEL_FILE))
        loose = [f for f in sorted(path.rglob("*.bpmn")) if not any(d in f.parents for d in folders)]
        if folders_as_models:
            extra = sorted({f.parent for f in loose})
            folders = sorted(folders + extra)
            loose = []
        defines: dict[bytes, Path] = {}
        calls: dict[Path, set[bytes]] = {}
        for folder in folders:
            for file in folder.rglob("*.bpmn"):
                text = file.read_bytes()
                for pid in _PROCESS.findall(text):
                    defines.setdefault(pid, folder)
                calls.setdefault(folder, set()).update(_CALL.findall(text))
        for folder in folders:
            group = [folder]
            if with_callees:
                pending = list(calls.get(folder, ()))
                while pending:
                    target = defines.get(pending.pop())
                    if target is not None and target not in group:
                        group.append(target)
                        pending.extend(calls.get(target, ()))
            found.append((str(folder.relative_to(path)), [(f"{folder.name}.zip", _zip_folders(group, path))], folder))
        for file in loose:
            found.append((str(file.relative_to(path)), [(file.name, file.read_bytes())], file))
    return found


def plain_check(path: Path | None) -> tuple[str, list[str]]:
    """What main's deployment said of the model as it is (before the wizard), and the kinds of problem."""
    if path is None:
        return "(zip: non controllato)", []
    try:
        files = read_bundle_paths([path])
    except DefinitionError as exc:
        return str(exc.problems[0]), sorted({_kind(p.message) for p in exc.problems})
    check = check_bundle(None, files)
    if check.ok:
        return "deploys", []
    kinds = sorted({_kind(p.message) for p in check.problems})
    return f"{len(check.problems)} problemi, es. {check.problems[0]}", kinds


class _Clock:
    """Moves SpiffWorkflow's timer clock forward (the engine's own clock is untouched)."""

    offset = timedelta()

    class Moved(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
            return datetime.now(tz) + _Clock.offset


def sample(schema: dict[str, Any]) -> dict[str, Any]:
    """Data for a form: each required field (and each enum) given a value of its type."""
    data: dict[str, Any] = {}
    required = set(schema.get("required") or [])
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or (name not in required and "enum" not in prop):
            continue
        if prop.get("enum"):
            data[name] = prop["enum"][0]
            continue
        kind = prop.get("type")
        kind = kind[0] if isinstance(kind, list) else kind
        fmt = prop.get("format")
        if kind == "string":
            data[name] = "2026-01-01" if fmt == "date" else ("x@example.org" if fmt == "email" else "x")
        elif kind in ("integer", "number"):
            data[name] = max(prop.get("minimum", 1), 1)
        elif kind == "boolean":
            data[name] = True
        elif kind == "array":
            data[name] = []
        elif kind == "object":
            data[name] = sample(prop)
    return data


def walk_case(platform: Any, settings: Settings, key: str, actor: Actor) -> tuple[bool, str]:
    """Start a case and drive it as far as it goes: (ran to its end, why it stopped)."""
    with platform.sessions.begin() as session:
        outcome = start_instance(session, settings, key, AMBITO, actor)
        instance_id = outcome.instance.id
        if outcome.error is not None:
            return False, f"errore all'avvio: {outcome.error}"
    for _ in range(60):
        with platform.sessions.begin() as session:
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            if instance.status == "completed":
                return True, ""
            if instance.status == "error":
                return False, "il caso è in errore"
            task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id).limit(1))
            if task is not None:
                schema = form_for(session, task) or {}
                result = complete_task(session, settings, task.task_id, sample(schema), actor)
                if result.error is not None:
                    return False, f"errore dopo «{task.task_name}»: {result.error}"
                continue
            if session.scalar(select(Timer).where(Timer.instance_id == instance_id).limit(1)) is None:
                return False, "il caso attende qualcosa che nessuno invia (messaggio o evento)"
            _Clock.offset += timedelta(days=400)
            result = run_step(session, settings, instance_id, Actor("sistema", system=True), lambda c: c.fire_timers())
            if result.error is not None:
                return False, f"errore a un timer: {result.error}"
    return False, "il caso non finisce entro 60 passi"


_TEMPLATE: list[Path] = []


def _template() -> Path:
    """A migrated empty SQLite database, made once and copied for each model."""
    if not _TEMPLATE:
        path = Path(tempfile.mkdtemp(prefix="inlav-import-template-")) / "template.db"
        upgrade_database(f"sqlite:///{path}")
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


def import_one(label: str, uploads: list[tuple[str, bytes]], before: tuple[str, list[str]], role: str) -> Result:
    """Import, validate, deploy and run one model on a new database."""
    result = Result(label, before[0], before_kinds=before[1])
    path = Path(tempfile.mkdtemp(prefix="inlav-import-")) / "import.db"
    shutil.copyfile(_template(), path)
    url = f"sqlite:///{path}"
    settings = Settings(database_url=url, environment="test")  # type: ignore[call-arg]
    platform = open_platform(settings)
    actor = Actor("import", roles=frozenset(LANE_ROLES | {"coordinamento_regionale"}), ambiti=frozenset({AMBITO}))
    try:
        with platform.sessions.begin() as session:
            session.add(Ambito(code=AMBITO, name="Milano", created_at=utcnow()))
        plan = plan_import(None, unpack(uploads))
        mapping = {item.name: item.role or role for item in plan.names}
        mapping.setdefault(NO_LANE, role)
        plan = plan_import(None, unpack(uploads), AMBITO, mapping, True)
        result.problems = len(plan.findings)
        with platform.sessions.begin() as session:
            draft = import_draft(session, actor, AMBITO, plan, mapping, None, True)
            result.imported = True
            files = draft.files
            key = draft.process_key
        with platform.sessions.begin() as session:
            check = check_bundle(session, files, AMBITO)
            result.after_kinds = sorted({_kind(p.message) for p in check.problems})
            if not check.ok:
                result.reason = f"non valida: {check.problems[0]}"
                return result
            result.valid = True
            deploy_bundle(session, files, AMBITO, "import")
        result.ran, result.reason = walk_case(platform, settings, key, actor)
    except DefinitionError as exc:
        result.reason = f"rifiutato: {exc.problems[0]}"
    except EngineError as exc:
        result.reason = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # an engine failure is a finding of the measurement, not the end of it
        result.reason = f"errore interno: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        platform.close() if hasattr(platform, "close") else None
    return result


def _kind(message: str) -> str:
    """A problem message without its names and details, to count problems of the same kind."""
    text = re.sub(r"«[^»]*»", "«…»", message)
    text = re.sub(r"riga \d+(, colonna \d+)?", "riga …", text)
    return re.sub(r"`[^`]*`", "`…`", text)[:100]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--role", default="operatore_contatto", choices=sorted(LANE_ROLES))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--folders", action="store_true", help="each folder holding .bpmn files is one model")
    parser.add_argument("--with-callees", action="store_true", help="upload the folders of called processes too")
    args = parser.parse_args(argv)
    results = []
    with mock.patch("SpiffWorkflow.bpmn.specs.event_definitions.timer.datetime", _Clock.Moved):
        for label, uploads, path in models_in(args.paths, args.folders, args.with_callees):
            _Clock.offset = timedelta()
            result = import_one(label, uploads, plain_check(path), args.role)
            results.append(result)
            state = "ran" if result.ran else "valid" if result.valid else "draft" if result.imported else "refused"
            print(f"{state:8} {label}: {result.reason or 'ok'}  [prima: {result.before[:100]}]", flush=True)
    total = len(results)
    counts = Counter("ran" if r.ran else "valid" if r.valid else "draft" if r.imported else "refused" for r in results)
    print(
        f"\nmodelli: {total}; prima, pubblicabili così come sono: {sum(r.before == 'deploys' for r in results)}; "
        f"dopo: importati come bozza {sum(r.imported for r in results)}, validi {sum(r.valid for r in results)}, "
        f"eseguiti fino alla fine {sum(r.ran for r in results)}, rifiutati {counts['refused']}"
    )
    reasons = Counter(r.reason.split(":")[0] + ":" + r.reason.split(":")[-1][:80] for r in results if not r.ran)
    for reason, count in reasons.most_common(15):
        print(f"  {count:3}  {reason}")
    print("modelli con almeno un problema del tipo, prima (file così come sono) → dopo (bozza importata):")
    before = Counter(k for r in results for k in r.before_kinds)
    after = Counter(k for r in results for k in r.after_kinds)
    for kind in sorted(set(before) | set(after), key=lambda k: -max(before[k], after[k]))[:25]:
        print(f"  {before[kind]:3} → {after[kind]:3}  {kind}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
