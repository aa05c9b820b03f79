"""Italian diagnostics for what the parsers say in English.

Every finding becomes one sentence located as «file › element › cause», with the fix
where we know it. SpiffWorkflow's ValidationException texts, lxml's XML Schema messages
and Python reprs of exceptions are translated here; anything we do not recognise gets a
generic Italian sentence (the original goes to the log, never to the user).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from lxml import etree

from engine.errors import Problem

log = logging.getLogger(__name__)

_NCNAME = re.compile(r"^[A-Za-z_][\w.\-]*$")

# Italian names of BPMN/DMN elements, for sentences such as «un'attività script non può…».
ELEMENT_NAMES = {
    "task": "attività",
    "userTask": "attività utente",
    "manualTask": "attività manuale",
    "scriptTask": "attività script",
    "serviceTask": "service task",
    "sendTask": "attività di invio",
    "receiveTask": "attività di ricezione",
    "businessRuleTask": "attività di regola",
    "callActivity": "attività di chiamata",
    "subProcess": "sottoprocesso",
    "transaction": "transazione",
    "startEvent": "evento di inizio",
    "endEvent": "evento di fine",
    "intermediateCatchEvent": "evento intermedio",
    "intermediateThrowEvent": "evento intermedio di lancio",
    "boundaryEvent": "evento di confine",
    "exclusiveGateway": "gateway esclusivo",
    "inclusiveGateway": "gateway inclusivo",
    "parallelGateway": "gateway parallelo",
    "eventBasedGateway": "gateway a eventi",
    "complexGateway": "gateway complesso",
    "sequenceFlow": "flusso",
    "process": "processo",
    "lane": "corsia",
}


def element_name(tag: str | None) -> str:
    """«attività script» for '{ns}scriptTask' or 'bpmn:scriptTask'."""
    local = (tag or "").rsplit("}", 1)[-1].rsplit(":", 1)[-1]
    return ELEMENT_NAMES.get(local, f"elemento «{local}»" if local else "elemento")


def a_element(tag: str | None) -> str:
    """«un'attività script», «una transazione», «un gateway esclusivo»: the name with its article."""
    name = element_name(tag)
    if name.startswith("attività"):
        return f"un'{name}"
    if name.startswith(("transazione", "corsia")):
        return f"una {name}"
    return f"un {name}"


# --------------------------------------------------------------------------- SpiffWorkflow


Rewrite = Callable[[re.Match[str], str], str]

