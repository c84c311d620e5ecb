"""Cursors: only one this API handed out, for that field, is taken as `after` or `before`.

Every other value — of any connection: relay connections at any depth, the search, the audit
log — is BAD_USER_INPUT naming the argument, "not a cursor returned by this API", never a
Python message or a server error, whether it comes inline or in a variable. A real cursor
still pages on.
"""

import base64

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from opsapi.accounts.access import AUDITOR
from opsapi.audit.trail import Position, position_of
from opsapi.graphql.pages import (
    CURSOR_MAX_LENGTH,
    cursor_numbers,
    encode_cursor,
    encode_keyset,
    keyset_values,
)
from tests.factories import make_incident
from tests.graphql import GraphQLClient


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Each connection kind: (field as the error names it, cursor prefix, numbers in its cursors,
# an operation taking the cursor as $cursor, the same with {cursor} inline).
RELAY = "arrayconnection"
CONNECTIONS = {
    "incidents after": (
        "incidents",
        RELAY,
        1,
        "query($cursor: String) { incidents(after: $cursor) { totalCount } }",
        "{{ incidents(after: {cursor}) {{ totalCount }} }}",
    ),
    "incidents before": (
        "incidents",
        RELAY,
        1,
        "query($cursor: String) { incidents(before: $cursor) { totalCount } }",
        "{{ incidents(before: {cursor}) {{ totalCount }} }}",
    ),
    "nested connection": (
        "actions",
        RELAY,
        1,
        "query($cursor: String) { incidents { edges { node {"
        " actions(first: 2, after: $cursor) { totalCount } } } } }",
        "{{ incidents {{ edges {{ node {{"
        " actions(first: 2, after: {cursor}) {{ totalCount }} }} }} }} }}",
    ),
    "history": (
        "history",
        RELAY,
        1,
        "query($cursor: String) { me { history(after: $cursor) { totalCount } } }",
        "{{ me {{ history(after: {cursor}) {{ totalCount }} }} }}",
    ),
    "search": (
        "search",
        "search",
        1,
        'query($cursor: String) { search(query: "flood", after: $cursor) { totalCount } }',
        '{{ search(query: "flood", after: {cursor}) {{ totalCount }} }}',
    ),
    "audit log": (
        "auditLog",
        "auditlog",
        3,
        "query($cursor: String) { auditLog(after: $cursor) { totalCount } }",
        "{{ auditLog(after: {cursor}) {{ totalCount }} }}",
    ),
}


def bad_cursors(prefix: str, parts: int) -> dict[str, str]:
    """Values that are not cursors of a connection whose cursors are ``prefix:n[:n...]``."""

    def with_first(number: str) -> str:
        return b64(":".join([prefix, number, *["1"] * (parts - 1)]))

    padded = next(c for n in ("1", "12", "123") if (c := with_first(n)).endswith("="))
    return {
        "non-ASCII digit": with_first("²"),
        "Arabic-Indic digits": with_first("٣٤"),
        "5,000 digits": with_first("9" * 5000),
        "19 digits": with_first("1" * 19),
        "negative number": with_first("-1"),
        "leading whitespace": with_first(" 1"),
        "trailing newline": with_first("1\n"),
        "leading zero": with_first("01"),
        "no number": with_first(""),
        "too many parts": b64(f"{prefix}:{':'.join(['1'] * (parts + 1))}"),
        "another kind's cursor": b64(f"{'search' if prefix != 'search' else RELAY}:1"),
        "not base64": "%%not/base64%%",
        "base64 with whitespace": f" {padded}",
        "base64 without its padding": padded.rstrip("="),
        "undecodable bytes": base64.b64encode(b"\xff\xfe:1").decode(),
        "huge": "A" * 100_000,
        "empty": "",
    }


# Through every connection (the decoder they share meets them all, below).
OVER_HTTP = [
    "non-ASCII digit",
    "5,000 digits",
    "negative number",
    "leading whitespace",
    "another kind's cursor",
    "not base64",
    "huge",
    "empty",
]
CASES = [
    pytest.param(connection, bad_cursors(prefix, parts)[label], id=f"{connection}: {label}")
    for connection, (_, prefix, parts, _, _) in CONNECTIONS.items()
    for label in OVER_HTTP
]


@pytest.fixture
def caller(db):
    """An auditor (who may read every connection here), without a password to hash."""
    user = get_user_model().objects.create(username="cursor-caller")
    user.groups.set(Group.objects.filter(name=AUDITOR))
    return GraphQLClient.logged_in(user)


def assert_not_a_cursor(body: dict, connection: str):
    field = CONNECTIONS[connection][0]
    argument = "before" if connection.endswith("before") else "after"
    [error] = body["errors"]
    assert error["message"] == f"'{argument}' on '{field}' is not a cursor returned by this API."
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert not body.get("data")


@pytest.mark.parametrize(("connection", "value"), CASES)
def test_a_value_not_from_this_api_is_not_a_cursor_in_a_variable(caller, connection, value):
    operation = CONNECTIONS[connection][3]
    assert_not_a_cursor(caller(operation, {"cursor": value}), connection)


INLINE = ["non-ASCII digit", "5,000 digits", "negative number", "not base64"]


@pytest.mark.parametrize("label", INLINE)
@pytest.mark.parametrize("connection", CONNECTIONS)
def test_a_value_not_from_this_api_is_not_a_cursor_inline(caller, connection, label):
    _, prefix, parts, _, inline = CONNECTIONS[connection]
    value = bad_cursors(prefix, parts)[label]
    body = caller(inline.format(cursor=f'"{value}"'))
    assert_not_a_cursor(body, connection)


def test_every_connection_pages_on_from_a_cursor_it_handed_out(caller, officer):
    for n in range(3):
        make_incident(officer, title=f"Flood warning {n}")
    pages = {
        "incidents": "query($after: String) { incidents(first: 1, after: $after) {"
        " edges { node { title } } pageInfo { endCursor } } }",
        "search": 'query($after: String) { search(query: "flood", first: 1, after: $after) {'
        " edges { rank } pageInfo { endCursor } } }",
        "auditLog": "query($after: String) { auditLog(first: 1, after: $after) {"
        " edges { node { action } } pageInfo { endCursor } } }",
    }
    for field, query in pages.items():
        first = caller.data(query)
        second = caller.data(query, {"after": _end_cursor(first)})
        assert _end_cursor(second) not in (None, _end_cursor(first)), field


def _end_cursor(data):
    """The first ``endCursor`` in a response's data."""
    if isinstance(data, dict):
        if "endCursor" in data:
            return data["endCursor"]
        values = data.values()
    elif isinstance(data, list):
        values = data
    else:
        return None
    return next((c for v in values if (c := _end_cursor(v)) is not None), None)


# --- the decoder every connection uses -------------------------------------------------------


@pytest.mark.parametrize("numbers", [(0,), (7,), (10**18 - 1,), (5, 0, 123456789012)])
def test_a_cursor_decodes_to_the_numbers_it_was_made_of(numbers):
    cursor = encode_cursor("kind", *numbers)
    assert cursor_numbers(cursor, "kind", parts=len(numbers)) == numbers
    assert len(cursor) <= CURSOR_MAX_LENGTH


@pytest.mark.parametrize("value", [None, 5, ["a"], *bad_cursors("kind", 1).values()], ids=repr)
def test_anything_else_decodes_to_none(value):
    assert cursor_numbers(value, "kind") is None


def test_an_audit_position_survives_its_cursor(officer):
    incident = make_incident(officer, title="Flood warning")
    position = position_of(incident.history.get())
    assert Position.decode(position.encode()) == position


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor("auditlog", 0, 999, 1),  # no such trail
        encode_cursor("auditlog", 10**18 - 1, 0, 1),  # after the last instant a datetime holds
    ],
)
def test_an_audit_cursor_out_of_range_is_refused(cursor):
    with pytest.raises(ValueError, match="not a trail cursor"):
        Position.decode(cursor)


