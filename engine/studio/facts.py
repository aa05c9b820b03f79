"""The reporting-facts contract, machine-readable, and a static check of a bundle against it.

`CONTRACT` is the one home of the contract: the fact variables of docs/reporting-facts.md
with their type, their fixed values (for closed codes) and the elements, forms and DMN
tables the regional model writes them with (the document's «Scritta da» column); a test
keeps the document in step with it.

`analyse_bundle` reads a bundle's files (BPMN, DMN, JSON forms) without running anything and
finds, per process, the elements that write each variable:

- script tasks and post-scripts that assign it (Python `ast` on the script text; names bound
  at the script's top level, in any branch: `x = …`, `x += …`, `for x in …`, `with … as x`,
  `(x := …)`). Pre-scripts do not count: a value a pre-script puts in a form reaches the
  case's history only if the operator changes it (docs/reporting-facts.md), so no fact may
  depend on one;
- user tasks whose JSON form has a field named like it;
- business rule tasks whose DMN decision has an output named like it;
- events that store a message's payload in it (`messageVariable`).

A call activity brings in everything the called process writes (facts written inside
subprocesses count for the caller), through a lookup that resolves called processes as a case
would: first the bundle itself, then what the caller says (the Ambito's variant, else the
regional base).

`contract_check` compares a base bundle with a variant: each contract fact the base writes in
a process and the variant no longer writes (with where the base wrote it), and each fixed
value of a closed code the base could write and the variant can no longer write, when every
writer's values are known statically (form enums, literal constants in scripts and DMN
outputs). Messages are Italian.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.safexml import UnsafeXml, parse_xml
from engine.studio.diagrams import local_name

# --------------------------------------------------------------------------- the contract

CLOSED_KINDS = ("codice", "codice o vuoto", "elenco di codici")


@dataclass(frozen=True)
class Fact:
    """One fact variable of the contract (a row of a «Variabile» table of docs/reporting-facts.md)."""

    name: str
    kind: str
    """The document's «Tipo»: momento, data, codice, codice o vuoto, elenco di codici, numero, sì/no, …"""
    values: tuple[str, ...] = ()
    """The fixed values of a closed code (the document's «Valori»), without `null`."""
    open_values: bool = False
    """The values are an open list (country or language codes, partner codes): not checked."""
    elements: tuple[str, ...] = ()
    """Ids of the elements of the regional model that write it, as the document names them."""
    forms: tuple[str, ...] = ()
    """Forms (file name without `.schema.json`) whose field writes it."""
    decisions: tuple[str, ...] = ()
    """DMN decisions whose output writes it."""
    nullable: bool = False
    """`null` is an allowed value («codice o vuoto»)."""
    every_phase_step: bool = False
    """Written by every «Registra …» step of a phase (no fixed list of elements)."""

    @property
    def closed(self) -> bool:
        """A code with a fixed list of values, which forms and scripts must keep offering."""
        return self.kind in CLOSED_KINDS and not self.open_values and bool(self.values)

    @property
    def is_list(self) -> bool:
        """A list of codes: the values are those of its items."""
        return self.kind.startswith("elenco")


