"""Credentials at rest: sealed with AES-256-GCM under the service's secret key, each bound to
the record it belongs to."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meterr.data_dir import private_directory, private_file

__all__ = ["SealError", "Sealer", "load_secret_key"]

_VERSION = 1
_KEY_BYTES = 32


class SealError(Exception):
    """A sealed value that does not open: the wrong key, or tampered with."""


def _decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("METERR_SECRET_KEY must be 32 bytes in URL-safe base64") from None
    if len(key) != _KEY_BYTES:
        raise ValueError("METERR_SECRET_KEY must be 32 bytes in URL-safe base64")
    return key


def load_secret_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured key, or the one kept in the data directory, made on first use (a
    deployment of several instances must configure one shared key instead)."""
    if configured:
        return _decode_key(configured)
    path = private_directory(data_dir) / "secret.key"
    if path.exists():
        private_file(path)
    else:
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(_KEY_BYTES)).decode()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(fresh + "\n")
    return _decode_key(path.read_text())


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, bound_to: str) -> dict[str, object]:
        """`plaintext` encrypted and authenticated, together with `bound_to` (the record's
        identity), so that a sealed value moved to another record does not open."""
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), bound_to.encode())
        return {
            "v": _VERSION,
            "nonce": base64.b64encode(nonce).decode(),
            "data": base64.b64encode(sealed).decode(),
        }

    def open(self, sealed: dict[str, object], bound_to: str) -> str:
        try:
            nonce = base64.b64decode(str(sealed["nonce"]))
            data = base64.b64decode(str(sealed["data"]))
            return self._aead.decrypt(nonce, data, bound_to.encode()).decode()
        except (KeyError, ValueError, InvalidTag) as exc:
            raise SealError("a sealed credential did not open") from exc
