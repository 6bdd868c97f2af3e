"""An API call as data: which request to send and how to read its answer into a model.

`Client` sends calls with blocking httpx and `AsyncClient` awaits them. An operation of several
requests (reading every page of a list) is a generator of calls: the client sends each call it
yields and sends back the answer, until it returns.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, create_model

from meterr.sdk.models import (
    ApiObject,
    CostGroup,
)

__all__ = [
    "Call",
    "Day",
    "Flow",
    "cost_groups",
    "encode",
    "event_body",
    "given",
    "listed",
    "nothing",
    "one",
    "query",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Day = str | date | datetime
Flow = Generator["Call[Any]", Any, T]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[bytes], T]
    params: dict[str, Any] | None = None
    body: Any = None
    # Whether sending it twice does what sending it once does: a track call (its events carry
    # their ids), a read, a change to a given value. One that is not is retried only when
    # the server surely did nothing with it.
    repeatable: bool = True

    def content(self) -> bytes | None:
        """The JSON body; Decimal amounts as JSON numbers, dates as ISO 8601."""
        if self.body is None:
            return None
        return json.dumps(self.body, default=encode, separators=(",", ":")).encode()


def encode(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")


def one(model: type[M]) -> Callable[[bytes], M]:
    return model.model_validate_json


def nothing(_raw: bytes) -> None:
    return None


@cache
def listed(key: str, model: type[M]) -> Callable[[bytes], list[M]]:
    """Reads `{key: [...], ...}` as a list of `model`."""
    wrapper = create_model(f"{model.__name__}Listing", **{key: (list[model], ...)})  # type: ignore[call-overload,valid-type]

    def read(raw: bytes) -> list[M]:
        return list(getattr(wrapper.model_validate_json(raw), key))

    return read


class _CostEntry(ApiObject):
    total: Decimal
    tokens: int
    name: str | None = None
    deleted: bool | None = None


_COST_GROUPS = TypeAdapter(dict[str, _CostEntry])


def cost_groups(raw: bytes) -> list[CostGroup]:
    return [
        CostGroup(key=key, **entry.model_dump())
        for key, entry in _COST_GROUPS.validate_json(raw).items()
    ]


def query(values: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters: None left out, dates as ISO 8601, booleans as true/false."""
    params: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, date | datetime):
            params[name] = value.isoformat()
        else:
            params[name] = value
    return params


def given(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values given: those that are not None."""
    return {name: value for name, value in values.items() if value is not None}


def event_body(
    provider: str, model: str, input_tokens: int, output_tokens: int, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """A track body; every event gets an event_id, so that a retried request is a replay."""
    body = {
        "provider": provider,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        **given(fields),
    }
    body.setdefault("event_id", f"sdk_{uuid.uuid4().hex}")
    return body
