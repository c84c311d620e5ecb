"""Bugs the fuzzer found, kept as plain tests so they stay fixed."""

import pytest

from coordination.models import Incident
from tests.graphql import messages

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
