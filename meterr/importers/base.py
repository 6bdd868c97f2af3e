"""What an importer yields, and how a provider's refusal is reported."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

__all__ = ["ImportedUsage", "ProviderAPIError", "pages"]


@dataclass(frozen=True, slots=True)
class ImportedUsage:
    """One complete bucket's usage of one model (and project), as the provider reports it,
    in Meterr's convention: input_tokens counts every prompt token, cached ones included."""

    start: datetime
    end: datetime
    model: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    requests: int = 0
    group: dict[str, str] = field(default_factory=dict)  # project, workspace, api key...
    long_context: bool = False  # the calls' prompts were past the model's long-context step


class ProviderAPIError(Exception):
    """The provider's API refused or failed a request."""

    def __init__(self, provider: str, status: int | None, message: str) -> None:
        super().__init__(f"{provider} answered {status}: {message}" if status else message)
        self.provider = provider
        self.status = status
        self.message = message

    @classmethod
    def from_response(cls, provider: str, response: httpx.Response) -> ProviderAPIError:
        """The provider's own error message when it sent one ({"error": {"message"}})."""
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text[:200] or response.reason_phrase
        return cls(provider, response.status_code, message)


async def pages(
    http: httpx.AsyncClient,
    provider: str,
    url: str,
    params: dict[str, Any],
    headers: dict[str, str],
) -> AsyncIterator[dict[str, Any]]:
    """Each page of a usage report: both providers page with `has_more` and `next_page`,
    passed back as `page`."""
    while True:
        try:
            response = await http.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderAPIError(provider, None, f"could not reach {provider}: {exc}") from exc
        if response.status_code != 200:
            raise ProviderAPIError.from_response(provider, response)
        page: dict[str, Any] = response.json()
        yield page
        if not page.get("has_more") or not page.get("next_page"):
            return
        params = {**params, "page": page["next_page"]}
