"""Keys: one data key per person (case), wrapped by the master keys from the settings.

`INLAV_DATA_KEYS` lists Fernet keys, newest first: the first wraps new person keys, any
of them unwraps (MultiFernet). Rotation re-wraps every person key with the first one,
after which the older master keys can be dropped from the settings. The blind index
uses its own secret (`INLAV_INDEX_KEY`), so rotating master keys never touches search.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.models import ProcessInstance

PERSON_KEY_BYTES = 64  # AES-256-SIV


class KeyUnavailable(RuntimeError):
    """A person key cannot be unwrapped with the configured master keys."""


@dataclass(frozen=True)
class MasterKeys:
    """The master keys of the settings: wrap with the newest, unwrap with any."""

    fernet: MultiFernet

    def wrap(self, person_key: bytes) -> str:
        """A person key encrypted with the newest master key."""
        return self.fernet.encrypt(person_key).decode("ascii")

    def unwrap(self, wrapped: str) -> bytes:
        """The person key inside a wrapped one; KeyUnavailable if no master key opens it."""
        try:
            return self.fernet.decrypt(wrapped.encode("ascii"))
        except (InvalidToken, ValueError) as exc:
            raise KeyUnavailable(
                "Chiave dei dati personali non apribile: controllare INLAV_DATA_KEYS (manca una chiave vecchia?)."
            ) from exc

    def rewrap(self, wrapped: str) -> str:
        """The same person key wrapped with the newest master key."""
        try:
            return self.fernet.rotate(wrapped.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError) as exc:
            raise KeyUnavailable("Chiave dei dati personali non apribile con le chiavi configurate.") from exc


@lru_cache(maxsize=8)
def _master_keys(keys: tuple[str, ...]) -> MasterKeys:
    if not keys:
        raise KeyUnavailable("INLAV_DATA_KEYS è vuota.")
    try:
        return MasterKeys(MultiFernet([Fernet(k.encode("ascii")) for k in keys]))
    except ValueError as exc:
        raise KeyUnavailable("INLAV_DATA_KEYS contiene una chiave non valida (servono chiavi Fernet).") from exc


def master_keys(settings: Settings) -> MasterKeys:
    """The master keys configured in the settings."""
    return _master_keys(tuple(settings.data_key_list()))


def new_person_key() -> bytes:
    """A fresh random data key for one person."""
    return os.urandom(PERSON_KEY_BYTES)


@lru_cache(maxsize=8)
def _index_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"inlav blind index v1").derive(
        secret.encode("utf-8")
    )


def index_key(settings: Settings) -> bytes:
    """The HMAC key of the blind index, derived from `INLAV_INDEX_KEY`."""
    return _index_key(settings.index_key)


def generate_master_key() -> str:
    """A new master key to put first in INLAV_DATA_KEYS."""
    return Fernet.generate_key().decode("ascii")


def rotate_keys(session: Session, settings: Settings, batch: int = 500) -> int:
    """Re-wrap every person key with the newest master key; returns how many were re-wrapped."""
    keys = master_keys(settings)
    done = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(ProcessInstance.id, ProcessInstance.data_key)
            .where(ProcessInstance.id > last_id, ProcessInstance.data_key.is_not(None))
            .order_by(ProcessInstance.id)
            .limit(batch)
        ).all()
        if not rows:
            return done
        for instance_id, wrapped in rows:
            assert wrapped is not None  # selected above
            # A Core UPDATE: rotation is not a change of the case, so its revision stays.
            session.execute(
                update(ProcessInstance)
                .where(ProcessInstance.id == instance_id)
                .values(data_key=keys.rewrap(wrapped))
                .execution_options(synchronize_session=False)
            )
            done += 1
            last_id = instance_id
