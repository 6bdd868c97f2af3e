"""API keys: generation, hashing and the shape of a key on the wire."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

__all__ = ["GeneratedKey", "generate_key", "hash_key", "is_well_formed"]

_PREFIX = "mtr"
_KEY_RE = re.compile(r"^mtr_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A new key: the secret is shown once, only its hash is kept."""

    key: str
    display_prefix: str
    key_hash: str


def generate_key() -> GeneratedKey:
    public = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(8))
    key = f"{_PREFIX}_{public}_{secrets.token_urlsafe(32)}"
    return GeneratedKey(key=key, display_prefix=f"{_PREFIX}_{public}", key_hash=hash_key(key))


def hash_key(key: str) -> str:
    # The secret has 256 bits of entropy, so a fast hash is safe here: there is
    # nothing to brute-force, and verification stays cheap on every request.
    return hashlib.sha256(key.encode()).hexdigest()


def is_well_formed(key: str) -> bool:
    return _KEY_RE.fullmatch(key) is not None
