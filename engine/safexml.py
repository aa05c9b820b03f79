"""Parse untrusted XML (uploaded diagrams) without entities, DTDs or network access."""

from __future__ import annotations

from typing import Any

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from lxml import etree

DEFAULT_MAX_BYTES = 2_000_000


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
        raise UnsafeXml(f"costrutto XML non consentito ({type(exc).__name__}): DTD ed entità sono vietate") from exc
    except DefusedET.ParseError as exc:
        raise UnsafeXml(f"XML non valido: {exc}") from exc
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
        raise UnsafeXml(f"XML non valido: {exc}") from exc
    return root
