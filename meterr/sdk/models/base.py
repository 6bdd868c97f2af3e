"""What the SDK returns: the API's JSON answers as typed, immutable objects.

Amounts are `Decimal`, read from the JSON text itself so that no binary float ever stands in
between, and from the exact amount where the server gives one beside the rounded number
(`cost_exact` beside `cost`). Fields a newer server adds are kept (reachable as attributes and
in `model_extra`) rather than refused, so that an older SDK keeps working against a newer
Meterr.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["ApiObject"]


class ApiObject(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _exact_amounts(cls, data: Any) -> Any:
        """`cost` read from `cost_exact` (which then is not kept apart) when both are given."""
        if not isinstance(data, dict):
            return data
        exact = {
            name.removesuffix("_exact"): value
            for name, value in data.items()
            if name.endswith("_exact") and value is not None and name.removesuffix("_exact") in data
        }
        if not exact:
            return data
        kept = {
            name: value for name, value in data.items() if name.removesuffix("_exact") not in exact
        }
        return {**kept, **exact}
