"""Every SDK operation against a real server, answering typed objects with exact amounts."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest

import meterr
from meterr.app import create_app
from meterr.clock import SettableClock
from meterr.config import Settings
from meterr.sdk import Budget, CostForecast, EventPage, NotFoundError, PermissionDeniedError, Team
from meterr.store import Store
from tests.conftest import KeyFactory, eventually
from tests.servers import serving
from tests.support.providers import DAY1, FakeProviders, openai_bucket
from tests.support.webhooks import Receiver, webhook_settings


async def test_teams_budgets_and_reservations(
    server: str, make_key: KeyFactory, clock: SettableClock
) -> None:
    admin_key = await make_key()
    async with meterr.AsyncClient(api_key=admin_key, base_url=server) as admin:
        team = await admin.create_team("Search", "Query understanding")
        assert isinstance(team, Team)
        assert (team.name, team.members, team.spend_this_month.total) == ("Search", [], 0)
        invitation = await admin.invite(team.id, "kim@example.com", "member")
        assert (invitation.team_id, invitation.role, invitation.status) == (
            team.id,
            "member",
            "pending",
        )
        joined = await admin.accept_invitation(invitation.token)
        assert (joined.team.id, joined.member.email) == (team.id, "kim@example.com")

        budget = await admin.create_budget(
            "search spend", Decimal("1.00"), team_id=team.id, action="block"
        )
        assert isinstance(budget, Budget)
        assert (budget.team_id, budget.limit, budget.current, budget.unit) == (
            team.id,
            Decimal("1"),
            Decimal("0"),
            "usd",
        )
        granted = await admin.reserve(team_id=team.id, estimated_cost=Decimal("0.40"))
        assert granted.allowed
        assert granted.reservation_id is not None
        assert granted.expires_at is not None
        assert granted.expires_at > clock.now()
        refused = await admin.reserve(team_id=team.id, estimated_cost=Decimal("0.70"))
        assert (refused.allowed, refused.budget_id) == (False, budget.id)
        assert (refused.limit, refused.reserved) == (Decimal("1"), Decimal("0.4"))

    async with meterr.AsyncClient(api_key=joined.api_key, base_url=server) as member:
        tracked = await member.track_usage(
            "openai", "gpt-4o", 100_000, 10_000, reservation_id=granted.reservation_id
        )
        assert tracked.team_id == team.id, "a member's key tracks for its team"
        assert tracked.cost == Decimal("0.35")  # 100k at $2.50 + 10k at $10 per 1M
        with pytest.raises(PermissionDeniedError):
            await member.create_team("Not mine")

    async with meterr.AsyncClient(api_key=admin_key, base_url=server) as admin:
        settled = await admin.budget(budget.id)
        assert (settled.current, settled.reserved) == (Decimal("0.35"), Decimal("0"))
        check = await admin.check_budget(team_id=team.id, estimated_cost=Decimal("0.70"))
        assert (check.allowed, check.blocking) == (False, [budget.id])
        renamed = await admin.update_budget(budget.id, name="search, monthly")
        assert renamed.name == "search, monthly"

        [listed] = [t for t in await admin.teams() if t.id == team.id]
        assert [m.email for m in listed.members] == ["kim@example.com"]
        assert listed.spend_this_month.total == Decimal("0.35")
        by_team = {group.key: group for group in await admin.costs(group_by="team")}
        assert (by_team[team.id].name, by_team[team.id].total) == ("Search", Decimal("0.35"))

        assert (await admin.update_team(team.id, name="Search & Ads")).name == "Search & Ads"
        await admin.remove_member(team.id, joined.member.id)
        assert (await admin.team(team.id)).members == []
        await admin.delete_budget(budget.id)
        assert budget.id not in {b.id for b in await admin.budgets()}
        await admin.delete_team(team.id)
        with pytest.raises(NotFoundError) as gone:
            await admin.team(team.id)
    assert gone.value.code == "not_found"


async def test_prices_history_and_forecasts_through_the_blocking_client(
    server: str, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    today = clock.now().replace(hour=12, minute=0, second=0, microsecond=0)
    litellm = {
        "ft:gpt-4o-mini:house": {
            "litellm_provider": "openai",
            "mode": "chat",
            "input_cost_per_token": 3e-07,
            "output_cost_per_token": 1.2e-06,
        },
        "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation"},
    }

    def scenario() -> None:
        with meterr.Client(api_key=key, base_url=server) as client:
            gpt4o = {p.model: p for p in client.prices("openai")}["gpt-4o"]
            assert (gpt4o.input, gpt4o.output, gpt4o.origin) == (
                Decimal("2.50"),
                Decimal("10.00"),
                "catalogue",
            )

            unpriced = client.track_usage("openai", "ft:gpt-4o-mini:house", 1_000_000)
            assert (unpriced.cost, unpriced.pricing_status) == (None, "unpriced")
            dry = client.import_prices(litellm, dry_run=True)
            assert (dry.dry_run, dry.repriced, [p.model for p in dry.imported]) == (
                True,
                0,
                ["ft:gpt-4o-mini:house"],
            )
            assert client.event(unpriced.id).cost is None, "a dry run changes nothing"
            done = client.import_prices(litellm)
            assert (done.repriced, set(done.skipped)) == (1, {"dall-e-3"})
            assert client.event(unpriced.id).cost == Decimal("0.3")

            override = client.set_price("openai", "gpt-4o", Decimal("2"), Decimal("8"))
            assert (override.input, override.origin) == (Decimal("2"), "override")
            days = [
                {
                    "provider": "openai",
                    "model": "gpt-4o",
                    "input_tokens": 100_000 * (1 + n % 7),
                    "output_tokens": 1_000,
                    "timestamp": (today - timedelta(days=n)).isoformat(),
                }
                for n in range(1, 29)
            ]
            batch = client.track_batch(days)
            assert (batch.count, batch.replayed, len(batch.events)) == (28, 0, 28)
            assert batch.events[0].cost == Decimal("0.408")  # 200k at $2 + 1k at $8 per 1M
            report = client.reprice(dry_run=True, model="ft:gpt-4o-mini:house")
            assert (report.applied, report.changed) == (False, 0)
            [line] = report.models
            assert (line.events, line.new_cost, line.unpriced_after) == (1, Decimal("0.3"), 0)

            page = client.history(limit=5, start_date=today.date() - timedelta(days=40))
            assert isinstance(page, EventPage)
            assert (len(page.events), page.next_cursor is not None) == (5, True)
            every = client.events(start_date=today.date() - timedelta(days=40))
            assert len(every) == 29
            assert len({event.id for event in every}) == 29
            usage = client.usage(start_date=today.date() - timedelta(days=40))
            assert usage.requests == 29
            assert usage.providers["openai"].cost == sum(
                (event.cost or Decimal(0) for event in every), Decimal(0)
            )

            forecast = client.forecast(horizon=7)
            assert isinstance(forecast, CostForecast)
            assert len(forecast.forecast) == 7
            assert forecast.forecast[0].date == forecast.today == today.date()
            zoned = client.forecast(horizon=2, tz="Pacific/Kiritimati")  # UTC+14: tomorrow
            assert (zoned.timezone, zoned.today) == (
                "Pacific/Kiritimati",
                today.date() + timedelta(days=1),
            )
            assert all(day.low80 <= day.cost <= day.high80 for day in forecast.forecast)
            assert forecast.history_days >= 28
            backtest = client.backtest(days=7)
            assert backtest.days == 7
            assert backtest.mape is not None
            assert backtest.mape >= 0

    await asyncio.to_thread(scenario)


async def test_provider_connections_and_webhooks(
    settings: Settings, store: Store, make_key: KeyFactory, clock: SettableClock
) -> None:
    key = await make_key()
    providers = FakeProviders()
    receiver = Receiver()
    await receiver.start()
    gpt4o = {"model": "gpt-4o", "input_tokens": 1_000_000, "output_tokens": 0, "project_id": None}
    providers.openai_pages = {
        None: {"object": "page", "data": [openai_bucket(DAY1, [gpt4o])], "has_more": False},
    }
    changed = {"openai_api_base": providers.url}
    app = create_app(webhook_settings(settings, **changed), store=store, clock=clock)
    try:
        async with (
            providers.running(),
            serving(app) as url,
            meterr.AsyncClient(api_key=key, base_url=url) as client,
        ):
            openai = {p.name: p for p in await client.providers()}["openai"]
            assert (openai.connectable, openai.connected) == (True, False)
            assert "gpt-4o" in {price.model for price in openai.models}

            connection = await client.connect_provider(
                "openai", "admin-key-openai-9876", name="production"
            )
            assert (connection.api_key, connection.last_sync_at) == ("...9876", None)
            synced = await client.sync_provider(connection.id, date(2025, 6, 1), "2025-06-01")
            assert (synced.rows, synced.imported, synced.already_imported) == (1, 1, 0)
            again = await client.sync_provider(connection.id, "2025-06-01", "2025-06-01")
            assert (again.imported, again.already_imported) == (0, 1)
            assert (await client.connection(connection.id)).last_sync_status == "ok"
            await client.disconnect_provider(connection.id)
            with pytest.raises(NotFoundError):
                await client.connection(connection.id)

            webhook = await client.create_webhook(receiver.url, ["budget.threshold_reached"])
            assert webhook.secret is not None
            assert webhook.secret.startswith("whsec_")
            [listed] = [w for w in await client.webhooks() if w.id == webhook.id]
            assert (listed.url, listed.secret) == (receiver.url, None)
            await client.create_budget("tiny", Decimal("0.01"), thresholds=[100])
            await client.track_usage("openai", "gpt-4o", 10_000)

            async def delivered() -> bool:
                found = await client.deliveries(webhook.id)
                return bool(found) and found[0].status == "delivered"

            await eventually(delivered)
            [delivery] = await client.deliveries(webhook.id)
            assert (delivery.event, delivery.attempt_count) == ("budget.threshold_reached", 1)
            assert delivery.payload["data"]["threshold"] == 100
            assert delivery.attempts[0].status_code == 204
            resent = await client.resend_delivery(webhook.id, delivery.id)
            assert resent.id == delivery.id
            await client.delete_webhook(webhook.id)
            assert webhook.id not in {w.id for w in await client.webhooks()}
    finally:
        await receiver.stop()
