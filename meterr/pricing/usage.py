"""Token counts of one billed event, in OpenAI's accounting convention."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts of one event.

    input_tokens counts every prompt token, cache reads and cache writes included;
    reasoning_tokens are a part of output_tokens.
    """

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def violations(self) -> dict[str, str]:
        """Map each field that breaks the accounting convention to a human message."""
        problems: dict[str, str] = {}
        for field in fields(self):
            value: int = getattr(self, field.name)
            if value < 0:
                problems[field.name] = f"{field.name} must not be negative (got {value})"
        # A subset rule says nothing useful while one of its counts is already negative.
        prompt_counts = ("input_tokens", "cached_input_tokens", "cache_write_tokens")
        if (
            not problems.keys() & set(prompt_counts)
            and self.cached_input_tokens + self.cache_write_tokens > self.input_tokens
        ):
            message = (
                "cached_input_tokens + cache_write_tokens "
                f"({self.cached_input_tokens} + {self.cache_write_tokens}) must not exceed "
                f"input_tokens ({self.input_tokens}): input_tokens counts cached and "
                "cache-write tokens too"
            )
            # Name each count that takes part, so the client sees the one it sent.
            if self.cached_input_tokens or not self.cache_write_tokens:
                problems["cached_input_tokens"] = message
            if self.cache_write_tokens:
                problems["cache_write_tokens"] = message
        if (
            not problems.keys() & {"output_tokens", "reasoning_tokens"}
            and self.reasoning_tokens > self.output_tokens
        ):
            problems["reasoning_tokens"] = (
                f"reasoning_tokens ({self.reasoning_tokens}) must not exceed "
                f"output_tokens ({self.output_tokens}): output_tokens includes reasoning"
            )
        return problems
