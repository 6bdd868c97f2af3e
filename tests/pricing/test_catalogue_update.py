"""A LiteLLM price file read and merged into the catalogue as new, dated price versions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from meterr.pricing import catalogue_document, parse_catalogue, read_litellm, update_catalogue

SOURCE = "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"
TODAY = date(2030, 1, 15)


def chat(provider: str, input_cost: float, output_cost: float, **more: Any) -> dict[str, Any]:
    return {
        "litellm_provider": provider,
        "mode": "chat",
        "input_cost_per_token": input_cost,
        "output_cost_per_token": output_cost,
        **more,
    }


def merged(file: dict[str, Any], starts: date = TODAY) -> tuple[dict[str, Any], Any]:
    prices, _ = read_litellm(file)
    return update_catalogue(
        catalogue_document(), prices, effective_from=starts, source=SOURCE, today=TODAY
    )


def test_the_file_is_read_as_usd_per_million_tokens_with_its_tiers() -> None:
    prices, skipped = read_litellm(
        {
            "sample_spec": {"input_cost_per_token": 0},
            "gemini/gemini-9-pro": chat(
                "gemini",
                1.25e-06,
                1e-05,
                cache_read_input_token_cost=3.125e-07,
                input_cost_per_token_above_200k_tokens=2.5e-06,
                output_cost_per_token_above_200k_tokens=1.5e-05,
            ),
            "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation"},
            "half": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06},
            "negative": chat("openai", -1e-06, 1e-06),
        }
    )
    [gemini] = prices
    assert (gemini.provider, gemini.model) == ("google", "gemini-9-pro")
    assert gemini.rates == {
        "input": Decimal("1.25"),
        "output": Decimal("10"),
        "cached_input": Decimal("0.3125"),
    }
    assert (gemini.above_input_tokens, gemini.long_context) == (
        200_000,
        {"input": Decimal("2.5"), "output": Decimal("15")},
    )
    assert skipped == {
        "dall-e-3": "mode image_generation is not a text model",
        "half": "no provider or no per-token input and output cost",
        "negative": "no provider or no per-token input and output cost",
    }
    with pytest.raises(ValueError, match="one JSON object"):
        read_litellm(["not", "an", "object"])


def test_a_changed_price_becomes_a_new_version_and_history_is_kept() -> None:
    document, report = merged({"gpt-4o": chat("openai", 2e-06, 8e-06)})
    assert (report.changed, report.added, report.unchanged) == (["openai/gpt-4o"], [], 0)
    versions = document["providers"]["openai"]["models"]["gpt-4o"]["prices"]
    assert [v["effective_from"] for v in versions] == ["2024-05-13", "2024-10-02", "2030-01-15"]
    assert versions[-1] == {
        "effective_from": "2030-01-15",
        "input": "2",
        "output": "8",
        "cached_input": "1.25",  # the file is silent on it: carried over, not dropped
        "source": SOURCE,
        "source_date": "2030-01-15",
    }
    assert document["version"] == "2030-01-15"
    catalogue = parse_catalogue(document)
    before = catalogue.lookup("openai", "gpt-4o", datetime(2029, 12, 31, tzinfo=UTC))
    after = catalogue.lookup("openai", "gpt-4o-2024-08-06", datetime(2030, 2, 1, tzinfo=UTC))
    assert before is not None
    assert after is not None
    assert (before.rates.input, after.rates.input) == (Decimal("2.50"), Decimal("2"))


def test_prices_in_force_already_change_nothing() -> None:
    same = {
        "gpt-4o": chat("openai", 2.5e-06, 1e-05, cache_read_input_token_cost=1.25e-06),
        "gpt-4o-2024-08-06": chat("openai", 2.5e-06, 1e-05),
    }
    document, report = merged(same)
    assert (report.changed, report.added, report.unchanged) == ([], [], 1)
    assert report.skipped == {"gpt-4o-2024-08-06": "openai/gpt-4o is priced by gpt-4o already"}
    original = catalogue_document()
    assert document["providers"] == original["providers"]


def test_new_models_are_added_and_what_meterr_does_not_price_is_said() -> None:
    document, report = merged(
        {
            "mistral/house-large": chat("mistral", 3e-06, 9e-06),
            "azure/gpt-4o": chat("azure", 2.75e-06, 1.1e-05),
            "bedrock/anthropic.claude-v2": chat("bedrock", 8e-06, 2.4e-05),
            "gemini/gemini-1.5-pro": chat(
                "gemini",
                1.25e-06,
                5e-06,
                cache_read_input_token_cost=3.125e-07,
                input_cost_per_token_above_128k_tokens=2.5e-06,
                output_cost_per_token_above_128k_tokens=1e-05,
                cache_read_input_token_cost_above_128k_tokens=6.25e-07,
            ),
        }
    )
    assert report.added == ["mistral/house-large"]
    assert report.unchanged == 1, "gemini-1.5-pro's tier is the catalogue's"
    assert report.skipped == {
        "azure/gpt-4o": "azure is priced by its openai model",
        "bedrock/anthropic.claude-v2": "provider bedrock is not one Meterr prices",
    }
    added = document["providers"]["mistral"]["models"]["house-large"]["prices"]
    assert [(v["input"], v["output"]) for v in added] == [("3", "9")]


def test_a_version_must_start_after_the_latest_one() -> None:
    _, report = merged({"gpt-4o": chat("openai", 2e-06, 8e-06)}, starts=date(2024, 10, 2))
    assert report.skipped == {
        "gpt-4o": "its latest catalogue price takes effect on 2024-10-02, not before 2024-10-02"
    }
    with pytest.raises(ValueError, match="https"):
        update_catalogue(
            catalogue_document(), [], effective_from=TODAY, source="file:///x", today=TODAY
        )
