"""Application logic shared by the GraphQL schema and the REST layer: every rule lives here.

It also hands the doors the price and webhook types its functions return (ModelPrice,
nano_to_usd, WebhookEndpoint, Delivery), and the pacer of live fan-out that the websockets'
senders share (Pacer), so that they depend on this layer alone."""

from __future__ import annotations

from meterr.events import Pacer
from meterr.forecasting import Backtest
from meterr.pricing import ModelPrice, nano_to_usd
from meterr.resolvers.access import (
    RateLimitStatus,
    admit,
    admit_operation,
    authenticate,
    bearer_token,
    close_revoked_sockets,
    count_request,
)
from meterr.resolvers.availability import StoreUnreachable, require_store, store_failure
from meterr.resolvers.budgets import (
    BudgetCheck,
    check_budgets,
    create_budget,
    delete_budget,
    forecast_of,
    get_budget,
    list_budgets,
    update_budget,
)
from meterr.resolvers.bulk import import_usage
from meterr.resolvers.context import RequestContext, Services
from meterr.resolvers.costs import (
    NO_VALUE,
    CostGroup,
    UsageSummary,
    cost_groups,
    parse_group_by,
    parse_usage_filter,
    summed_usage,
    usage_filter,
    usage_totals,
)
from meterr.resolvers.feeds import (
    COST_FEED_INTERVAL,
    Sink,
    cost_feed,
    notification_feed,
    usage_feed,
)
from meterr.resolvers.forecasts import (
    MAX_HORIZON,
    CostForecast,
    MonthProjection,
    SeriesForecast,
    cost_forecast,
    forecast_backtest,
)
from meterr.resolvers.history import MAX_PAGE, EventsPage, get_event, list_events
from meterr.resolvers.imports import SyncReport, sync_connection, sync_due_connections
from meterr.resolvers.inputs import PriceOverrideInput, RepriceInput, validate_model
from meterr.resolvers.keys import NewKey, bootstrap_admin_key, create_key
from meterr.resolvers.maintenance import ensure_rollup_layout, rebuild_rollups
from meterr.resolvers.messages import event_json
from meterr.resolvers.metadata_keys import (
    METADATA_LIMITS,
    LearnedKey,
    LearnedKeys,
    learned_metadata_keys,
)
from meterr.resolvers.notifications import (
    NOTIFICATION_TYPES,
    NotificationsPage,
    list_notifications,
)
from meterr.resolvers.otlp import GenAISpan, OtlpOutcome, ingest_spans
from meterr.resolvers.price_import import PriceImport, import_litellm_prices
from meterr.resolvers.prices import (
    RepriceLine,
    RepriceReport,
    list_prices,
    reprice,
    set_price_override,
)
from meterr.resolvers.providers import (
    CONNECTABLE,
    ProviderInfo,
    connect_provider,
    disconnect_provider,
    get_connection,
    list_providers,
)
from meterr.resolvers.reconciliation import Reconciliation, ReconciliationLine, reconcile
from meterr.resolvers.reservations import (
    GrantedReservation,
    RefusedReservation,
    Reservation,
    reserve,
)
from meterr.resolvers.spend import CallScope, budget_amount, call_scope
from meterr.resolvers.teams import (
    Joined,
    NewInvitation,
    TeamView,
    accept_invitation,
    change_team,
    create_team,
    delete_team,
    get_team,
    invite_member,
    list_teams,
    remove_member,
    team_members,
    team_month_spend,
    team_page,
    update_team,
    visible_team,
)
from meterr.resolvers.timerange import TimeRange, parse_day, parse_time_range, parse_zone
from meterr.resolvers.tracking import TrackedEvent, Tracking, track_events
from meterr.resolvers.webhooks import (
    NewWebhook,
    create_webhook,
    delete_webhook,
    list_deliveries,
    list_webhooks,
    resend_delivery,
)
from meterr.store import Connection, Delivery, Member, Team, WebhookEndpoint, delivery_payload

__all__ = [
    "StoreUnreachable",
    "METADATA_LIMITS",
    "LearnedKey",
    "LearnedKeys",
    "learned_metadata_keys",
    "COST_FEED_INTERVAL",
    "MAX_HORIZON",
    "CostForecast",
    "MonthProjection",
    "SeriesForecast",
    "cost_forecast",
    "forecast_backtest",
    "Backtest",
    "CONNECTABLE",
    "Connection",
    "Delivery",
    "ProviderInfo",
    "SyncReport",
    "Reconciliation",
    "ReconciliationLine",
    "reconcile",
    "sync_connection",
    "sync_due_connections",
    "connect_provider",
    "disconnect_provider",
    "get_connection",
    "list_providers",
    "Member",
    "Team",
    "WebhookEndpoint",
    "delivery_payload",
    "event_json",
    "MAX_PAGE",
    "Pacer",
    "Sink",
    "cost_feed",
    "notification_feed",
    "usage_feed",
    "NOTIFICATION_TYPES",
    "BudgetCheck",
    "PriceImport",
    "import_litellm_prices",
    "import_usage",
    "CallScope",
    "NotificationsPage",
    "GenAISpan",
    "OtlpOutcome",
    "ingest_spans",
    "Joined",
    "NewInvitation",
    "TeamView",
    "accept_invitation",
    "change_team",
    "create_team",
    "delete_team",
    "get_team",
    "invite_member",
    "list_teams",
    "remove_member",
    "team_members",
    "team_month_spend",
    "team_page",
    "update_team",
    "visible_team",
    "NewWebhook",
    "create_webhook",
    "delete_webhook",
    "list_deliveries",
    "list_webhooks",
    "resend_delivery",
    "GrantedReservation",
    "RefusedReservation",
    "Reservation",
    "reserve",
    "Tracking",
    "budget_amount",
    "call_scope",
    "check_budgets",
    "create_budget",
    "delete_budget",
    "forecast_of",
    "get_budget",
    "list_budgets",
    "list_notifications",
    "update_budget",
    "ModelPrice",
    "NO_VALUE",
    "CostGroup",
    "EventsPage",
    "NewKey",
    "PriceOverrideInput",
    "RateLimitStatus",
    "RepriceInput",
    "RepriceLine",
    "RepriceReport",
    "RequestContext",
    "Services",
    "TimeRange",
    "TrackedEvent",
    "UsageSummary",
    "admit",
    "admit_operation",
    "require_store",
    "store_failure",
    "authenticate",
    "bearer_token",
    "close_revoked_sockets",
    "bootstrap_admin_key",
    "cost_groups",
    "count_request",
    "create_key",
    "get_event",
    "list_events",
    "list_prices",
    "parse_group_by",
    "parse_day",
    "parse_time_range",
    "parse_zone",
    "parse_usage_filter",
    "ensure_rollup_layout",
    "rebuild_rollups",
    "reprice",
    "set_price_override",
    "summed_usage",
    "track_events",
    "nano_to_usd",
    "usage_filter",
    "usage_totals",
    "validate_model",
]
