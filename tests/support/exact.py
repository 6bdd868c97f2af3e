"""Answers without their exact amounts, for comparing them with the documented shapes."""

from __future__ import annotations

from typing import Any

__all__ = ["inexact"]


def inexact(answer: Any) -> Any:
    """The answer without its exact amounts (`cost_exact`, `total_exact`...): the documented
    shapes show the rounded numbers, and the exact ones are checked apart."""
    if isinstance(answer, dict):
        return {k: inexact(v) for k, v in answer.items() if not k.endswith("_exact")}
    if isinstance(answer, list):
        return [inexact(item) for item in answer]
    return answer