_PARSER_MESSAGES: list[tuple[re.Pattern[str], Rewrite]] = [
    (
        re.compile(r"^When looking for a task spec, we found two items, perhaps a form has the same ID\? \((.*)\)$"),
        lambda m, t: (
            f"un flusso in uscita porta a «{m[1]}», che non esiste nel processo: collegarlo a un elemento "
            "esistente o eliminarlo"
        ),
    ),
    (
        re.compile(r"^Multiple outgoing flows are not supported for tasks of type"),
        lambda m, t: (
            f"{a_element(t)} non può avere più flussi in uscita: farli partire da un gateway "
            "(esclusivo per scegliere un ramo, parallelo per seguirli tutti) posto dopo l'elemento"
        ),
    ),
    (
        re.compile(r"^Time Specification Error\. Unknown Time Specification"),
        lambda m, t: (
            "il timer non dice quando scattare: indicare una durata (timeDuration, es. 'P30D'), una data "
            "(timeDate) o un ciclo (timeCycle)"
        ),
    ),
    (
        re.compile(r"^Time Specification Error\."),
        lambda m, t: "l'espressione del timer non è leggibile: usare un testo ISO 8601 tra apici, es. 'P30D'",
    ),
    (
        re.compile(r"^Non-default exclusive outgoing sequence flow without condition"),
        lambda m, t: (
            "il flusso esce da un gateway senza condizione e non è il flusso predefinito: aggiungere una "
            "condizione o segnarlo come predefinito (default)"
        ),
    ),
    (
        re.compile(r'^No "calledElement" attribute for Call Activity'),
        lambda m, t: "l'attività di chiamata non indica quale processo chiamare: impostare calledElement",
    ),
    (
        re.compile(r"^A multiinstance task must specify a cardinality or a loop input data reference"),
        lambda m, t: (
            "l'attività multi-istanza non dice quante volte ripetersi: indicare la cardinalità "
            "(loopCardinality) o la collezione da percorrere (loopDataInputRef)"
        ),
    ),
    (
        re.compile(r"^A multiinstance task must specify exactly one of cardinality or loop input data reference"),
        lambda m, t: (
            "l'attività multi-istanza indica sia la cardinalità sia la collezione da percorrere: tenerne una sola"
        ),
    ),
    (
        re.compile(r"^The loop (input|output) data reference is missing from the IO specification"),
        lambda m, t: (
            f"la collezione {'di ingresso' if m[1] == 'input' else 'di uscita'} della multi-istanza non è "
            "dichiarata tra i dati dell'attività (ioSpecification): dichiararla o usare il nome di una variabile"
        ),
    ),
    (
        re.compile(r"^A loopMaximum or loopCondition must be specified for Loop Tasks"),
        lambda m, t: (
            "l'attività ripetuta non ha né un numero massimo di ripetizioni (loopMaximum) né una "
            "condizione di uscita: indicarne almeno uno"
        ),
    ),
    (
        re.compile(r"^There is no support implemented for this task type"),
        lambda m, t: (
            f"il motore non sa eseguire {a_element(t)}: sostituirlo con un elemento supportato "
            "(attività, gateway esclusivo, parallelo o inclusivo, eventi)"
        ),
    ),
    (
        re.compile(r"^Cancel Events may only be used with transactions"),
        lambda m, t: (
            "un evento di annullamento può stare solo sul bordo di una transazione: toglierlo o usare un "
            "evento di errore"
        ),
    ),
    (
        re.compile(r"^Conditional event definition with missing condition"),
        lambda m, t: "l'evento condizionale non ha una condizione: aggiungerla",
    ),
    (
        re.compile(r"^Cannot resolve data(Input|Output)Association (.*)$"),
        lambda m, t: (
            f"l'associazione di dati {'in ingresso' if m[1] == 'Input' else 'in uscita'} punta a «{m[2]}», "
            "che non è un oggetto dati del processo: correggerla o eliminarla"
        ),
    ),
    (
        re.compile(r"^A SubWorkflow Must contain an End event"),
        lambda m, t: "il sottoprocesso non ha un evento di fine: aggiungerne uno",
    ),
    (
        re.compile(r"^Exactly one start event is required in a SubWorkflow Task; found (\d+)"),
        lambda m, t: f"il sottoprocesso deve avere esattamente un evento di inizio, ne ha {m[1]}",
    ),
    (
        re.compile(r"^A Service Task must have an operator"),
        lambda m, t: "i service task non sono supportati: usare un'attività script o un'attività utente",
    ),
    (
        re.compile(r"^Process (.+) is not executable"),
        lambda m, t: f'il processo «{m[1]}» non è eseguibile: impostare isExecutable="true"',
    ),
    (re.compile(r"^No start event found"), lambda m, t: "il processo non ha un evento di inizio: aggiungerne uno"),
    (
        re.compile(r"^Duplicate process ID: (.+)$"),
        lambda m, t: (
            f"l'identificativo di processo «{m[1]}» è già usato da un altro processo del pacchetto: rinominarne uno"
        ),
    ),
    (
        re.compile(r"^The process '(.+?)' was not found\."),
        lambda m, t: f"il processo «{m[1]}» non esiste nel pacchetto",
    ),
    (
        re.compile(r'^No DMN Diagram available with id "None"'),
        lambda m, t: "l'attività di regola non indica quale decisione chiamare: impostare calledDecisionId",
    ),
    (
        re.compile(r'^No DMN Diagram available with id "(.+?)", Available DMN ids are: ?(.*)$'),
        lambda m, t: (
            f"l'attività di regola chiama la decisione «{m[1]}», che non esiste nel pacchetto"
            + (f" (decisioni presenti: {m[2]})" if m[2] else ": aggiungere il file DMN che la definisce")
        ),
    ),
    (
        re.compile(r"^(Message|Signal|Error|Escalation|Correlation|Data Store) identifier is missing"),
        lambda m, t: (
            f"un elemento «{m[1].lower().replace(' ', '')}» del file non ha l'identificativo (id): aggiungerlo"
        ),
    ),
    (
        re.compile(r"^Correlation is missing correlation property retrieval expressions: (.*)$"),
        lambda m, t: (
            f"la proprietà di correlazione «{m[1]}» non dice dove leggere la chiave: aggiungere "
            "un'espressione di recupero"
        ),
    ),
    (
        re.compile(r"^Message identifier is missing from correlation property: (.*)$"),
        lambda m, t: f"la proprietà di correlazione «{m[1]}» non indica il messaggio: aggiungere messageRef",
    ),
    (
        re.compile(r"^Could not find messageRef from message event definition: (.*)$"),
        lambda m, t: f"la definizione di messaggio «{m[1]}» non indica quale messaggio: aggiungere messageRef",
    ),
    (
        re.compile(r"^Data Store (name is missing|with name .* has no implementation)"),
        lambda m, t: "gli archivi dati (dataStore) non sono supportati: usare variabili del caso",
    ),
    (
        re.compile(r"^(Sequential ordering for ad hoc|Ad hoc subprocesses may not)"),
        lambda m, t: (
            "questo sottoprocesso ad hoc non è supportato: usare l'ordine parallelo e nessun evento di "
            "inizio o di fine al suo interno"
        ),
    ),
    (
        re.compile(r"""^TypeError\(["']NodeParser\.raise_validation_exception\(\) got an unexpected keyword"""),
        lambda m, t: (
            "l'evento fa riferimento a un messaggio, segnale, errore o escalation che non è definito nel "
            "file: aggiungerne la definizione o correggere il riferimento"
        ),
    ),
    (
        re.compile(r"^AttributeError\([\"']'\w+' object has no attribute 'event_definition'"),
        lambda m, t: (
            "dopo un gateway a eventi possono venire solo eventi intermedi di attesa (messaggio, timer, "
            "segnale) o attività di ricezione"
        ),
    ),
    (
        re.compile(r"^(RecursionError|maximum recursion depth)"),
        lambda m, t: (
            "il diagramma è troppo profondo per essere letto (un ciclo attraversa troppi elementi): "
            "spostare parte del percorso in un sottoprocesso o in un'attività di chiamata"
        ),
    ),
]


