"""Operator maintenance: recomputing derived data from the raw events."""

from __future__ import annotations

import logging

from meterr.store import RebuildReport, Store

__all__ = ["ensure_rollup_layout", "rebuild_rollups"]

log = logging.getLogger(__name__)


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
        reports.append(await store.relearn_and_rebuild(org))
        await store.budget_spend.forget_seeds(org)
    return reports


async def ensure_rollup_layout(store: Store) -> None:
    """Rebuild every organization's rollups if they were made to an earlier layout of
    families and grains (once, at the first start of a new version)."""
    if not await store.is_reachable():
        log.warning("The store is unreachable: the rollups' layout is checked at the next start.")
        return
    if await store.rollups.layout_is_current():
        return
    log.warning("The rollups were made to an earlier layout: rebuilding them from the events.")
    reports = await rebuild_rollups(store)
    await store.rollups.record_layout()
    log.warning("Rebuilt the rollups of %d organizations.", len(reports))
