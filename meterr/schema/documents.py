"""GraphQL documents held to the service's limits before they are validated or run: parsed
with a bound on their tokens, the operation to run chosen, and their aliases, fields, depth
and root fields measured."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from strawberry.extensions import SchemaExtension

from meterr.config import Settings
from meterr.errors import InvalidInput, MethodNotAllowed

__all__ = ["BoundedParser", "DocumentLimits", "Measured", "measure_document", "parse_document"]


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """What one document may hold (see docs/security.md, "GraphQL limits")."""

    tokens: int
    aliases: int
    fields: int
    depth: int
    root_fields: int

    @classmethod
    def of(cls, settings: Settings) -> DocumentLimits:
        return cls(
            tokens=settings.graphql_max_tokens,
            aliases=settings.graphql_max_aliases,
            fields=settings.graphql_max_fields,
            depth=settings.graphql_max_depth,
            root_fields=settings.graphql_max_root_fields,
        )


# Documents as long as this are kept parsed (512 of them) for the schema's parsing step and
# the next request that sends the same text; a longer one is parsed each time it comes.
_CACHED_QUERY_LENGTH = 65_536


def parse_document(query: str, max_tokens: int) -> DocumentNode:
    """The document, or GraphQLError (a syntax error, or more than max_tokens tokens: the
    parser stops there, so a huge document costs no more than a small one)."""
    if len(query) > _CACHED_QUERY_LENGTH:
        return parse(query, max_tokens=max_tokens)
    return _parse_cached(query, max_tokens)


@lru_cache(maxsize=512)
def _parse_cached(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class BoundedParser(SchemaExtension):
    """The schema's parsing step, with the token limit of the service's settings and the
    documents the doors parsed. A syntax error (which the doors refuse before) is left to
    Strawberry's own parsing step, which reports it inside the operation, where
    MeterrErrorExtension gives it its code."""

    def on_operation(self) -> Iterator[None]:
        services = getattr(self.execution_context.context, "services", None)
        if services is not None:
            max_tokens: int = services.settings.graphql_max_tokens
            self.execution_context.parse_options["max_tokens"] = max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        max_tokens = context.parse_options.get("max_tokens")
        if context.query is not None and max_tokens is not None:
            # A syntax error is parsed again, and reported, by Strawberry.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = parse_document(context.query, max_tokens)
        yield


@dataclass(frozen=True, slots=True)
class Measured:
    """The operation a request runs, as far as the doors need to know it."""

    kind: OperationType
    root_fields: int  # at least one
    root_names: frozenset[str]


def _hold(found: int, maximum: int, limit: str, message: str) -> None:
    if found > maximum:
        raise InvalidInput(
            f"{message.format(found=found)}; at most {maximum} are accepted.",
            {"limit": limit, "maximum": maximum, "found": found},
        )


def measure_document(
    query: str,
    operation_name: str | None,
    limits: DocumentLimits,
    *,
    method: str | None = None,
) -> Measured:
    """Parse `query` and hold it to `limits`, refusing it with InvalidInput (or, for a mutation
    asked for with GET, MethodNotAllowed). A syntax error is refused here too, where the
    document was parsed once, rather than parsed again to be reported."""
    try:
        document = parse_document(query, limits.tokens)
    except GraphQLError as error:
        locations = [{"line": at.line, "column": at.column} for at in error.locations or ()]
        raise InvalidInput(error.message, {"locations": locations}) from None
    operation = _chosen_operation(document, operation_name)
    if method == "GET" and operation.operation is OperationType.MUTATION:
        raise MethodNotAllowed(
            "Mutations are sent with POST.", {"method": "GET", "allowed": ["POST"]}
        )
    measure = _Measure(document)
    try:
        size = measure.document()
        roots, root_names = measure.root_fields(operation.selection_set)
    except RecursionError:
        # Fragments spread within fragments thousands deep: no client writes one.
        raise InvalidInput("The document nests fragments too deeply.") from None
    _hold(size.aliases, limits.aliases, "aliases", "The document holds {found} aliases")
    _hold(
        size.fields,
        limits.fields,
        "fields",
        "The document selects {found} fields (counting a fragment's each time it is spread)",
    )
    _hold(size.depth, limits.depth, "depth", "The document nests fields {found} levels deep")
    _hold(roots, limits.root_fields, "root_fields", "The operation asks for {found} root fields")
    return Measured(operation.operation, max(roots, 1), root_names)


def _chosen_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode:
    """The operation to run. graphql-core would refuse a document of several operations and
    no operationName, but Strawberry runs the first of them: refused here for both."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) == 1:
            return operations[0]
        raise InvalidInput(
            "The document holds no operation."
            if not operations
            else "The document holds several operations: name the one to run in operationName.",
            {"fields": {"operationName": "required" if operations else "no operation"}},
        )
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation
    raise InvalidInput(
        f"The document holds no operation named {operation_name!r}.",
        {"fields": {"operationName": "unknown"}},
    )


