"""Group commit shares one unit of work between requests and organizations: one request the
store refuses fails alone, and the others' events are stored as if it had not been there."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meterr.resolvers import rebuild_rollups
from meterr.store import Store
from tests.support.events import usage_event

HOUR = datetime(2025, 5, 6, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "unstorable",
    [{"big": 2**64}, {"nul\x00key": 1}, {"text": "\udfff"}],
    ids=["int-over-64-bits", "nul-in-key", "lone-surrogate"],
)
async def test_a_request_the_store_refuses_fails_alone(
    store: Store, unstorable: dict[str, object]
) -> None:
    tenant, offender = f"org_fair_{len(str(unstorable))}", "org_offender"
    honest = [
        [usage_event(tenant, f"{tenant}-{i}", HOUR + timedelta(seconds=i), team_id="t")]
        for i in range(20)
    ]
    bad = replace(usage_event(offender, f"bad-{tenant}", HOUR), metadata=unstorable)
    requests = [*honest[:10], [bad], *honest[10:]]

    answers = await asyncio.gather(
        *(store.writer.write(events) for events in requests), return_exceptions=True
    )

    assert isinstance(answers[10], Exception)
    stored = [answer for i, answer in enumerate(answers) if i != 10]
    assert not [answer for answer in stored if isinstance(answer, BaseException)]
    assert (
        sum(len(answer.inserted) for answer in stored if not isinstance(answer, BaseException))
        == 20
    )
    assert await store.events.collection.count_documents({"org_id": tenant}) == 20
    assert await store.events.collection.count_documents({"org_id": offender}) == 0
    [report] = await rebuild_rollups(store, tenant)
    assert report.agreed
