"""Answers about budgets, reservations, notifications and webhooks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, RootModel

from meterr.rest_compat.answers.base import Amount, Answer, ExactAmount

__all__ = [
    "BudgetAnswer",
    "BudgetCheckAnswer",
    "BudgetsAnswer",
    "DeliveriesAnswer",
    "DeliveryAnswer",
    "NotificationAnswer",
    "NotificationsAnswer",
    "ReservationAnswer",
    "WebhookAnswer",
    "WebhooksAnswer",
]


class BudgetForecast(Answer):
    period_end: Amount | None
    exceeds_on: date | None


class BudgetAnswer(Answer):
    """A budget, its scope (at most one of team_id, user_id, provider, model, api_key_id)
    and its spend over the current period."""

    id: str
    name: str
    team_id: str | None
    user_id: str | None
    provider: str | None
    model: str | None
    api_key_id: str | None
    limit: Amount
    limit_exact: ExactAmount
    unit: Literal["usd", "tokens"]
    period: str
    timezone: str
    thresholds: list[int]
    action: Literal["alert", "block"]
    current: Amount
    current_exact: ExactAmount
    reserved: Amount
    remaining: Amount
    percent: float
    exceeded: bool
    period_start: datetime
    period_end: datetime | None
    forecast: BudgetForecast | None = None
    created_at: datetime
    updated_at: datetime


class BudgetsAnswer(Answer):
    """Every budget the key may read, with its spend."""

    budgets: list[BudgetAnswer]


class BudgetCheckAnswer(Answer):
    """Whether the call may go ahead, and the budgets that cover it."""

    allowed: bool
    blocking: list[str]
    budgets: list[BudgetAnswer]


class ReservationGranted(Answer):
    allowed: Literal[True]
    reservation_id: str
    expires_at: datetime


class ReservationRefused(Answer):
    """Figures are null for a budget the key may not read."""

    allowed: Literal[False]
    budget_id: str
    limit: Amount | None
    current: Amount | None
    reserved: Amount | None
    unit: Literal["usd", "tokens"] | None


class ReservationAnswer(RootModel[ReservationGranted | ReservationRefused]):
    """Granted with its id and expiry, or refused naming the budget that refused."""


class NotificationAnswer(Answer):
    """As webhooks deliver it."""

    id: str
    event: str
    created: datetime
    data: dict[str, Any]


class NotificationsAnswer(Answer):
    """Notifications, newest first."""

    events: list[NotificationAnswer]
    next_cursor: str | None


class WebhookAnswer(Answer):
    """A webhook endpoint; its signing secret only in the answer to its creation."""

    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: datetime
    secret: str | None = Field(None, description="whsec_...: shown once, at creation")


class WebhooksAnswer(Answer):
    """The organization's webhook endpoints."""

    webhooks: list[WebhookAnswer]


class Attempt(Answer):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None


class DeliveryAnswer(Answer):
    """A notification's delivery to an endpoint, with each attempt."""

    id: str
    webhook_id: str
    event_id: str
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[Attempt]
    payload: dict[str, Any]


class DeliveriesAnswer(Answer):
    """Deliveries, newest first; next_before pages on."""

    deliveries: list[DeliveryAnswer]
    next_before: str | None
