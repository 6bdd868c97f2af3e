"""The `meterr` command against a real store: keys, rollups and repricing.

The commands run as processes of their own, on the machine's clock: these tests read the
same clock (`MACHINE`), and the servers they start keep it too."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.text import Text

from meterr.app import create_app
from meterr.auth import Tier
from meterr.cli_support import print_table
from meterr.clock import Clock, SystemClock
from meterr.config import Settings
from meterr.resolvers import create_key
from meterr.store import Store
from tests.conftest import bearer
from tests.servers import serving

MACHINE = SystemClock()


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def clock() -> Clock:
    """The machine's clock, for the servers and keys these tests make."""
    return MACHINE


async def meterr(store: Store, mongodb_url: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "MONGODB_URL": mongodb_url, "METERR_DATABASE": store.db.name}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meterr", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_keys_create_list_and_revoke(
    store: Store, mongodb_url: str, client: httpx.AsyncClient
) -> None:
    code, out, err = await meterr(
        store, mongodb_url, "keys", "create", "--org", "cli-co", "--role", "write", "--json"
    )
    assert code == 0, err
    created = json.loads(out)
    assert {"key", "org_id", "tier", "role"} <= set(created)
    assert (created["tier"], created["role"]) == ("free", "write")
    assert created["organization_created"] is True
    event = {"provider": "openai", "model": "gpt-4", "input_tokens": 1, "output_tokens": 1}
    tracked = await client.post("/v1/track", headers=bearer(created["key"]), json=event)
    assert tracked.status_code == 201

    code, out, _ = await meterr(store, mongodb_url, "keys", "create", "--org", "cli-co", "--json")
    second = json.loads(out)
    assert second["org_id"] == created["org_id"]
    assert second["organization_created"] is False

    code, out, _ = await meterr(store, mongodb_url, "keys", "list", "--org", "cli-co")
    assert created["key_id"] in out
    assert created["key"] not in out, "a key's secret is never shown again"

    code, out, _ = await meterr(
        store, mongodb_url, "keys", "revoke", "--org", "cli-co", created["key_id"]
    )
    assert code == 0
    refused = await client.post("/v1/track", headers=bearer(created["key"]), json=event)
    assert refused.status_code == 401


async def test_rollups_rebuild_reports_agreement_and_drift(
    store: Store, mongodb_url: str, client: httpx.AsyncClient
) -> None:
    code, out, _ = await meterr(
        store, mongodb_url, "keys", "create", "--org", "rollup-co", "--tier", "pro", "--json"
    )
    key = json.loads(out)["key"]
    event = {"provider": "openai", "model": "gpt-4", "input_tokens": 100, "output_tokens": 10}
    await client.post("/v1/track", headers=bearer(key), json={"events": [event] * 3})
    code, out, _ = await meterr(store, mongodb_url, "rollups", "rebuild", "--org", "rollup-co")
    assert code == 0
    assert "agreed" in out

    await store.rollups.collection.update_many({}, {"$inc": {"requests": 1}})
    code, out, _ = await meterr(store, mongodb_url, "rollups", "rebuild", "--org", "rollup-co")
    assert code == 1
    assert "differed" in out
    code, out, _ = await meterr(store, mongodb_url, "rollups", "rebuild", "--org", "rollup-co")
    assert code == 0


async def test_prices_reprice_dry_run_shows_the_difference_and_changes_nothing(
    store: Store, mongodb_url: str, client: httpx.AsyncClient
) -> None:
    code, out, _ = await meterr(
        store, mongodb_url, "keys", "create", "--org", "price-co", "--tier", "pro", "--json"
    )
    key = json.loads(out)["key"]
    event = {"provider": "openai", "model": "in-house-1", "input_tokens": 1000, "output_tokens": 0}
    await client.post("/v1/track", headers=bearer(key), json=event)
    await client.post(
        "/v1/prices/overrides",
        headers=bearer(key),
        json={
            "provider": "openai",
            "model": "in-house-1",
            "input": "3",
            "output": "3",
            "reprice_unpriced": False,
        },
    )
    args = ("prices", "reprice", "--org", "price-co", "--unpriced-only")
    code, out, err = await meterr(store, mongodb_url, *args, "--dry-run")
    assert code == 0, err
    assert "openai\tin-house-1\t1\t1\t0.000000\t0.003000" in out
    assert "would reprice (dry run) 1 events" in out
    assert (await client.get("/v1/costs", headers=bearer(key))).json()["openai"]["total"] == 0

    code, out, _ = await meterr(store, mongodb_url, *args)
    assert "repriced 1 events" in out
    assert (await client.get("/v1/costs", headers=bearer(key))).json()["openai"]["total"] == 0.003