# --- keyset cursors: bound to their connection and ordering -----------------------------------


def test_a_relay_cursor_from_another_list_or_ordering_or_changed_is_not_a_cursor(caller, officer):
    for n in range(3):
        make_incident(officer, title=f"Flood warning {n}")
    page = "query { %s { pageInfo { endCursor } } }"
    newest = caller.data(page % "incidents(first: 1)")["incidents"]["pageInfo"]["endCursor"]
    by_title = caller.data(page % "incidents(first: 1, ordering: {title: ASC})")
    by_title = by_title["incidents"]["pageInfo"]["endCursor"]
    actions = caller.data(page % "coordinationActions(first: 1)")
    assert actions["coordinationActions"]["pageInfo"]["endCursor"] is None  # there are none
    decoded = base64.b64decode(newest).decode()
    version, check, values = decoded.split(":", 2)
    tampered = b64(f"{version}:{check}:{values.replace('1', '2', 1)}")
    wrong = {
        "an offset, as cursors were": b64("arrayconnection:0"),
        "another ordering's": by_title,
        "another version's": b64(f"k2:{check}:{values}"),
        "tampered": tampered,
    }
    query = "query($after: String) { incidents(first: 1, after: $after) { totalCount } }"
    for cursor in wrong.values():
        assert_not_a_cursor(caller(query, {"after": cursor}), "incidents after")
    other = "query($after: String) { partners(first: 1, after: $after) { totalCount } }"
    [error] = caller(other, {"after": newest})["errors"]
    assert error["message"] == "'after' on 'partners' is not a cursor returned by this API."
    # And the real one still pages on.
    assert caller.data(query, {"after": newest})["incidents"]["totalCount"] == 3


def test_a_keyset_cursor_is_opaque_and_bound_to_its_scope():
    cursor = encode_keyset("Query.incidents|x", ["2026-01-01T00:00:00+00:00", 7])
    assert keyset_values(cursor, "Query.incidents|x") == ["2026-01-01T00:00:00+00:00", 7]
    assert keyset_values(cursor, "Query.partners|x") is None
    assert keyset_values(cursor + "=", "Query.incidents|x") is None
