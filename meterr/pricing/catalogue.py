"""An immutable, dated price table per provider, with model-name resolution."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from datetime import datetime
from itertools import pairwise
from types import MappingProxyType

from meterr.pricing.model_names import candidate_names, spelling_key
from meterr.pricing.prices import ModelPrice
from meterr.pricing.providers import price_table


def require_aware(at: datetime) -> None:
    """Reject naive datetimes, which cannot be placed on the UTC price timeline."""
    if at.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware: {at!r}")


def _check_price_key(price: ModelPrice) -> None:
    if price.provider != price_table(price.provider):
        raise ValueError(
            f"{price.provider}/{price.model}: provider must be a canonical price-table id "
            f"({price_table(price.provider)!r})"
        )
    if price.model != price.model.strip().lower():
        raise ValueError(f"{price.provider}/{price.model}: model id must be lowercase")


class Catalogue:
    """Dated list prices by (price-table provider, canonical model id)."""

    __slots__ = ("_by_key", "_exact", "_history", "_starts")

    def __init__(
        self,
        prices: Iterable[ModelPrice],
        aliases: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        grouped: dict[tuple[str, str], list[ModelPrice]] = {}
        for price in prices:
            _check_price_key(price)
            grouped.setdefault((price.provider, price.model), []).append(price)

        history: dict[tuple[str, str], tuple[ModelPrice, ...]] = {}
        for key, versions in grouped.items():
            ordered = sorted(versions, key=lambda p: p.effective_from)
            for earlier, later in pairwise(ordered):
                if earlier.effective_from == later.effective_from:
                    raise ValueError(
                        f"{key[0]}/{key[1]}: two prices take effect at {later.effective_from}"
                    )
            history[key] = tuple(ordered)

        exact: dict[tuple[str, str], str] = {key: key[1] for key in history}
        for (provider, alias), target in (aliases or {}).items():
            table = price_table(provider)
            name = alias.strip().lower()
            if (table, target) not in history:
                raise ValueError(f"{table}/{name}: alias targets unknown model {target!r}")
            if exact.get((table, name), target) != target:
                raise ValueError(
                    f"{table}/{name}: alias to {target!r} clashes with {exact[(table, name)]!r}"
                )
            exact[(table, name)] = target

        by_key: dict[tuple[str, str], str] = {}
        for (table, name), target in exact.items():
            key = (table, spelling_key(name))
            if by_key.get(key, target) != target:
                raise ValueError(
                    f"{table}/{name}: spelling {key[1]!r} is ambiguous between "
                    f"{target!r} and {by_key[key]!r}"
                )
            by_key[key] = target

        self._history = MappingProxyType(history)
        self._starts = MappingProxyType(
            {key: tuple(p.effective_from for p in versions) for key, versions in history.items()}
        )
        self._exact = MappingProxyType(exact)
        self._by_key = MappingProxyType(by_key)

    def __setattr__(self, name: str, value: object) -> None:
        # Prices drive billing: once built, a catalogue must not change under its readers.
        if hasattr(self, name):
            raise AttributeError(f"Catalogue is immutable; cannot set {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Catalogue is immutable; cannot delete {name!r}")

    def resolve_model(self, provider: str, model: str) -> str | None:
        """Canonical model id in the provider's price table, or None if unpriced."""
        table = price_table(provider)
        for name in candidate_names(model, table):
            found = self._exact.get((table, name)) or self._by_key.get((table, spelling_key(name)))
            if found is not None:
                return found
        return None

    def lookup(self, provider: str, model: str, at: datetime) -> ModelPrice | None:
        """The price version in force at `at`, or None if unknown or not yet priced."""
        require_aware(at)
        canonical = self.resolve_model(provider, model)
        if canonical is None:
            return None
        key = (price_table(provider), canonical)
        index = bisect.bisect_right(self._starts[key], at)
        return self._history[key][index - 1] if index else None

    def models(self, provider: str | None = None) -> list[str]:
        """Sorted canonical model ids, for one provider's table or for all."""
        table = None if provider is None else price_table(provider)
        return sorted({model for (p, model) in self._history if table in (None, p)})

    def history(self, provider: str, model: str) -> list[ModelPrice]:
        """Every price version of a model, oldest first; empty if the model is unknown."""
        canonical = self.resolve_model(provider, model)
        if canonical is None:
            return []
        return list(self._history[(price_table(provider), canonical)])

    def providers(self) -> list[str]:
        """Sorted ids of the providers that have a price table."""
        return sorted({provider for provider, _ in self._history})
