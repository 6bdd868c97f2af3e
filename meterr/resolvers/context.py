"""What every resolver is handed: the caller and the service's shared parts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from cachetools import TTLCache

from meterr.auth import Principal, Sealer, load_secret_key
from meterr.clock import Clock, SystemClock
from meterr.config import Settings
from meterr.domain import Budget, UsageFilter
from meterr.errors import Forbidden
from meterr.events import EventBus, WebhookDispatcher
from meterr.forecasting import Forecast
from meterr.metrics import Metrics
from meterr.pricing import Catalogue, ModelPrice
from meterr.resolvers.open_sockets import OpenSockets
from meterr.resolvers.org_work import OrganizationWork
from meterr.resolvers.shared_feeds import SharedFeeds
from meterr.store import Store

__all__ = ["AnswerSources", "RateLimitStatus", "RequestContext", "Services"]


@dataclass
class Services:
    """Created once by the app's lifespan (or the CLI) and shared by every request."""

    settings: Settings
    store: Store
    catalogue: Catalogue
    bus: EventBus
    principals: TTLCache[str, Principal] = field(init=False)
    overrides: TTLCache[str, tuple[ModelPrice, ...]] = field(init=False)
    budgets: TTLCache[str, tuple[Budget, ...]] = field(init=False)
    dispatcher: WebhookDispatcher | None = None
    metrics: Metrics = field(default_factory=Metrics)
    usage_webhooks: TTLCache[str, tuple[str, ...]] = field(init=False)
    sealer: Sealer = field(init=False)
    forecasts_checked: TTLCache[str, bool] = field(init=False)
    scope_forecasts: TTLCache[tuple[object, ...], Forecast] = field(init=False)
    fired_alerts: TTLCache[tuple[str, str], frozenset[str]] = field(init=False)
    cost_feeds: SharedFeeds = field(default_factory=SharedFeeds)
    sockets: OpenSockets = field(default_factory=OpenSockets)
    work: OrganizationWork = field(init=False)
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        ttl = self.settings.key_cache_seconds
        # Short-lived caches keep the per-request reads off the hot path; a revoked
        # key or a new override reaches other instances within `ttl` seconds.
        self.principals = TTLCache(maxsize=10_000, ttl=ttl)
        self.work = OrganizationWork(
            self.settings.organization_concurrency, self.settings.organization_queue_seconds
        )
        self.overrides = TTLCache(maxsize=10_000, ttl=ttl)
        self.budgets = TTLCache(maxsize=10_000, ttl=ttl)
        self.usage_webhooks = TTLCache(maxsize=10_000, ttl=ttl)
        self.forecasts_checked = TTLCache(maxsize=100_000, ttl=300)
        # Daily forecasts of budgets' scopes, from the days before today.
        self.scope_forecasts = TTLCache(maxsize=10_000, ttl=300)
        # Read once, at start-up: the key that seals provider credentials and webhook secrets.
        self.sealer = Sealer(load_secret_key(self.settings.secret_key, self.settings.data_dir))
        # Alerts known to have fired (budget id, period) never unfire, except when their
        # budget is changed: then this instance forgets them at once, others within `ttl`.
        self.fired_alerts = TTLCache(maxsize=100_000, ttl=max(ttl, 60))

    def forget_principals(self) -> None:
        """Keys were revoked: this instance stops taking them at once, and closes the
        websockets they opened."""
        self.principals.clear()
        self.sockets.keys_changed()

    def wake_dispatcher(self) -> None:
        """Deliveries were queued: the webhook dispatcher need not wait for its next round."""
        if self.dispatcher is not None:
            self.dispatcher.wake()


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """The caller's hourly window: None limit and remaining mean unlimited."""

    limit: int | None
    remaining: int | None
    reset: datetime
    now: datetime

    def headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers every response carries."""
        return {
            "X-RateLimit-Limit": "unlimited" if self.limit is None else str(self.limit),
            "X-RateLimit-Remaining": "unlimited" if self.remaining is None else str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset.timestamp())),
        }

    @property
    def retry_after(self) -> int:
        return max(1, int((self.reset - self.now).total_seconds() + 0.999))


@dataclass
class AnswerSources:
    """Where one request's cost and usage questions were answered from: the rollups, or the
    raw events, and then why no rollup could answer (reason code -> explanation)."""

    rollups: int = 0
    events: dict[str, str] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        if self.events:
            return {
                "X-Meterr-Source": "events",
                "X-Meterr-Source-Reason": "; ".join(self.events.values()),
            }
        return {"X-Meterr-Source": "rollups"} if self.rollups else {}

    def summary(self) -> dict[str, object] | None:
        """The same, for a GraphQL response's extensions."""
        if self.events:
            return {"source": "events", "reasons": list(self.events.values())}
        return {"source": "rollups"} if self.rollups else None


@dataclass(frozen=True, slots=True)
class RequestContext:
    """One authenticated request."""

    principal: Principal
    services: Services
    answers: AnswerSources = field(default_factory=AnswerSources)
    # The organization's hourly window as counting this request left it.
    rate_limit: RateLimitStatus | None = None

    @property
    def org_id(self) -> str:
        return self.principal.org_id

    @property
    def store(self) -> Store:
        return self.services.store

    def now(self) -> datetime:
        """The service clock's time. An operation reads it once and passes it on, so that
        everything it decides agrees on one instant."""
        return self.services.clock.now()

    @property
    def team_scope(self) -> str | None:
        """The one team a confined (team member's) key may see and report; None for
        organization keys."""
        return self.principal.team_id if self.principal.confined else None

    def confine(self, usage_filter: UsageFilter) -> UsageFilter:
        """The filter as this caller may apply it: a confined key sees only its team, and
        asking for other teams is refused."""
        team = self.team_scope
        if team is None:
            return usage_filter
        if usage_filter.team_ids and set(usage_filter.team_ids) != {team}:
            raise Forbidden(
                "This key sees only its own team's usage.",
                {"team_id": team, "requested": list(usage_filter.team_ids)},
            )
        return replace(usage_filter, team_ids=(team,))
