"""Readers of the providers' own usage APIs: each turns a provider's usage report into
ImportedUsage rows, one per bucket and model (and project), in Meterr's token convention."""

from __future__ import annotations

from meterr.importers.anthropic import read_anthropic_usage
from meterr.importers.base import ImportedUsage, ProviderAPIError
from meterr.importers.openai import read_openai_usage

__all__ = ["ImportedUsage", "ProviderAPIError", "read_anthropic_usage", "read_openai_usage"]
