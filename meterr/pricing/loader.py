"""Parse and validate the packaged catalogue.json into a Catalogue."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from meterr.pricing.catalogue import Catalogue
from meterr.pricing.prices import LongContextTier, ModelPrice, Rates
from meterr.pricing.providers import price_table

CATALOGUE_RESOURCE = "catalogue.json"

_TOP_FIELDS = frozenset({"version", "currency", "unit", "providers"})
_PROVIDER_FIELDS = frozenset({"models"})
_MODEL_REQUIRED = frozenset({"prices"})
_MODEL_OPTIONAL = frozenset({"aliases"})
_RATE_REQUIRED = frozenset({"input", "output"})
_RATE_OPTIONAL = frozenset({"cached_input", "cache_write", "reasoning"})
_PRICE_REQUIRED = _RATE_REQUIRED | {"effective_from", "source", "source_date"}
_PRICE_OPTIONAL = _RATE_OPTIONAL | {"long_context", "note"}
_TIER_REQUIRED = _RATE_REQUIRED | {"above_input_tokens"}

# Plain non-negative decimals only: exponents, signs and NaN have no place in a price list.
_DECIMAL_TEXT = re.compile(r"^\d+(\.\d+)?$")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"catalogue: {where}: {message}")


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _fail(where, "must be an object")
    return value


def _check_fields(
    value: Mapping[str, object],
    where: str,
    required: frozenset[str],
    optional: frozenset[str] = frozenset(),
) -> None:
    missing = sorted(required - value.keys())
    if missing:
        raise _fail(where, f"missing field(s) {', '.join(map(repr, missing))}")
    unknown = sorted(value.keys() - required - optional)
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(map(repr, unknown))}")


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, "must be a non-empty string")
    return value


def _decimal(value: object, where: str) -> Decimal:
    # Prices are strings in the file so that no float ever touches them.
    if not isinstance(value, str) or not _DECIMAL_TEXT.match(value):
        raise _fail(where, f'must be a decimal string such as "2.50", got {value!r}')
    return Decimal(value)


def _date(value: object, where: str) -> date:
    text = _text(value, where)
    if not _DATE_TEXT.match(text):
        raise _fail(where, f"must be a YYYY-MM-DD date, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(where, f"is not a real date: {text!r}") from None


def _rates(value: Mapping[str, object], where: str) -> Rates:
    optional = {
        name: _decimal(value[name], f"{where} field {name!r}")
        for name in sorted(_RATE_OPTIONAL)
        if name in value
    }
    return Rates(
        input=_decimal(value["input"], f"{where} field 'input'"),
        output=_decimal(value["output"], f"{where} field 'output'"),
        **optional,
    )


def _long_context(value: object, where: str) -> LongContextTier:
    tier = _mapping(value, where)
    _check_fields(tier, where, _TIER_REQUIRED, _RATE_OPTIONAL)
    threshold = tier["above_input_tokens"]
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0:
        raise _fail(f"{where} field 'above_input_tokens'", "must be a positive integer")
    return LongContextTier(above_input_tokens=threshold, rates=_rates(tier, where))


def _price(value: object, provider: str, model: str, where: str, version: date) -> ModelPrice:
    entry = _mapping(value, where)
    _check_fields(entry, where, _PRICE_REQUIRED, _PRICE_OPTIONAL)
    source = _text(entry["source"], f"{where} field 'source'")
    if not source.startswith("https://"):
        raise _fail(f"{where} field 'source'", f"must be an https:// URL, got {source!r}")
    source_date = _date(entry["source_date"], f"{where} field 'source_date'")
    if source_date > version:
        raise _fail(f"{where} field 'source_date'", "is later than the catalogue version")
    if "note" in entry:
        _text(entry["note"], f"{where} field 'note'")
    starts = _date(entry["effective_from"], f"{where} field 'effective_from'")
    tier = entry.get("long_context")
    return ModelPrice(
        provider=provider,
        model=model,
        # List prices change at UTC midnight of the announced day.
        effective_from=datetime.combine(starts, time(), tzinfo=UTC),
        rates=_rates(entry, where),
        long_context=None if tier is None else _long_context(tier, f"{where} long_context"),
        source=source,
        source_date=source_date,
        origin="catalogue",
    )


def _is_canonical_name(name: str) -> bool:
    return bool(name) and name == name.strip().lower()


def parse_catalogue(data: object) -> Catalogue:
    """Build a Catalogue from decoded catalogue JSON, raising ValueError on any defect."""
    top = _mapping(data, "top level")
    _check_fields(top, "top level", _TOP_FIELDS)
    if top["currency"] != "USD":
        raise _fail("field 'currency'", f"must be 'USD', got {top['currency']!r}")
    if top["unit"] != "per_million_tokens":
        raise _fail("field 'unit'", f"must be 'per_million_tokens', got {top['unit']!r}")
    version = _date(top["version"], "field 'version'")

    prices: list[ModelPrice] = []
    aliases: dict[tuple[str, str], str] = {}
    for provider, provider_body in _mapping(top["providers"], "field 'providers'").items():
        if not _is_canonical_name(provider) or price_table(provider) != provider:
            raise _fail(provider, "is not a canonical price-table provider id")
        body = _mapping(provider_body, provider)
        _check_fields(body, provider, _PROVIDER_FIELDS)
        for model, model_body in _mapping(body["models"], f"{provider} models").items():
            where = f"{provider}/{model}"
            if not _is_canonical_name(model):
                raise _fail(where, "model id must be lowercase without surrounding spaces")
            entry = _mapping(model_body, where)
            _check_fields(entry, where, _MODEL_REQUIRED, _MODEL_OPTIONAL)

            alias_list = entry.get("aliases", [])
            if not isinstance(alias_list, list):
                raise _fail(f"{where} field 'aliases'", "must be a list of model ids")
            for alias in alias_list:
                if not isinstance(alias, str) or not _is_canonical_name(alias):
                    raise _fail(f"{where} field 'aliases'", f"bad alias {alias!r}")
                if (provider, alias) in aliases:
                    raise _fail(where, f"alias {alias!r} is already used by another model")
                aliases[(provider, alias)] = model

            versions = entry["prices"]
            if not isinstance(versions, list) or not versions:
                raise _fail(f"{where} field 'prices'", "must be a non-empty list")
            previous: datetime | None = None
            for index, raw in enumerate(versions):
                price = _price(raw, provider, model, f"{where} prices[{index}]", version)
                if previous is not None and price.effective_from <= previous:
                    raise _fail(
                        f"{where} prices[{index}] field 'effective_from'",
                        "must be later than the previous price's effective_from",
                    )
                previous = price.effective_from
                prices.append(price)
    try:
        return Catalogue(prices, aliases)
    except ValueError as error:
        raise _fail("consistency", str(error)) from error


def catalogue_document(path: Path | None = None) -> Any:
    """The catalogue's JSON: the file at `path`, else the one shipped with meterr."""
    if path is None:
        text = files("meterr.pricing").joinpath(CATALOGUE_RESOURCE).read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return json.loads(text)


@cache
def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue at `path` (METERR_CATALOGUE), else the one shipped with meterr; parsed
    once, since it does not change while Meterr runs. Raises ValueError naming any defect."""
    try:
        document = catalogue_document(path)
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"catalogue: {path}: {exc}") from None
    return parse_catalogue(document)