@dataclass(frozen=True, slots=True)
class _Size:
    """A selection set, its fragments expanded: the aliases and fields in it at any depth,
    and how deep its fields nest."""

    aliases: int = 0
    fields: int = 0
    depth: int = 0

    def __add__(self, other: _Size) -> _Size:
        return _Size(
            self.aliases + other.aliases, self.fields + other.fields, max(self.depth, other.depth)
        )


_NOTHING = _Size()


class _Measure:
    """Sizes selection sets, each fragment measured once however often it is spread: a
    document of a few tokens can spread a fragment exponentially many times (which
    Strawberry's own limiters walk one spread at a time)."""

    def __init__(self, document: DocumentNode) -> None:
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._operations = [
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        self._sizes: dict[str, _Size] = {}
        self._roots: dict[str, tuple[int, frozenset[str]]] = {}
        self._open: set[str] = set()

    def document(self) -> _Size:
        """Every operation, and every fragment none of them spreads: validation walks all."""
        size = _NOTHING
        for operation in self._operations:
            size += self.selection_set(operation.selection_set)
        for name in self._fragments.keys() - self._sizes.keys():
            size += self._fragment(name)
        return size

    def selection_set(self, node: SelectionSetNode | None) -> _Size:
        total = _NOTHING
        for selection in node.selections if node is not None else ():
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                aliased = selection.alias is not None
                total += _Size(inner.aliases + aliased, inner.fields + 1, inner.depth + 1)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value)
        return total

    def root_fields(self, node: SelectionSetNode) -> tuple[int, frozenset[str]]:
        """The fields at the level of `node` (fragments expanded), and their names."""
        count, names = 0, set[str]()
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                count += 1
                names.add(selection.name.value)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner, inner_names = self.root_fields(selection.selection_set)
            else:
                assert isinstance(selection, FragmentSpreadNode)
                inner, inner_names = self._fragment_roots(selection.name.value)
            count += inner
            names |= inner_names
        return count, frozenset(names)

    def _fragment_roots(self, name: str) -> tuple[int, frozenset[str]]:
        roots = self._roots.get(name)
        if roots is not None:
            return roots
        definition = self._fragments.get(name)
        if definition is None or name in self._open:
            return 0, frozenset()  # unknown or spread within itself: validation refuses both
        self._open.add(name)
        roots = self._roots[name] = self.root_fields(definition.selection_set)
        self._open.discard(name)
        return roots

    def _fragment(self, name: str) -> _Size:
        size = self._sizes.get(name)
        if size is not None:
            return size
        definition = self._fragments.get(name)
        if definition is None or name in self._open:
            return _NOTHING  # unknown or spread within itself: validation refuses both
        self._open.add(name)
        size = self._sizes[name] = self.selection_set(definition.selection_set)
        self._open.discard(name)
        return size
