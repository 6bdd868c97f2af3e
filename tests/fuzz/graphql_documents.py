"""GraphQL operations for the fuzzers: for each root field of the served schema, a document
taking its arguments as variables, and variables a client might well send, or the same with
one part hostile (a value past a bound, a lone surrogate, another type altogether)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import graphql
from hypothesis import strategies as st

from meterr.schema import build_schema
from tests.fuzz.hostile import (
    DATES,
    DECIMALS,
    INTEGERS,
    JSON_VALUES,
    NUMBERS,
    TEXT,
    WEBHOOK_URLS,
)

__all__ = ["SCHEMA", "SDL", "Known", "RootField", "root_fields"]

# Ids of things that exist, by the names of the fields and arguments that take them.
Known = Mapping[str, Sequence[str]]

SDL = build_schema().as_str()
SCHEMA = graphql.build_schema(SDL)

ZONES = st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata", "America/St_Johns"])
RECENT_DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 6, 17)).map(str)
RECENT_INSTANTS = st.datetimes(
    min_value=datetime(2026, 5, 1), max_value=datetime(2026, 6, 17, 9)
).map(lambda at: at.replace(tzinfo=UTC).isoformat())

# Hostile leaves of each scalar, and plausible ones: most requests get past validation, to
# store, count and answer what they were given.
HOSTILE: dict[str, st.SearchStrategy[Any]] = {
    "Int": INTEGERS,
    "Float": NUMBERS,
    "String": TEXT,
    "ID": TEXT,
    "Boolean": st.booleans(),
    "Decimal": DECIMALS,
    "Date": DATES,
    "DateTime": DATES,
    "TimeBound": DATES,
    "TimeZone": st.one_of(TEXT, st.sampled_from(["America", "Etc", "UTC/../etc", ""])),
    "JSON": JSON_VALUES,
}
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "Int": st.integers(min_value=0, max_value=5_000_000),
    "Float": st.floats(min_value=0, max_value=1e6),
    "String": st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=16),
    "ID": st.text(alphabet="abcdef0123456789", min_size=1, max_size=24),
    "Boolean": st.booleans(),
    "Decimal": st.decimals(min_value=0, max_value=10_000, places=6).map(str),
    "Date": st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 6, 17)).map(str),
    "DateTime": RECENT_INSTANTS,
    "TimeBound": st.one_of(RECENT_DAYS, RECENT_INSTANTS),
    "TimeZone": ZONES,
    "JSON": st.dictionaries(
        st.sampled_from(["user", "feature", "session", "region"]),
        st.one_of(st.text(max_size=12), st.integers(-1000, 1000), st.booleans()),
        max_size=3,
    ),
}
# Plausible values of the fields and arguments known by name, whatever their type.
NAMED: dict[str, st.SearchStrategy[Any]] = {
    "provider": st.sampled_from(["openai", "anthropic", "google", "azure", "mistral", "cohere"]),
    "model": st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "gemini-pro", "x"]),
    "timezone": ZONES,
    "tz": ZONES,
    "startDate": RECENT_DAYS,
    "endDate": RECENT_DAYS,
    "timestamp": RECENT_INSTANTS,
    "effectiveFrom": RECENT_INSTANTS,
    "interval": st.sampled_from(["hour", "day", "week", "month"]),
    "email": st.sampled_from(["dev@example.com", "ops+a@example.org"]),
    "metadataKey": st.sampled_from(["user", "feature"]),
    "inputTokens": st.integers(min_value=100, max_value=5_000_000),
    "outputTokens": st.integers(min_value=100, max_value=5_000_000),
    "cachedInputTokens": st.integers(min_value=0, max_value=100),
    "cacheWriteTokens": st.integers(min_value=0, max_value=100),
    "reasoningTokens": st.integers(min_value=0, max_value=100),
    "eventId": st.uuids().map(str),
    "idempotencyKey": st.uuids().map(str),
    "reservationId": st.none(),
    "first": st.integers(min_value=1, max_value=200),
    "limit": st.integers(min_value=1, max_value=200),
    "horizon": st.integers(min_value=1, max_value=90),
    "file": st.just(
        {
            "fuzz-model": {
                "litellm_provider": "openai",
                "mode": "chat",
                "input_cost_per_token": 1e-06,
                "output_cost_per_token": 2e-06,
            }
        }
    ),
}
# Fields whose values are drawn from a narrower set: webhook URLs that need no DNS lookup.
ONLY: dict[str, st.SearchStrategy[Any]] = {"url": WEBHOOK_URLS}


class RootField:
    """One field of Query or Mutation, as an operation with its arguments as variables."""

    def __init__(self, kind: str, name: str, field: graphql.GraphQLField) -> None:
        self.kind = kind
        self.name = name
        self.field = field

    def __repr__(self) -> str:
        return f"{self.kind} {self.name}"

    def document(self, arguments: list[str]) -> str:
        declared = ", ".join(f"${name}: {self.field.args[name].type}" for name in arguments)
        passed = ", ".join(f"{name}: ${name}" for name in arguments)
        head = f"{self.kind} Fuzzed({declared})" if arguments else self.kind
        call = f"{self.name}({passed})" if arguments else self.name
        return f"{head} {{ {call}{selection(self.field.type)} }}"

    def requests(self, known: Known) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        """A document and its variables (every required argument and some of the others):
        all plausible, or one of them hostile. `known` names things that exist, by the
        fields and arguments that take them."""
        args = self.field.args
        required = [name for name, arg in args.items() if is_required(arg)]
        optional = [name for name in args if name not in required]

        @st.composite
        def build(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
            some = st.lists(st.sampled_from(optional), unique=True) if optional else st.just([])
            chosen = required + draw(some)
            variables = {name: draw(plausible(name, args[name].type, known)) for name in chosen}
            flip: bool = draw(st.booleans())
            if chosen and flip:
                name = draw(st.sampled_from(chosen))
                variables[name] = draw(hostile(name, args[name].type, known))
            return self.document(chosen), variables

        if not args:
            return st.just((self.document([]), {}))
        return build()


def is_required(argument: graphql.GraphQLArgument | graphql.GraphQLInputField) -> bool:
    return graphql.is_non_null_type(argument.type) and argument.default_value is graphql.Undefined


def selection(type_: graphql.GraphQLOutputType) -> str:
    """Every scalar field of the answer (those that take no required argument), so that
    each is serialized."""
    named = graphql.get_named_type(type_)
    if not isinstance(named, graphql.GraphQLObjectType):
        return ""
    leaves = [
        name
        for name, field in named.fields.items()
        if graphql.is_leaf_type(graphql.get_named_type(field.type))
        and not any(is_required(arg) for arg in field.args.values())
    ]
    return " { " + " ".join(["__typename", *leaves]) + " }"


def plausible(name: str, type_: graphql.GraphQLInputType, known: Known) -> st.SearchStrategy[Any]:
    """A value a client might well send for the field or argument `name` of `type_`."""
    if isinstance(type_, graphql.GraphQLNonNull):
        return plausible(name, type_.of_type, known)
    if isinstance(type_, graphql.GraphQLList):
        return st.lists(plausible(name, type_.of_type, known), max_size=3)
    if isinstance(type_, graphql.GraphQLInputObjectType):
        fields = type_.fields
        return st.fixed_dictionaries(
            {
                field: plausible(field, of.type, known)
                for field, of in fields.items()
                if is_required(of)
            },
            optional={
                field: plausible(field, of.type, known)
                for field, of in fields.items()
                if not is_required(of)
            },
        )
    if isinstance(type_, graphql.GraphQLEnumType):
        return st.sampled_from(sorted(type_.values))
    assert isinstance(type_, graphql.GraphQLScalarType), type_
    if name in ONLY:
        return ONLY[name]
    value = NAMED[name] if name in NAMED else PLAUSIBLE[type_.name]
    return st.one_of(value, st.sampled_from(known[name])) if known.get(name) else value


def hostile(name: str, type_: graphql.GraphQLInputType, known: Known) -> st.SearchStrategy[Any]:
    """A value for `name` of `type_`'s shape with one part hostile: a null where one is
    required, a field left out or unknown, too many items, a hostile leaf, a wrong type."""
    if isinstance(type_, graphql.GraphQLNonNull):
        return st.one_of(st.none(), hostile(name, type_.of_type, known))
    if isinstance(type_, graphql.GraphQLList):
        item = type_.of_type
        return st.one_of(
            st.builds(
                lambda items, bad, at: [*items[:at], bad, *items[at:]],
                st.lists(plausible(name, item, known), max_size=3),
                hostile(name, item, known),
                st.integers(min_value=0, max_value=3),
            ),
            st.lists(plausible(name, item, known), min_size=1001, max_size=1001),
            JSON_VALUES,
        )
    if isinstance(type_, graphql.GraphQLInputObjectType):
        return st.one_of(hostile_field(type_, known), JSON_VALUES)
    if isinstance(type_, graphql.GraphQLEnumType):
        return st.one_of(TEXT, JSON_VALUES)
    assert isinstance(type_, graphql.GraphQLScalarType), type_
    return st.one_of(HOSTILE[type_.name], JSON_VALUES)


def hostile_field(
    type_: graphql.GraphQLInputObjectType, known: Known
) -> st.SearchStrategy[dict[str, Any]]:
    """A plausible input object with one field hostile, left out or unknown."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        value: dict[str, Any] = dict(draw(plausible(type_.name, type_, known)))
        field = draw(st.sampled_from([*sorted(type_.fields), "unknownField"]))
        if field == "unknownField":
            value[field] = draw(JSON_VALUES)
        elif field in value and draw(st.integers(min_value=0, max_value=3)) == 0:
            del value[field]
        else:
            value[field] = draw(hostile(field, type_.fields[field].type, known))
        return value

    return build()


def root_fields() -> list[RootField]:
    found: list[RootField] = []
    for kind, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)):
        assert root is not None
        found.extend(RootField(kind, name, field) for name, field in root.fields.items())
    return found
