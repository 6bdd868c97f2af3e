"""Live results over websockets: each event executed and serialized once for all the
subscriptions that ask the same of it, framed with each one's id and written to each socket
by that connection's own task, in the turns of the live fan-out."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from graphql import ExecutionResult, FieldNode, VariableNode, Visitor, visit
from graphql.execution import Executor
from starlette.websockets import WebSocketDisconnect
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from meterr import resolvers
from meterr.schema.context import GraphQLContext

__all__ = [
    "Live",
    "LiveExecutionContext",
    "LiveOperation",
    "Outbox",
    "current_operation",
    "serving",
]

T = TypeVar("T")


@dataclass(eq=False)
class Live(Generic[T]):
    """An item of a live feed as the schema shows it, and its payloads (the JSON of
    `{"data": ...}`, or None when executing it raised errors), one for each distinct
    subscription that asked for it."""

    root: T
    payloads: dict[Hashable, str | None] = field(default_factory=dict)


_current: ContextVar[LiveOperation | None] = ContextVar("meterr_live_operation", default=None)


def current_operation() -> LiveOperation | None:
    """The websocket operation the running subscription serves, if it came over one."""
    return _current.get()


@contextmanager
def serving(operation: LiveOperation) -> Iterator[None]:
    """Run an operation's execution (in its own task) as `operation`."""
    token = _current.set(operation)
    try:
        yield
    finally:
        _current.reset(token)


class LiveExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, which also hands the executor of a websocket's
    operation to that operation, to execute its events with as graphql-core would."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        operation = _current.get()
        if operation is not None and operation.executor is None:
            operation.executor = self


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        self.names.add(node.name.value)


def _shaping_variables(executor: Executor[Any]) -> frozenset[str]:
    """The variables that may change a result: all those the operation uses, but for the
    arguments of its subscription field (filters and `after` choose events, not their shape)."""
    found = _Variables()
    for selection in executor.operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            for directive in selection.directives or ():
                visit(directive, found)
            if selection.selection_set is not None:
                visit(selection.selection_set, found)
        else:
            visit(selection, found)
    for directive in executor.operation.directives or ():
        visit(directive, found)
    for fragment in executor.fragments.values():
        visit(fragment.definition, found)
    return frozenset(found.names)


class _RenderKey:
    """Stands for what a result depends on besides its item (see `LiveOperation._keyed`)."""

    __slots__ = ("__weakref__",)


# Alive as long as an operation or a memoized payload holds them.
_render_keys: weakref.WeakValueDictionary[Hashable, _RenderKey] = weakref.WeakValueDictionary()


class LiveOperation:
    """One operation on one websocket, as the sink of its feed: renders what it takes (once
    for every operation of the same key, memoized on the item), frames it with its id and
    queues it on its connection's outbox."""

    def __init__(
        self,
        outbox: Outbox,
        head: str,
        context: GraphQLContext,
        query: str,
        variables: Mapping[str, object] | None,
        operation_name: str | None,
    ) -> None:
        self.outbox = outbox
        self.head = head  # the message up to its payload; a "}" closes it
        self.queued = 0
        self.active = True
        self.executor: Executor[Any] | None = None
        self._context = context
        self._query = query
        self._variables = dict(variables or {})
        self._operation_name = operation_name
        self._key: _RenderKey | None = None
        self._room = asyncio.Event()
        self._room_below = 0

    @property
    def backlog(self) -> int:
        return self.queued

    def take(self, value: Live[Any]) -> bool:
        if not self.active or self.outbox.closed:
            return True  # completed by the client, or the socket is gone: nothing goes out
        if self.executor is None:
            return False
        key = self._key if self._key is not None else self._keyed()
        payloads = value.payloads
        try:
            payload = payloads[key]
        except KeyError:
            payload = payloads[key] = self._render(value.root)
        if payload is None:
            return False  # errors: strawberry executes it again and shapes them
        self.outbox.push(self, payload)
        return True

    async def drained(self, below: int) -> None:
        while self.queued >= below:
            self._room_below = below
            self._room.clear()
            await self._room.wait()

    def sent(self) -> None:
        self.queued -= 1
        if self.queued < self._room_below:
            self._room.set()

    def _keyed(self) -> _RenderKey:
        """What a result depends on besides the item: the query, the variables that shape it,
        and the caller's organization, role and team (no field reads them today; a future one
        might)."""
        assert self.executor is not None
        shaping = sorted(_shaping_variables(self.executor))
        values = json.dumps([self._variables.get(name) for name in shaping], default=str)
        principal = self._context.meterr.principal
        viewer = (principal.org_id, principal.role, principal.team_id, principal.confined)
        described = (self._query, self._operation_name, tuple(shaping), values, viewer)
        # One object per distinct description, hashed by identity: looked up per delivery.
        key = _render_keys.get(described)
        if key is None:
            key = _render_keys[described] = _RenderKey()
        self._key = key
        return key

    def _render(self, root: object) -> str | None:
        assert self.executor is not None
        result = self.executor.build_per_event_executor(root).execute_operation(False)
        if inspect.iscoroutine(result):  # an asynchronous field: left to strawberry
            result.close()
            return None
        if not isinstance(result, ExecutionResult) or result.errors:
            return None
        self._context.services.metrics.live_renders.inc()
        return json.dumps({"data": result.data})


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str
    done: asyncio.Future[None]


