"""Values a hostile tenant sends: text with NULs and lone surrogates, numbers past every
bound, decimal strings such as "1e999990", deep nesting and very long strings."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = [
    "DATES",
    "DECIMALS",
    "INTEGERS",
    "JSON_VALUES",
    "NUMBERS",
    "SHORT_JSON_VALUES",
    "SHORT_TEXT",
    "TEXT",
    "WEBHOOK_URLS",
    "deep",
]

EDGE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\udfff",
        "\ud800",
        "x\udc00y",
        "\ufeff",
        "\u202e",
        "$where",
        "$gt",
        "a.b",
        "metadata.$",
        "../../etc/passwd",
        "Europe",
        "Etc",
        "America/New_York\x00",
        "null",
        "true",
        "[]",
        "{}",
    ]
)
DECIMAL_TEXT = st.sampled_from(
    [
        "1e999990",
        "-1e999990",
        "1e-999990",
        "1E+1000000",
        "NaN",
        "-NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "-0",
        "0.0000000000001",
        "1" * 5000,
        "9" * 400,
        "0x10",
        "1_000",
        "١٢٣",
        "1,5",
        " 1 ",
        "1e",
    ]
)
DATE_TEXT = st.sampled_from(
    [
        "2026-06-17",
        "2026-06-17T10:00:00Z",
        "2026-02-30",
        "2026-13-01",
        "9999-12-31",
        "0001-01-01",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "1969-12-31T23:59:59Z",
        "2026-06-17T10:00:00",
        "2026-06-17T25:00:00Z",
        "2026-06-17T10:00:00+99:00",
        "+275760-09-13",
        "-001-01-01",
        "now",
    ]
)
SHORT_TEXT: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=30), EDGE_TEXT, DECIMAL_TEXT, DATE_TEXT
)
LONG_TEXT: st.SearchStrategy[str] = st.one_of(
    st.text(min_size=300, max_size=2000), st.sampled_from(["💸" * 300, "x" * 70_000])
)
TEXT: st.SearchStrategy[str] = st.one_of(SHORT_TEXT, LONG_TEXT)
INTEGERS: st.SearchStrategy[int] = st.one_of(
    st.integers(min_value=-5, max_value=1_000),
    st.sampled_from([2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1]),
    st.sampled_from([10**400, -(10**400)]),
    st.integers(),
)
NUMBERS: st.SearchStrategy[int | float] = st.one_of(
    INTEGERS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0, 0.1]),
)
DECIMALS: st.SearchStrategy[str | int | float] = st.one_of(
    DECIMAL_TEXT, st.decimals(allow_nan=False, allow_infinity=False).map(str), NUMBERS
)
DATES: st.SearchStrategy[str] = st.one_of(DATE_TEXT, st.dates().map(str), st.datetimes().map(str))


def deep(value: Any, depth: int) -> Any:
    """`value` inside `depth` nested lists and objects."""
    for level in range(depth):
        value = [value] if level % 2 else {"d": value}
    return value


def json_values(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """JSON of any shape, its strings drawn from `text`: now and then nested deep."""
    leaves = st.one_of(st.none(), st.booleans(), NUMBERS, text)
    return st.one_of(
        st.recursive(
            leaves,
            lambda children: (
                st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4)
            ),
            max_leaves=12,
        ),
        st.builds(deep, leaves, st.sampled_from([9, 33, 200])),
    )


JSON_VALUES = json_values(TEXT)
SHORT_JSON_VALUES = json_values(SHORT_TEXT)

# Webhook URLs whose checks need no DNS lookup beyond the machine's own names: the fuzzers
# send no query out.
WEBHOOK_URLS: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(
        [
            "https://93.184.216.34/hook",
            "https://93.184.216.34:8443/hook",
            "http://127.0.0.1:9/hook",
            "https://localhost/hook",
            "https://[::1]/hook",
            "https://[::ffff:10.0.0.1]/hook",
            "https://10.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "ftp://93.184.216.34/hook",
            "https://user:pass@93.184.216.34/hook",
            "https://93.184.216.34/hook\x00",
            "https://93.184.216.34/" + "x" * 5000,
            "https:///hook",
            "https://-/hook",
        ]
    ),
    st.text(max_size=30).map(lambda path: f"https://93.184.216.34/{path}"),
)