CONTRACT: tuple[Fact, ...] = (
    # Fase e tappe
    Fact(
        "fase",
        "codice",
        ("contatto", "valutazione", "presa_in_carico", "orientamento", "erogazione", "monitoraggio", "chiuso"),
        every_phase_step=True,
    ),
    Fact(
        "esito_percorso",
        "codice",
        ("solo_contatto", "non_preso_in_carico", "concluso"),
        elements=("chiudi_solo_contatto", "chiudi_non_preso", "registra_chiusura"),
    ),
    Fact("ts_segnalazione", "momento", elements=("prepara_segnalazione",)),
    Fact("ts_contatto", "momento", elements=("registra_fatti_contatto",)),
    Fact("ts_ultimo_contatto", "momento", elements=("registra_ricontatto",)),
    Fact("ts_valutazione", "momento", elements=("registra_valutazione",)),
    Fact("ts_decisione", "momento", elements=("registra_decisione",)),
    Fact("ts_presa_in_carico", "momento", elements=("registra_decisione",)),
    Fact("ts_pip", "momento", elements=("aggiorna_piano",)),
    Fact("ts_ultima_revisione_pip", "momento", elements=("aggiorna_piano",)),
    Fact("ts_attuazione", "momento", elements=("prepara_ciclo",)),
    Fact("ts_ultima_verifica", "momento", elements=("registra_verifica",)),
    Fact("ts_chiusura", "momento", elements=("registra_chiusura", "chiudi_solo_contatto", "chiudi_non_preso")),
    Fact("ts_follow_up", "momento", elements=("registra_follow_up",)),
    Fact("data_contatto", "data", forms=("contatto",)),
    Fact("data_valutazione", "data", forms=("valutazione",)),
    Fact("data_chiusura", "data", forms=("chiusura",)),
    # Persona e aggancio
    Fact("genere", "codice", ("donna", "uomo", "altro", "non_indicato"), forms=("contatto", "valutazione")),
    Fact(
        "fascia_eta",
        "codice",
        ("minore", "18_24", "25_34", "35_44", "45_54", "55_64", "65_piu", "non_nota"),
        forms=("contatto", "valutazione"),
    ),
    Fact("nazionalita", "codice", open_values=True, forms=("contatto", "valutazione")),
    Fact("lingua", "codice", open_values=True, forms=("contatto",)),
    Fact("canale", "codice", ("istituzionale", "informale", "accesso_diretto"), elements=("registra_fatti_contatto",)),
    Fact(
        "contesto",
        "codice",
        (
            "sai",
            "cas",
            "cpia",
            "cpi",
            "servizi_sociali",
            "servizi_sanitari",
            "sindacato",
            "terzo_settore",
            "altro_servizio",
            "mercato",
            "negozio_etnico",
            "stazione",
            "snodo_delivery",
            "quartiere",
            "luogo_di_culto",
            "luogo_di_ritrovo",
            "festa_religiosa",
            "luogo_di_lavoro",
            "online",
            "altro_informale",
            "sportello_pua",
        ),
        forms=("contatto",),
    ),
    Fact("segnalato_da", "codice", open_values=True, elements=("prepara_caso",)),
    Fact("n_contatti", "numero", elements=("registra_fatti_contatto", "registra_ricontatto")),
    # Valutazione e presa in carico
    Fact(
        "titolo_soggiorno",
        "codice",
        (
            "cittadinanza_italiana",
            "cittadinanza_ue",
            "lavoro",
            "attesa_occupazione",
            "famiglia",
            "studio",
            "protezione_internazionale",
            "protezione_speciale",
            "richiedente_asilo",
            "casi_speciali",
            "lungo_periodo",
            "in_rinnovo",
            "senza_permesso",
            "altro",
        ),
        forms=("valutazione",),
    ),
    Fact(
        "documenti_posseduti",
        "elenco di codici",
        (
            "documento_identita",
            "codice_fiscale",
            "tessera_sanitaria",
            "medico_di_base",
            "residenza",
            "dichiarazione_ospitalita",
            "spid",
            "did",
        ),
        forms=("valutazione",),
    ),
    Fact(
        "settore",
        "codice",
        (
            "nessuno",
            "agricoltura",
            "edilizia",
            "logistica",
            "alberghiero_ristorazione",
            "servizi_persona",
            "pulizie",
            "manifattura",
            "commercio",
            "altro",
        ),
        forms=("valutazione",),
    ),
    Fact(
        "grado",
        "codice",
        ("nessuna_condizione", "disoccupato_a_rischio", "lavoro_grigio", "lavoro_nero", "grave_sfruttamento"),
        forms=("valutazione",),
    ),
    Fact(
        "indicatori_sfruttamento",
        "elenco di codici",
        (
            "retribuzione_difforme",
            "orari_eccessivi",
            "sicurezza_violata",
            "condizioni_degradanti",
            "intermediazione_illecita",
            "documenti_trattenuti",
            "debito",
            "minacce_violenza",
            "senza_contratto",
            "isolamento",
        ),
        forms=("valutazione",),
    ),
    Fact("n_indicatori", "numero", elements=("registra_valutazione",)),
    Fact(
        "bisogni",
        "elenco di codici",
        ("lingua", "documenti", "alloggio", "salute", "lavoro", "legale", "orientamento", "prima_necessita", "reddito"),
        forms=("valutazione",),
    ),
    Fact("adesione_percorso", "sì/no", forms=("valutazione",)),
    Fact(
        "percorsi_tutela",
        "elenco di codici",
        (
            "denuncia",
            "vertenza",
            "permesso_art18",
            "permesso_art18ter",
            "permesso_art22",
            "rinnovo_conversione",
            "protezione_internazionale",
        ),
        forms=("parere_legale",),
    ),
    Fact("urgenza_protezione", "sì/no", elements=("registra_valutazione",), forms=("parere_legale",)),
    Fact("esito_suggerito", "codice", ("ammissibile", "da_valutare", "non_ammissibile"), decisions=("ammissibilita",)),
    Fact("presa_in_carico", "sì/no", forms=("decisione_presa_in_carico",)),
    Fact(
        "priorita",
        "codice",
        ("alta", "ordinaria"),
        forms=("decisione_presa_in_carico",),
        decisions=("ammissibilita",),
    ),
    # PIP e interventi
    Fact(
        "interventi",
        "elenco di interventi",
        elements=("aggiorna_piano", "aggiorna_interventi", "registra_verifica"),
    ),
    Fact("n_revisioni_pip", "numero", elements=("aggiorna_piano",)),
    Fact(
        "misure_lavoro",
        "elenco di codici",
        (
            "orientamento",
            "bilancio_competenze",
            "formazione",
            "tirocinio",
            "borsa_lavoro",
            "politica_attiva_cpi",
            "ricerca_attiva",
            "autoimpiego",
        ),
        forms=("piano_lavoro",),
    ),
    # Invii alla rete
    Fact("invii", "elenco di invii", elements=("aggiorna_interventi", "chiudi_non_preso")),
    # Monitoraggio
    Fact("n_cicli", "numero", elements=("prepara_ciclo",)),
    Fact("n_verifiche", "numero", elements=("registra_verifica",)),
    Fact("verifiche", "elenco", elements=("registra_verifica",)),
    Fact("intervallo_monitoraggio", "durata ISO 8601", elements=("prepara_caso", "registra_verifica")),
    # Chiusura
    Fact(
        "esiti_chiusura",
        "elenco di codici",
        (
            "inserimento_lavorativo",
            "vertenza",
            "protezione_permesso",
            "documenti_regolarizzati",
            "formazione_completata",
            "percorso_antitratta",
            "sostegno_reddito",
            "alloggio",
            "trasferimento",
            "irreperibile",
            "rinuncia",
            "altro",
        ),
        forms=("chiusura",),
    ),
    Fact(
        "tipo_contratto",
        "codice o vuoto",
        (
            "tempo_indeterminato",
            "tempo_determinato",
            "apprendistato",
            "somministrazione",
            "stagionale",
            "lavoro_domestico",
            "autonomo",
            "tirocinio",
            "altro",
        ),
        elements=("registra_chiusura",),
        forms=("chiusura",),
        nullable=True,
    ),
    Fact(
        "settore_inserimento",
        "codice o vuoto",
        (
            "agricoltura",
            "edilizia",
            "logistica",
            "alberghiero_ristorazione",
            "servizi_persona",
            "pulizie",
            "manifattura",
            "commercio",
            "altro",
        ),
        elements=("registra_chiusura",),
        forms=("chiusura",),
        nullable=True,
    ),
    Fact("emersione", "codice", ("si", "parziale", "no"), forms=("chiusura",)),
    Fact("follow_up", "sì/no", forms=("chiusura",)),
    Fact(
        "esito_follow_up", "codice", ("stabile", "migliorata", "peggiorata", "non_raggiungibile"), forms=("follow_up",)
    ),
)
"""The facts regional monitoring reads, in the document's order."""

