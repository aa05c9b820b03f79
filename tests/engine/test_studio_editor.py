"""The diagram editor's properties panel: its choices, the timer readings, the instruction preview."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import NotFound
from engine.access import Actor
from engine.access.roles import role_for_lane
from engine.definitions import deploy_bundle, read_bundle_paths
from engine.spiff.parsing import add_iso_duration, check_timer_value
from engine.studio import editor_choices, preview_instructions, read_timer, save_diagram, timer_reading
from engine.studio.editor import example_data, normal_name
from engine.studio.timers import KINDS
from tests.conftest import add_ambiti

ROOT = Path(__file__).resolve().parents[2]
DIRECTOR_MI = Actor("dario", grants=frozenset({("direttore_pua", "MILANO")}))
DIRECTOR_BG = Actor("bea", grants=frozenset({("direttore_pua", "BERGAMO")}))
OPERATOR_MI = Actor("olga", grants=frozenset({("operatore_contatto", "MILANO")}))


@pytest.fixture
def model(db):  # type: ignore[no-untyped-def]
    """The regional model (processes and forms) published as the base, Milano and Bergamo as Ambiti."""
    add_ambiti(db, "MILANO", "BERGAMO")
    deploy_bundle(db, read_bundle_paths([ROOT / "processes", ROOT / "forms" / "schemas"]), None, "rita", "Base")
    return db


# --------------------------------------------------------------------------- choices


def test_the_panel_offers_the_lane_roles_the_drafts_forms_processes_decisions_and_messages(model) -> None:
    choices = editor_choices(model, DIRECTOR_MI, "MILANO", "inlav_pip")
    roles = {r.code: r for r in choices.roles}
    assert set(roles) == {
        "operatore_contatto",
        "esperto_servizi_sociali",
        "esperto_politiche_lavoro",
        "consulente_legale",
        "mediatore",
        "network_manager",
        "direttore_pua",
        "scc",
    }  # regional roles hold no tasks: no lane stands for them
    # A lane named after a role's label (as the panel writes it) is read as that role by the engine.
    for role in choices.roles:
        assert role_for_lane(role.label) == role.code
        assert normal_name(role.label) in role.names
    assert "tutor" in roles["esperto_politiche_lavoro"].names
    forms = {f.schema: f for f in choices.forms}
    assert forms["pip.schema.json"].ui == "pip.uischema.json" and forms["pip.schema.json"].title == "Redigi il PIP"
    assert all(not f.schema.endswith(".uischema.json") for f in choices.forms)
    processes = {c.value: c.label for c in choices.processes}
    assert processes["inlav_intervento"] and "inlav_valutazione" in processes
    assert "inlav_pip" not in processes  # not itself
    assert [(c.value, c.label) for c in choices.decisions] == [("ammissibilita", "Ammissibilità")] or [
        c.value for c in choices.decisions
    ] == ["ammissibilita"]
    messages = [c.value for c in choices.messages]
    assert {"invio_partner", "risposta_partner", "segnalazione_pua", "relazione_trimestrale"} <= set(messages)
    assert choices.as_json()["forms"][0].keys() == {"schema", "ui", "title"}


def test_choices_follow_the_saved_draft_and_the_scope(model) -> None:
    draft_xml = (ROOT / "processes" / "inlav_pip.bpmn").read_bytes()
    extra = b'<bpmn:message id="m_nuovo" name="nuovo_messaggio"/>\n  <bpmn:collaboration'
    save_diagram(model, DIRECTOR_MI, "MILANO", "inlav_pip", draft_xml.replace(b"<bpmn:collaboration", extra, 1), 0)
    milano = editor_choices(model, DIRECTOR_MI, "MILANO", "inlav_pip")
    assert "nuovo_messaggio" in [c.value for c in milano.messages]
    bergamo = editor_choices(model, DIRECTOR_BG, "BERGAMO", "inlav_pip")
    assert "nuovo_messaggio" not in [c.value for c in bergamo.messages]
    with pytest.raises(NotFound):  # another Ambito answers like an unknown one
        editor_choices(model, DIRECTOR_BG, "MILANO", "inlav_pip")
    with pytest.raises(NotFound):
        editor_choices(model, DIRECTOR_MI, "MILANO", "non_esiste")


def test_an_operator_may_not_ask_the_editors_choices(model) -> None:
    with pytest.raises(Exception) as caught:
        editor_choices(model, OPERATOR_MI, "MILANO", "inlav_pip")
    assert type(caught.value).__name__ in {"Forbidden", "NotFound"}


# --------------------------------------------------------------------------- timer readings


@pytest.mark.parametrize(
    ("kind", "text", "reading"),
    [
        # repeating cycles
        ("cycle", "'R/P30D'", "ogni 30 giorni"),
        ("cycle", '"R/P30D"', "ogni 30 giorni"),
        ("cycle", "'R/P1D'", "ogni giorno"),
        ("cycle", "'R/PT1H'", "ogni ora"),
        ("cycle", "'R/P1W'", "ogni settimana"),
        ("cycle", "'R/P1M'", "ogni mese"),
        ("cycle", "'R/P1Y'", "ogni anno"),
        ("cycle", "'R3/PT10H'", "3 volte, ogni 10 ore"),
        ("cycle", "'R1/P2D'", "una volta, dopo 2 giorni"),
        ("cycle", "'R0/P1D'", "mai (zero ripetizioni)"),
        ("cycle", "'R/P1DT12H'", "ogni 1 giorno e 12 ore"),
        (
            "cycle",
            "'R5/2027-01-05T09:00:00+01:00/P1W'",
            "5 volte, ogni settimana a partire dal 5 gennaio 2027 alle 9:00 (ora italiana)",
        ),
        (
            "cycle",
            "'R2/P1M/2027-03-01T00:00:00Z'",
            "2 volte, ogni mese, con termine il 1º marzo 2027 alle 0:00 UTC (le 1:00 in Italia)",
        ),
        # durations
        ("duration", "'PT2H'", "dopo 2 ore"),
        ("duration", "'P30D'", "dopo 30 giorni"),
        ("duration", "'P1D'", "dopo 1 giorno"),
        ("duration", "'P2W'", "dopo 2 settimane"),
        ("duration", "'PT90M'", "dopo 90 minuti"),
        ("duration", "'PT45S'", "dopo 45 secondi"),
        ("duration", "'P1Y2M3DT4H5M6S'", "dopo 1 anno, 2 mesi, 3 giorni, 4 ore, 5 minuti e 6 secondi"),
        ("duration", "'P1,5D'", "dopo 1,5 giorni"),
        ("duration", "'P0D'", "subito"),
        ("duration", "'p6m'", "dopo 6 mesi"),
        # dates (a date timer also takes a duration, as the engine does)
        ("date", "'2027-01-05T09:00:00+01:00'", "il 5 gennaio 2027 alle 9:00 (ora italiana)"),
        ("date", "'2027-07-01T09:00:00+02:00'", "il 1º luglio 2027 alle 9:00 (ora italiana)"),
        ("date", "'2027-01-05T09:00:00Z'", "il 5 gennaio 2027 alle 9:00 UTC (le 10:00 in Italia)"),
        (
            "date",
            "'2027-01-05T09:00:00'",
            "il 5 gennaio 2027 alle 9:00 UTC (le 10:00 in Italia; senza fuso orario l'ora è intesa UTC)",
        ),
        ("date", "'2027-01-05T23:30:00Z'", "il 5 gennaio 2027 alle 23:30 UTC (il 6 gennaio alle 0:30 in Italia)"),
        ("date", "'2027-01-05T09:00:00-05:00'", "il 5 gennaio 2027 alle 9:00 UTC-05:00 (le 15:00 in Italia)"),
        ("date", "'P30D'", "dopo 30 giorni"),
        # expressions on case data
        ("duration", "attesa_follow_up", "valore calcolato dalla variabile attesa_follow_up, quando il timer parte"),
        ("cycle", "ciclo", "valore calcolato dalla variabile ciclo, quando il timer parte"),
        (
            "duration",
            "attese['ricontatto']",
            "valore calcolato dall'espressione «attese['ricontatto']», quando il timer parte",
        ),
        # a task's due time (dueIn): the value itself, not an expression
        ("due", "P10D", "scade 10 giorni dopo l'apertura dell'attività"),
        ("due", "PT4H", "scade 4 ore dopo l'apertura dell'attività"),
        ("due", "", "nessuna scadenza"),
    ],
)
def test_timer_readings_in_plain_italian(kind: str, text: str, reading: str) -> None:
    assert timer_reading(kind, text) == reading
    assert read_timer(kind, text).ok


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("duration", "", "timer senza valore: indicare un valore ISO 8601"),
        ("cycle", "   ", "timer senza valore"),
        ("duration", "'P30X'", "«P30X» non è un valore ISO 8601"),
        ("cycle", "'P30D'", "«P30D» non è un valore ISO 8601 (es. 'R3/PT10H'"),
        ("date", "'domani'", "«domani» non è un valore ISO 8601"),
        ("date", "'2027-13-45T09:00:00'", "non è un valore ISO 8601"),
        (
            "duration",
            "P30D",
            "«P30D» senza virgolette è il nome di una variabile: per un valore fisso (dopo 30 giorni) scrivere 'P30D'",
        ),
        ("cycle", "R/P30D", "«R/P30D» senza virgolette è un calcolo: per un valore fisso (ogni 30 giorni) scrivere"),
        ("duration", "30", "il timer deve essere un testo ISO 8601 tra virgolette"),
        ("duration", "attesa +", "errore di sintassi"),
        ("date", '__import__("os")', "non è consentito"),
        ("duration", "'" + "P1D" * 1000 + "'", "valore troppo lungo"),
        ("due", "P10X", "«P10X» non è una durata ISO 8601 (es. P10D per 10 giorni"),
        ("due", "'P10D'", "non è una durata ISO 8601"),
        ("settimana", "'P1D'", "tipo di timer sconosciuto «settimana»"),
    ],
)
def test_invalid_timers_get_a_specific_italian_message(kind: str, text: str, message: str) -> None:
    reading = read_timer(kind, text)
    assert not reading.ok
    assert message in reading.text


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("duration", "P999999Y", "valore calcolato dalla variabile P999999Y"),  # not a fixed value: no hint
        ("duration", "'P999999Y'", "durata troppo lunga (al massimo 100 anni)"),
        ("due", "P9999999M", "non è una durata ISO 8601"),
        ("cycle", "'R2/P999999Y'", "durata troppo lunga"),
        ("date", "'P999999Y'", "durata troppo lunga"),
    ],
)
def test_a_duration_of_centuries_is_refused_at_once_not_computed_year_by_year(
    kind: str, text: str, message: str
) -> None:
    """The library adds a calendar duration one year (month) at a time: «P99999999999Y» typed in the
    panel held a server thread for hours. Anything over a century is refused before that."""
    started = time.monotonic()
    reading = read_timer(kind, text)
    assert time.monotonic() - started < 2
    assert message in reading.text
    assert check_timer_value("duration", "P100Y") is None and check_timer_value("duration", "P1201M") is not None
    with pytest.raises(ValueError, match="troppo lunga"):
        add_iso_duration(datetime(2026, 1, 1, tzinfo=UTC), "P99999999999Y")


def test_every_kind_has_an_example() -> None:
    for kind in KINDS:
        assert "es." in read_timer(kind, "'???'").text or kind == "due"


# --------------------------------------------------------------------------- instruction preview


def test_preview_renders_instructions_with_example_data_of_the_forms(model) -> None:
    preview = preview_instructions(
        model,
        DIRECTOR_MI,
        "MILANO",
        "inlav_pip",
        "Caso **{{ codice_caso }}**: obiettivi {{ obiettivi_pip }}\n\n"
        "{% for i in interventi_nuovi %}- {{ i.tipo }}\n{% endfor %}",
        "pip.schema.json",
    )
    assert preview.problem is None
    assert "<strong>MILANO-2026-0001</strong>" in preview.html
    assert "‹Obiettivi del piano›" in preview.html
    assert "<li>accompagnamento_empowerment</li>" in preview.html
    assert preview.example["obiettivi_pip"] == "‹Obiettivi del piano›"


def test_preview_never_lets_markup_through(model) -> None:
    preview = preview_instructions(model, DIRECTOR_MI, "MILANO", "inlav_pip", "<script>alert(1)</script> ciao")
    assert preview.problem is None and "<script>" not in preview.html and "&lt;script&gt;" in preview.html


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Ciao {{ nome ", "Istruzioni non valide: riga 1:"),
        ("riga uno\n{% if x %}senza fine", "riga 2"),
        ("{{ x | filtro_inventato }}", "filtro «filtro_inventato» sconosciuto"),
        ("{{ ''.__class__.__mro__ }}", "Le istruzioni non si completano con i dati di esempio"),
        ("{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}", "troppo tempo"),
        ("{{ 9 ** (9 ** 7) }}", "troppo tempo o memoria"),
        ("   ", "Nessuna istruzione da mostrare."),
    ],
)
def test_a_hostile_or_broken_template_gets_an_italian_problem(model, template: str, message: str) -> None:
    preview = preview_instructions(model, DIRECTOR_MI, "MILANO", "inlav_pip", template)
    assert preview.html == ""
    assert preview.problem is not None and message in preview.problem


def test_example_data_prefers_the_tasks_own_form() -> None:
    files = {
        "a.schema.json": b'{"type": "object", "properties": {"esito": {"type": "string", "enum": ["si", "no"]}}}',
        "b.schema.json": b'{"type": "object", "properties": {"esito": {"type": "boolean"}, "n": {"type": "integer"}}}',
        "rotto.schema.json": b"{",
    }
    assert example_data(files, "a.schema.json")["esito"] == "si"
    assert example_data(files, "b.schema.json") == {
        "codice_caso": "MILANO-2026-0001",
        "ambito_caso": "MILANO",
        "esito": True,
        "n": 1,
    }


def test_the_version_viewer_lists_due_times_and_border_timers_in_italian(model) -> None:
    from sqlalchemy import select

    from engine.models import ProcessDefinition
    from engine.studio import version_diagram

    def activities(key: str) -> dict[str, tuple[str, ...]]:
        definition = model.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_key == key))
        diagram = version_diagram(model, DIRECTOR_MI, "MILANO", key, definition)
        return {a.element: a.timing for a in diagram.activities}

    pip = activities("inlav_pip")
    assert pip["redigi_pip"] == ("scade 10 giorni dopo l'apertura dell'attività",)
    assert pip["prepara_interventi"] == ()
    intervento = activities("inlav_intervento")
    assert intervento["attendi_risposta"] == (
        "Nessuna risposta: valore calcolato dalla variabile attesa_risposta_partner, quando il timer parte",
    )
