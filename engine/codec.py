"""JSON encoding of task data: plain JSON plus a few tagged types, never pickle.

Task data and internal data pass through here on their way to the database and to
the script sandbox. Only JSON values and the tagged types below survive; anything
else is refused with the variable's path so the author of a script can fix it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import sys
from typing import Any

_TAG = "__inlav__"
# A lone UTF-16 surrogate (chr(0xd800)) is a valid Python string that no UTF-8 text can hold.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Integers below this bound have fewer digits than any int-to-text limit Python allows (640+).
_SMALL_INT = 10**600


class UnstorableValue(TypeError):
    """A value in task data has a type that cannot be stored."""

    def __init__(self, path: str, value: object) -> None:
        super().__init__(f"la variabile '{path}' ha un tipo non salvabile ({type(value).__name__})")
        self.path = path


class TooManyDigits(UnstorableValue):
    """An integer has more digits than Python will turn into text (JSON stores numbers as text)."""

    def __init__(self, path: str, limit: int) -> None:
        where = f" nella variabile «{path}»" if path else ""
        TypeError.__init__(self, f"il numero{where} ha più di {limit} cifre e non si può salvare")
        self.path = path


class Unencodable(UnstorableValue):
    """A text holds a lone UTF-16 surrogate, which no UTF-8 text can hold."""

    def __init__(self, path: str) -> None:
        where = f" nella variabile «{path}»" if path else ""
        reason = "contiene un carattere non valido (un surrogato Unicode isolato) e non si può salvare"
        TypeError.__init__(self, f"il testo{where} {reason}")
        self.path = path


class TooDeep(UnstorableValue):
    """A value is nested so deep that encoding it would exhaust the stack."""

    def __init__(self, path: str) -> None:
        TypeError.__init__(
            self,
            f"la variabile '{path}' è annidata troppo in profondità" if path else "dati annidati troppo in profondità",
        )
        self.path = path


def _tag(value: Any) -> Any:
    """`json.dumps` default: tag the few extra types we store, refuse everything else."""
    if isinstance(value, _dt.datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, _dt.date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, _dt.time):
        return {_TAG: "time", "v": value.isoformat()}
    if isinstance(value, _dt.timedelta):
        return {_TAG: "timedelta", "v": value.total_seconds()}
    raise TypeError(type(value).__name__)


def to_jsonable(value: Any, path: str = "") -> Any:
    """Convert a data tree to plain JSON values, tagging dates and durations.

    Fast path: one C-level `json.dumps`/`json.loads` round trip (dictionary keys that
    are numbers become text, as in any JSON). Anything it refuses (an unknown type, a
    callable to drop, NaN) and any value with tagged or reserved keys takes the checking
    walk, which drops callables and names the offending variable.
    """
    try:
        text = json.dumps(value, default=_tag, allow_nan=False, check_circular=False, ensure_ascii=False)
    except RecursionError:
        raise TooDeep(path) from None
    except (TypeError, ValueError):  # also an integer with too many digits to write
        try:
            return _walk(value, path)
        except RecursionError:
            raise TooDeep(path) from None
    try:
        return _walk(value, path) if _TAG in text or _SURROGATE.search(text) else json.loads(text)
    except RecursionError:
        raise TooDeep(path) from None


def _walk(value: Any, path: str = "") -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if sys.get_int_max_str_digits() and not -_SMALL_INT < value < _SMALL_INT:
            try:
                str(value)  # Python refuses early, from the size, without converting
            except ValueError:
                raise TooManyDigits(path, sys.get_int_max_str_digits()) from None
        return value
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise Unencodable(path)
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise UnstorableValue(path or "valore", value)
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnstorableValue(f"{path}[{key!r}]", key)
            if _SURROGATE.search(key):
                raise Unencodable(path or "valore")
            if callable(item) or type(item).__name__ == "module":
                continue
            out[key] = _walk(item, f"{path}.{key}" if path else key)
        if _TAG in out:
            raise UnstorableValue(f"{path}.{_TAG}", value)
        return out
    if isinstance(value, (list, tuple)):
        return [_walk(item, f"{path}[{i}]") for i, item in enumerate(value)]
    try:
        return _tag(value)
    except TypeError:
        raise UnstorableValue(path or "valore", value) from None


def _untag(obj: dict[str, Any]) -> Any:
    tag = obj.get(_TAG)
    if tag is None or len(obj) != 2 or "v" not in obj:
        return obj
    raw = obj["v"]
    if tag == "datetime":
        return _dt.datetime.fromisoformat(raw)
    if tag == "date":
        return _dt.date.fromisoformat(raw)
    if tag == "time":
        return _dt.time.fromisoformat(raw)
    if tag == "timedelta":
        return _dt.timedelta(seconds=raw)
    return obj


def from_jsonable(value: Any) -> Any:
    """Inverse of `to_jsonable`: a fresh copy with tagged values restored (two C passes)."""
    return loads(json.dumps(value, check_circular=False))


def loads(text: str) -> Any:
    """Parse JSON text written by this module, restoring tagged values."""
    return json.loads(text, object_hook=_untag if _TAG in text else None)


def dumps(value: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces) of an already-jsonable value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(text: str) -> str:
    """SHA-256 hex digest of a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def from_jsonable_text(text: str) -> Any:
    """Parse JSON text produced by `dumps` (no type conversion)."""
    return json.loads(text)


def digest_bytes(content: bytes) -> str:
    """SHA-256 hex digest of raw bytes."""
    return hashlib.sha256(content).hexdigest()
