"""Parse untrusted XML (uploaded diagrams) without entities, DTDs or network access."""

from __future__ import annotations

import logging
import re
from typing import Any

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from lxml import etree

DEFAULT_MAX_BYTES = 2_000_000
log = logging.getLogger(__name__)


class UnsafeXml(ValueError):
    """The document is too large, malformed or uses forbidden XML features."""


def parse_xml(content: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Return the lxml root element of `content`, refusing anything dangerous.

    Two layers: defusedxml (pure expat) rejects any DTD, entity declaration or external
    reference before lxml sees the bytes; lxml then parses with entity resolution,
    DTD loading and network access switched off and its size guard left on.
    """
    if len(content) > max_bytes:
        raise UnsafeXml(f"file troppo grande ({len(content)} byte, massimo {max_bytes})")
    if not content.strip():
        raise UnsafeXml("file vuoto")
    try:
        DefusedET.fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        what = _FORBIDDEN.get(type(exc).__name__, "un costrutto XML vietato")
        raise UnsafeXml(f"il file contiene {what}: DTD, entità e riferimenti esterni sono vietati") from exc
    except DefusedET.ParseError as exc:
        raise UnsafeXml(f"XML non valido{xml_syntax(str(exc))}") from exc
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        if str(exc).startswith("Excessive depth in document"):  # well formed, but deeper than lxml reads
            raise UnsafeXml(f"XML troppo annidato{xml_syntax(str(exc))}") from exc
        raise UnsafeXml(f"XML non valido{xml_syntax(str(exc))}") from exc
    return root


_FORBIDDEN = {
    "DTDForbidden": "una dichiarazione di tipo documento (<!DOCTYPE …>)",
    "EntitiesForbidden": "una dichiarazione di entità (<!ENTITY …>)",
    "ExternalReferenceForbidden": "un riferimento a un file o indirizzo esterno",
    "NotSupportedError": "un costrutto XML non supportato",
}

_XML_SYNTAX = [
    (
        "Excessive depth in document",
        "gli elementi sono annidati oltre 256 livelli (per esempio sottoprocessi uno dentro l'altro): "
        "ridurre l'annidamento, per esempio con attività di chiamata",
    ),
    ("unclosed token", "un tag non è chiuso"),
    ("mismatched tag", "un tag di chiusura non corrisponde a quello aperto"),
    ("not well-formed (invalid token)", "carattere non ammesso in questo punto"),
    ("no element found", "il documento finisce prima di essere chiuso"),
    ("junk after document element", "c'è del testo dopo la fine del documento"),
    ("duplicate attribute", "un attributo è ripetuto"),
    ("unbound prefix", "un prefisso di spazio dei nomi non è dichiarato"),
    ("syntax error", "errore di sintassi XML"),
    ("unclosed CDATA section", "una sezione CDATA non è chiusa"),
    ("XML or text declaration not at start of entity", "la dichiarazione <?xml?> deve stare all'inizio del file"),
    ("undefined entity", "entità non definita"),
    ("encoding specified in XML declaration is incorrect", "la codifica dichiarata non è quella del file"),
]


def xml_syntax(message: str) -> str:
    """'mismatched tag: line 6, column 2' → ' alla riga 6, colonna 2: un tag di chiusura non corrisponde…'."""
    where = re.search(r"line (\d+), column (\d+)", message)
    position = f" alla riga {where[1]}, colonna {where[2]}" if where else ""
    for english, italian in _XML_SYNTAX:
        if message.startswith(english):
            return f"{position}: {italian}"
    log.info("untranslated XML message: %s", message)
    return f"{position}: il file non è XML ben formato"