FACTS: dict[str, Fact] = {fact.name: fact for fact in CONTRACT}


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Writer:
    """An element that writes a variable: where it is, how, and which values it may write."""

    fact: str
    process: str
    element: str
    element_name: str
    how: str
    """«script», «post-script», «modulo», «tabella DMN» or «messaggio»."""
    source: str = ""
    """The form file, the DMN decision or the message variable it writes through."""
    values: frozenset[Any] | None = None
    """Every value it may write (items for a list), when known statically; None: not known."""
    via: tuple[str, ...] = ()
    """Call activities («processo › attività») from the process checked down to this element."""

    def describe(self) -> str:
        """Where it is, in Italian: «Registra la chiusura» (registra_chiusura), processo inlav_chiusura, script."""
        how = f"{self.how} {self.source}" if self.source else self.how
        text = f"«{self.element_name}» ({self.element}), processo {self.process}, {how}"
        if self.via:
            text += f", chiamato da {' → '.join(self.via)}"
        return text


@dataclass(frozen=True)
class Call:
    """A call activity: its element and the process it calls."""

    element: str
    element_name: str
    target: str


@dataclass(frozen=True)
class ProcessFacts:
    """What one process of a bundle writes by itself, and which processes it calls."""

    key: str
    name: str
    file: str
    writers: tuple[Writer, ...]
    calls: tuple[Call, ...]


