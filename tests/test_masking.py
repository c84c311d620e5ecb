"""No name suggestions: with DEBUG off, a misspelt name gets its coded error and no "Did you
mean ...?" hint, wherever the mistake stands and whatever text follows the hint.

Every case runs twice: in production (no hint anywhere in the answer) and with DEBUG on,
where graphql-core's hint is there — so each case is one that would leak without masking.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from opsapi.accounts.access import OPS_OFFICER
from opsapi.graphql.errors import without_suggestions
from tests.graphql import GraphQLClient

FILTERED = "query($f: IncidentFilter) { incidents(filters: $f) { totalCount } }"
ORDERED = "query($o: [IncidentOrder!]!) { incidents(ordering: $o) { totalCount } }"
CREATE = """mutation($input: CreateIncidentInput!) {
  createIncident(input: $input) { __typename }
}"""
INCIDENT = {"title": "Flood", "category": "NATURAL_HAZARD", "severity": "HIGH"}

# (query, variables, the hint DEBUG shows): inline first, then the same mistakes in variables.
MISSPELT = {
    # Fields, in every position.
    "top-level field": ("{ incidentz { totalCount } }", None, "'incidents'"),
    "nested field": ("{ incidents { edges { node { severty } } } }", None, "'severity'"),
    "field in a fragment": (
        "{ incidents { edges { node { ...F } } } } fragment F on Incident { titel }",
        None,
        "'title'",
    ),
    "field of a union": (
        '{ search(query: "x") { edges { node { title } } } }',
        None,
        "to use an inline fragment on",
    ),
    "field of a mutation payload": (
        'mutation { createIncident(input: {title: "x", category: NATURAL_HAZARD,'
        " severity: HIGH}) { ... on OperationInfo { mesages { field } } } }",
        None,
        "'messages'",
    ),
    # Arguments.
    "top-level argument": ("{ incidents(frist: 5) { totalCount } }", None, "'first'"),
    "nested argument": (
        "{ incidents { edges { node { actions(frist: 2) { totalCount } } } } }",
        None,
        "'first'",
    ),
    "directive argument": ("{ me @include(iff: true) { username } }", None, "'if'"),
    # Types.
    "type of a variable": (
        "query($f: IncidentFiltr) { incidents(filters: $f) { totalCount } }",
        None,
        "'IncidentFilter'",
    ),
    "type of a fragment": (
        "{ incidents { edges { node { ... on Incidnt { id } } } } }",
        None,
        "'Incident'",
    ),
    # Input-object fields: text follows the hint ("Found: ...").
    "field of filters": (
        "{ incidents(filters: {severty: {exact: HIGH}}) { totalCount } }",
        None,
        "'severity'",
    ),
    "field of nested filters": (
        "{ incidents(filters: {AND: {severty: {exact: HIGH}}}) { totalCount } }",
        None,
        "'severity'",
    ),
    "field of ordering in a list": (
        "{ incidents(ordering: [{severty: ASC}]) { totalCount } }",
        None,
        "'severity'",
    ),
    "field of a mutation input": (
        'mutation { createIncident(input: {title: "x", summry: "x", category: NATURAL_HAZARD,'
        " severity: HIGH}) { __typename } }",
        None,
        "'summary'",
    ),
    # Enum values.
    "enum value in filters": (
        "{ incidents(filters: {severity: {exact: HIHG}}) { totalCount } }",
        None,
        "'HIGH'",
    ),
    "enum value in a list": (
        "{ incidents(filters: {severity: {inList: [LOW, HIHG]}}) { totalCount } }",
        None,
        "'HIGH'",
    ),
    "enum value of ordering": (
        "{ incidents(ordering: [{severity: ASCC}]) { totalCount } }",
        None,
        "'ASC'",
    ),
    "enum value in a mutation input": (
        'mutation { createIncident(input: {title: "x", category: NATURAL_HAZARD,'
        " severity: HIHG}) { __typename } }",
        None,
        "'HIGH'",
    ),
    # The same in variables (coercion errors have messages of their own).
    "variable: field of filters": (FILTERED, {"f": {"severty": {"exact": "HIGH"}}}, "'severity'"),
    "variable: field of nested filters": (
        FILTERED,
        {"f": {"OR": {"NOT": {"severty": {"exact": "HIGH"}}}}},
        "'severity'",
    ),
    "variable: enum value in filters": (
        FILTERED,
        {"f": {"severity": {"exact": "HIHG"}}},
        "'HIGH'",
    ),
    "variable: enum value in a list": (
        FILTERED,
        {"f": {"severity": {"inList": ["LOW", "HIHG"]}}},
        "'HIGH'",
    ),
    "variable: field of ordering in a list": (ORDERED, {"o": [{"severty": "ASC"}]}, "'severity'"),
    "variable: enum value of ordering": (ORDERED, {"o": [{"severity": "ASCC"}]}, "'ASC'"),
    "variable: field of a mutation input": (
        CREATE,
        {"input": {**INCIDENT, "summry": "x"}},
        "'summary'",
    ),
    "variable: enum value in a mutation input": (
        CREATE,
        {"input": {**INCIDENT, "severity": "HIHG"}},
        "'HIGH'",
    ),
}


@pytest.fixture
def caller(db):
    """An operations officer, without a password to hash."""
    user = get_user_model().objects.create(username="masking-caller")
    user.groups.set(Group.objects.filter(name=OPS_OFFICER))
    return GraphQLClient.logged_in(user)


@pytest.mark.parametrize(("query", "variables", "hint"), MISSPELT.values(), ids=MISSPELT)
def test_a_misspelt_name_gets_no_suggestion(caller, settings, query, variables, hint):
    body = caller(query, variables)
    assert "data" not in body or body["data"] is None
    for error in body["errors"]:
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    answer = json.dumps(body)
    assert "did you mean" not in answer.lower()
    assert hint not in answer

    settings.DEBUG = True  # where the hint helps, and shows what production hides
    assert hint in json.dumps(caller(query, variables))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Cannot query field 'x' on type 'Query'. Did you mean 'y'?",
            "Cannot query field 'x' on type 'Query'.",
        ),
        (
            "Expected value of type 'F' not to include unknown field 'a'. Did you mean 'b' or"
            " 'c'? Found: { a: 1 }.",
            "Expected value of type 'F' not to include unknown field 'a'. Found: { a: 1 }.",
        ),
        (
            "Value 'X' does not exist in 'E' enum. Did you mean the enum value 'A', 'B', or 'C'?",
            "Value 'X' does not exist in 'E' enum.",
        ),
        ("Two. Did you mean 'a'? Then. did you mean 'b'?", "Two. Then."),
        # A client's value that looks like a hint cannot keep the real one in.
        (
            "Value 'Did you mean' does not exist in 'E' enum. Did you mean the enum value 'A'?",
            "Value '",
        ),
        ("No hint at all.", "No hint at all."),
    ],
)
def test_every_hint_is_taken_out_of_a_message(message, expected):
    assert without_suggestions(message) == expected
