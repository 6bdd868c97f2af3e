"""Organizations and API keys: creation, listing, revocation, first-start bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from meterr.auth import Role, Tier, generate_key
from meterr.store import ApiKeyRecord, Organization, Store

__all__ = ["DEFAULT_ORGANIZATION", "NewKey", "bootstrap_admin_key", "create_key"]

DEFAULT_ORGANIZATION = "default"


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: `key` is its only appearance in clear."""

    key: str
    record: ApiKeyRecord
    organization: Organization
    organization_created: bool


async def create_key(
    store: Store,
    *,
    org_name: str,
    tier: Tier | None = None,
    role: Role = Role.ADMIN,
    team_id: str | None = None,
    name: str | None = None,
    now: datetime,
) -> NewKey:
    """A new key for `org_name`, creating the organization on first use.

    This is operator tooling (the CLI), so it is not scoped by a caller's organization.
    """
    organization, created = await store.organizations.ensure_organization(org_name, tier, now=now)
    if created:
        await store.metadata_keys.start(organization.id)
    generated = generate_key()
    record = await store.organizations.insert_key(
        organization.id,
        key_hash=generated.key_hash,
        display_prefix=generated.display_prefix,
        role=role,
        team_id=team_id,
        name=name,
        now=now,
    )
    return NewKey(generated.key, record, organization, created)


async def bootstrap_admin_key(store: Store, *, now: datetime) -> NewKey | None:
    """On a store with no organization yet, an admin key for a default one."""
    if await store.organizations.count_organizations_for_admin():
        return None
    return await create_key(
        store,
        org_name=DEFAULT_ORGANIZATION,
        tier=Tier.ENTERPRISE,
        role=Role.ADMIN,
        name="bootstrap",
        now=now,
    )