Lookup = Callable[[str], ProcessFacts | None]
"""Finds a process by key as a case would run it (None: no such process)."""

BPMN_FILES = (".bpmn",)
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def analyse_bundle(files: Mapping[str, bytes], max_bytes: int = 2_000_000) -> dict[str, ProcessFacts]:
    """Process key → what it writes, for every process of the bundle's BPMN files.

    Files that do not parse are skipped (validation reports them); nothing is executed.
    """
    forms = _forms(files)
    decisions = _decisions(files, max_bytes)
    found: dict[str, ProcessFacts] = {}
    for name, content in sorted(files.items()):
        if Path(name).suffix.lower() not in BPMN_FILES:
            continue
        try:
            root = parse_xml(content, max_bytes)
        except UnsafeXml:
            continue
        for process in root.iter():
            if not isinstance(process.tag, str) or local_name(process.tag) != "process":
                continue
            key = process.get("id") or ""
            if not key or key in found:
                continue
            writers: list[Writer] = []
            calls: list[Call] = []
            for element in process.iter():
                if not isinstance(element.tag, str) or element is process:
                    continue
                _element_writes(key, element, forms, decisions, writers, calls)
            found[key] = ProcessFacts(key, process.get("name") or key, name, tuple(writers), tuple(calls))
    return found


def _element_writes(
    key: str,
    element: Any,
    forms: dict[str, dict[str, frozenset[Any] | None]],
    decisions: dict[str, dict[str, frozenset[Any] | None]],
    writers: list[Writer],
    calls: list[Call],
) -> None:
    tag = local_name(element.tag)
    element_id = element.get("id") or ""
    label = (element.get("name") or element_id).strip() or element_id

    def add(fact: str, how: str, source: str = "", values: frozenset[Any] | None = None) -> None:
        writers.append(Writer(fact, key, element_id, label, how, source, values))

    if tag == "scriptTask":
        for script in _children(element, "script"):
            for fact, values in script_writes(script.text or "").items():
                add(fact, "script", values=values)
    if tag == "callActivity" and element.get("calledElement"):
        calls.append(Call(element_id, label, element.get("calledElement") or ""))
    for extensions in _children(element, "extensionElements"):
        for item in extensions:
            if not isinstance(item.tag, str):
                continue
            part = local_name(item.tag)
            if part == "postScript":
                for fact, values in script_writes(item.text or "").items():
                    add(fact, "post-script", values=values)
            elif part == "properties" and tag == "userTask":
                for prop in item:
                    if isinstance(prop.tag, str) and prop.get("name") == "formJsonSchemaFilename":
                        form = prop.get("value") or ""
                        for fact, values in forms.get(form, {}).items():
                            add(fact, "modulo", form, values)
            elif part == "calledDecisionId" and tag == "businessRuleTask":
                decision = (item.text or "").strip()
                for fact, values in decisions.get(decision, {}).items():
                    add(fact, "tabella DMN", decision, values)
            elif part == "messageVariable" and (item.text or "").strip():
                add((item.text or "").strip(), "messaggio", (item.text or "").strip())


def _children(element: Any, name: str) -> Iterator[Any]:
    return (child for child in element if isinstance(child.tag, str) and local_name(child.tag) == name)


def script_writes(source: str) -> dict[str, frozenset[Any] | None]:
    """Variables a script assigns at its top level → the values it may give them (None: not literal).

    A script that does not parse writes nothing here (validation reports it).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, frozenset[Any] | None] = {}

    def bind(target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            known = _literal(value) if value is not None else None
            before = found.get(target.id, frozenset())
            found[target.id] = None if known is None or before is None else before | known
        elif isinstance(target, (ast.Tuple, ast.List)):
            for item in target.elts:
                bind(item, None)
        elif isinstance(target, ast.Starred):
            bind(target.value, None)

    for node in _top_level(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            bind(node.target, node.value)
        elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor)):
            bind(node.target, None)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    bind(item.optional_vars, None)
        elif isinstance(node, ast.NamedExpr):
            bind(node.target, node.value)
    return found


def _top_level(tree: ast.AST) -> Iterator[ast.AST]:
    """Nodes that bind names in the script's own scope (not inside functions, classes, lambdas, comprehensions)."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(
                child,
                (
                    ast.FunctionDef,
                    ast.AsyncFunctionDef,
                    ast.ClassDef,
                    ast.Lambda,
                    ast.ListComp,
                    ast.SetComp,
                    ast.DictComp,
                    ast.GeneratorExp,
                ),
            ):
                continue
            pending.append(child)