async def test_forecast_backtest_reports_how_the_forecast_did(
    store: Store, mongodb_url: str, client: httpx.AsyncClient
) -> None:
    code, out, _ = await meterr(
        store, mongodb_url, "keys", "create", "--org", "forecast-co", "--tier", "pro", "--json"
    )
    key = json.loads(out)["key"]
    today = MACHINE.now().date()
    events = [
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 100_000,
            "timestamp": f"{today - timedelta(days=back)}T12:00:00Z",
        }
        for back in range(1, 21)
    ]
    await client.post("/v1/track", headers=bearer(key), json={"events": events})
    code, out, _ = await meterr(
        store, mongodb_url, "forecast", "backtest", "--org", "forecast-co", "--days", "5"
    )
    assert code == 0
    assert "days replayed: 5" in out
    assert "MAPE: 0.0%" in out, out


async def test_import_and_export_round_trip_and_name_every_refused_line(
    store: Store, mongodb_url: str, tmp_path: Path
) -> None:
    now = MACHINE.now()
    today = now.date()
    lines = [
        {"provider": "openai", "model": "gpt-4o", "input_tokens": 1000 + i, "output_tokens": 10,
         "timestamp": stamp(now - timedelta(days=i % 5, hours=1)), "event_id": f"row-{i}",
         "metadata": {"batch": "nightly"}}
        for i in range(1500)
    ]  # fmt: skip
    source = tmp_path / "usage.jsonl"
    bad = [
        json.dumps({"provider": "openai", "model": "gpt-4o", "input_tokens": -1}),
        "{not json",
        json.dumps({"provider": "openai", "input_tokens": 5}),
    ]
    source.write_text(
        "\n".join([*map(json.dumps, lines[:700]), *bad, *map(json.dumps, lines[700:])]) + "\n"
    )
    code, _, err = await meterr(store, mongodb_url, "import", str(source), "--org", "import-c0")
    assert (code, "No organization is named 'import-c0'" in err) == (1, True)
    assert await store.organizations.organization_named("import-c0") is None
    for org in ("import-co", "copy-co"):
        await create_key(store, org_name=org, now=MACHINE.now())
    code, out, _ = await meterr(store, mongodb_url, "import", str(source), "--org", "import-co")
    assert code == 1, out
    assert "stored 1500, already stored 0, refused 3" in out
    assert "line 701: input_tokens:" in out
    assert "line 702: not JSON" in out
    assert "line 703: model: required" in out
    code, out, _ = await meterr(store, mongodb_url, "import", str(source), "--org", "import-co")
    assert "stored 0, already stored 1500" in out, "importing again counts nothing twice"

    exported = tmp_path / "usage.csv"
    code, _, err = await meterr(
        store, mongodb_url, "export", "--org", "import-co", "--format", "csv",
        "--from", str(today - timedelta(days=10)), "--output", str(exported),
    )  # fmt: skip
    assert code == 0
    assert "exported 1500 events" in err
    code, out, _ = await meterr(store, mongodb_url, "import", str(exported), "--org", "copy-co")
    assert code == 0, out
    assert "stored 1500, already stored 0, refused 0" in out

    def totals(org: str) -> Any:
        return store.events.collection.aggregate(
            [
                {"$match": {"org_id": org}},
                {"$group": {"_id": None, "tokens": {"$sum": "$input_tokens"},
                            "cost": {"$sum": "$cost_nano"}, "n": {"$sum": 1}}},
            ]
        )  # fmt: skip

    org_ids = {
        doc["name"]: doc["_id"]
        async for doc in store.organizations.organizations.find(
            {"name": {"$in": ["import-co", "copy-co"]}}
        )
    }
    original = await (await totals(org_ids["import-co"])).to_list()
    copy = await (await totals(org_ids["copy-co"])).to_list()
    assert original == copy
    assert original[0]["n"] == 1500


