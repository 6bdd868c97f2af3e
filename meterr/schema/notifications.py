"""Notifications in GraphQL: an interface with `data` (the webhook's payload, as it is
delivered) and one type per kind with typed fields, so that a client switches on
`__typename` instead of reading JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON

from meterr import domain
from meterr.domain import NotificationType
from meterr.schema.enums import BudgetAction, BudgetPeriod, BudgetUnit, MemberRole, PricingStatus
from meterr.schema.money import BudgetAmount, Money

__all__ = [
    "NOTIFICATION_KINDS",
    "AlertScope",
    "BudgetAlert",
    "ForecastExceeded",
    "MemberJoined",
    "Notification",
    "ThresholdReached",
    "TrackedUsageSummary",
    "UsageExceeded",
    "UsageTracked",
    "notification_of",
]


@strawberry.interface(
    description="Something that happened, as webhooks deliver it: `data` is the webhook's "
    "payload (snake_case); each kind's type has the same facts as typed fields."
)
class Notification:
    id: strawberry.ID
    event: NotificationType
    created: datetime
    data: JSON


@strawberry.type(description="Which events a budget counts: those with this field's value, or all.")
class AlertScope:
    team_id: str | None
    user_id: str | None
    provider: str | None
    model: str | None
    api_key_id: str | None


@strawberry.interface(
    description="A budget's alert: the budget, its limit and spend in its unit, the scope it "
    "counts and its current period."
)
class BudgetAlert(Notification):
    budget_id: strawberry.ID
    budget_name: str
    limit: BudgetAmount
    current: BudgetAmount
    unit: BudgetUnit
    percent: float
    action: BudgetAction
    period: BudgetPeriod
    period_start: datetime
    period_end: datetime | None
    scope: AlertScope


@strawberry.type(description="A budget's spend crossed one of its thresholds (a percentage).")
class ThresholdReached(BudgetAlert):
    threshold: int


@strawberry.type(description="A budget's spend reached its limit.")
class UsageExceeded(BudgetAlert):
    pass


@strawberry.type(description="A budget is forecast to reach its limit before its period ends.")
class ForecastExceeded(BudgetAlert):
    exceeds_on: date | None
    projected: BudgetAmount | None


@strawberry.type(description="Someone accepted an invitation and joined a team.")
class MemberJoined(Notification):
    team_id: strawberry.ID
    team_name: str
    member_id: strawberry.ID
    email: str
    role: MemberRole


@strawberry.type(description="A stored usage event as its notification tells it.")
class TrackedUsageSummary:
    event_id: str
    timestamp: datetime
    provider: str
    model: str
    team_id: str | None
    user_id: str | None
    input_tokens: int
    output_tokens: int
    cost: Money | None
    pricing_status: PricingStatus


@strawberry.type(description="A usage event was stored.")
class UsageTracked(Notification):
    usage: TrackedUsageSummary


def _common(notification: domain.Notification) -> dict[str, Any]:
    return {
        "id": strawberry.ID(notification.id),
        "event": NotificationType(notification.type),
        "created": notification.created_at,
        "data": JSON(notification.data),
    }


def _instant(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _exact(data: Mapping[str, Any], name: str) -> Decimal | None:
    """An amount of the payload: its exact twin (`limit_exact`), or the number itself in
    notifications stored before the payload carried one."""
    exact, number = data.get(f"{name}_exact"), data.get(name)
    if isinstance(exact, str):
        return Decimal(exact)
    return None if number is None else Decimal(repr(number))


def _budget_amount(data: Mapping[str, Any], name: str) -> BudgetAmount | None:
    amount = _exact(data, name)
    if amount is None:
        return None
    unit = BudgetUnit(data["unit"])
    return BudgetAmount.of(unit, amount if unit is BudgetUnit.USD else int(amount))


def _budget_alert(data: Mapping[str, Any]) -> dict[str, Any]:
    scope = data.get("scope") or {}
    start = _instant(data.get("period_start"))
    assert start is not None, "every budget alert names the start of its period"
    return {
        "budget_id": strawberry.ID(data["budget_id"]),
        "budget_name": data["budget_name"],
        "limit": _budget_amount(data, "limit"),
        "current": _budget_amount(data, "current"),
        "unit": BudgetUnit(data["unit"]),
        "percent": data["percent"],
        "action": BudgetAction(data["action"]),
        "period": BudgetPeriod(data["period"]),
        "period_start": start,
        "period_end": _instant(data.get("period_end")),
        "scope": AlertScope(**{field: scope.get(field) for field in domain.SCOPE_FIELDS}),
    }


def _threshold(n: domain.Notification) -> Notification:
    return ThresholdReached(
        **_common(n), **_budget_alert(n.data), threshold=int(n.data["threshold"])
    )


def _exceeded(n: domain.Notification) -> Notification:
    return UsageExceeded(**_common(n), **_budget_alert(n.data))


def _forecast(n: domain.Notification) -> Notification:
    exceeds_on = n.data.get("exceeds_on")
    return ForecastExceeded(
        **_common(n),
        **_budget_alert(n.data),
        exceeds_on=date.fromisoformat(exceeds_on) if isinstance(exceeds_on, str) else None,
        projected=_budget_amount(n.data, "projected"),
    )


def _joined(n: domain.Notification) -> Notification:
    data = n.data
    return MemberJoined(
        **_common(n),
        team_id=strawberry.ID(data["team_id"]),
        team_name=data["team_name"],
        member_id=strawberry.ID(data["member_id"]),
        email=data["email"],
        role=MemberRole(data["role"]),
    )


def _tracked(n: domain.Notification) -> Notification:
    data = n.data
    timestamp = _instant(data["timestamp"])
    assert timestamp is not None
    usage = TrackedUsageSummary(
        event_id=data["event_id"],
        timestamp=timestamp,
        provider=data["provider"],
        model=data["model"],
        team_id=data.get("team_id"),
        user_id=data.get("user_id"),
        input_tokens=int(data["input_tokens"]),
        output_tokens=int(data["output_tokens"]),
        cost=None if (cost := _exact(data, "cost")) is None else Money.usd(cost),
        pricing_status=PricingStatus(data["pricing_status"]),
    )
    return UsageTracked(**_common(n), usage=usage)


_KINDS: dict[NotificationType, Callable[[domain.Notification], Notification]] = {
    NotificationType.THRESHOLD_REACHED: _threshold,
    NotificationType.USAGE_EXCEEDED: _exceeded,
    NotificationType.FORECAST_EXCEEDED: _forecast,
    NotificationType.MEMBER_JOINED: _joined,
    NotificationType.USAGE_TRACKED: _tracked,
}


# Each kind's type, named to the schema though fields answer the interface.
NOTIFICATION_KINDS = (ThresholdReached, UsageExceeded, ForecastExceeded, MemberJoined, UsageTracked)


def notification_of(notification: domain.Notification) -> Notification:
    """The notification as the GraphQL type of its kind."""
    return _KINDS[NotificationType(notification.type)](notification)
