"""Operator maintenance: recomputing derived data from the raw events."""

from __future__ import annotations

from meterr.store import RebuildReport, Store

__all__ = ["rebuild_rollups"]


async def rebuild_rollups(store: Store, org_id: str | None = None) -> list[RebuildReport]:
    """Recompute the rollups for one organization, or every one (operator tooling), with
    the metadata keys learned anew from the events. Budgets' periods then take their seeds
    from the new rollups."""
    if org_id is not None:
        org_ids = [org_id]
    else:
        org_ids = await store.organizations.all_organization_ids_for_admin()
    reports = []
    for org in org_ids:
        # The keys are learned first, their cells still marked incomplete, so that questions
        # asked during the rebuild read the raw events.
        keys = await store.metadata_keys.relearn(org, store.events.collection)
        reports.append(await store.rollups.rebuild(org, store.events.collection, keys))
        await store.metadata_keys.mark_complete(org)
        await store.budget_spend.forget_seeds(org)
    return reports
