"""Write a golden stored case (the current storage format) for tests/engine/test_golden.py.

From format 2 on it also holds the case's wrapped data key (wrapped with the development
master key) and its identity field names, so the test can open the sealed values.

Run only when a new storage format is introduced; keep the old golden files so every
format ever written stays loadable:

    .venv/bin/python -m tests.golden.make_golden
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from engine import open_platform, start_instance
from engine.db import transaction
from engine.models import HumanTask, ProcessDefinition, ProcessInstance, SubprocessState, TaskData, TaskState
from engine.platform import upgrade_database
from engine.privacy import fields_of_case
from engine.store import STORAGE_FORMAT
from engine.tasks import complete_task
from tests.conftest import OPERATOR, add_ambiti, deploy, make_settings

OUT = Path(__file__).parent / f"sample_case_v{STORAGE_FORMAT}.json"


def main() -> None:
    url = "sqlite:///var/golden.db"
    Path("var/golden.db").unlink(missing_ok=True)
    upgrade_database(url)
    platform = open_platform(make_settings(url))
    with transaction(platform.sessions) as session:
        add_ambiti(session)
        deploy(session)
        instance = start_instance(
            session, platform.settings, "sample_case", "MILANO", OPERATOR, "GOLDEN-1", {"durata_sollecito": "PT1H"}
        ).instance
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
        contact = {"alias": "Golden", "eta": 16, "grado": "lavoro_nero", "tipi_intervento": ["orientamento", "legale"]}
        complete_task(session, platform.settings, task.task_id, contact, OPERATOR)
    with transaction(platform.sessions) as session:
        instance = session.scalar(select(ProcessInstance))
        manifest = json.loads(instance.manifest_json)
        definitions = {
            d.process_key: {"content_hash": d.content_hash, "spec_json": d.spec_json}
            for d in session.scalars(select(ProcessDefinition))
        }
        tasks = [
            {
                "task_id": t.task_id,
                "workflow_id": t.workflow_id,
                "spec_name": t.spec_name,
                "state": t.state,
                "row": json.loads(t.row_json),
                "data_hash": t.data_hash,
            }
            for t in session.scalars(select(TaskState).order_by(TaskState.task_id))
        ]
        blobs = {b.hash: json.loads(b.data_json) for b in session.scalars(select(TaskData))}
        subprocesses = {
            s.subprocess_id: [s.spec_name, json.loads(s.attrs_json)] for s in session.scalars(select(SubprocessState))
        }
        golden = {
            "format": STORAGE_FORMAT,
            "case_code": instance.case_code,
            "main": instance.process_key,
            "manifest": {key: value[1] for key, value in manifest.items()},
            "definitions": definitions,
            "workflow": json.loads(instance.workflow_json),
            "subprocesses": subprocesses,
            "tasks": tasks,
            "blobs": blobs,
            "data_key": instance.data_key,
            "personal_fields": sorted(fields_of_case(session, instance)),
        }
    OUT.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
