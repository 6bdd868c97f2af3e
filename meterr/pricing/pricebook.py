"""An organization's negotiated prices layered over the list-price catalogue."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from types import MappingProxyType

from meterr.pricing.catalogue import Catalogue, require_aware
from meterr.pricing.prices import ModelPrice
from meterr.pricing.providers import price_table


class PriceBook:
    """Prices to bill with: the latest applicable override, else the catalogue price."""

    __slots__ = ("_catalogue", "_override_starts", "_overrides")

    def __init__(self, catalogue: Catalogue, overrides: Iterable[ModelPrice] = ()) -> None:
        self._catalogue = catalogue
        grouped: dict[tuple[str, str], list[ModelPrice]] = {}
        for price in overrides:
            if price.origin != "override":
                raise ValueError(
                    f"{price.provider}/{price.model}: override must have origin 'override', "
                    f"got {price.origin!r}"
                )
            grouped.setdefault(self.price_key(price.provider, price.model), []).append(price)
        ordered: dict[tuple[str, str], tuple[ModelPrice, ...]] = {}
        for key, versions in grouped.items():
            versions.sort(key=lambda p: p.effective_from)
            starts = [p.effective_from for p in versions]
            if len(set(starts)) != len(starts):
                raise ValueError(f"{key[0]}/{key[1]}: two overrides take effect at the same time")
            ordered[key] = tuple(versions)
        self._overrides = MappingProxyType(ordered)
        self._override_starts = MappingProxyType(
            {key: tuple(p.effective_from for p in versions) for key, versions in ordered.items()}
        )

    @property
    def catalogue(self) -> Catalogue:
        """The list prices that apply where no override does."""
        return self._catalogue

    def price_key(self, provider: str, model: str) -> tuple[str, str]:
        """(price-table provider, model) under which overrides for this model are kept.

        The model is the catalogue's canonical id when it resolves, so an override set
        for "gpt-4o" also covers "gpt-4o-2024-08-06"; otherwise the lowercased raw id.
        """
        canonical = self._catalogue.resolve_model(provider, model)
        return price_table(provider), canonical or model.strip().lower()

    def lookup(self, provider: str, model: str, at: datetime) -> ModelPrice | None:
        """The price to bill an event at `at` with, or None if nothing prices it."""
        require_aware(at)
        key = self.price_key(provider, model)
        starts = self._override_starts.get(key)
        if starts is not None:
            index = bisect.bisect_right(starts, at)
            if index:
                return self._overrides[key][index - 1]
        return self._catalogue.lookup(provider, model, at)
