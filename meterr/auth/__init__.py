"""API keys and the authenticated principal."""

from __future__ import annotations

from meterr.auth.keys import GeneratedKey, generate_key, hash_key, is_well_formed
from meterr.auth.principal import Operation, Principal, Role, Tier

__all__ = [
    "GeneratedKey",
    "Operation",
    "Principal",
    "Role",
    "Tier",
    "generate_key",
    "hash_key",
    "is_well_formed",
]
