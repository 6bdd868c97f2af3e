"""Budgets' spend, kept as events are stored: no check ever sums a period's usage again.

Each budget period's document (`budget_periods`, beside its fired alerts and holds) counts
what the events stored since the budget took its present shape add to it (`counted`): every
unit of work that stores, removes or reprices events moves the counts of the budget periods
those events fall in, in the same transaction. What was stored before is the period's
`seed`, its spend minus `counted`, read once from the rollups.

Changing an organization's budgets writes the counter document that every unit of work
storing its events writes too, so the two conflict and commit one after the other: an event
is either stored before the change, and in the seed, or stored by a writer that knows the
change and counts it. A writer holding an older version of the budgets learns so from that
same document, gives up its unit of work, reloads them, and writes again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from meterr.domain import Budget, UsageEvent
from meterr.store.budgets import BudgetStore
from meterr.store.documents import Document
from meterr.store.sequences import SequenceStore
from meterr.store.unit_of_work import Session

__all__ = ["BudgetSpendStore", "PeriodSpend", "StaleBudgets"]


@dataclass(frozen=True, slots=True)
class PeriodSpend:
    """What a budget period's document holds of its spend: the counts kept since the
    budget's shape was last changed (`writes` of them), the seed from before, and holds."""

    counted_cost: int = 0
    counted_tokens: int = 0
    writes: int = 0
    seed: tuple[int, int] | None = None
    reserved: int = 0

    @property
    def cost(self) -> int | None:
        """The period's spend in nano-USD, or None until it is seeded."""
        return None if self.seed is None else self.seed[0] + self.counted_cost

    @property
    def tokens(self) -> int | None:
        return None if self.seed is None else self.seed[1] + self.counted_tokens


class StaleBudgets(Exception):
    """The budgets of these organizations changed since this instance loaded them."""

    def __init__(self, org_ids: Iterable[str]) -> None:
        self.org_ids = sorted(set(org_ids))
        super().__init__(f"budgets changed for {', '.join(self.org_ids)}")


