"""The reporting-facts contract (docs/reporting-facts.md) holds: a whole case writes every documented fact."""

from __future__ import annotations

import json
import re
from typing import Any

from engine import deliver, send_message
from engine.models import ProcessInstance
from tests.model.journey import AMBITO, ROOT, CaseDriver, intervento

DOC = (ROOT / "docs" / "reporting-facts.md").read_text(encoding="utf-8")
MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def documented() -> dict[str, dict[str, Any]]:
    """Rows of the «Variabile» tables: name -> type, listed values, forms that write it."""
    rows: dict[str, dict[str, Any]] = {}
    in_table = False
    for line in DOC.splitlines():
        if line.startswith("| Variabile |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if not in_table or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        names = re.findall(r"`([a-z_]+)`", cells[0])
        for name in names:
            rows[name] = {
                "type": cells[1],
                "values": re.findall(r"`([^`]+)`", cells[2]),
                "open": "…" in cells[2] or "codice del" in cells[2],
                "forms": re.findall(r"modulo `(\w+)`", cells[3]),
            }
    return rows


def fields_of(title: str) -> set[str]:
    """Field names of the «Campo» table that follows a heading line containing `title`."""
    section = DOC.split(title, 1)[1]
    names: set[str] = set()
    started = False
    for line in section.splitlines():
        if line.startswith("| Campo |"):
            started = True
            continue
        if started and not line.startswith("|"):
            break
        if started and not line.startswith("|---"):
            names.update(re.findall(r"`([a-z_]+)`", line.strip("|").split("|")[0]))
    return names


def test_documented_values_are_the_forms_values() -> None:
    facts = documented()
    assert len(facts) > 40
    checked = 0
    for name, row in facts.items():
        for form in row["forms"]:
            schema = json.loads((ROOT / "forms" / "schemas" / f"{form}.schema.json").read_text())
            prop = schema["properties"].get(name)
            assert prop is not None, f"{name} non è nel modulo {form}"
            enum = prop.get("enum") or (prop.get("items") or {}).get("enum")
            if enum is None or row["open"]:
                continue
            listed = [v for v in row["values"] if v != "null"]
            assert sorted(listed) == sorted(enum), f"{name}: il documento e il modulo {form} non coincidono"
            checked += 1
    assert checked >= 15


def test_a_whole_case_writes_every_documented_fact(db, settings, model) -> None:
    message = send_message(
        db,
        "segnalazione_pua",
        {
            "partner": "MI-CPI",
            "contesto": "cpi",
            "genere": "donna",
            "fascia_eta": "25_34",
            "nazionalita": "BD",
            "lingua": "bn",
        },
        ambito=AMBITO,
        source="cpi",
    )
    deliver(db, settings, message.id)
    case = CaseDriver(db, settings, db.get(ProcessInstance, message.instance_id))
    # A referred case runs on the default timers (days): they are fired here as if their time had come.
    case.complete("registra_contatto", {"consenso_ricontatto": True, "prossimo_passo": "ricontatto"})
    _fire_now(case)
    case.complete("ricontatta", {"esito_ricontatto": "incontrata", "prossimo_passo": "valutazione"})
    case.assess(grado="grave_sfruttamento", nazionalita="BD")
    case.complete(
        "parere_legale",
        {"parere_legale": "Sfruttamento lavorativo", "percorsi_tutela": ["vertenza"], "urgenza_protezione": False},
    )
    case.decide(True)
    case.plan([intervento("consulenza_legale"), intervento("politica_attiva_cpi", "invio", partner="MI-CPI")])
    case.complete("eroga_legale", {"stato_erogazione": "concluso", "data_erogazione": "2026-12-03"})
    case.complete("invia_al_partner", {"consenso_condivisione": True})
    code = next(i["id"] for i in case.facts()["interventi"] if i["modalita"] == "invio")
    case.answer_referral(code, {"esito": "accettato", "data_avvio": "2026-12-09"})
    assert case.names() == [], "la verifica attende l'intervallo di monitoraggio (30 giorni)"
    _fire_now(case)
    case.review("rivedi_pip", andamento="positivo")
    case.plan([intervento("corso_italiano", "invio", partner="MI-CPI")])
    case.complete("invia_al_partner", {"consenso_condivisione": True})
    code2 = [i["id"] for i in case.facts()["interventi"]][-1]
    case.answer_referral(code2, {"esito": "rifiutato"})
    _fire_now(case)
    case.review("chiudi", andamento="positivo")
    case.complete(
        "chiudi_percorso",
        {
            "esiti_chiusura": ["inserimento_lavorativo", "vertenza"],
            "tipo_contratto": "tempo_indeterminato",
            "settore_inserimento": "agricoltura",
            "emersione": "si",
            "follow_up": True,
        },
    )
    _fire_now(case)
    case.complete("follow_up", {"esito_follow_up": "stabile"})

    final = case.final_data()
    replayed = case.facts()
    kept = json.loads(case.instance.case_data_json)  # the engine's own fold of the history
    facts = documented()
    missing = [name for name in facts if name not in final]
    assert missing == [], f"fatti documentati ma non scritti: {missing}"
    for name, row in facts.items():
        value = final[name]
        assert replayed.get(name) == value, f"{name}: la storia non ricostruisce il valore finale"
        assert kept.get(name) == value, f"{name}: i dati del caso tenuti dal motore sono diversi"
        if row["type"] == "momento":
            assert MOMENT.match(value), (name, value)
        elif row["type"] == "data":
            assert DATE.match(value), (name, value)
        elif row["type"] == "numero":
            assert isinstance(value, int), (name, value)
        elif row["type"] == "sì/no":
            assert isinstance(value, bool), (name, value)
        elif row["type"].startswith("codice") and row["values"] and not row["open"]:
            assert value in row["values"] or (value is None and "null" in row["values"]), (name, value)
        elif row["type"] == "elenco di codici" and row["values"]:
            assert set(value) <= set(row["values"]), (name, value)
    assert final["ts_segnalazione"] <= final["ts_contatto"] <= final["ts_valutazione"] <= final["ts_decisione"]
    assert final["ts_decisione"] <= final["ts_pip"] <= final["ts_attuazione"] <= final["ts_ultima_revisione_pip"]
    assert final["ts_ultima_verifica"] <= final["ts_chiusura"] <= final["ts_follow_up"]
    assert final["segnalato_da"] == "MI-CPI" and final["esito_percorso"] == "concluso"

    intervention_fields = fields_of("Ogni intervento di `interventi`")
    for item in final["interventi"]:
        assert set(item) >= intervention_fields - {"erogato_da", "invio", "ultima_nota"}
        assert set(item) <= intervention_fields, f"campi non documentati: {set(item) - intervention_fields}"
    assert "erogato_da" in final["interventi"][0] and "invio" in final["interventi"][1]
    referral_fields = fields_of("Ogni invio di `invii`")
    assert [(i["tipo"], i["esito"], i["partner"]) for i in final["invii"]] == [
        ("politica_attiva_cpi", "accettato", "MI-CPI"),
        ("corso_italiano", "rifiutato", "MI-CPI"),
    ]
    for item in final["invii"]:
        assert set(item) == referral_fields, set(item) ^ referral_fields


def _fire_now(case: CaseDriver) -> None:
    """Fire the case's waiting timers as if their time had come (the worker's job, minus the wait)."""
    from engine.access.roles import SYSTEM
    from engine.instances import run_step

    def action(c: Any) -> Any:
        for task in list(c.workflow.event_manager.tasks.values()):
            value = task.internal_data.get("event_value")
            if isinstance(value, str):
                task.internal_data["event_value"] = "2000-01-01T00:00:00+00:00"
        return c.fire_timers()

    outcome = run_step(case.db, case.settings, case.instance.id, SYSTEM, action)
    assert outcome.error is None