def _literal(node: ast.expr) -> frozenset[Any] | None:
    """The values an expression may have when it is a literal (a list: its items), else None."""
    if isinstance(node, ast.IfExp):
        body, orelse = _literal(node.body), _literal(node.orelse)
        return None if body is None or orelse is None else body | orelse
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(item) for item in node.elts]
        if any(item is None for item in items):
            return None
        return frozenset().union(*(item for item in items if item is not None))
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (str, bool, int, float))):
        return frozenset({node.value})
    return None


def _forms(files: Mapping[str, bytes]) -> dict[str, dict[str, frozenset[Any] | None]]:
    """JSON form file → its fields → the values each offers (enum, items' enum, booleans; None: free)."""
    found: dict[str, dict[str, frozenset[Any] | None]] = {}
    for name, content in files.items():
        if Path(name).suffix.lower() != ".json":
            continue
        try:
            schema = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # nested too deep
            continue
        if not isinstance(schema, dict):
            continue
        fields: dict[str, frozenset[Any] | None] = {}
        for properties in _property_blocks(schema):
            for field_name, definition in properties.items():
                if not isinstance(field_name, str) or not isinstance(definition, dict):
                    continue
                offered = _offered(definition)
                if field_name not in fields:
                    fields[field_name] = offered
                elif offered is not None and fields[field_name] is not None:
                    fields[field_name] = offered  # a conditional block narrowing the field: same codes
        found[name] = fields
    return found