_Entry = tuple[LiveOperation | None, str, str | None] | _Close

# A close frame carries at most 125 bytes, 2 of them the code (RFC 6455, 5.5): a longer
# reason (one naming a client's long operation id, say) fails the close, and the server
# drops the connection without one.
_MAX_REASON_BYTES = 123


def _close_reason(reason: str) -> str:
    """`reason` cut to what a close frame holds, on a character boundary."""
    return reason.encode(errors="replace")[:_MAX_REASON_BYTES].decode(errors="ignore")


class Outbox:
    """What one websocket has yet to send, written by a task of its own in the turns of the
    live fan-out's pacer: a socket that takes its frames slowly, or not at all, holds up no
    other subscriber and no request. Its operations' backlogs say how far behind each is."""

    def __init__(self, send_text: Callable[[str], Awaitable[None]], pacer: resolvers.Pacer):
        self._send_text = send_text
        self._pacer = pacer
        self._queue: deque[_Entry] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    def push(self, operation: LiveOperation, payload: str) -> None:
        """Queue a result of `operation`, framed as it is written."""
        if not self.closed:
            operation.queued += 1
            self._queue.append((operation, operation.head, payload))
            self._wake.set()

    def push_message(self, text: str, operation: LiveOperation | None = None) -> None:
        """Queue a whole message (counted in `operation`'s backlog when it is a result)."""
        if not self.closed:
            if operation is not None:
                operation.queued += 1
            self._queue.append((operation, text, None))
            self._wake.set()

    async def close(self, code: int, reason: str) -> None:
        """Close the socket once what is queued before has been written."""
        if self.closed or self._task is None:
            return
        done = asyncio.get_running_loop().create_future()
        self._queue.append(_Close(code, _close_reason(reason), done))
        self._wake.set()
        await done

    def start(self, close: Callable[[int, str], Awaitable[None]]) -> None:
        self._task = asyncio.create_task(self._write(close))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._drop()

    def _drop(self) -> None:
        """Take nothing more, and let go of what waits (a close asked for included)."""
        self.closed = True
        for entry in self._queue:
            if isinstance(entry, _Close) and not entry.done.done():
                entry.done.set_result(None)
        self._queue.clear()

    async def _write(self, close: Callable[[int, str], Awaitable[None]]) -> None:
        try:
            await self._write_turns(close)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client went away; its handler ends its operations
        finally:
            self._drop()

    async def _write_turns(self, close: Callable[[int, str], Awaitable[None]]) -> None:
        queue, pacer = self._queue, self._pacer
        while True:
            while not queue:
                self._wake.clear()
                await self._wake.wait()
            await pacer.turn()
            started = time.perf_counter()
            while queue and time.perf_counter() - started < pacer.slice:
                entry = queue.popleft()
                if isinstance(entry, _Close):
                    self.closed = True
                    try:
                        await close(entry.code, entry.reason)
                    finally:
                        entry.done.set_result(None)
                    return
                operation, head, payload = entry
                await self._send_text(head if payload is None else head + payload + "}")
                if operation is not None:
                    operation.sent()
            pacer.spent(time.perf_counter() - started)
