"""Small helpers the administration modules share: field checks that collect Italian errors."""

from __future__ import annotations

import re

from engine.errors import FormInvalid

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[0-9+()./\s-]{5,50}$")


class Errors:
    """Field errors collected while checking a form; `raise_if_any` turns them into FormInvalid."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def text(self, field: str, value: str | None, label: str, limit: int, required: bool = False) -> str | None:
        """A trimmed text (None when empty), or an error if missing or too long."""
        clean = (value or "").strip()
        if not clean:
            if required:
                self.add(field, f"{label}: campo obbligatorio.")
            return None
        if len(clean) > limit:
            self.add(field, f"{label}: al massimo {limit} caratteri.")
        return clean

    def email(self, field: str, value: str | None) -> str | None:
        clean = self.text(field, value, "Email", 200)
        if clean is not None and not EMAIL.match(clean):
            self.add(field, "Email non valida (esempio: nome@ente.it).")
        return clean

    def phone(self, field: str, value: str | None) -> str | None:
        clean = self.text(field, value, "Telefono", 50)
        if clean is not None and not PHONE.match(clean):
            self.add(field, "Telefono non valido: solo cifre, spazi e + ( ) - . /")
        return clean

    def raise_if_any(self) -> None:
        if self.by_field:
            count = sum(len(v) for v in self.by_field.values())
            raise FormInvalid(f"Il modulo contiene {count} {'errore' if count == 1 else 'errori'}.", self.by_field)