async def test_prices_import_a_litellm_file_list_and_show(
    store: Store, mongodb_url: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    code, out, _ = await meterr(
        store, mongodb_url, "keys", "create", "--org", "litellm-co", "--tier", "pro", "--json"
    )
    key = json.loads(out)["key"]
    event = {"provider": "openai", "model": "ft:gpt-4o-mini:acme", "input_tokens": 1_000_000}
    unpriced = await client.post("/v1/track", headers=bearer(key), json=event)
    assert unpriced.json()["pricing_status"] == "unpriced"
    prices_file = tmp_path / "model_prices.json"
    prices_file.write_text(
        json.dumps(
            {
                "sample_spec": {"input_cost_per_token": 0},
                "ft:gpt-4o-mini:acme": {
                    "litellm_provider": "openai",
                    "mode": "chat",
                    "input_cost_per_token": 3e-07,
                    "output_cost_per_token": 1.2e-06,
                    "cache_read_input_token_cost": 1.5e-07,
                },
                "anthropic/claude-house": {
                    "litellm_provider": "anthropic",
                    "mode": "chat",
                    "input_cost_per_token": 1e-06,
                    "output_cost_per_token": 5e-06,
                },
                "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation"},
                "broken": {"litellm_provider": "openai", "mode": "chat"},
            }
        )
    )
    code, out, _ = await meterr(
        store, mongodb_url, "prices", "import", str(prices_file), "--org", "litellm-co"
    )
    assert code == 0, out
    assert "imported 2 prices, skipped 2" in out
    assert "skipped dall-e-3: mode image_generation is not a text model" in out
    stored = (await client.get("/v1/usage/history", headers=bearer(key))).json()["events"]
    assert stored[0]["cost"] == 0.3, "the unpriced event is priced by the imported rate"

    code, out, _ = await meterr(store, mongodb_url, "prices", "list", "--org", "litellm-co")
    assert "anthropic\tclaude-house\t1\t5\t" in out
    code, out, _ = await meterr(
        store, mongodb_url, "prices", "show", "gpt-4o", "--provider", "openai"
    )
    assert "from 2024-10-02: input 2.50, output 10.00" in out


async def test_import_and_export_through_a_running_server(
    store: Store, settings: Settings, mongodb_url: str, tmp_path: Path
) -> None:
    key = (
        await create_key(store, org_name="remote-co", tier=Tier.ENTERPRISE, now=MACHINE.now())
    ).key
    an_hour_ago = stamp(MACHINE.now() - timedelta(hours=1))
    yesterday = str(MACHINE.now().date() - timedelta(days=1))  # an hour ago may be last month
    source = tmp_path / "remote.csv"
    source.write_text(
        "provider,model,input_tokens,output_tokens,timestamp,event_id,metadata\n"
        + "".join(
            f'openai,gpt-4o,{100 + i},5,{an_hour_ago},remote-{i},"{{""k"":{i}}}"\n'
            for i in range(20)
        )
        + "openai,gpt-4o,lots,5,,bad-1,\n"
    )
    async with serving(create_app(settings, store=store, clock=MACHINE)) as url:
        remote = ("--url", url, "--api-key", key)
        code, out, _ = await meterr(store, mongodb_url, "import", str(source), *remote)
        assert code == 1
        assert "stored 20, already stored 0, refused 1" in out
        assert "line 22: input_tokens:" in out
        exported = tmp_path / "back.jsonl"
        code, _, err = await meterr(
            store, mongodb_url, "export", *remote, "--from", yesterday, "--output", str(exported)
        )
        assert code == 0, err
    events = [json.loads(line) for line in exported.read_text().splitlines()]
    assert sorted(e["event_id"] for e in events) == sorted(f"remote-{i}" for i in range(20))
    assert {e["metadata"]["k"] for e in events} == set(range(20))
    code, _, err = await meterr(store, mongodb_url, "import", str(source))
    assert code == 2
    assert "--org" in err