@dataclass(slots=True)
class _Covering:
    """One organization's budgets at one version, found by the field their scope names."""

    version: int
    unscoped: list[Budget] = field(default_factory=list)
    scoped: dict[str, dict[str | None, list[Budget]]] = field(default_factory=dict)
    # The last period of each budget an event fell in: most events fall in the same one.
    periods: dict[str, tuple[datetime, datetime | None, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, version: int, budgets: Iterable[Budget]) -> _Covering:
        covering = cls(version)
        for budget in budgets:
            if budget.scope.field is None:
                covering.unscoped.append(budget)
            else:
                by_value = covering.scoped.setdefault(budget.scope.field, {})
                by_value.setdefault(budget.scope.value, []).append(budget)
        return covering

    def budgets_of(self, event: UsageEvent) -> Iterator[Budget]:
        yield from self.unscoped
        for name, by_value in self.scoped.items():
            yield from by_value.get(getattr(event, name, None), ())

    def period_key(self, budget: Budget, moment: datetime) -> str:
        known = self.periods.get(budget.id)
        if known is not None:
            start, end, key = known
            if start <= moment and (end is None or moment < end):
                return key
        start, end = budget.period_at(moment)
        key = budget.period_key(start)
        self.periods[budget.id] = (start, end, key)
        return key


def period_id(budget_id: str, period_key: str) -> str:
    return f"{budget_id}:{period_key}"


def _period_spend(doc: Document) -> PeriodSpend:
    counted = doc.get("counted") or {}
    seed = doc.get("seed")
    return PeriodSpend(
        counted_cost=int(counted.get("cost") or 0),
        counted_tokens=int(counted.get("tokens") or 0),
        writes=int(counted.get("writes") or 0),
        seed=(int(seed["cost"]), int(seed["tokens"])) if seed else None,
        reserved=int(doc.get("reserved") or 0),
    )


class BudgetSpendStore:
    """The kept spend of budget periods, and the budgets each writer counts events for."""

    def __init__(
        self,
        periods: AsyncCollection[Document],
        budgets: BudgetStore,
        sequences: SequenceStore,
    ) -> None:
        self.periods = periods
        self._budgets = budgets
        self._sequences = sequences
        self._known: dict[str, _Covering] = {}

    async def refresh(self, org_ids: Iterable[str]) -> None:
        """Load the organizations' budgets as they are now."""
        for org_id in org_ids:
            # The version first: a change committed in between makes the next check fail
            # and load again, never count with budgets older than their version.
            version = await self._sequences.budgets_version(org_id)
            self._known[org_id] = _Covering.of(version, await self._budgets.list(org_id))

    def check(self, versions: dict[str, int]) -> None:
        """Raise StaleBudgets unless the budgets known for each organization are of the
        version its unit of work is ordered after."""
        stale = [
            org_id
            for org_id, version in versions.items()
            if (known := self._known.get(org_id)) is None or known.version != version
        ]
        if stale:
            raise StaleBudgets(stale)

    async def count(self, events: Sequence[UsageEvent], sign: int, session: Session) -> None:
        """Add (sign=1) or take away (sign=-1) the events' cost and tokens in each budget
        period they fall in, with the caller's unit of work, after `check`."""
        moved: dict[tuple[str, str, str], list[int]] = {}
        for event in events:
            covering = self._known[event.org_id]
            cost = event.cost.total_nano if event.cost is not None else 0
            tokens = event.tokens.input_tokens + event.tokens.output_tokens
            for budget in covering.budgets_of(event):
                key = (event.org_id, budget.id, covering.period_key(budget, event.timestamp))
                sums = moved.setdefault(key, [0, 0])
                sums[0] += sign * cost
                sums[1] += sign * tokens
        if not moved:
            return
        await self.periods.bulk_write(
            [
                UpdateOne(
                    {"_id": period_id(budget_id, period_key)},
                    {
                        "$inc": {
                            "counted.cost": cost,
                            "counted.tokens": tokens,
                            "counted.writes": 1,
                        },
                        "$setOnInsert": {
                            "org_id": org_id,
                            "budget_id": budget_id,
                            "period": period_key,
                        },
                    },
                    upsert=True,
                )
                for (org_id, budget_id, period_key), (cost, tokens) in moved.items()
            ],
            ordered=False,
            session=session,
        )

    async def read(
        self, org_id: str, periods: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], PeriodSpend]:
        """The documents of these (budget id, period key) pairs, in one query; a period
        with no document yet has nothing counted, held or fired."""
        ids = {period_id(*period): period for period in periods}
        found = {
            doc["_id"]: doc
            async for doc in self.periods.find({"_id": {"$in": list(ids)}})
            if doc.get("org_id") == org_id
        }
        return {
            period: _period_spend(found[doc_id]) if doc_id in found else PeriodSpend()
            for doc_id, period in ids.items()
        }

    async def seed(
        self, org_id: str, budget_id: str, period_key: str, seed: tuple[int, int], writes: int
    ) -> bool:
        """Store the period's seed, unless it has one already or its counts moved past
        `writes` since the seed was worked out: answer whether it was stored."""
        query: Document = {"_id": period_id(budget_id, period_key), "seed": {"$exists": False}}
        if writes:
            query["counted.writes"] = writes
        else:
            query["counted.writes"] = {"$exists": False}
        update = {
            "$set": {"seed": {"cost": seed[0], "tokens": seed[1]}},
            "$setOnInsert": {"org_id": org_id, "budget_id": budget_id, "period": period_key},
        }
        try:
            # A period with counts has its document: only an empty one may be created here.
            result = await self.periods.update_one(query, update, upsert=not writes)
        except DuplicateKeyError:
            return False  # the document was there, seeded or counted meanwhile
        return result.modified_count + (1 if result.upserted_id is not None else 0) == 1

    async def forget_seeds(self, org_id: str) -> None:
        """Seed every period again from the rollups (after they were rebuilt)."""
        await self.periods.update_many({"org_id": org_id}, {"$unset": {"seed": ""}})
