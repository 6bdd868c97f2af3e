"""What the two doors have in common: the operations both offer and the neutral answer each
gives (REST's field names and values, or an error's code and the fields it names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Answer", "Door", "JsonObject", "Query"]

JsonObject = dict[str, Any]
Query = str | int | list[str]


@dataclass(frozen=True)
class Answer:
    """What a door answered: the HTTP status, and either data in the neutral shape or an
    error's code and the fields it names."""

    status: int
    data: Any = None
    code: str | None = None
    fields: frozenset[str] = field(default_factory=frozenset)

    @property
    def ok(self) -> bool:
        return self.code is None

    def value(self) -> Any:
        """The data of an answer that must have succeeded."""
        assert self.ok, self
        return self.data


class Door(Protocol):
    """The operations both doors offer. Queries take REST's parameter names (start_date,
    end_date, tz, group_by, interval, provider, model, team_id, user_id, limit, cursor); a
    list stands for several values of a filter."""

    name: str

    async def track(
        self, key: str, body: JsonObject, *, idempotency_key: str | None = None
    ) -> Answer: ...

    async def track_batch(self, key: str, bodies: list[JsonObject]) -> Answer: ...

    async def costs(self, key: str, **query: Query) -> Answer: ...

    async def usage(self, key: str, **query: Query) -> Answer: ...

    async def history(self, key: str, **query: Query) -> Answer: ...

    async def events(self, key: str, **query: Query) -> Answer: ...

    async def create_budget(self, key: str, body: JsonObject) -> Answer: ...

    async def update_budget(self, key: str, budget_id: str, changes: JsonObject) -> Answer: ...

    async def budget(self, key: str, budget_id: str) -> Answer: ...

    async def budgets(self, key: str) -> Answer: ...

    async def delete_budget(self, key: str, budget_id: str) -> Answer: ...

    async def reserve(self, key: str, body: JsonObject) -> Answer: ...

    async def create_team(self, key: str, body: JsonObject) -> Answer: ...

    async def update_team(self, key: str, team_id: str, changes: JsonObject) -> Answer: ...

    async def team(self, key: str, team_id: str) -> Answer: ...
