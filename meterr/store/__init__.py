"""The only code that talks to MongoDB: typed documents in and out, no business rules."""

from __future__ import annotations

from meterr.store.aggregates import TotalsRow
from meterr.store.budget_spend import PeriodSpend
from meterr.store.connections import Connection, KeptUsage
from meterr.store.database import Store, StoreUnreachable, open_store
from meterr.store.documents import NameTaken
from meterr.store.embedded import EmbeddedServer, EmbeddedState, embedded_url
from meterr.store.events import EventPage, InsertOutcome
from meterr.store.ingest import AfterInsert
from meterr.store.metadata_keys import (
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    MAX_METADATA_VALUES,
    KeyState,
    MetadataKeys,
)
from meterr.store.notifications import delivery_payload
from meterr.store.organizations import ApiKeyRecord, Organization
from meterr.store.reservations import Hold
from meterr.store.rollups import RebuildReport
from meterr.store.teams import Invitation, Member, Team
from meterr.store.unit_of_work import Session
from meterr.store.usage import UsageAnswer
from meterr.store.webhooks import Delivery, DeliveryAttempt, WebhookEndpoint

__all__ = [
    "MAX_METADATA_KEYS",
    "MAX_METADATA_VALUES",
    "MAX_METADATA_VALUE_CHARS",
    "AfterInsert",
    "Connection",
    "Session",
    "ApiKeyRecord",
    "EmbeddedServer",
    "EmbeddedState",
    "Delivery",
    "DeliveryAttempt",
    "EventPage",
    "Hold",
    "Invitation",
    "KeptUsage",
    "KeyState",
    "Member",
    "MetadataKeys",
    "NameTaken",
    "InsertOutcome",
    "Organization",
    "PeriodSpend",
    "RebuildReport",
    "Store",
    "StoreUnreachable",
    "Team",
    "TotalsRow",
    "UsageAnswer",
    "WebhookEndpoint",
    "delivery_payload",
    "embedded_url",
    "open_store",
]