def _property_blocks(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The `properties` of a form's top level and of its conditional blocks (allOf/if-then-else)."""
    pending = [schema]
    while pending:
        block = pending.pop()
        properties = block.get("properties")
        if isinstance(properties, dict):
            yield properties
        for keyword in ("allOf", "anyOf", "oneOf"):
            items = block.get(keyword)
            if isinstance(items, list):
                pending.extend(item for item in items if isinstance(item, dict))
        for keyword in ("then", "else"):
            item = block.get(keyword)
            if isinstance(item, dict):
                pending.append(item)


def _offered(definition: dict[str, Any]) -> frozenset[Any] | None:
    items = definition.get("items")
    enum = definition.get("enum")
    if enum is None and isinstance(items, dict):
        enum = items.get("enum")
    if isinstance(enum, list):
        return frozenset(v for v in enum if isinstance(v, (str, int, float, bool)) or v is None)
    if definition.get("type") == "boolean":
        return frozenset({True, False})
    return None


def _decisions(files: Mapping[str, bytes], max_bytes: int) -> dict[str, dict[str, frozenset[Any] | None]]:
    """DMN decision id → its outputs → the values its rules give them (None: not literal)."""
    found: dict[str, dict[str, frozenset[Any] | None]] = {}
    for name, content in files.items():
        if Path(name).suffix.lower() != ".dmn":
            continue
        try:
            root = parse_xml(content, max_bytes)
        except UnsafeXml:
            continue
        for decision in root.iter():
            if not isinstance(decision.tag, str) or local_name(decision.tag) != "decision":
                continue
            outputs: dict[str, frozenset[Any] | None] = {}
            for table in _children(decision, "decisionTable"):
                columns = [o.get("name") or "" for o in _children(table, "output")]
                values: list[frozenset[Any] | None] = [frozenset() for _ in columns]
                for rule in _children(table, "rule"):
                    for index, entry in enumerate(_children(rule, "outputEntry")):
                        if index >= len(values) or values[index] is None:
                            continue
                        text = "".join(t.text or "" for t in _children(entry, "text")).strip()
                        value = _dmn_value(text)
                        current = values[index]
                        values[index] = None if value is None or current is None else current | value
                for column, known in zip(columns, values, strict=True):
                    if column:
                        outputs[column] = known
            found[decision.get("id") or ""] = outputs
    return found


def _dmn_value(text: str) -> frozenset[Any] | None:
    if not text:
        return frozenset({None})
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if value is None or isinstance(value, (str, bool, int, float)):
        return frozenset({value})
    return None


def facts_written(key: str, lookup: Lookup) -> dict[str, list[Writer]]:
    """Every variable a process writes, itself or in the processes it calls (transitively) → its writers.

    A writer inside a called process carries the call path in `via`; each process is visited once.
    """
    written: dict[str, list[Writer]] = {}
    seen: set[str] = set()
    pending: list[tuple[str, tuple[str, ...]]] = [(key, ())]
    while pending:
        current, via = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        process = lookup(current)
        if process is None:
            continue
        for writer in process.writers:
            written.setdefault(writer.fact, []).append(
                Writer(
                    writer.fact,
                    writer.process,
                    writer.element,
                    writer.element_name,
                    writer.how,
                    writer.source,
                    writer.values,
                    via,
                )
            )
        for call in process.calls:
            pending.append((call.target, (*via, f"{current} › {call.element}")))
    return written


# --------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class Loss:
    """What regional monitoring would lose: a fact no longer written, or fixed values no longer possible."""

    fact: str
    process: str
    """The process checked (one the publication deploys)."""
    where: tuple[Writer, ...]
    """Where the base wrote it (a lost fact), or the variant's writers that no longer offer the values."""
    values: tuple[str, ...] = ()
    """The fixed values no longer possible (empty: the whole fact is lost)."""

    @property
    def whole(self) -> bool:
        """The fact is no longer written at all."""
        return not self.values

    @property
    def message(self) -> str:
        """The loss in Italian, naming the fact and where."""
        places = "; ".join(w.describe() for w in self.where)
        if self.whole:
            return (
                f"Il fatto «{self.fact}» non è più scritto dal processo {self.process}: "
                f"nel modello di base lo scrive {places}."
            )
        listed = ", ".join(f"«{v}»" for v in self.values)
        return (
            f"Il fatto «{self.fact}» non può più valere {listed} nel processo {self.process}: "
            f"chi lo scrive ora ({places}) non offre più questi valori."
        )


def contract_check(
    base_files: Mapping[str, bytes],
    variant_files: Mapping[str, bytes],
    keys: list[str] | None = None,
    base_calls: Lookup | None = None,
    variant_calls: Lookup | None = None,
    max_bytes: int = 2_000_000,
) -> list[Loss]:
    """The contract facts each process of the variant no longer writes (or no longer with every fixed value).

    `keys`: the processes to check (default: those of the variant that the base also has).
    A called process not in the variant's files is found with `variant_calls` (else in the base
    and with `base_calls`), one not in the base's files with `base_calls`: as a case would.
    """
    base = analyse_bundle(base_files, max_bytes)
    variant = analyse_bundle(variant_files, max_bytes)

    def in_base(key: str) -> ProcessFacts | None:
        found = base.get(key)
        if found is None and base_calls is not None:
            found = base_calls(key)
        return found

    def in_variant(key: str) -> ProcessFacts | None:
        found = variant.get(key)
        if found is None:
            found = variant_calls(key) if variant_calls is not None else in_base(key)
        return found

    checked = keys if keys is not None else sorted(k for k in variant if in_base(k) is not None)
    losses: list[Loss] = []
    for key in checked:
        before = facts_written(key, in_base)
        after = facts_written(key, in_variant)
        for fact in CONTRACT:
            if fact.name not in before:
                continue
            if fact.name not in after:
                losses.append(Loss(fact.name, key, tuple(before[fact.name])))
                continue
            lost = _lost_values(fact, before[fact.name], after[fact.name])
            if lost:
                losses.append(Loss(fact.name, key, tuple(after[fact.name]), lost))
    return losses


def _lost_values(fact: Fact, before: list[Writer], after: list[Writer]) -> tuple[str, ...]:
    """Fixed values of a closed code the base's writers may give and the variant's can no longer give.

    Only when every writer on both sides has statically known values (enums, literals): never a guess.
    """
    if not fact.closed:
        return ()
    could: set[Any] = set()
    can: set[Any] = set()
    for writers, into in ((before, could), (after, can)):
        for writer in writers:
            if writer.values is None:
                return ()
            into |= writer.values
    return tuple(v for v in fact.values if v in could and v not in can)