async def test_the_data_commands_answer_the_same_from_the_store_and_a_running_server(
    store: Store, settings: Settings, mongodb_url: str, tmp_path: Path
) -> None:
    key = (await create_key(store, org_name="twin-co", tier=Tier.ENTERPRISE, now=MACHINE.now())).key
    today = MACHINE.now().date()
    prices_file = tmp_path / "prices.json"
    prices_file.write_text(
        json.dumps(
            {
                "house-model": {
                    "litellm_provider": "mistral",
                    "mode": "chat",
                    "input_cost_per_token": 2e-06,
                    "output_cost_per_token": 6e-06,
                },
                "whisper-1": {"litellm_provider": "openai", "mode": "audio_transcription"},
            }
        )
    )
    events = [
        {
            "provider": provider,
            "model": model,
            "input_tokens": 10_000 * (1 + back % 7),
            "output_tokens": 500,
            "timestamp": f"{today - timedelta(days=back)}T08:00:00Z",
        }
        for back in range(1, 15)
        for provider, model in (("openai", "gpt-4o-mini"), ("mistral", "house-model"))
    ]
    store_side = ("--org", "twin-co")
    async with serving(create_app(settings, store=store, clock=MACHINE)) as url:
        server_side = ("--url", url, "--api-key", key)
        async with httpx.AsyncClient(base_url=url, headers=bearer(key)) as http:
            tracked = await http.post("/v1/track", json={"events": events})
            assert tracked.status_code == 201

        code, out, err = await meterr(
            store, mongodb_url, "prices", "import", str(prices_file), *server_side, "--dry-run"
        )
        assert code == 0, err
        assert "would import 1 prices, skipped 1" in out
        reprice = ("prices", "reprice", "--unpriced-only", "--dry-run")
        code, out, err = await meterr(store, mongodb_url, *reprice, *server_side)
        assert "would reprice (dry run) 0 events" in out, "a dry-run import prices nothing"

        code, out, err = await meterr(
            store, mongodb_url, "prices", "import", str(prices_file), *server_side
        )
        assert code == 0, err
        assert "imported 1 prices, skipped 1" in out
        assert "skipped whisper-1: mode audio_transcription is not a text model" in out

        since = str(today - timedelta(days=20))
        commands = [
            ("prices", "list", "--provider", "mistral"),
            ("forecast", "backtest", "--days", "5"),
            ("export", "--group-by", "model", "--format", "csv", "--from", since),
            ("export", "--group-by", "day", "--from", since),
        ]
        answers = {}
        for command in commands:
            code, remote, err = await meterr(store, mongodb_url, *command, *server_side)
            assert code == 0, err
            code, local, err = await meterr(store, mongodb_url, *command, *store_side)
            assert code == 0, err
            assert remote == local, command
            answers[command[:3]] = local

        wrong_key = ("--url", url, "--api-key", "mtr_not_a_key")
        code, _, err = await meterr(store, mongodb_url, "prices", "list", *wrong_key)
        assert (code, "Traceback" in err) == (1, False)
        assert "(unauthenticated)" in err, err
        code, _, err = await meterr(store, mongodb_url, "prices", "list", *server_side, *store_side)
        assert code == 2
        assert "--org is for the store" in err

    assert "mistral\thouse-model\t2\t6\t" in answers["prices", "list", "--provider"]
    assert "days replayed: 5" in answers["forecast", "backtest", "--days"]
    by_model = answers["export", "--group-by", "model"].splitlines()
    assert by_model[0] == "group,total,total_exact,tokens,name,deleted"
    # 560k input at $2 and 7k output at $6 per 1M, priced after the fact by the imported rate
    assert "house-model,1.162,1.162,567000,," in by_model
    days = [json.loads(line) for line in answers["export", "--group-by", "day"].splitlines()]
    assert [day["group"] for day in days] == [
        str(today - timedelta(days=back)) for back in range(14, 0, -1)
    ]


