"""Junk a hostile or broken client sends, as hypothesis strategies.

Values go into JSON variables, so everything here is something ``json.dumps`` can write —
including what strict JSON forbids but Python's encoder emits (NaN, Infinity) and lone UTF-16
surrogates, which arrive in a Python ``str`` the database cannot encode.
"""

import base64

from hypothesis import strategies as st
from strawberry import relay

MEGABYTE = 1_000_000

NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "title\x00with a NUL",
    "\x00" * 64,
    "\ud800",  # a lone surrogate: valid JSON escape, not encodable as UTF-8
    "surrogate \udfff inside",
    "🚨🔥👩🏽‍🚒 flood",
    "🚨" * 10_000,
    "x" * MEGABYTE,
    "é" * (MEGABYTE // 2),
    "\u202e\u200b\ufeff right-to-left",
    "Robert'); DROP TABLE coordination_incident;--",
    "<script>alert(1)</script>",
    "%s %d {0} ${x}",
    "\r\n\t\x0b\x0c",
    "1970-01-01T00:00:00",
    "-1",
    "NaN",
]

NASTY_NUMBERS = [
    0,
    -1,
    -(2**31) - 1,
    2**31,
    2**63 - 1,
    2**63,
    2**64 + 1,
    -(2**64),
    10**100,
    -(10**100),
    0.5,
    -1e308,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def global_ids(real_ids: list[str]) -> st.SearchStrategy[str]:
    """Malformed and foreign global IDs; ``real_ids`` are real IDs of every type (so each is
    foreign to all fields but its own)."""
    malformed = [
        "not base64 at all!",
        "====",
        "Incident",
        _b64(b"\xff\xfe\x00garbage"),
        _b64(b"Incident:"),
        _b64(b"Incident:abc"),
        _b64(b"Incident:-1"),
        _b64(b"Incident:0"),
        _b64(b"Incident:99999999999999999999999999"),
        _b64(b"Incident:1.5"),
        _b64(b"Incident:1\x00"),
        _b64(b":1"),
        _b64(b"NoSuchType:1"),
        _b64("Incident:١٢".encode()),  # Arabic-Indic digits: int() accepts them
        relay.to_base64("Incident", 2**63),
        relay.to_base64("HistoricalIncident", 1),
    ]
    return st.one_of(
        st.sampled_from(malformed + real_ids),
        st.binary(max_size=40).map(_b64),
        st.text(max_size=40),
        st.tuples(st.text(max_size=12), st.text(max_size=12)).map(lambda t: relay.to_base64(*t)),
    )


def scalars() -> st.SearchStrategy:
    """Any JSON scalar, biased towards the nasty ones."""
    return st.one_of(
        st.sampled_from(NASTY_STRINGS),
        st.sampled_from(NASTY_NUMBERS),
        st.none(),
        st.booleans(),
        st.text(max_size=30),
        st.integers(),
        st.floats(),
    )


def values(real_ids: list[str]) -> st.SearchStrategy:
    """Junk of every shape: scalars, IDs, and wrong structures (lists, objects)."""
    leaf = st.one_of(scalars(), global_ids(real_ids))
    return st.one_of(
        leaf,
        st.lists(leaf, max_size=4),
        st.dictionaries(st.text(max_size=8), leaf, max_size=3),
        st.lists(st.just(real_ids[0]), min_size=101, max_size=150),  # over the list cap
    )


BAD_DATETIMES = [
    "2026-13-45T25:61:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "2026-01-01T00:00:00",  # no offset
    "2026-01-01T00:00:00+99:00",
    "1969-12-31T23:59:59Z",
    "2999-01-01T00:00:00Z",
    "yesterday",
    "2026-01-01T00:00:00Z\x00",
    "+275760-09-13T00:00:00Z",
]


def typed(kind: str, real_ids: list[str]) -> st.SearchStrategy:
    """Junk of the right JSON type for a slot of ``kind`` (the hard case: it passes GraphQL's
    coercion and reaches the resolver and services)."""
    if kind == "ID":
        return global_ids(real_ids)
    if kind == "String":
        return st.one_of(st.sampled_from(NASTY_STRINGS), st.text())
    if kind in ("Int", "Float"):
        return st.one_of(st.sampled_from(NASTY_NUMBERS), st.integers(), st.floats())
    if kind in ("DateTime", "Date"):
        return st.one_of(st.sampled_from(BAD_DATETIMES), st.datetimes().map(str))
    if kind == "enum":
        return st.one_of(st.sampled_from(["", "active", "NEW\x00", "🚨"]), st.text(max_size=10))
    if kind == "Boolean":
        return st.sampled_from(["true", 1, 0, "false", []])
    return st.nothing()


def junk_for(kind: str, is_list: bool, real_ids: list[str]) -> st.SearchStrategy:
    """Junk for one slot: mostly well-typed (which reaches the services), the rest of any
    shape (which GraphQL's coercion must refuse)."""
    right_type = typed(kind, real_ids)
    if is_list:
        right_type = st.lists(right_type, max_size=3)
    return st.one_of(right_type, right_type, values(real_ids))
