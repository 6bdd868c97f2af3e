"""Per-organization price overrides (negotiated rates)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from meterr.pricing import LongContextTier, ModelPrice, Rates
from meterr.store.documents import Document

__all__ = ["PriceOverrideStore"]

_RATES = ("input", "output", "cached_input", "cache_write", "reasoning")


def _rates_to_doc(rates: Rates) -> Document:
    return {
        name: None if getattr(rates, name) is None else str(getattr(rates, name)) for name in _RATES
    }


def _rates_from_doc(doc: Document) -> Rates:
    values = {name: None if doc.get(name) is None else Decimal(doc[name]) for name in _RATES}
    return Rates(
        input=values["input"] or Decimal(0),
        output=values["output"] or Decimal(0),
        cached_input=values["cached_input"],
        cache_write=values["cache_write"],
        reasoning=values["reasoning"],
    )


def _override(doc: Document) -> ModelPrice:
    tier = doc.get("long_context")
    return ModelPrice(
        provider=doc["provider"],
        model=doc["model"],
        effective_from=doc["effective_from"],
        rates=_rates_from_doc(doc["rates"]),
        long_context=None
        if tier is None
        else LongContextTier(tier["above_input_tokens"], _rates_from_doc(tier["rates"])),
        source=doc.get("source") or "organization override",
        source_date=doc["created_at"].date(),
        origin="override",
    )


class PriceOverrideStore:
    """An override replaces the catalogue's price of one model, from a moment on."""

    indexes = (
        IndexModel(
            [
                ("org_id", ASCENDING),
                ("provider", ASCENDING),
                ("model", ASCENDING),
                ("effective_from", ASCENDING),
            ],
            unique=True,
        ),
    )

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def upsert(
        self, org_id: str, price: ModelPrice, note: str | None, *, at: datetime
    ) -> ModelPrice:
        doc: Document = {
            "org_id": org_id,
            "provider": price.provider,
            "model": price.model,
            "effective_from": price.effective_from,
            "rates": _rates_to_doc(price.rates),
            "long_context": None
            if price.long_context is None
            else {
                "above_input_tokens": price.long_context.above_input_tokens,
                "rates": _rates_to_doc(price.long_context.rates),
            },
            "source": note,
            "created_at": at,
        }
        key = {k: doc[k] for k in ("org_id", "provider", "model", "effective_from")}
        await self.collection.replace_one(key, doc, upsert=True)
        return _override(doc)

    async def list(self, org_id: str) -> list[ModelPrice]:
        cursor = self.collection.find({"org_id": org_id}).sort(
            [("provider", ASCENDING), ("model", ASCENDING), ("effective_from", ASCENDING)]
        )
        return [_override(doc) async for doc in cursor]
