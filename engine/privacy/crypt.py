"""Sealing identity fields inside stored JSON, and opening them again.

A value under an identity field name (at any depth of the data) is replaced by an
envelope `{"__inlav__": "pii", "v": "<base64>"}`: the value's JSON encrypted with the
person's data key under AES-SIV. AES-SIV is deterministic, so the same value seals to
the same text within one case: content-addressed task data, change detection and the
history diffs keep working on what is stored, and equal values are only comparable
inside the same case (each case has its own key). The codec refuses user data that
carries the envelope's tag, so an envelope can never be forged through a form.

A script that copies an identity value verbatim into another variable (the regional
model puts the text for the partner into the referral's payload) would leave a readable
copy: so a text equal to an identity value seen in the same step is sealed as well.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

TAG = "__inlav__"
ENVELOPE = "pii"
ENVELOPE_MARK = f'"{TAG}":"{ENVELOPE}"'  # how an envelope looks in text written by codec.dumps
ERASED = "«dato cancellato»"  # what a person sees where an erased identity field was
_AD = [b"inlav-pii-v1"]
MIN_COPY = 3  # shorter identity texts are not hunted for elsewhere (too many false matches)


class PersonalDataUnavailable(RuntimeError):
    """A sealed value cannot be opened (wrong key, damaged data)."""


def is_envelope(value: Any) -> bool:
    """Whether a JSON value is a sealed identity value."""
    return isinstance(value, dict) and value.get(TAG) == ENVELOPE and len(value) == 2 and "v" in value


def _dumps(value: Any) -> str:
    """The canonical text codec.dumps writes (kept here to stay free of engine imports)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _empty(value: Any) -> bool:
    return value is None or value == ""


