"""A catalogue update from a price list: each changed price becomes a new version of its
model, the history before it kept, so that past events keep the prices of their day."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from meterr.pricing.litellm import LiteLLMPrice
from meterr.pricing.loader import parse_catalogue
from meterr.pricing.providers import KNOWN_PROVIDERS, price_table

__all__ = ["CatalogueUpdate", "update_catalogue"]

_OPTIONAL_RATES = ("cached_input", "cache_write", "reasoning")
_RATES = ("input", "output", *_OPTIONAL_RATES)


@dataclass(slots=True)
class CatalogueUpdate:
    """What an update did: models added, new price versions, prices already in force, and
    by entry name why the others were left out."""

    version: str = ""
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: dict[str, str] = field(default_factory=dict)


def _text(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def _rates_body(rates: Mapping[str, Decimal]) -> dict[str, str]:
    return {name: _text(value) for name, value in rates.items()}


def _priced_part(version: Mapping[str, Any]) -> tuple[dict[str, Decimal], dict[str, Any] | None]:
    """A price version's rates and long-context tier, without its date, source and note:
    what tells whether a price changed."""
    rates = {name: Decimal(version[name]) for name in _RATES if name in version}
    tier = version.get("long_context")
    if tier is None:
        return rates, None
    return rates, {k: v if isinstance(v, int) else Decimal(v) for k, v in tier.items()}


def _new_version(
    price: LiteLLMPrice, latest: Mapping[str, Any] | None, starts: date, source: str, today: date
) -> dict[str, Any]:
    """The list's rates; an optional rate or long-context tier the list does not give is
    carried over from the latest version, since the list is silent, not saying it ended."""
    body: dict[str, Any] = {"effective_from": starts.isoformat()}
    body.update(_rates_body(price.rates))
    if latest is not None:
        for name in _OPTIONAL_RATES:
            if name not in body and name in latest:
                body[name] = latest[name]
    if price.long_context is not None and price.above_input_tokens is not None:
        body["long_context"] = {
            "above_input_tokens": price.above_input_tokens,
            **_rates_body(price.long_context),
        }
    elif latest is not None and "long_context" in latest:
        body["long_context"] = copy.deepcopy(latest["long_context"])
    body["source"] = source
    body["source_date"] = today.isoformat()
    return body


def update_catalogue(
    catalogue: Mapping[str, Any],
    prices: list[LiteLLMPrice],
    *,
    effective_from: date,
    source: str,
    today: date,
) -> tuple[dict[str, Any], CatalogueUpdate]:
    """The catalogue document with `prices` merged in, and what changed. A price equal to
    its model's latest is left as it is; one that differs becomes a version in force from
    `effective_from`; a model the catalogue lacks is added. Raises ValueError if the result
    is not a valid catalogue."""
    if not source.startswith("https://"):
        raise ValueError(f"The source must be an https:// URL, not {source!r}.")
    document = copy.deepcopy(dict(catalogue))
    providers: dict[str, Any] = document["providers"]
    aliases = {
        (table, alias): model
        for table, body in providers.items()
        for model, entry in body["models"].items()
        for alias in entry.get("aliases", ())
    }
    report = CatalogueUpdate()
    seen: dict[tuple[str, str], str] = {}
    # A model's own entry before those of its aliases (dated snapshots), which then defer.
    ordered = sorted(
        prices, key=lambda p: (price_table(p.provider), p.model.strip().lower()) in aliases
    )
    for price in ordered:
        table = price_table(price.provider)
        if table not in KNOWN_PROVIDERS:
            report.skipped[price.name] = f"provider {price.provider} is not one Meterr prices"
            continue
        if price.provider != table:
            report.skipped[price.name] = f"{price.provider} is priced by its {table} model"
            continue
        model = price.model.strip().lower()
        model = aliases.get((table, model), model)
        key = (table, model)
        if key in seen:
            report.skipped[price.name] = f"{table}/{model} is priced by {seen[key]} already"
            continue
        seen[key] = price.name
        entry = providers.setdefault(table, {"models": {}})["models"].get(model)
        if entry is None:
            version = _new_version(price, None, effective_from, source, today)
            providers[table]["models"][model] = {"prices": [version]}
            report.added.append(f"{table}/{model}")
            continue
        latest = entry["prices"][-1]
        version = _new_version(price, latest, effective_from, source, today)
        if _priced_part(version) == _priced_part(latest):
            report.unchanged += 1
        elif date.fromisoformat(latest["effective_from"]) >= effective_from:
            report.skipped[price.name] = (
                f"its latest catalogue price takes effect on {latest['effective_from']}, "
                f"not before {effective_from.isoformat()}"
            )
        else:
            entry["prices"].append(version)
            report.changed.append(f"{table}/{model}")
    document["version"] = max(date.fromisoformat(document["version"]), today).isoformat()
    report.version = document["version"]
    parse_catalogue(document)
    return document, report
