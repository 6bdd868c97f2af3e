"""Which metadata keys an organization's rollups hold: learned from the keys its events carry.

Grouping costs by a metadata key (`feature`, `customer`, `env`) is a common question, so the
rollups keep cells per value of the keys an organization uses. The first MAX_METADATA_KEYS
groupable keys its events carry are learned as they arrive, in the unit of work that stores
them. A key stops being rolled up once it has shown more than MAX_METADATA_VALUES values (an
identifier rather than a category) or a value that is not a short string, a number or a
boolean; questions about it are then answered from the raw events.

Keys and their states only ever grow, so a writer's remembered view can only be behind: it
asks the store again when an event brings a key or value it has not seen, and never misses a
cell of a key it knows is rolled up. Only events carrying a key add to that key's cells; the
events without it are the team family's totals less the key's cells.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cachetools import LRUCache
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from meterr.domain import GROUPABLE_METADATA_KEY, UsageEvent
from meterr.store.documents import Document
from meterr.store.unit_of_work import Session

__all__ = [
    "MAX_METADATA_KEYS",
    "MAX_METADATA_VALUES",
    "MAX_METADATA_VALUE_CHARS",
    "KeyState",
    "MetadataKeyStore",
    "MetadataKeysMoved",
    "MetadataKeys",
    "rolled_values",
]

MAX_METADATA_KEYS = 20
MAX_METADATA_VALUES = 1_000
MAX_METADATA_VALUE_CHARS = 100
_ATTEMPTS = 5

Scalar = str | int | float | bool


class KeyState(enum.StrEnum):
    ROLLED = "rolled"
    TOO_MANY_VALUES = "too_many_values"
    UNSUITABLE = "unsuitable"


@dataclass(frozen=True, slots=True)
class MetadataKeys:
    """An organization's learned keys, in the order they were learned, and each one's
    state. `complete`: the cells hold every stored event's keys (false for an organization
    whose events predate the learning, until its rollups are rebuilt)."""

    org_id: str
    states: Mapping[str, KeyState] = field(default_factory=dict)
    complete: bool = False
    version: int = 0

    @property
    def full(self) -> bool:
        return len(self.states) >= MAX_METADATA_KEYS

    def rolled(self, name: str) -> bool:
        """Whether the cells of `name` answer questions: a key never seen, while the keys
        are not full, is held by no event, and its cells are rightly empty."""
        state = self.states.get(name)
        if state is None:
            return self.complete and not self.full
        return self.complete and state is KeyState.ROLLED


@dataclass(frozen=True, slots=True)
class _Known:
    """A writer's view of one organization: its keys, and the values of each rolled key."""

    keys: MetadataKeys
    values: Mapping[str, frozenset[Any]]

    def news(self, metadata: Mapping[str, Any]) -> bool:
        """Whether an event's metadata holds a key or value the organization has not shown."""
        for name, value in metadata.items():
            if value is None or not GROUPABLE_METADATA_KEY.fullmatch(name):
                continue
            state = self.keys.states.get(name)
            if state is None:
                if not self.keys.full:
                    return True
            elif state is KeyState.ROLLED and (
                not _suitable(value) or _token(value) not in self.values.get(name, ())
            ):
                return True
        return False

    def cell_values(self, metadata: Mapping[str, Any]) -> list[tuple[str, Any]]:
        return [
            (name, value)
            for name, value in metadata.items()
            if self.keys.states.get(name) is KeyState.ROLLED
            and _suitable(value)
            and _token(value) in self.values.get(name, ())
        ]


def _token(value: Any) -> tuple[str, Any]:
    """A value as grouping tells values apart: true is not 1, but 1 is 1.0."""
    if isinstance(value, bool):
        return ("bool", value)
    return ("str", value) if isinstance(value, str) else ("number", value)


def _stored(tokens: Iterable[tuple[str, Any]]) -> Document:
    return {"$each": [value for _, value in sorted(tokens, key=repr)]}


def _suitable(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_METADATA_VALUE_CHARS
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int)  # booleans included