async def test_a_catalogue_update_is_written_shown_and_priced_with(
    store: Store,
    settings: Settings,
    mongodb_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prices_file = tmp_path / "model_prices.json"
    prices_file.write_text(
        json.dumps(
            {
                "gpt-4o": {
                    "litellm_provider": "openai",
                    "mode": "chat",
                    "input_cost_per_token": 2e-06,
                    "output_cost_per_token": 8e-06,
                },
                "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation"},
            }
        )
    )
    catalogue = tmp_path / "catalogue.json"
    starts = MACHINE.now().date() - timedelta(days=1)
    update = ("prices", "import", str(prices_file), "--catalogue", "--effective-from", str(starts))
    code, out, err = await meterr(store, mongodb_url, *update, "--output", str(catalogue))
    assert code == 0, err
    assert "0 models added, 1 prices changed, 0 unchanged, 1 skipped" in out
    assert f"changed openai/gpt-4o from {starts}" in out
    code, _, err = await meterr(store, mongodb_url, *update, "--org", "acme")
    assert (code, "no --org or --url" in err) == (2, True)

    monkeypatch.setenv("METERR_CATALOGUE", str(catalogue))
    code, out, _ = await meterr(
        store, mongodb_url, "prices", "show", "gpt-4o", "--provider", "openai"
    )
    assert "from 2024-10-02: input 2.50, output 10.00" in out, "history is kept"
    assert f"from {starts}: input 2, output 8, cached input 1.25" in out
    code, out, _ = await meterr(store, mongodb_url, *update)
    assert "0 prices changed, 1 unchanged" in out, "METERR_CATALOGUE is the catalogue updated"

    key = (await create_key(store, org_name="catalogue-co", now=MACHINE.now())).key
    async with (
        serving(
            create_app(
                settings.model_copy(update={"catalogue": catalogue}), store=store, clock=MACHINE
            )
        ) as url,
        httpx.AsyncClient(base_url=url, headers=bearer(key)) as http,
    ):
        event = {"provider": "openai", "model": "gpt-4o", "input_tokens": 1_000_000}
        before = f"{starts - timedelta(days=1)}T12:00:00Z"
        old = await http.post("/v1/track", json={**event, "timestamp": before})
        new = await http.post("/v1/track", json={**event, "timestamp": f"{starts}T00:00:00Z"})
    assert (old.status_code, new.status_code) == (201, 201), new.text
    assert (old.json()["cost"], new.json()["cost"]) == (2.5, 2.0)


def test_tables_are_drawn_for_a_terminal_and_tab_separated_for_scripts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        ("openai", "gpt-4o", Decimal("2.50")),
        ("mistral", "house-model", Decimal("2")),
        ("local", "tiny", Decimal("2.5E-7")),
    ]
    print_table(("provider", "model", "input"), rows)
    # Decimals as the API writes them: plain notation, no trailing zeros.
    assert capsys.readouterr().out.splitlines() == [
        "provider\tmodel\tinput",
        "openai\tgpt-4o\t2.5",
        "mistral\thouse-model\t2",
        "local\ttiny\t0.00000025",
    ]
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    print_table(("provider", "model", "input"), rows)
    drawn = Text.from_ansi(capsys.readouterr().out).plain
    assert "\t" not in drawn
    assert [line.split() for line in drawn.splitlines() if line.strip()][0] == [
        "provider",
        "model",
        "input",
    ]
    assert any(line.split() == ["openai", "gpt-4o", "2.5"] for line in drawn.splitlines())


async def test_serve_refuses_a_broken_catalogue_file_before_starting(
    store: Store, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "prices.json"
    broken.write_text(json.dumps({"version": "2026-01-01", "currency": "USD"}))
    monkeypatch.setenv("METERR_CATALOGUE", str(broken))
    code, _, err = await meterr(store, mongodb_url, "serve", "--port", "1")
    assert code == 1
    assert "The price catalogue cannot be used" in err
    assert "missing field(s) 'providers', 'unit'" in err
