"""API keys and the authenticated principal."""

from __future__ import annotations

from meterr.auth.keys import GeneratedKey, generate_key, hash_key, is_well_formed
from meterr.auth.principal import Operation, Principal, Role, Tier
from meterr.auth.sealing import Sealer, SealError, load_secret_key

__all__ = [
    "GeneratedKey",
    "Operation",
    "Principal",
    "Role",
    "SealError",
    "Sealer",
    "Tier",
    "generate_key",
    "hash_key",
    "is_well_formed",
    "load_secret_key",
]
