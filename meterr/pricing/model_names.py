"""Spellings under which providers and SDKs report the same priced model."""

from __future__ import annotations

import re
from collections.abc import Iterator

from meterr.pricing.providers import price_table

# Snapshot and version suffixes that name a build of a model without changing its price
# table entry; tried one at a time from the end of the name.
_SNAPSHOT_SUFFIXES = (
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # OpenAI: gpt-4o-2024-08-06
    re.compile(r"-\d{8}$"),  # Anthropic: claude-3-opus-20240229
    re.compile(r"@\d{8}$"),  # Vertex AI: claude-3-5-sonnet@20240620
    re.compile(r"-\d{4}$"),  # OpenAI MMDD / Mistral YYMM: gpt-4-0613, mistral-large-2411
    re.compile(r"-latest$"),
    re.compile(r"-\d{3}$"),  # Gemini stable versions: gemini-1.5-pro-002
)

# Google's API reports models as "models/<id>".
_GOOGLE_RESOURCE_PREFIX = "models/"

# Azure cannot use dots in deployment model names, so "gpt-3.5" is spelled "gpt-35".
_TABLE_REWRITES: dict[str, tuple[tuple[str, str], ...]] = {
    "openai": (("gpt-35-", "gpt-3.5-"),),
}

_DOT_BETWEEN_DIGITS = re.compile(r"(?<=\d)\.(?=\d)")


def spelling_key(name: str) -> str:
    """Key under which dotted and dashed version numbers compare equal (3.5 == 3-5)."""
    return _DOT_BETWEEN_DIGITS.sub("-", name)


def _strip_prefix(name: str, table: str) -> str | None:
    if name.startswith(_GOOGLE_RESOURCE_PREFIX):
        return name[len(_GOOGLE_RESOURCE_PREFIX) :]
    head, slash, rest = name.partition("/")
    # LiteLLM style "openai/gpt-4o"; only a prefix naming this same table is dropped,
    # so "openrouter/..." or another vendor's route is never mistaken for a direct model.
    if slash and rest and price_table(head) == table:
        return rest
    return None


def _rewrite(name: str, table: str) -> str | None:
    for old, new in _TABLE_REWRITES.get(table, ()):
        if name.startswith(old):
            return new + name[len(old) :]
    return None


def _strip_snapshot(name: str) -> str | None:
    for suffix in _SNAPSHOT_SUFFIXES:
        stripped = suffix.sub("", name, count=1)
        if stripped != name and stripped:
            return stripped
    return None


def candidate_names(model: str, table: str) -> Iterator[str]:
    """Yield the spellings to try for model in a price table, most specific first.

    The reported name itself comes first, so a snapshot with its own price entry
    wins over the base model it would otherwise be stripped down to.
    """
    name: str | None = model.strip().lower()
    while name:
        yield name
        name = _strip_prefix(name, table) or _rewrite(name, table) or _strip_snapshot(name)
