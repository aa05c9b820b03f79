"""Uploaded XML never resolves entities, loads DTDs, touches the network or grows without bound."""

from __future__ import annotations

import pytest

from engine.safexml import UnsafeXml, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<definitions>&lol2;</definitions>"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<definitions>&x;</definitions>"""

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>
<definitions/>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE definitions SYSTEM "http://127.0.0.1:9/x.dtd">
<definitions/>"""

QUADRATIC = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "' + b"x" * 10000 + b'">]><d>' + b"&a;" * 1000 + b"</d>"


@pytest.mark.parametrize("content", [BILLION_LAUGHS, XXE_FILE, XXE_NETWORK, EXTERNAL_DTD, QUADRATIC])
def test_entities_and_dtds_are_refused(content: bytes) -> None:
    with pytest.raises(UnsafeXml, match="DTD") as err:
        parse_xml(content)
    assert str(err.value).startswith("il file contiene una dichiarazione di tipo documento (<!DOCTYPE …>)")
    assert "Forbidden" not in str(err.value), "no library class names"


def test_well_formed_but_deeply_nested_xml_is_not_called_malformed() -> None:
    """300 nested subprocesses are well formed; lxml reads 256 levels."""
    with pytest.raises(UnsafeXml) as err:
        parse_xml(b"<a>" + b"<b>" * 300 + b"</b>" * 300 + b"</a>")
    assert str(err.value).startswith("XML troppo annidato alla riga 1")
    assert "annidati oltre 256 livelli" in str(err.value) and "ben formato" not in str(err.value)


def test_size_limit_and_malformed_documents() -> None:
    with pytest.raises(UnsafeXml, match="troppo grande"):
        parse_xml(b"<a>" + b"x" * 2000 + b"</a>", max_bytes=1000)
    with pytest.raises(UnsafeXml, match="non valido"):
        parse_xml(b"<a><b></a>")
    with pytest.raises(UnsafeXml, match="vuoto"):
        parse_xml(b"   ")


def test_plain_documents_parse() -> None:
    root = parse_xml(b'<?xml version="1.0"?><definitions id="d"><process id="p"/></definitions>')
    assert root.get("id") == "d" and root[0].get("id") == "p"
