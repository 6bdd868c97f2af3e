"""Request bodies read with a limit and parsed strictly: both doors, /v1 and /graphql, refuse
an oversized body before holding it whole, whether its size is declared (Content-Length) or
not (chunked), and refuse JSON that no store or client could hold."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.types import Message

from meterr.errors import InvalidInput, PayloadTooLarge

__all__ = ["parse_json", "read_body", "unstorable_text", "with_body"]

# A lone UTF-16 surrogate can only reach a parsed string through a \uD800-\uDFFF escape:
# raw UTF-8 cannot encode one. Bodies without such an escape skip the walk below.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refusing one over max_bytes before reading it whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(
            f"The body is {declared} bytes; at most {max_bytes} are accepted.",
            {"limit_bytes": max_bytes},
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise PayloadTooLarge(
                f"The body exceeds {max_bytes} bytes.", {"limit_bytes": max_bytes}
            )
    return bytes(body)


def with_body(request: Request, body: bytes) -> Request:
    """The same request with its body already read, for code that reads it again."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive=receive)


def _not_json(reason: str, field: str) -> NoReturn:
    raise InvalidInput(f"Invalid JSON in {field}: {reason}.", {"fields": {field: reason}})


class _NotANumber(ValueError):
    """NaN, Infinity or -Infinity, which Python's parser would otherwise accept."""


def _no_constant(name: str) -> NoReturn:
    raise _NotANumber(f"{name} is not a JSON number")


def parse_json(raw: bytes | str, *, field: str = "body") -> Any:
    """Strict JSON (RFC 8259): UTF-8, no NaN or Infinity, nesting the parser can follow, no
    integer longer than Python converts, and no string holding a lone surrogate (which
    UTF-8, BSON and every client's decoder refuse). Anything else is InvalidInput naming
    `field`."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        _not_json("not UTF-8", field)
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        _not_json("nested too deeply", field)
    except json.JSONDecodeError as exc:
        _not_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}", field)
    except _NotANumber as exc:
        _not_json(str(exc), field)
    except ValueError:  # an integer past the interpreter's conversion limit
        _not_json("a number has too many digits", field)
    encoded = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    if _SURROGATE_ESCAPE.search(encoded) and (where := unstorable_text(value)) is not None:
        _not_json(f"a string at {where or 'the top'} holds a lone UTF-16 surrogate", field)
    return value


def unstorable_text(value: object) -> str | None:
    """The path of the first string or key in `value` that is not valid Unicode text (a lone
    surrogate), or None. Walked without recursion: the parser already bounds the depth."""
    pending: list[tuple[str, object]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if not _encodes(item):
                return path
        elif isinstance(item, dict):
            for key, inner in item.items():
                if not _encodes(key):
                    return f"{path}.{key.encode('utf-8', 'replace').decode()}".lstrip(".")
                pending.append((f"{path}.{key}".lstrip("."), inner))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", inner) for index, inner in enumerate(item))
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
