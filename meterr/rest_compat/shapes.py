"""The documented JSON shapes of /v1 responses, built from domain objects."""

from __future__ import annotations

from typing import Any

from meterr import wire
from meterr.domain import SCOPE_FIELDS, BudgetStatus, Notification, UsageTotals
from meterr.resolvers import (
    METADATA_LIMITS,
    Backtest,
    BudgetCheck,
    CostForecast,
    CostGroup,
    Delivery,
    GrantedReservation,
    LearnedKeys,
    ModelPrice,
    PriceImport,
    RepriceReport,
    Reservation,
    SeriesForecast,
    TrackedEvent,
    WebhookEndpoint,
    budget_amount,
    delivery_payload,
    event_json,
    nano_to_usd,
)
from meterr.wire import exact_usd, instant, usd

__all__ = [
    "backtest_json",
    "budget_check_json",
    "budget_json",
    "cost_groups_json",
    "metadata_keys_json",
    "delivery_json",
    "forecast_json",
    "event_json",
    "notification_json",
    "price_import_json",
    "price_json",
    "reprice_json",
    "reservation_json",
    "totals_json",
    "tracked_json",
    "webhook_json",
]


def tracked_json(tracked: TrackedEvent) -> dict[str, Any]:
    return {**event_json(tracked.event), "replayed": tracked.replayed}


def totals_json(totals: UsageTotals) -> dict[str, Any]:
    return {
        "requests": totals.requests,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "cached_input_tokens": totals.cached_input_tokens,
        "cache_write_tokens": totals.cache_write_tokens,
        "reasoning_tokens": totals.reasoning_tokens,
        "tokens": totals.tokens,
        "cost": usd(totals.cost),
        "cost_exact": exact_usd(totals.cost),
        "unpriced_requests": totals.unpriced_requests,
    }


def metadata_keys_json(learned: LearnedKeys) -> dict[str, Any]:
    return {
        "keys": [
            {
                "key": key.key,
                "state": key.state.value,
                "rolled_up": key.rolled_up,
                "values": key.values,
            }
            for key in learned.keys
        ],
        "complete": learned.complete,
        "limits": METADATA_LIMITS,
    }


def cost_groups_json(groups: list[CostGroup]) -> dict[str, Any]:
    """`{"openai": {"total": 145.23, "tokens": 1500000}, ...}`, as documented, with the exact
    total beside; groups of known teams also carry `name` and `deleted`."""
    shaped: dict[str, Any] = {}
    for group in groups:
        entry: dict[str, Any] = {
            "total": usd(group.totals.cost),
            "total_exact": exact_usd(group.totals.cost),
            "tokens": group.totals.tokens,
        }
        if group.name is not None:
            entry.update(name=group.name, deleted=group.deleted)
        shaped[group.key] = entry
    return shaped


def _rates_json(price: ModelPrice, long_context: bool) -> dict[str, Any]:
    rates = price.long_context.rates if long_context and price.long_context else price.rates
    return {
        "input": wire.exact(rates.input),
        "output": wire.exact(rates.output),
        "cached_input": wire.exact(rates.effective_cached_input),
        "cache_write": wire.exact(rates.effective_cache_write),
        "reasoning": wire.exact(rates.effective_reasoning),
    }


def price_json(price: ModelPrice) -> dict[str, Any]:
    return {
        "provider": price.provider,
        "model": price.model,
        "effective_from": instant(price.effective_from),
        "origin": price.origin,
        "source": price.source,
        "source_date": price.source_date.isoformat(),
        "unit": "USD per 1M tokens",
        **_rates_json(price, long_context=False),
        "long_context": None
        if price.long_context is None
        else {
            "above_input_tokens": price.long_context.above_input_tokens,
            **_rates_json(price, long_context=True),
        },
    }


def reprice_json(report: RepriceReport) -> dict[str, Any]:
    return {
        "applied": report.applied,
        "changed": report.changed,
        "models": [
            {
                "provider": line.provider,
                "model": line.model,
                "events": line.events,
                "changed": line.changed,
                "old_cost": usd(nano_to_usd(line.old_cost_nano)),
                "new_cost": usd(nano_to_usd(line.new_cost_nano)),
                "difference": usd(nano_to_usd(line.new_cost_nano - line.old_cost_nano)),
                "unpriced_before": line.unpriced_before,
                "unpriced_after": line.unpriced_after,
            }
            for line in report.lines
        ],
    }


def price_import_json(report: PriceImport, *, dry_run: bool) -> dict[str, Any]:
    return {
        "dry_run": dry_run,
        "imported": [{"provider": provider, "model": model} for provider, model in report.imported],
        "skipped": report.skipped,
        "repriced": report.repriced,
    }


def _amount(status: BudgetStatus, value: int) -> float | int:
    return wire.amount(budget_amount(status.budget, value))


