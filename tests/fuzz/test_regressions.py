"""Bugs the fuzzer found, kept as plain tests so they stay fixed."""

import pytest
from django.db import connection

from coordination.models import Incident
from opsapi.audit.models import AuditAccess
from tests.graphql import GraphQLClient, messages

CREATE_INCIDENT = """
mutation ($input: CreateIncidentInput!) { createIncident(input: $input) {
  __typename ... on OperationInfo { messages { kind field code message } }
} }"""


@pytest.mark.parametrize(
    ("field", "text"),
    [("title", "\ud800"), ("summary", "flood \udfff gauge"), ("changeReason", "why \ud83d")],
)
def test_a_lone_surrogate_is_a_field_error_not_a_server_error(gql, field, text):
    """JSON's "\\ud800" escape decodes to a lone surrogate, which no UTF-8 database can
    encode: it used to fail the INSERT and come back as INTERNAL_SERVER_ERROR."""
    before = (Incident.objects.count(), Incident.history.count())
    variables = {"title": "River flooding", "category": "NATURAL_HAZARD", "severity": "MODERATE"}
    body = gql(CREATE_INCIDENT, {"input": {**variables, field: text}})
    assert messages(body["data"]["createIncident"]) == [(field, "invalid_unicode")]
    assert (Incident.objects.count(), Incident.history.count()) == before


def test_emoji_are_stored_as_sent(gql):
    title = "🚨🔥 Flooding at 👩🏽‍🚒 station"
    variables = {"title": title, "category": "NATURAL_HAZARD", "severity": "MODERATE"}
    body = gql(CREATE_INCIDENT, {"input": variables})
    assert body["data"]["createIncident"]["__typename"] == "Incident"
    assert Incident.objects.get().title == title


INCIDENTS_IN_AREA = """
query ($area: ID) { incidents(filters: {urbanArea: $area}) { totalCount } }"""


@pytest.mark.parametrize(
    "area",
    ["not base64 at all!", "VXJiYW5BcmVhOmFiYw==", "VXJiYW5BcmVhOjk5OTk5OTk5OTk5OTk5OTk5OTk5"],
)
def test_a_malformed_id_in_a_filter_names_the_filter_field(gql, area):
    """Filter IDs were declared GlobalID: a malformed one failed in strawberry's coercion
    with an error naming no argument; one beyond 64 bits reached the database."""
    body = gql(INCIDENTS_IN_AREA, {"area": area})
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "urbanArea"}
    assert error["message"] == "'urbanArea' is not a valid UrbanArea ID."


def test_a_malformed_node_id_names_the_argument(gql):
    body = gql("query ($id: ID!) { node(id: $id) { id } }", {"id": "not base64 at all!"})
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "id"}


def test_an_audit_read_with_junk_arguments_is_still_recorded(auditor):
    """A NUL or a lone surrogate in the arguments of a history read made the JSON column refuse
    the audit-read row: the read was attempted but went unrecorded. And such text in a filter
    reached the database, which could not take it: INTERNAL_SERVER_ERROR."""
    client = GraphQLClient.logged_in(auditor)
    query = "query ($t: String) { auditLog(filters: {requestId: $t}) { totalCount } }"

    with_nul = client(query, {"t": "\x00"})
    (error,) = client(query, {"t": "\ud800"})["errors"]

    unusable = {"code": "BAD_USER_INPUT", "argument": "filters"}
    assert error["extensions"] == unusable
    assert error["message"] == (
        "An argument holds text the database cannot take: NUL or lone surrogate characters."
    )
    if connection.vendor == "postgresql":  # PostgreSQL refuses NUL in text; SQLite finds nothing
        assert with_nul["errors"][0]["extensions"] == unusable
    else:
        assert with_nul["data"] == {"auditLog": {"totalCount": 0}}
    recorded = [read.arguments for read in AuditAccess.objects.order_by("id")]
    assert recorded == [
        {"auditLog": {"filters": {"requestId": "\\u0000"}}},
        {"auditLog": {"filters": {"requestId": "\\ud800"}}},
    ]
