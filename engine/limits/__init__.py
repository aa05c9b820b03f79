"""Limits on what a case may hold: the encoded size and the nesting depth of its data.

Diagrams, forms, API calls and partner messages all put data into a case, and every
later step encodes, diffs, seals and stores that data again. Two settings bound it
(`Settings.max_case_data_bytes`, `Settings.max_data_depth`):

- a step whose resulting data would break them ends like a script error (an incident
  naming element and variable, the case unchanged: `engine.instances`);
- data arriving from outside (a form or API submission, start data, a message payload)
  is refused before anything is stored (`check_incoming`);
- data shown or served (case file, task data) is cut at the depth limit with an explicit
  marker (`clip_depth`), so that data stored before the limits existed can always be read.

Depth is counted per variable: a number or a text is 0 levels deep, `[1]` one, `[[1]]` two.
Every walk here is iterative or bounded by the limit, never by the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.config import Settings
from engine.errors import EngineError, FormInvalid


@dataclass(frozen=True)
class DataLimits:
    """Largest encoded size (bytes of UTF-8 JSON) and deepest nesting a case's data may have."""

    max_bytes: int
    max_depth: int

    @classmethod
    def of(cls, settings: Settings) -> DataLimits:
        return cls(settings.max_case_data_bytes, settings.max_data_depth)


class DataTooLarge(EngineError):
    """Data sent from outside is larger than a case may hold (the web layer answers 413)."""


@dataclass
class Breach:
    """Where a step's data breaks a limit: the problem (Italian), the variable, the task holding it."""

    problem: str
    variable: str | None = None
    task_id: str | None = None


class LimitExceeded(Exception):
    """Raised while a step is being stored: the step is refused and rolled back."""

    def __init__(self, breach: Breach) -> None:
        super().__init__(breach.problem)
        self.breach = breach


# --------------------------------------------------------------------------- measuring


def depth_of(value: Any, stop_above: int | None = None) -> int:
    """Nesting depth of a JSON-like value (iterative; stops counting once above `stop_above`)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        level += 1
        if level > deepest:
            deepest = level
            if stop_above is not None and deepest > stop_above:
                return deepest
        stack.extend((child, level) for child in children if isinstance(child, (dict, list, tuple)))
    return deepest


def encoded_size(value: Any) -> int:
    """Bytes of the compact UTF-8 JSON encoding (check the depth first: encoding recurses)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8"))


def human_size(size: int, exact: bool = False) -> str:
    """«25,0 MB», «850,0 kB», «12 byte»; `exact` drops a zero decimal («2 MB»)."""
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if size >= scale:
            text = f"{size / scale:.1f}".replace(".", ",")
            if exact and text.endswith(",0"):
                text = text[:-2]
            return f"{text} {unit}"
    return f"{size} byte"


def too_large(size: int, limits: DataLimits) -> str:
    """The Italian problem for a size over the limit."""
    return f"dati del caso troppo grandi: {human_size(size)} oltre il limite di {human_size(limits.max_bytes, True)}"


def too_deep(limits: DataLimits) -> str:
    """The Italian problem for nesting over the limit."""
    return f"annidamento oltre {limits.max_depth} livelli"


def deepest_variable(data: Mapping[str, Any], limits: DataLimits) -> str | None:
    """The first variable of `data` nested deeper than the limit, or None."""
    for name, value in data.items():
        if isinstance(value, (dict, list, tuple)) and depth_of(value, limits.max_depth) > limits.max_depth:
            return str(name)
    return None


def largest_variable(data: Mapping[str, Any]) -> str | None:
    """The variable of `data` that takes most room once encoded (depth already checked)."""
    best, best_size = None, -1
    for name, value in data.items():
        size = encoded_size(value)
        if size > best_size:
            best, best_size = str(name), size
    return best


NUL_TEXT = "testo con un carattere nullo (U+0000), che non si può salvare: toglierlo"


def nul_variable(data: Any) -> str | None:
    """The first variable whose name or value holds U+0000 (no database column can store it), or None.

    `""` names data that is not a dict. Iterative: called after the depth check, on any data."""
    items = list(data.items()) if isinstance(data, Mapping) else [("", data)]
    for name, value in items:
        stack: list[Any] = [name, value]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                if "\x00" in node:
                    return str(name).replace("\x00", "")
            elif isinstance(node, Mapping):
                stack.extend(node.keys())
                stack.extend(node.values())
            elif isinstance(node, (list, tuple)):
                stack.extend(node)
    return None


def check_data(data: Any, limits: DataLimits, task_id: str | None = None) -> Breach | None:
    """Depth first (encoding recurses), then size, of one data dict (or any JSON value)."""
    if isinstance(data, Mapping):
        deep = deepest_variable(data, limits)
        if deep is not None:
            return Breach(too_deep(limits), deep, task_id)
    elif depth_of(data, limits.max_depth) > limits.max_depth:
        return Breach(too_deep(limits), None, task_id)
    nul = nul_variable(data)
    if nul is not None:
        return Breach(NUL_TEXT, nul or None, task_id)
    size = encoded_size(data)
    if size > limits.max_bytes:
        variable = largest_variable(data) if isinstance(data, Mapping) else None
        return Breach(too_large(size, limits), variable, task_id)
    return None