def budget_json(status: BudgetStatus) -> dict[str, Any]:
    """A budget as created (its scope field among team_id, user_id, provider, model and
    api_key_id), with its spend over the current period."""
    budget = status.budget
    return {
        "id": budget.id,
        "name": budget.name,
        **{
            name: budget.scope.value if budget.scope.field == name else None
            for name in SCOPE_FIELDS
        },
        "limit": _amount(status, budget.limit),
        "limit_exact": wire.exact_amount(budget_amount(budget, budget.limit)),
        "unit": budget.unit.value,
        "period": budget.period.value,
        "timezone": budget.timezone,
        "thresholds": list(budget.thresholds),
        "action": budget.action.value,
        "current": _amount(status, status.current),
        "current_exact": wire.exact_amount(budget_amount(budget, status.current)),
        "reserved": _amount(status, status.reserved),
        "remaining": _amount(status, status.remaining),
        "percent": float(status.percent),
        "exceeded": status.exceeded,
        "period_start": instant(status.period_start),
        "period_end": None if status.period_end is None else instant(status.period_end),
        **_budget_forecast_json(status),
        "created_at": instant(budget.created_at),
        "updated_at": instant(budget.updated_at),
    }


def _budget_forecast_json(status: BudgetStatus) -> dict[str, Any]:
    forecast = status.forecast
    if forecast is None:
        return {}
    projected = forecast.projected
    return {
        "forecast": {
            "period_end": None if projected is None else _amount(status, projected),
            "exceeds_on": None if forecast.exceeds_on is None else forecast.exceeds_on.isoformat(),
        }
    }


def budget_check_json(check: BudgetCheck) -> dict[str, Any]:
    return {
        "allowed": check.allowed,
        "blocking": check.blocking,
        "budgets": [budget_json(status) for status in check.budgets],
    }


def notification_json(notification: Notification) -> dict[str, Any]:
    """As webhooks deliver it: `{"id", "event", "created", "data"}`."""
    return delivery_payload(notification)


def reservation_json(reservation: Reservation) -> dict[str, Any]:
    """`{"allowed": true, "reservation_id", "expires_at"}`, or `{"allowed": false,
    "budget_id", "limit", "current"}` naming the budget that refused."""
    if isinstance(reservation, GrantedReservation):
        return {
            "allowed": True,
            "reservation_id": reservation.id,
            "expires_at": instant(reservation.expires_at),
        }
    status = reservation.budget
    if status is None:  # a budget the caller may not read: its figures stay hidden
        return {
            "allowed": False,
            "budget_id": reservation.budget_id,
            "limit": None,
            "current": None,
            "reserved": None,
            "unit": None,
        }
    return {
        "allowed": False,
        "budget_id": status.budget.id,
        "limit": _amount(status, status.budget.limit),
        "current": _amount(status, status.current),
        "reserved": _amount(status, status.reserved),
        "unit": status.budget.unit.value,
    }


def webhook_json(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    """An endpoint; its signing secret only in the answer to its creation."""
    shaped: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "created_at": instant(endpoint.created_at),
    }
    if secret is not None:
        shaped["secret"] = secret
    return shaped


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "webhook_id": delivery.endpoint_id,
        "event_id": delivery.notification_id,
        "event": delivery.type,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "next_attempt_at": None
        if delivery.next_attempt_at is None or delivery.status != "pending"
        else instant(delivery.next_attempt_at),
        "created_at": instant(delivery.created_at),
        "delivered_at": None if delivery.delivered_at is None else instant(delivery.delivered_at),
        "attempts": [
            {
                "at": instant(attempt.at),
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            }
            for attempt in delivery.attempts
        ],
        "payload": delivery.payload,
    }


def _money(amount: float) -> float:
    return float(wire.estimated_usd(amount))


def _series_json(series: SeriesForecast) -> dict[str, Any]:
    month = series.month
    return {
        "method": series.forecast.method,
        "history_days": series.forecast.history_days,
        "history": [
            {"date": day.isoformat(), "cost": _money(cost)} for day, cost in series.history
        ],
        "forecast": [
            {
                "date": day.day.isoformat(),
                "cost": _money(day.expected),
                "low80": _money(day.low80),
                "high80": _money(day.high80),
                "low95": _money(day.low95),
                "high95": _money(day.high95),
            }
            for day in series.forecast.days
        ],
        "month_to_date": _money(month.month_to_date),
        "month_end": {
            "expected": _money(month.expected),
            "low80": _money(month.low80),
            "high80": _money(month.high80),
            "low95": _money(month.low95),
            "high95": _money(month.high95),
        },
    }


def forecast_json(forecast: CostForecast) -> dict[str, Any]:
    """The organization's forecast, and each group's when grouped: USD per day with 80%
    and 95% prediction intervals, and the month's projected total."""
    shaped: dict[str, Any] = {
        "horizon": forecast.horizon,
        "today": forecast.today.isoformat(),
        "timezone": forecast.zone.key,
        "history_start": forecast.history_start.isoformat(),
        "currency": "USD",
        **_series_json(forecast.total),
    }
    if forecast.group_by is not None:
        shaped["group_by"] = forecast.group_by.label
        shaped["groups"] = {group.key: _series_json(group) for group in forecast.groups}
    return shaped


def backtest_json(report: Backtest) -> dict[str, Any]:
    """Percentages as fractions (0.085 is 8.5%); None where there was nothing to measure."""
    return {
        "days": report.days,
        "mape": wire.fraction(report.mape),
        "bias": wire.fraction(report.bias),
        "coverage80": wire.fraction(report.coverage80),
        "coverage95": wire.fraction(report.coverage95),
    }