def parse_message(message: str, tag: str | None = None) -> str:
    """An Italian sentence for one SpiffWorkflow parser message about an element of kind `tag`."""
    message = message.strip()
    schema = SCHEMA_MESSAGE.match(message)
    if schema:
        return schema_message(message, "BPMN 2.0")
    for pattern, rewrite in _PARSER_MESSAGES:
        match = pattern.match(message)
        if match:
            return rewrite(match, tag or "")
    if _looks_italian(message):
        return message
    log.info("untranslated parser message: %s", message)
    return (
        f"il motore non riesce a leggere {a_element(tag)}: controllarne le proprietà (riaprire e salvare "
        "il file con l'editor del portale, bpmn.io o Camunda Modeler)"
    )


def _looks_italian(message: str) -> bool:
    """Our own messages (raised from engine.spiff) are already Italian and located."""
    return bool(re.search(r"[àèéìòù«»]|\b(il|la|lo|non|un|una|del|della)\b", message)) and not _repr(message)


def _repr(message: str) -> bool:
    return bool(re.search(r"object at 0x|^\w+(Error|Exception)\(|SpiffWorkflow\.|\{'", message))


# --------------------------------------------------------------------------- XML Schema


SCHEMA_MESSAGE = re.compile(r"^Element '(?P<tag>[^']+)'(?:, attribute '(?P<attr>[^']+)')?: (?P<rest>.*)$", re.S)
_SCHEMA_RESTS: list[tuple[re.Pattern[str], Callable[[re.Match[str], str, str, str | None], str]]] = [
    (
        re.compile(r"^This element is not expected\.(?: Expected is(?: one of)? \( (?P<list>.*) \)\.?)?", re.S),
        lambda m, el, kind, attr: (
            f"l'elemento «{el}» non è ammesso in questo punto dello schema {kind}"
            + (f" (qui sono ammessi: {_names(m['list'])})" if m["list"] else "")
            + ": spostarlo o eliminarlo"
        ),
    ),
    (
        re.compile(r"^Missing child element\(s\)\.(?: Expected is(?: one of)? \( (?P<list>.*) \)\.?)?", re.S),
        lambda m, el, kind, attr: (
            f"all'elemento «{el}» manca un elemento obbligatorio"
            + (f" (uno tra: {_names(m['list'])})" if m["list"] else "")
            + ": completarlo"
        ),
    ),
    (
        re.compile(r"^The attribute '(?P<name>[^']+)' is required but missing"),
        lambda m, el, kind, attr: f"all'elemento «{el}» manca l'attributo obbligatorio «{m['name']}»: aggiungerlo",
    ),
    (
        re.compile(r"^The attribute '(?P<name>[^']+)' is not allowed"),
        lambda m, el, kind, attr: f"l'elemento «{el}» non ammette l'attributo «{m['name']}»: toglierlo",
    ),
    (
        re.compile(r"^'(?P<value>[^']*)' is not a valid value of the atomic type 'xs:ID'"),
        lambda m, el, kind, attr: (
            f"l'identificativo «{m['value']}» è usato da più elementi: ogni elemento deve avere un id unico"
            if _NCNAME.match(m["value"])
            else f"«{m['value']}» non è un identificativo valido: deve iniziare con una lettera e contenere solo "
            "lettere, cifre, '_', '-' o '.'"
        ),
    ),
    (
        re.compile(
            r"^\[facet 'enumeration'\] The value '(?P<value>[^']*)' is not an element of the set \{(?P<set>.*)\}"
        ),
        lambda m, el, kind, attr: (
            f"il valore «{m['value']}» dell'attributo «{attr}» non è ammesso (valori ammessi: "
            f"{', '.join(v.strip().strip(chr(39)) for v in m['set'].split(','))})"
        ),
    ),
    (
        re.compile(r"^'(?P<value>[^']*)' is not a valid value of the (?:atomic|union|list) type '(?P<type>[^']+)'"),
        lambda m, el, kind, attr: (
            f"il valore «{m['value']}»"
            + (f" dell'attributo «{attr}»" if attr else "")
            + f" non è valido (atteso: {_type_name(m['type'])})"
        ),
    ),
    (
        re.compile(r"^Character content other than whitespace is not allowed"),
        lambda m, el, kind, attr: (
            f"l'elemento «{el}» non può contenere testo: spostare il testo in una documentazione o eliminarlo"
        ),
    ),
]
_TYPES = {
    "xs:boolean": "true o false",
    "xs:integer": "un numero intero",
    "xs:int": "un numero intero",
    "xs:double": "un numero",
    "xs:QName": "il riferimento a un elemento",
    "xs:IDREF": "l'id di un elemento esistente",
    "xs:anyURI": "un indirizzo",
}