class CaseCipher:
    """Seals and opens the identity fields of one case, with its data key, for one step or read.

    `key` is None when the case has no key (never had identity data, or it was erased):
    sealing is then impossible and opening yields `erased_value`. Results are memoised, so a
    value repeated in several tasks costs one encryption per step.
    """

    def __init__(self, fields: frozenset[str], key: bytes | None, erased: bool = False) -> None:
        self.fields = fields
        self.erased = erased
        self._aead = AESSIV(key) if key is not None else None
        self._sealed: dict[str, dict[str, str]] = {}
        self._opened: dict[str, Any] = {}
        self._marks = tuple(f'"{name}":' for name in sorted(fields))
        self._known: set[str] = set()  # identity texts seen this step (copies get sealed too)
        self._texts: dict[str, str] = {}  # plain text → stored text of what was loaded

    @property
    def can_seal(self) -> bool:
        return self._aead is not None

    # ---- single values

    def seal_value(self, value: Any) -> dict[str, str]:
        """The envelope of one (JSON-ready) value."""
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        found = self._sealed.get(text)
        if found is None:
            if self._aead is None:
                raise PersonalDataUnavailable("Il caso non ha una chiave per i dati personali.")
            blob = self._aead.encrypt(text.encode("utf-8"), _AD)
            found = {TAG: ENVELOPE, "v": base64.b64encode(blob).decode("ascii")}
            self._sealed[text] = found
        return found

    def open_value(self, envelope: dict[str, Any], erased_value: Any = None) -> Any:
        """The value inside an envelope; `erased_value` if the person's identity was erased."""
        raw = envelope["v"]
        if raw in self._opened:
            return self._opened[raw]
        if self._aead is None:
            if self.erased:
                return erased_value
            raise PersonalDataUnavailable("Dati personali cifrati ma il caso non ha una chiave.")
        try:
            value = json.loads(self._aead.decrypt(base64.b64decode(raw), _AD))
        except (InvalidTag, ValueError) as exc:
            if self.erased:  # sealed under the key destroyed at erasure
                return erased_value
            raise PersonalDataUnavailable("Dati personali non decifrabili con la chiave del caso.") from exc
        self._opened[raw] = value
        if isinstance(value, str) and len(value) >= MIN_COPY:
            self._known.add(value)  # so the copy is sealed again when written back
        return value

    # ---- trees

    def mentions_fields(self, text: str) -> bool:
        """Whether JSON text written by codec.dumps may hold an identity field (cheap test)."""
        return any(mark in text for mark in self._marks)

    def seal_data(self, node: Any) -> Any:
        """A copy of a JSON tree whose identity fields, and verbatim copies of them, are sealed."""
        if not self.fields:
            return node
        known = len(self._known)
        sealed = self._seal(node)
        if len(self._known) != known:
            sealed = self._seal(sealed)  # a copy may have come before its original in this tree
        return sealed

    def _learn(self, node: Any, personal: bool) -> None:
        if isinstance(node, dict):
            if not is_envelope(node):
                for key, value in node.items():
                    self._learn(value, personal or key in self.fields)
        elif isinstance(node, list):
            for value in node:
                self._learn(value, personal)
        elif personal and isinstance(node, str) and len(node) >= MIN_COPY:
            self._known.add(node)

    def _seal(self, node: Any) -> Any:
        if isinstance(node, dict):
            if is_envelope(node):
                return node
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key in self.fields and not _empty(value) and not is_envelope(value):
                    self._learn(value, True)
                    out[key] = self.seal_value(value)
                else:
                    out[key] = self._seal(value)
            return out
        if isinstance(node, list):
            return [self._seal(value) for value in node]
        if isinstance(node, str) and node in self._known:
            return self.seal_value(node)
        return node

    def _may_hold_identity(self, text: str) -> bool:
        return self.mentions_fields(text) or any(value in text for value in self._known)

    def seal_text(self, value: Any, dumps: Any) -> str:
        """`dumps(value)`, sealed if it holds identity fields (the common case costs one dump)."""
        text: str = dumps(value)
        stored = self._texts.get(text)
        if stored is not None:
            return stored
        if self.fields and self._may_hold_identity(text):
            text = dumps(self.seal_data(value))
        return text

    def seal_diff(self, diff: dict[str, Any] | None) -> dict[str, Any] | None:
        """A data diff (engine.datadiff) with identity values sealed, keeping its shape."""
        if not diff or not self.fields:
            return diff
        out: dict[str, Any] = {}
        for part, body in diff.items():
            if part == "changed" and isinstance(body, dict):
                self._learn({key: pair for key, pair in body.items() if key in self.fields}, False)
                out[part] = {
                    key: [
                        self.seal_value(v) if key in self.fields and not _empty(v) else self.seal_data(v) for v in pair
                    ]
                    if isinstance(pair, list)
                    else pair
                    for key, pair in body.items()
                }
            elif part == "replaced" and isinstance(body, dict):
                out[part] = {side: self.seal_data(value) for side, value in body.items()}
            else:
                out[part] = self.seal_data(body)
        return out

    def open_data(self, node: Any, erased_value: Any = None) -> Any:
        """A copy of a JSON tree (data, diff, payload) with every envelope opened."""
        if isinstance(node, dict):
            if is_envelope(node):
                return self.open_value(node, erased_value)
            return {key: self.open_data(value, erased_value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.open_data(value, erased_value) for value in node]
        return node

    def open_text(self, text: str, erased_value: Any = None, remember: bool = False) -> Any:
        """Parse JSON text written by codec.dumps, opening envelopes as it parses.

        With `remember`, the plain text of what was opened is kept with the stored text,
        so writing the same data back costs a dictionary lookup instead of a sealing walk.
        """
        if ENVELOPE_MARK not in text:
            return json.loads(text)

        def hook(obj: dict[str, Any]) -> Any:
            return self.open_value(obj, erased_value) if is_envelope(obj) else obj

        value = json.loads(text, object_hook=hook)
        if remember:
            self._texts[_dumps(value)] = text
        return value


def identity_values(cipher: CaseCipher, data: Any, minimum: int = 3) -> set[str]:
    """The plain texts held under identity fields of an (opened) data tree, for matching."""
    found: set[str] = set()

    def visit(node: Any, personal: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                visit(value, personal or key in cipher.fields)
        elif isinstance(node, list):
            for value in node:
                visit(value, personal)
        elif personal and isinstance(node, str) and len(node.strip()) >= minimum:
            found.add(node.strip().lower())

    visit(data, False)
    return found
