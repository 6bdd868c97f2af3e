"""Reservations for gateways: hold a call's estimated cost against the budgets it falls under
before making it, settle the hold when its usage is tracked, or let it expire."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from meterr.auth import Operation
from meterr.domain import BudgetAction, BudgetStatus, BudgetUnit
from meterr.errors import InvalidInput
from meterr.pricing import usd_to_nano
from meterr.resolvers.context import RequestContext
from meterr.resolvers.inputs import ReservationInput
from meterr.resolvers.spend import (
    budget_status,
    budget_statuses,
    call_scope,
    covering,
    release_expired,
    visible_to,
)
from meterr.resolvers.timerange import stored_instant
from meterr.store import Hold

__all__ = [
    "GrantedReservation",
    "RefusedReservation",
    "Reservation",
    "check_reservations",
    "reserve",
    "settle",
]


@dataclass(frozen=True, slots=True)
class GrantedReservation:
    id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RefusedReservation:
    """The blocking budget that refused, as it stood; its figures only for a caller that
    may read the budget (a team's key is refused by its organization's budgets too, but
    sees only their id)."""

    budget_id: str
    budget: BudgetStatus | None


Reservation = GrantedReservation | RefusedReservation


def _refused(ctx: RequestContext, status: BudgetStatus) -> RefusedReservation:
    shown = status if visible_to(ctx, status.budget) else None
    return RefusedReservation(status.budget.id, shown)


def _amount(status: BudgetStatus, data: ReservationInput) -> int:
    if status.budget.unit is BudgetUnit.USD:
        return usd_to_nano(data.estimated_cost) if data.estimated_cost is not None else 0
    return data.estimated_tokens or 0


async def reserve(ctx: RequestContext, data: ReservationInput) -> Reservation:
    """Hold the estimate against every budget the call falls under, all or none; a blocking
    budget refuses a hold that would take its spend and holds past its limit."""
    ctx.principal.require(Operation.INGEST)
    now = stored_instant(ctx.now())
    await release_expired(ctx, now)
    scope = call_scope(
        ctx,
        team_id=data.team_id,
        user_id=data.user_id,
        provider=data.provider,
        model=data.model,
        api_key_id=data.api_key_id,
    )
    budgets = await covering(ctx, scope)
    statuses = {status.budget.id: status for status in await budget_statuses(ctx, budgets, now)}
    holds = []
    for status in statuses.values():
        blocking = status.budget.action is BudgetAction.BLOCK
        amount = _amount(status, data)
        ceiling = status.budget.limit - status.current if blocking else None
        if ceiling is not None and (status.exceeded or status.reserved + amount > ceiling):
            return _refused(ctx, status)
        holds.append(Hold(
            period_id=f"{status.budget.id}:{status.period_key}",
            budget_id=status.budget.id,
            period=status.period_key,
            amount=amount,
            ceiling=ceiling,
        ))  # fmt: skip
    reservation_id = f"rsv_{secrets.token_hex(12)}"
    expires_at = now + timedelta(seconds=data.ttl_seconds)
    refused = await ctx.store.reservations.hold(
        ctx.org_id, reservation_id, holds, created_at=now, expires_at=expires_at
    )
    if refused is not None:
        budget = statuses[refused.budget_id].budget
        return _refused(ctx, await budget_status(ctx, budget, now))
    return GrantedReservation(reservation_id, expires_at)


async def check_reservations(
    ctx: RequestContext, reservation_ids: Sequence[str | None], *, batch: bool
) -> None:
    """Refuse a track request naming a reservation this organization never made."""
    named = sorted({rid for rid in reservation_ids if rid is not None})
    if not named:
        return
    known = await ctx.store.reservations.exists(ctx.org_id, named)
    problems = {
        (f"events[{index}].reservation_id" if batch else "reservation_id"): ("no such reservation")
        for index, rid in enumerate(reservation_ids)
        if rid is not None and rid not in known
    }
    if problems:
        raise InvalidInput(f"Invalid input: {', '.join(problems)}.", {"fields": problems})


async def settle(ctx: RequestContext, reservation_ids: Sequence[str | None]) -> None:
    """The usage of these reservations' calls is stored: give their holds back (once; a
    replay or an expired reservation releases nothing)."""
    for reservation_id in sorted({rid for rid in reservation_ids if rid is not None}):
        await ctx.store.reservations.release(ctx.org_id, reservation_id, "settled")
