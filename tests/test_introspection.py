"""Introspection is decided by the schema, for every transport: only authenticated callers,
and no one while GRAPHQL_INTROSPECTION is off. The HTTP endpoint (tests/test_http_conformance)
and WebSocket connections (tests/live/test_websocket_schema_exposure) refuse anonymous callers
before the schema sees them; this is the rule they would otherwise fall back on."""

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser

from opsapi.graphql.errors import GRAPHQL_VALIDATION_FAILED
from opsapi.graphql.scoping import SubscriptionContext
from opsapi.schema import schema

INTROSPECTION = "{ __schema { queryType { name } } }"
ALLOWED = {"__schema": {"queryType": {"name": "Query"}}}


def run(query: str, user):
    """``query`` as a WebSocket connection authenticated as ``user`` would run it."""
    return async_to_sync(schema.execute)(
        query, context_value=SubscriptionContext(ws=None, user=user)
    )


def refused(result) -> bool:
    return (
        result.data is None
        and bool(result.errors)
        and all(
            "introspection has been disabled" in error.message
            and error.extensions == {"code": GRAPHQL_VALIDATION_FAILED}
            for error in result.errors
        )
    )


def test_an_anonymous_caller_may_not_introspect(db):
    assert refused(run(INTROSPECTION, AnonymousUser()))


def test_an_authenticated_caller_may_introspect_unless_it_is_switched_off(officer, settings):
    result = run(INTROSPECTION, officer)
    assert (result.data, result.errors) == (ALLOWED, None)
    settings.GRAPHQL_INTROSPECTION = False
    assert refused(run(INTROSPECTION, officer))


@pytest.mark.parametrize("switched_on", [True, False])
def test_typename_is_not_introspection(officer, settings, switched_on):
    settings.GRAPHQL_INTROSPECTION = switched_on
    assert run("{ __typename }", officer).data == {"__typename": "Query"}
