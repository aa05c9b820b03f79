"""PIP: goals, interventions from the catalogue, labour plan, the Direttore's approval (which an Ambito may drop)."""

from __future__ import annotations

import pytest
from lxml import etree

from engine import Forbidden, FormInvalid, complete_task, start_instance
from engine.definitions import deploy_bundle
from tests.model.journey import (
    DIRETTORE,
    PIANO_LAVORO,
    ROOT,
    SHORT,
    SOCIALE,
    CaseDriver,
    intervento,
    person,
    task_data,
)


def test_director_sends_the_plan_back_and_then_approves_it(start_case) -> None:
    case = start_case().contact().assess().decide()
    shown = task_data(case, "redigi_pip")
    assert shown["riepilogo_interventi"] == "Nessun intervento ancora nel piano." and shown["interventi_nuovi"] == []
    rows = [
        intervento("consulenza_legale"),
        intervento("politica_attiva_cpi", "invio", partner="MI-CPI", descrizione="Iscrizione e DID"),
    ]
    case.plan(rows, approve=False)
    assert case.names() == ["approva_pip"]
    summary = task_data(case, "approva_pip")["riepilogo_pip"]
    assert "Consulenza legale" in summary and "invio a MI-CPI" in summary and "Magazziniere" in summary
    task = case.task("approva_pip")
    with pytest.raises(FormInvalid) as err:
        complete_task(case.db, case.settings, task.task_id, {"esito_approvazione_pip": "da_rivedere"}, DIRETTORE)
    assert err.value.errors == {"note_direttore": ["almeno 5 caratteri"]}
    with pytest.raises(Forbidden):  # not the Direttore's lane: the expert cannot approve her own plan
        complete_task(case.db, case.settings, task.task_id, {"esito_approvazione_pip": "approvato"}, SOCIALE)
    case.complete(
        "approva_pip",
        {"esito_approvazione_pip": "da_rivedere", "note_direttore": "Aggiungere il supporto per i documenti"},
    )
    shown = task_data(case, "redigi_pip")
    assert shown["note_direttore"] == "Aggiungere il supporto per i documenti"
    assert len(shown["interventi_nuovi"]) == 2, "quanto scritto non si perde"
    case.plan([*shown["interventi_nuovi"], intervento("supporto_documenti", data_fine="2027-02-28")])
    facts = case.facts()
    assert facts["fase"] == "erogazione" and facts["n_revisioni_pip"] == 1 and "ts_pip" in facts
    rif = facts["rif_caso"]
    assert [(i["id"], i["tipo"], i["ruolo"], i["modalita"], i["partner"], i["stato"]) for i in facts["interventi"]] == [
        (f"{rif}-I1", "consulenza_legale", "consulente_legale", "interna", "", "pianificato"),
        (f"{rif}-I2", "politica_attiva_cpi", "esperto_politiche_lavoro", "invio", "MI-CPI", "pianificato"),
        (f"{rif}-I3", "supporto_documenti", "esperto_servizi_sociali", "interna", "", "pianificato"),
    ]
    assert facts["interventi"][1]["titolo"] == "Percorso di politica attiva al Centro per l'impiego: Iscrizione e DID"
    assert facts["interventi"][2]["data_fine"] == "2027-02-28"
    assert "interventi_nuovi" not in facts and "interventi_proposti" not in facts


def test_plan_rows_are_checked(start_case) -> None:
    case = start_case().contact().assess().decide()
    task = case.task("redigi_pip")
    base = {"obiettivi_pip": "Lavoro regolare", "condiviso_con_persona": True}
    with pytest.raises(FormInvalid) as err:
        complete_task(
            case.db,
            case.settings,
            task.task_id,
            {
                **base,
                "interventi_nuovi": [
                    {"tipo": "tirocinio", "modalita": "invio", "data_inizio": "2026-12-01"},
                    {"tipo": "corso_di_cucito", "modalita": "interna", "data_inizio": "2026-12-01"},
                    {"tipo": "tirocinio", "modalita": "invio", "partner": "LC-CPI", "data_inizio": "2026-12-01"},
                    {"tipo": "mediazione", "modalita": "interna"},
                ],
            },
            SOCIALE,
        )
    assert err.value.errors == {
        "interventi_nuovi[0].partner": ["campo obbligatorio"],
        "interventi_nuovi[1].tipo": ["scegliere uno dei valori proposti"],
        "interventi_nuovi[2].partner": ["scegliere uno dei valori proposti"],
        "interventi_nuovi[3].data_inizio": ["campo obbligatorio"],
    }
    with pytest.raises(FormInvalid) as err:
        complete_task(
            case.db,
            case.settings,
            task.task_id,
            {**base, "condiviso_con_persona": False, "interventi_nuovi": []},
            SOCIALE,
        )
    assert err.value.errors == {"condiviso_con_persona": ["valore non ammesso"]}


