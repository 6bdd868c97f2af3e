"""Authentication by API key and the hourly request budget of each tier."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from meterr.auth import Principal, hash_key, is_well_formed
from meterr.errors import RateLimited, StoreUnavailable, Unauthenticated
from meterr.resolvers.availability import require_store, store_answering
from meterr.resolvers.context import RateLimitStatus, RequestContext, Services

__all__ = [
    "RateLimitStatus",
    "admit",
    "admit_operation",
    "authenticate",
    "bearer_token",
    "close_revoked_sockets",
    "count_request",
]


def bearer_token(authorization: str | None) -> str:
    """The key of an `Authorization: Bearer <key>` header value."""
    if not authorization:
        raise Unauthenticated(
            "Missing API key: send 'Authorization: Bearer <key>'.", {"reason": "missing"}
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Malformed Authorization header: expected 'Bearer <key>'.", {"reason": "malformed"}
        )
    return token.strip()


async def authenticate(services: Services, key: str) -> Principal:
    """The principal of a well-formed, known key. A store known to be down refuses every
    request here, at once, even one whose key is cached: what follows needs the store."""
    require_store(services.store)
    if not is_well_formed(key):
        raise Unauthenticated("Malformed API key.", {"reason": "malformed"})
    key_hash = hash_key(key)
    principal = services.principals.get(key_hash)
    if principal is None:
        organizations = services.store.organizations
        with store_answering(services.store):
            principal = await organizations.principal_for_key_hash_across_tenants(key_hash)
        if principal is None:
            raise Unauthenticated("Unknown or revoked API key.", {"reason": "unknown"})
        services.principals[key_hash] = principal
    return principal


async def count_request(
    services: Services, principal: Principal, *, operations: int = 1
) -> RateLimitStatus:
    """Count `operations` against the organization's hour; raise RateLimited when over.

    A request through /v1 is one operation. A GraphQL document is as many as the root fields
    it runs, and a websocket operation counts when it starts: batching work into one request
    or one socket buys no more than the hour allows. A request always counts at least once,
    even one refused before anything ran."""
    operations = max(1, operations)
    now = services.clock.now()
    window = now.replace(minute=0, second=0, microsecond=0)
    reset = window + timedelta(hours=1)
    limit = principal.tier.hourly_request_limit
    if limit is None:
        return RateLimitStatus(None, None, reset, now)
    with store_answering(services.store):
        count = await services.store.rate_counters.increment(principal.org_id, window, operations)
    status = RateLimitStatus(limit, max(0, limit - count), reset, now)
    if count > limit:
        raise RateLimited(
            f"Rate limit of {limit} requests per hour exceeded for the {principal.tier} tier.",
            retry_after=status.retry_after,
            details={"limit": limit, "tier": principal.tier.value, "reset": int(reset.timestamp())},
        )
    return status


async def admit(
    services: Services, authorization: str | None
) -> tuple[RequestContext, RateLimitStatus]:
    """What every request through either door goes through: the key, then the hour's budget."""
    principal = await authenticate(services, bearer_token(authorization))
    status = await count_request(services, principal)
    return RequestContext(principal, services, rate_limit=status), status


async def admit_operation(services: Services, key: str, *, operations: int) -> RateLimitStatus:
    """An operation started on an open websocket: its key checked again (Unauthenticated
    once it was revoked), then the operation counted against the hour."""
    principal = await authenticate(services, key)
    return await count_request(services, principal, operations=operations)


async def close_revoked_sockets(services: Services, stop: asyncio.Event) -> None:
    """Until `stop`: close with 4403 the websockets whose key no longer works, checked at
    once when this instance revokes keys and every few seconds for revocations elsewhere."""
    interval = max(1.0, services.settings.key_cache_seconds)
    while not stop.is_set():
        await services.sockets.next_round(stop, interval)
        for key, closes in services.sockets.by_key().items():
            try:
                await authenticate(services, key)
            except Unauthenticated:
                for close in closes:
                    await close()
            except StoreUnavailable:
                break  # checked again once the store answers
