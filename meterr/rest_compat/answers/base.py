"""What every answer model shares, and the error envelope."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Amount", "Answer", "ErrorAnswer", "ExactAmount", "ExactUsd", "Usd"]

Usd = float
Amount = float | int  # USD for USD budgets, whole tokens for token budgets
ExactUsd = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+(\.[0-9]+)?$",
        description='USD exactly, a decimal string in plain notation ("0.0000025")',
    ),
]
ExactAmount = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+(\.[0-9]+)?$",
        description="In the budget's unit exactly: USD as a decimal string, or whole tokens",
    ),
]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(Answer):
    code: str = Field(description="Stable, machine-readable: INVALID_INPUT, NOT_FOUND, ...")
    message: str
    details: dict[str, Any] = Field(
        description="More about the failure; `fields` maps each offending field to its problem"
    )


class ErrorAnswer(Answer):
    """Every failure: `{"error": {"code", "message", "details"}}`."""

    error: ErrorBody