def _type_name(name: str) -> str:
    return _TYPES.get(name, f"un valore di tipo {name.split(':')[-1]}")


def _names(listing: str) -> str:
    names = [etree.QName(n.strip()).localname if n.strip().startswith("{") else n.strip() for n in listing.split(",")]
    names = [n for n in names if n and not n.startswith("##")]
    shown = ", ".join(names[:6])
    return shown + (f" e altri {len(names) - 6}" if len(names) > 6 else "")


def schema_message(message: str, kind: str) -> str:
    """An Italian sentence for one lxml XML Schema error (`kind` names the schema, e.g. 'DMN 1.3')."""
    match = SCHEMA_MESSAGE.match(message.strip())
    if match is None:
        return f"il file non rispetta lo schema {kind}: riaprirlo e salvarlo con l'editor"
    tag = match["tag"]
    element = etree.QName(tag).localname if tag.startswith("{") else tag.rsplit(":", 1)[-1]
    rest = " ".join(match["rest"].split())
    for pattern, rewrite in _SCHEMA_RESTS:
        found = pattern.match(rest)
        if found:
            return rewrite(found, element, kind, match["attr"])
    log.info("untranslated schema message: %s", message)
    where = f"l'attributo «{match['attr']}» dell'elemento «{element}»" if match["attr"] else f"l'elemento «{element}»"
    return f"{where} non rispetta lo schema {kind}: correggerlo con l'editor"


def schema_problem(message: str, line: int | None, file: str, root: Any, kind: str) -> Problem:
    """A located problem for an XML Schema error at `line` of `file`."""
    match = SCHEMA_MESSAGE.match(message.strip())
    tag = match["tag"] if match else None
    duplicate = re.match(r"'([^']*)' is not a valid value of the atomic type 'xs:ID'", match["rest"]) if match else None
    if duplicate and _NCNAME.match(duplicate[1]):
        element: str | None = duplicate[1]  # the id itself names the element (one of those sharing it)
    else:
        element = element_at_line(root, line, tag) if root is not None and line else None
    text = schema_message(message, kind)
    if element is None and line:
        text = f"riga {line}: {text}"
    return Problem(file, element, text)


def element_at_line(root: Any, line: int, tag: str | None = None) -> str | None:
    """Id of the element an error at `line` is about: one with `tag` on that line (or its
    nearest ancestor with an id), else the last element with an id that starts before it."""
    best = None
    for el in root.iter():
        if not isinstance(el.tag, str) or el.sourceline is None:
            continue
        if el.sourceline == line and (tag is None or _same_tag(el.tag, tag)):
            node = el
            while node is not None and not node.get("id"):
                node = node.getparent()
            if node is not None:
                return str(node.get("id"))
        if el.sourceline <= line and el.get("id"):
            best = str(el.get("id"))
    return best


def _same_tag(actual: str, named: str) -> bool:
    if named.startswith("{"):
        return actual == named
    return etree.QName(actual).localname == named.rsplit(":", 1)[-1]


# --------------------------------------------------------------------------- Python and XML syntax


