"""Price catalogue and exact cost computation for AI model usage."""

from __future__ import annotations

from meterr.pricing.catalogue import Catalogue
from meterr.pricing.catalogue_update import CatalogueUpdate, update_catalogue
from meterr.pricing.cost import CostBreakdown, compute_cost
from meterr.pricing.litellm import LiteLLMPrice, read_litellm
from meterr.pricing.loader import catalogue_document, load_catalogue, parse_catalogue
from meterr.pricing.money import NANO_PER_USD, nano_to_usd, usd_to_nano
from meterr.pricing.pricebook import PriceBook
from meterr.pricing.prices import LongContextTier, ModelPrice, Rates
from meterr.pricing.providers import KNOWN_PROVIDERS, normalize_provider
from meterr.pricing.usage import TokenUsage

__all__ = [
    "KNOWN_PROVIDERS",
    "NANO_PER_USD",
    "Catalogue",
    "CatalogueUpdate",
    "LiteLLMPrice",
    "CostBreakdown",
    "LongContextTier",
    "ModelPrice",
    "PriceBook",
    "Rates",
    "TokenUsage",
    "catalogue_document",
    "compute_cost",
    "load_catalogue",
    "nano_to_usd",
    "normalize_provider",
    "parse_catalogue",
    "read_litellm",
    "update_catalogue",
    "usd_to_nano",
]
