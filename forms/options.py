"""Option lists of choice fields: labels for codes, and options taken from task data.

A property marked `"x-inlav-options": "data:VARIABLE"` takes its choices from a list in
the task data: strings, or objects whose `value` and `label` keys (renamed with
`x-inlav-option-value` / `x-inlav-option-label`) give code and text. The result is an
ordinary `enum` plus `x-inlav-labels`, so validation and rendering treat it like any
other choice field.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

OPTIONS_KEY = "x-inlav-options"
LABELS_KEY = "x-inlav-labels"
DATA_PREFIX = "data:"


def enum_labels(prop: Mapping[str, Any]) -> dict[str, str]:
    """Display label of each choice code (from `x-inlav-labels`, `oneOf` titles, `ui` names)."""
    labels: dict[str, str] = {}
    for key in ("oneOf", "anyOf"):
        alts = prop.get(key)
        if isinstance(alts, list):
            for alt in alts:
                if isinstance(alt, dict) and "const" in alt and alt.get("title"):
                    labels[str(alt["const"])] = str(alt["title"])
    given = prop.get(LABELS_KEY)
    if isinstance(given, dict):
        labels.update({str(k): str(v) for k, v in given.items()})
    names = prop.get("x-enumNames") or prop.get("enumNames")
    if isinstance(names, list) and isinstance(prop.get("enum"), list):
        labels.update({str(k): str(v) for k, v in zip(prop["enum"], names, strict=False)})
    return labels


def data_options(prop: Mapping[str, Any], data: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """(code, label) pairs for a property whose options come from task data, else None."""
    source = prop.get(OPTIONS_KEY)
    if not isinstance(source, str) or not source.startswith(DATA_PREFIX):
        return None
    items = data.get(source[len(DATA_PREFIX) :])
    value_key = str(prop.get("x-inlav-option-value") or "value")
    label_key = str(prop.get("x-inlav-option-label") or "label")
    out: list[tuple[str, str]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            code = item.get(value_key)
            if code is None:
                continue
            out.append((str(code), str(item.get(label_key) or code)))
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            out.append((str(item), str(item)))
    return out


def fill_options(
    schema: Mapping[str, Any], options_for: Callable[[Mapping[str, Any]], list[tuple[str, str]] | None]
) -> dict[str, Any]:
    """A copy of `schema` where every property `options_for` knows gets `enum` + labels.

    `options_for(prop)` returns (code, label) pairs for a property whose options come
    from elsewhere (task data, a registry), or None to leave it alone.
    """
    resolved: dict[str, Any] = copy.deepcopy(dict(schema))

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            options = options_for(node)
            if options is not None:
                node["enum"] = [code for code, _ in options]
                node[LABELS_KEY] = dict(options)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(resolved)
    return resolved


def resolve_data_options(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema` with `data:` option lists turned into `enum` + labels."""
    if not _mentions(schema):
        return dict(schema)
    return fill_options(schema, lambda prop: data_options(prop, data))


def _mentions(node: Any) -> bool:
    if isinstance(node, dict):
        source = node.get(OPTIONS_KEY)
        if isinstance(source, str) and source.startswith(DATA_PREFIX):
            return True
        return any(_mentions(v) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v) for v in node)
    return False
