"""Changes to something stored, as a PATCH or an update mutation gives them: the fields named,
merged over the stored values and checked as a whole."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from meterr.errors import InvalidInput
from meterr.resolvers.inputs import validate_model

__all__ = ["Changes"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Changes(Generic[M]):
    """The fields of `model` a change names, and only those. A field given as null is kept:
    it clears an optional field and is refused where the model needs a value. A name the
    model does not have is refused, naming it."""

    model: type[M]
    fields: Mapping[str, Any]

    def __post_init__(self) -> None:
        unknown = [name for name in self.fields if name not in self.model.model_fields]
        if unknown:
            raise InvalidInput(
                f"Invalid input: {', '.join(unknown)}.",
                {"fields": dict.fromkeys(unknown, "unknown field")},
            )

    @classmethod
    def of(cls, model: type[M], body: object) -> Changes[M]:
        """The changes a request body names: an object of the model's fields."""
        if not isinstance(body, Mapping):
            raise InvalidInput("Expected a JSON object.", {"fields": {"body": "must be an object"}})
        return cls(model, dict(body))

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def over(self, stored: Mapping[str, Any]) -> M:
        """The model of the stored values with these changes over them, validated once, as a
        whole."""
        return validate_model(self.model, {**stored, **self.fields})