def rolled_values(known: Mapping[str, _Known]) -> Callable[[UsageEvent], list[tuple[str, Any]]]:
    """For rollup cells: the (key, value) pairs of an event that its organization rolls up."""

    def of(event: UsageEvent) -> list[tuple[str, Any]]:
        view = known.get(event.org_id)
        return view.cell_values(event.metadata) if view is not None else []

    return of


def _learn_into(
    states: dict[str, KeyState],
    values: dict[str, set[Any]],
    metadata: Iterable[Mapping[str, Any]],
) -> None:
    """Move the states and the values of rolled keys on by the events' metadata."""
    for entries in metadata:
        for name, value in entries.items():
            if value is None or not GROUPABLE_METADATA_KEY.fullmatch(name):
                continue
            if name not in states:
                if len(states) >= MAX_METADATA_KEYS:
                    continue
                states[name] = KeyState.ROLLED
            if states[name] is not KeyState.ROLLED:
                continue
            seen = values.setdefault(name, set())
            if not _suitable(value):
                states[name] = KeyState.UNSUITABLE
            elif _token(value) in seen:
                continue
            elif len(seen) >= MAX_METADATA_VALUES:
                states[name] = KeyState.TOO_MANY_VALUES
            else:
                seen.add(_token(value))
                continue
            del values[name]