def test_responsible_role_can_override_the_catalogue(start_case) -> None:
    case = start_case().to_pip(
        [intervento("corso_italiano", ruolo="esperto_servizi_sociali"), intervento("corso_italiano")]
    )
    assert [i["ruolo"] for i in case.facts()["interventi"]] == ["esperto_servizi_sociali", "mediatore"]
    assert sorted(t.lane for t in case.open_tasks()) == ["esperto_servizi_sociali", "mediatore"]


def _without_approval() -> bytes:
    """The regional PIP diagram as an Ambito would edit it: «Approva il PIP» and its gateway removed."""
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    tree = etree.parse(str(ROOT / "processes" / "inlav_pip.bpmn"))
    root = tree.getroot()
    process = root.find("bpmn:process", ns)
    gone = {"approva_pip", "gw_pip_approvato", "f_esaminato", "f_approvato", "f_da_rivedere"}
    for element in list(process):
        if element.get("id") in gone:
            process.remove(element)
    for ref in process.iterfind(".//bpmn:flowNodeRef", ns):
        if ref.text in gone:
            ref.getparent().remove(ref)
    process.find("bpmn:sequenceFlow[@id='f_interventi_pronti']", ns).set("targetRef", "aggiorna_piano")
    for diagram in root.findall("bpmndi:BPMNDiagram", ns):
        root.remove(diagram)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_an_ambito_can_drop_the_directors_approval_by_editing_the_diagram(db, settings, model) -> None:
    schemas = ROOT / "forms" / "schemas"
    files = {"inlav_pip.bpmn": _without_approval()}
    for name in ("pip.schema.json", "pip.uischema.json", "piano_lavoro.schema.json", "piano_lavoro.uischema.json"):
        files[name] = (schemas / name).read_bytes()
    variant = deploy_bundle(db, files, "LECCO", "coordinatrice.lecco")
    assert [(d.process_key, d.version) for d in variant.definitions] == [("inlav_pip", 1)]

    lecco = start_instance(
        db,
        settings,
        "inlav_percorso",
        "LECCO",
        person("operatore_contatto", "op.lecco", "LECCO"),
        data={"avvio": SHORT},
    )
    case = CaseDriver(db, settings, lecco.instance)
    actors = {
        role: person(role, f"{role}.lecco", "LECCO")
        for role in ("operatore_contatto", "esperto_servizi_sociali", "esperto_politiche_lavoro", "consulente_legale")
    }

    def do(name: str, data: dict) -> None:
        case.complete(name, data, actors[case.task(name).lane])

    do(
        "registra_contatto",
        {
            "contesto": "cpi",
            "genere": "donna",
            "fascia_eta": "45_54",
            "consenso_ricontatto": True,
            "prossimo_passo": "valutazione",
        },
    )
    do(
        "colloquio_valutazione",
        {
            "titolo_soggiorno": "lungo_periodo",
            "settore": "servizi_persona",
            "grado": "lavoro_grigio",
            "adesione_percorso": True,
            "nazionalita": "UA",
        },
    )
    do("decidi_presa_in_carico", {"presa_in_carico": True, "motivazione_decisione": "Lavoro grigio"})
    do(
        "redigi_pip",
        {
            "obiettivi_pip": "Contratto regolare",
            "condiviso_con_persona": True,
            "interventi_nuovi": [intervento("tutela_legale")],
        },
    )
    do("piano_reinserimento", PIANO_LAVORO)
    # No approval step in Lecco: the intervention goes straight to the legal consultant.
    assert case.names() == ["eroga_legale"]
    assert case.facts()["fase"] == "erogazione"
