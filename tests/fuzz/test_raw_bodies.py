"""Request bodies no JSON encoder would write: invalid UTF-8, deep nesting, not JSON at all.
Each gets a 4xx with a typed error (or a typed GraphQL error), never a 5xx, and writes nothing."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ, OFFICER
from tests.fuzz.outcome import body_of
from tests.fuzz.world import counts

CREATE = (
    'mutation { createIncident(input: {title: "T", category: NATURAL_HAZARD, '
    "severity: MODERATE}) { __typename } }"
)


def post_raw(people, raw: bytes, content_type="application/json"):
    client = people.clients[OFFICER].client
    return client.generic("POST", "/graphql/", raw, content_type=content_type)


def assert_refused(response) -> dict:
    body = body_of(response)
    assert body.get("errors"), body
    assert not body.get("data"), body
    return body


@pytest.mark.parametrize(
    "raw",
    [
        b'{"query": "{ me { username } }", "variables": {"x": "\xff\xfe"}}',
        b'{"query": "\xc3\x28"}',
        b'{"query": "' + CREATE.replace('"T"', '"\xed\xa0\x80"').encode() + b'"}',  # CESU
        b"\xef\xbb\xbf" + json.dumps({"query": CREATE}).encode()[:-1],  # BOM, truncated
    ],
)
def test_invalid_utf8_is_refused_and_writes_nothing(people, raw):
    before = counts()
    assert_refused(post_raw(people, raw))
    assert counts() == before


@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
def test_deeply_nested_json_is_refused(people, depth):
    raw = b'{"query": "{ me { username } }", "variables": {"x": ' + b"[" * depth
    raw += b"]" * depth + b"}}"
    response = post_raw(people, raw)
    body = body_of(response)
    # Refused, or (shallow enough for the parser) run without using the unused variable.
    assert body.get("errors") or body["data"]["me"]["username"] == "fuzz.officer"


def test_deeply_nested_graphql_input_is_refused_before_any_write(people):
    nested = "{AND: " * 2000 + '{reference: {exact: "x"}}' + "}" * 2000
    body = assert_refused(
        post_raw(
            people,
            json.dumps({"query": f"{{ incidents(filters: {nested}) {{ totalCount }} }}"}).encode(),
        )
    )
    assert body["errors"][0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"", "application/json"),
        (b"null", "application/json"),
        (b"[]", "application/json"),
        (b'"query"', "application/json"),
        (b"{", "application/json"),
        (b'{"query": 42}', "application/json"),
        (b'{"query": "{ me { username } }", "variables": "x"}', "application/json"),
        (b'{"query": "{ me { username } }", "variables": [1]}', "application/json"),
        (b'{"query": "{ me { username } }", "operationName": {}}', "application/json"),
        (b"query { me { username } }", "text/plain"),
        (b"\x00\x01\x02", "application/octet-stream"),
    ],
)
def test_malformed_bodies_get_a_client_error(people, raw, content_type):
    response = post_raw(people, raw, content_type)
    assert 400 <= response.status_code < 500 or body_of(response).get("errors"), response.content


@FUZZ
@given(raw=st.binary(max_size=200))
def test_any_bytes_get_an_answer_not_a_server_error(people, raw):
    before = counts()
    response = post_raw(people, raw)
    assert response.status_code < 500, response.content
    assert b"INTERNAL_SERVER_ERROR" not in response.content
    assert counts() == before