_PYTHON_SYNTAX = [
    (re.compile(r"^invalid syntax\. Perhaps you forgot a comma\?$"), "sintassi non valida: manca forse una virgola?"),
    (re.compile(r"^invalid syntax\. Maybe you meant '==' or ':=' instead of '='\?$"), "per confrontare usare '=='"),
    (re.compile(r"^invalid syntax$"), "sintassi non valida"),
    (re.compile(r"^'(.)' was never closed$"), r"la parentesi «\1» non è mai chiusa"),
    (re.compile(r"^unmatched '(.)'$"), r"la parentesi «\1» chiude qualcosa che non è aperto"),
    (
        re.compile(r"^closing parenthesis '(.)' does not match opening parenthesis '(.)'.*$"),
        r"la «\1» non chiude la «\2»",
    ),
    (re.compile(r"^unterminated string literal.*$"), "un testo tra virgolette non è chiuso"),
    (re.compile(r"^unterminated triple-quoted string literal.*$"), "un testo tra virgolette triple non è chiuso"),
    (re.compile(r"^expected ':'$"), "manca «:»"),
    (re.compile(r"^expected an indented block.*$"), "manca il blocco rientrato"),
    (re.compile(r"^unexpected indent$"), "rientro inatteso"),
    (re.compile(r"^unindent does not match any outer indentation level$"), "il rientro non corrisponde"),
    (re.compile(r"^cannot assign to (.+?)(?: here)?\..*$"), r"non si può assegnare un valore a \1"),
    (re.compile(r"^cannot assign to (.+)$"), r"non si può assegnare un valore a \1"),
    (re.compile(r"^invalid decimal literal$"), "numero scritto male"),
    (re.compile(r"^unexpected EOF while parsing$"), "l'espressione finisce troppo presto"),
    (re.compile(r"^'return' outside function$"), "«return» fuori da una funzione"),
    (re.compile(r"^Generator expression must be parenthesized$"), "l'espressione generatrice va tra parentesi"),
]


def python_syntax(message: str) -> str:
    """Italian for the Python SyntaxError texts that reach diagnostics in parentheses."""

    def translate(match: re.Match[str]) -> str:
        inner = match[1]
        for pattern, replacement in _PYTHON_SYNTAX:
            if pattern.match(inner):
                italian = pattern.sub(replacement, inner)
                return "errore di sintassi" if italian == "sintassi non valida" else f"errore di sintassi ({italian})"
        return "errore di sintassi"

    return re.sub(r"errore di sintassi \((.*)\)", translate, message)


# --------------------------------------------------------------------------- code and JSON

_CODE_SUBJECTS = {
    "script": "lo script",
    "pre-script": "lo script iniziale (pre-script)",
    "post-script": "lo script finale (post-script)",
    "condizione": "la condizione",
    "cardinalità": "la cardinalità della multi-istanza",
    "condizione di completamento": "la condizione di completamento",
    "condizione del ciclo": "la condizione del ciclo",
    "chiave di correlazione": "la chiave di correlazione",
    "condizione dell'evento": "la condizione dell'evento",
    "contenuto del messaggio": "il contenuto del messaggio",
    "correlazione": "l'espressione di correlazione",
    "contenuto dell'evento": "il contenuto dell'evento",
    "timer": "l'espressione del timer",
}


def code_message(what: str, message: str) -> str:
    """«la condizione contiene un errore: riga 1: …» for a compile finding about diagram code."""
    subject = _CODE_SUBJECTS.get(what, what)
    return f"{subject} contiene un errore: {python_syntax(message)}"


_JSON_SYNTAX = [
    ("Expecting property name enclosed in double quotes", "atteso il nome di un campo tra virgolette doppie"),
    ("Expecting value", "atteso un valore"),
    ("Expecting ',' delimiter", "manca una virgola"),
    ("Expecting ':' delimiter", "mancano i due punti dopo il nome del campo"),
    ("Unterminated string starting at", "un testo tra virgolette non è chiuso"),
    ("Extra data", "c'è altro testo dopo la fine del JSON"),
    ("Invalid control character at", "carattere di controllo non ammesso dentro un testo"),
    ("Invalid \\escape", "sequenza con \\ non valida"),
    ("Invalid \\uXXXX escape", "sequenza \\u non valida"),
]


def json_syntax(exc: Any) -> str:
    """«JSON non valido alla riga 1, colonna 20: atteso il nome di un campo…» for a JSONDecodeError."""
    cause = next((italian for english, italian in _JSON_SYNTAX if exc.msg.startswith(english)), None)
    if cause is None:
        log.info("untranslated JSON message: %s", exc.msg)
        cause = "sintassi non valida"
    return f"JSON non valido alla riga {exc.lineno}, colonna {exc.colno}: {cause}"