class MetadataKeyStore:
    """One document per organization with its keys and their states (`keys:<org>`), and one
    per rolled key with the values seen (`values:<org>:<key>`), so that learning a value
    rewrites one key's values, not all of them."""

    indexes = (IndexModel([("org_id", ASCENDING)]),)

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        self._known: LRUCache[str, _Known] = LRUCache(maxsize=10_000)

    async def of(self, org_id: str) -> MetadataKeys:
        """The organization's keys as committed now."""
        return _keys(org_id, await self.collection.find_one({"_id": _keys_id(org_id)}))

    async def described(self, org_id: str) -> tuple[MetadataKeys, dict[str, int]]:
        """The organization's keys, and how many values each rolled key has shown."""
        keys, counts = MetadataKeys(org_id), {}
        async for doc in self.collection.find({"org_id": org_id}):
            if doc["_id"] == _keys_id(org_id):
                keys = _keys(org_id, doc)
            else:
                name = doc["_id"].removeprefix(_values_id(org_id, ""))
                counts[name] = len(doc.get("values") or ())
        return keys, counts

    async def start(self, org_id: str) -> None:
        """Mark a new organization's cells complete: it has no events yet to miss."""
        await self.collection.update_one(
            {"_id": _keys_id(org_id)},
            {"$setOnInsert": {"org_id": org_id, "states": [], "complete": True, "version": 0}},
            upsert=True,
        )

    async def learn(
        self, events: Iterable[UsageEvent], session: Session, *, fresh: bool = False
    ) -> dict[str, _Known]:
        """Each organization's view for writing the events' cells, learning in the caller's
        unit of work what they show that is new. `fresh`: read the store whatever this
        writer remembers (to take cells away, every rolled key must be known)."""
        by_org: dict[str, list[Mapping[str, Any]]] = {}
        for event in events:
            by_org.setdefault(event.org_id, []).append(event.metadata)
        views: dict[str, _Known] = {}
        for org_id, metadata in by_org.items():
            view = None if fresh else self._known.get(org_id)
            if view is None or any(view.news(entries) for entries in metadata):
                view = await self._learned(org_id, metadata, session)
            views[org_id] = view
        return views

    async def _learned(
        self, org_id: str, metadata: Sequence[Mapping[str, Any]], session: Session
    ) -> _Known:
        for _ in range(_ATTEMPTS):
            try:
                return await self._learn_once(org_id, metadata, session)
            except MetadataKeysMoved:
                if session is not None:
                    raise
        raise PyMongoError(f"The metadata keys of {org_id} kept changing; try again.")

    async def _learn_once(
        self, org_id: str, metadata: Sequence[Mapping[str, Any]], session: Session
    ) -> _Known:
        doc = await self.collection.find_one({"_id": _keys_id(org_id)}, session=session)
        keys = _keys(org_id, doc)
        rolled = [name for name, state in keys.states.items() if state is KeyState.ROLLED]
        seen = _Known(keys, await self._values(org_id, rolled, session))
        # Remembered as read (committed), not as learned: this unit of work may yet abort.
        self._known[org_id] = seen
        states = dict(keys.states)
        values = {name: set(known) for name, known in seen.values.items()}
        _learn_into(states, values, metadata)
        for name, now in values.items():
            new = now - seen.values.get(name, frozenset())
            if new:
                await self.collection.update_one(
                    {"_id": _values_id(org_id, name)},
                    {
                        "$addToSet": {"values": _stored(new)},
                        "$setOnInsert": {"org_id": org_id},
                    },
                    upsert=True,
                    session=session,
                )
        if states != dict(keys.states):
            await self._save(replace(keys, states=states), doc is None, session)
        return _Known(replace(keys, states=states), _frozen(values))

    async def _values(
        self, org_id: str, names: Sequence[str], session: Session
    ) -> dict[str, frozenset[Any]]:
        if not names:
            return {}
        ids = [_values_id(org_id, name) for name in names]
        docs = self.collection.find({"_id": {"$in": ids}}, session=session)
        found = {
            doc["_id"]: frozenset(_token(value) for value in doc.get("values") or ())
            async for doc in docs
        }
        return {name: found.get(_values_id(org_id, name), frozenset()) for name in names}

    async def _save(self, keys: MetadataKeys, new: bool, session: Session) -> None:
        states = [{"name": name, "state": state.value} for name, state in keys.states.items()]
        if new:  # an organization older than the learning: its cells miss its past events
            await self.collection.insert_one(
                {
                    "_id": _keys_id(keys.org_id),
                    "org_id": keys.org_id,
                    "states": states,
                    "complete": False,
                    "version": 1,
                },
                session=session,
            )
            return
        result = await self.collection.update_one(
            {"_id": _keys_id(keys.org_id), "version": keys.version},
            {"$set": {"states": states}, "$inc": {"version": 1}},
            session=session,
        )
        if result.matched_count == 0:
            raise MetadataKeysMoved

    async def relearn(self, org_id: str, events: AsyncCollection[Document]) -> MetadataKeys:
        """Learn an organization's keys anew from all its stored events; their cells stay
        incomplete until `mark_complete`, once the rollups are rebuilt from the same events."""
        states: dict[str, KeyState] = {}
        values: dict[str, set[Any]] = {}
        async for doc in events.find({"org_id": org_id}, {"metadata": 1, "_id": 0}):
            if doc.get("metadata"):
                _learn_into(states, values, [doc["metadata"]])
        await self.collection.delete_many({"org_id": org_id})
        docs: list[Document] = [
            {
                "_id": _keys_id(org_id),
                "org_id": org_id,
                "states": [{"name": n, "state": s.value} for n, s in states.items()],
                "complete": False,
                "version": 0,
            }
        ]
        docs += [
            {"_id": _values_id(org_id, name), "org_id": org_id, "values": _stored(v)["$each"]}
            for name, v in values.items()
        ]
        await self.collection.insert_many(docs)
        self._known.pop(org_id, None)
        return MetadataKeys(org_id, states)

    async def mark_complete(self, org_id: str) -> None:
        """The organization's cells hold all its events' keys."""
        await self.collection.update_one({"_id": _keys_id(org_id)}, {"$set": {"complete": True}})


class MetadataKeysMoved(Exception):
    """Another writer changed the organization's keys since this one read them: learn again."""


def _frozen(values: Mapping[str, set[Any]]) -> dict[str, frozenset[Any]]:
    return {name: frozenset(v) for name, v in values.items()}


def _keys_id(org_id: str) -> str:
    return f"keys:{org_id}"


def _values_id(org_id: str, name: str) -> str:
    return f"values:{org_id}:{name}"


def _keys(org_id: str, doc: Document | None) -> MetadataKeys:
    if doc is None:
        return MetadataKeys(org_id)
    return MetadataKeys(
        org_id,
        {entry["name"]: KeyState(entry["state"]) for entry in doc.get("states") or ()},
        complete=bool(doc.get("complete")),
        version=int(doc.get("version") or 0),
    )
