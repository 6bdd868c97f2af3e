"""Prometheus metrics of one service instance, in a registry of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "meterr_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "meterr_http_request_duration_seconds",
            "Time to answer an HTTP request, by route.",
            ["route"],
            registry=self.registry,
        )
        self.events = Counter(
            "meterr_events_ingested",
            "Usage events stored, by pricing status.",
            ["pricing_status"],
            registry=self.registry,
        )
        self.ingest_seconds = Histogram(
            "meterr_ingest_duration_seconds",
            "Time to validate, price and store one track request.",
            registry=self.registry,
        )
        self.deliveries = Counter(
            "meterr_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retrying, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.usage_answers = Counter(
            "meterr_usage_answers",
            "Cost and usage questions answered, by source (rollups or events) and, for those "
            "the raw events answered, the reason no rollup could.",
            ["source", "reason"],
            registry=self.registry,
        )
        self.cost_feed_queries = Counter(
            "meterr_cost_feed_queries",
            "Cost queries run for live cost feeds: one per change of a feed, shared by all "
            "its subscribers on this instance.",
            registry=self.registry,
        )
        self.cost_feeds = Gauge(
            "meterr_cost_feeds_running",
            "Distinct live cost feeds computing on this instance (each shared by its subscribers).",
            registry=self.registry,
        )
        self.live_renders = Counter(
            "meterr_live_payloads_rendered",
            "Live results executed and serialized: one per event and distinct subscription "
            "(query, variables that shape it, caller's role and team) on this instance, "
            "however many subscribe to it.",
            registry=self.registry,
        )
        self.subscriptions = Gauge(
            "meterr_live_subscriptions",
            "Live feeds (GraphQL subscriptions) open on this instance.",
            registry=self.registry,
        )

        self._retried: Callable[[], int] = lambda: 0
        self.registry.register(
            _ReadCounter(
                "meterr_store_transactions_retried",
                "Units of work (transactions) run again because the store rolled them back on a "
                "write that conflicted with another.",
                lambda: self._retried(),
            )
        )

    def count_retries(self, retried: Callable[[], int]) -> None:
        self._retried = retried

    def count_subscriptions(
        self, current: Callable[[], int], cost_feeds: Callable[[], int]
    ) -> None:
        self.subscriptions.set_function(lambda: float(current()))
        self.cost_feeds.set_function(lambda: float(cost_feeds()))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _ReadCounter(Collector):
    """A counter kept elsewhere, read when scraped."""

    def __init__(self, name: str, documentation: str, read: Callable[[], int]) -> None:
        self._name = name
        self._documentation = documentation
        self._read = read

    def collect(self) -> Iterable[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._documentation, value=self._read())
