"""An organization's id, found by its name or by one of its keys."""

from __future__ import annotations

from meterr.auth import hash_key
from meterr.store import Store

__all__ = ["org_id_named", "org_id_of_key"]


async def org_id_named(store: Store, org: str) -> str:
    organization = await store.organizations.organization_named(org)
    assert organization is not None
    return organization.id


async def org_id_of_key(store: Store, key: str) -> str:
    principal = await store.organizations.principal_for_key_hash_across_tenants(hash_key(key))
    assert principal is not None
    return principal.org_id
