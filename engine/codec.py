"""JSON encoding of task data: plain JSON plus a few tagged types, never pickle.

Task data and internal data pass through here on their way to the database and to
the script sandbox. Only JSON values and the tagged types below survive; anything
else is refused with the variable's path so the author of a script can fix it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Any

_TAG = "__inlav__"


class UnstorableValue(TypeError):
    """A value in task data has a type that cannot be stored."""

    def __init__(self, path: str, value: object) -> None:
        super().__init__(f"la variabile '{path}' ha un tipo non salvabile ({type(value).__name__})")
        self.path = path


def to_jsonable(value: Any, path: str = "") -> Any:
    """Convert a data tree to plain JSON values, tagging dates and durations."""
    if value is None or isinstance(value, (bool, int, str)):
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
            if callable(item) or type(item).__name__ == "module":
                continue
            out[key] = to_jsonable(item, f"{path}.{key}" if path else key)
        if _TAG in out:
            raise UnstorableValue(f"{path}.{_TAG}", value)
        return out
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, _dt.datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, _dt.date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, _dt.time):
        return {_TAG: "time", "v": value.isoformat()}
    if isinstance(value, _dt.timedelta):
        return {_TAG: "timedelta", "v": value.total_seconds()}
    raise UnstorableValue(path or "valore", value)


def from_jsonable(value: Any) -> Any:
    """Inverse of `to_jsonable`."""
    if isinstance(value, dict):
        tag = value.get(_TAG)
        if tag is not None and len(value) == 2 and "v" in value:
            raw = value["v"]
            if tag == "datetime":
                return _dt.datetime.fromisoformat(raw)
            if tag == "date":
                return _dt.date.fromisoformat(raw)
            if tag == "time":
                return _dt.time.fromisoformat(raw)
            if tag == "timedelta":
                return _dt.timedelta(seconds=raw)
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return value


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