def check_incoming(data: Any, limits: DataLimits, what: str = "dati") -> None:
    """Refuse data from outside (form, API, message) that a case could not hold.

    Too deep: FormInvalid naming the field (422); too large: DataTooLarge (413).
    """
    if isinstance(data, Mapping):
        deep = deepest_variable(data, limits)
        if deep is not None:
            raise FormInvalid(
                f"I {what} inviati sono annidati troppo in profondità (massimo {limits.max_depth} livelli).",
                {deep: [too_deep(limits)]},
            )
    elif depth_of(data, limits.max_depth) > limits.max_depth:
        raise FormInvalid(
            f"I {what} inviati sono annidati troppo in profondità (massimo {limits.max_depth} livelli).",
            {"": [too_deep(limits)]},
        )
    nul = nul_variable(data)
    if nul is not None:
        raise FormInvalid(
            f"I {what} inviati contengono un carattere nullo (U+0000), che non si può salvare: toglierlo e "
            "inviarli di nuovo.",
            {nul: [NUL_TEXT]},
        )
    try:
        size = encoded_size(data)
    except UnicodeEncodeError:  # a lone UTF-16 surrogate ("\ud800" in JSON): no UTF-8 text can hold it
        raise FormInvalid(
            f"I {what} inviati contengono un carattere non valido (un surrogato Unicode isolato, "
            "come \\ud800): correggere il testo e inviarli di nuovo.",
            {_unencodable_variable(data): [UNENCODABLE]},
        ) from None
    if size > limits.max_bytes:
        raise DataTooLarge(f"I {what} inviati sono troppo grandi: {too_large(size, limits)}.")


UNENCODABLE = "testo con un carattere non valido (surrogato Unicode isolato)"


def _unencodable_variable(data: Any) -> str:
    """The first variable of `data` (name or value) that UTF-8 cannot encode, shown safely; "" if none."""
    if isinstance(data, Mapping):
        for name, value in data.items():
            try:
                encoded_size({name: value})
            except UnicodeEncodeError:
                return str(name).encode("utf-8", "replace").decode("utf-8")
    return ""


# --------------------------------------------------------------------------- showing


def omitted_marker(limits: DataLimits) -> str:
    """What stands in for a part of the data nested deeper than the limit."""
    return f"[omesso: {too_deep(limits)}]"


def clip_depth(data: Mapping[str, Any], limits: DataLimits) -> tuple[dict[str, Any], list[str]]:
    """A copy of `data` whose variables are cut at the depth limit, and a warning per cut variable.

    The recursion is bounded by the limit, not by the data, and the parts beyond it are
    replaced with `omitted_marker`, so what comes out always encodes.
    """
    marker = omitted_marker(limits)
    out: dict[str, Any] = {}
    warnings: list[str] = []
    for name, value in data.items():
        if isinstance(value, (dict, list, tuple)) and depth_of(value, limits.max_depth) > limits.max_depth:
            out[str(name)] = _clip(value, limits.max_depth, marker)
            warnings.append(
                f"La variabile «{name}» supera {limits.max_depth} livelli di annidamento: "
                "la parte più profonda è omessa."
            )
        else:
            out[str(name)] = value
    return out, warnings


def _clip(value: Any, room: int, marker: str) -> Any:
    if not isinstance(value, (dict, list, tuple)):
        return value
    if room <= 0:
        return marker
    if isinstance(value, dict):
        return {key: _clip(item, room - 1, marker) for key, item in value.items()}
    return [_clip(item, room - 1, marker) for item in value]


# --------------------------------------------------------------------------- a step


def _after_values(diff: Mapping[str, Any]) -> dict[str, Any]:
    """The values a data diff (engine.datadiff) sets, by variable."""
    values = dict(diff.get("added") or {})
    for key, pair in (diff.get("changed") or {}).items():
        values[key] = pair[1] if isinstance(pair, list) and len(pair) == 2 else pair
    replaced = diff.get("replaced")
    if isinstance(replaced, Mapping) and isinstance(replaced.get("after"), Mapping):
        values.update(replaced["after"])
    return values


def check_step(
    task_data: Iterable[tuple[str | None, Any]],
    diffs: Iterable[Mapping[str, Any]],
    payloads: Iterable[Any],
    limits: DataLimits,
) -> Breach | None:
    """The first limit a step's data breaks, or None.

    `task_data`: (task id, data dict) of everything the step stores per task or workflow
    (data and internal data, already JSON values); `diffs`: its history diffs; `payloads`:
    the messages it throws. Each value's depth is checked before it is encoded.
    """
    for task_id, data in task_data:
        breach = check_data(data, limits, task_id)
        if breach is not None:
            return breach
    for diff in diffs:
        after = _after_values(diff)
        deep = deepest_variable(after, limits)
        if deep is not None:
            return Breach(too_deep(limits), deep)
        nul = nul_variable(after)
        if nul is not None:
            return Breach(NUL_TEXT, nul or None)
        size = encoded_size(diff)
        if size > limits.max_bytes:
            return Breach(too_large(size, limits), largest_variable(after))
    for payload in payloads:
        breach = check_data(payload, limits)
        if breach is not None:
            return breach
    return None
