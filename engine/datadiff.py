"""Top-level differences between two data dicts, and applying them (pure functions)."""

from __future__ import annotations

from typing import Any


def data_diff(before: Any, after: Any) -> dict[str, Any] | None:
    """Top-level difference between two data dicts, or None if nothing changed."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return None if before == after else {"replaced": {"before": before, "after": after}}
    added = {k: after[k] for k in after.keys() - before.keys()}
    removed = {k: before[k] for k in before.keys() - after.keys()}
    changed = {k: [before[k], after[k]] for k in after.keys() & before.keys() if before[k] != after[k]}
    if not (added or removed or changed):
        return None
    diff: dict[str, Any] = {}
    if added:
        diff["added"] = added
    if changed:
        diff["changed"] = changed
    if removed:
        diff["removed"] = removed
    return diff


def apply_diff(data: dict[str, Any], diff: dict[str, Any] | None) -> None:
    """Apply a `data_diff` result to `data` in place."""
    if not diff:
        return
    data.update(diff.get("added") or {})
    for key, pair in (diff.get("changed") or {}).items():
        data[key] = pair[1]
    for key in diff.get("removed") or {}:
        data.pop(key, None)
    if "replaced" in diff and isinstance(diff["replaced"].get("after"), dict):
        data.clear()
        data.update(diff["replaced"]["after"])
