"""Strict JSON in, and only JSON the store can keep: RFC 8259 without NaN, Infinity, lone
surrogates or runaway nesting; free-form values (an event's metadata) whose integers fit in
64 bits, whose numbers are finite and whose keys BSON accepts, so that every client decodes
what it stored."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final, NoReturn

from meterr.errors import InvalidInput

__all__ = ["MAX_METADATA_DEPTH", "metadata_problem", "parse_json", "unstorable_text"]

MAX_METADATA_DEPTH: Final = 8
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

# A lone UTF-16 surrogate can only reach a parsed string through a \uD800-\uDFFF escape:
# raw UTF-8 cannot encode one. Bodies without such an escape skip the walk below.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


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
                    return _joined(path, key)
                pending.append((_joined(path, key), inner))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", inner) for index, inner in enumerate(item))
    return None


def metadata_problem(metadata: dict[str, object]) -> tuple[str, str] | None:
    """The path and the reason of the first value in `metadata` that the store cannot hold
    as it was sent, or None."""
    pending: list[tuple[str, object, int]] = [("metadata", metadata, 1)]
    while pending:
        path, item, depth = pending.pop()
        if isinstance(item, dict):
            if depth > MAX_METADATA_DEPTH:
                return path, f"nested deeper than {MAX_METADATA_DEPTH} levels"
            for key, inner in item.items():
                if (reason := _key_problem(key)) is not None:
                    return _joined(path, str(key)), reason
                pending.append((f"{path}.{key}", inner, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_METADATA_DEPTH:
                return path, f"nested deeper than {MAX_METADATA_DEPTH} levels"
            pending.extend((f"{path}[{i}]", inner, depth + 1) for i, inner in enumerate(item))
        elif (reason := _scalar_problem(item)) is not None:
            return path, reason
    return None


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str) or not key:
        return "keys must be non-empty strings"
    if not _encodes(key):
        return "keys must be valid Unicode (a lone surrogate is not)"
    if "\x00" in key:
        return "keys may not contain NUL"
    if key.startswith("$") or "." in key:
        return "keys may not start with '$' or contain '.'"
    return None


def _scalar_problem(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            return "integers must fit in 64 bits (-2^63 to 2^63-1)"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "numbers must be finite (no NaN or Infinity)"
    if isinstance(value, str):
        return (
            None if _encodes(value) else "strings must be valid Unicode (a lone surrogate is not)"
        )
    return f"{type(value).__name__} is not a JSON value"


def _joined(path: str, key: str) -> str:
    shown = key.encode("utf-8", "replace").decode("utf-8")
    return f"{path}.{shown}" if path else shown


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
