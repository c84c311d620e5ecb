"""Who may introspect the schema (``__schema``, ``__type``): authenticated callers, unless the
``GRAPHQL_INTROSPECTION`` setting switches it off for everyone.

A schema extension, so that the rule holds for every operation whichever way it comes: an HTTP
request (GraphiQL's schema explorer included) or a WebSocket connection. A refused document
fails validation — before anything runs — with graphql-core's own message ("GraphQL
introspection has been disabled, ...") and the code ``GRAPHQL_VALIDATION_FAILED``.
``__typename`` stays available: clients need it to tell the members of a union apart.
"""

from django.conf import settings
from graphql import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from opsapi.graphql.scoping import current_user


def introspection_allowed(user) -> bool:
    """Whether ``user`` may introspect the schema."""
    return settings.GRAPHQL_INTROSPECTION and user.is_authenticated


class IntrospectionPolicy(SchemaExtension):
    """Adds graphql-core's NoSchemaIntrospectionCustomRule to the validation of an operation
    whose caller may not introspect (see the module's docstring)."""

    def on_operation(self):
        context = self.execution_context
        # current_user reads only the `context` of what it is given, which an execution
        # context has as an Info does: the HTTP request's, or the WebSocket connection's.
        if not introspection_allowed(current_user(context)):
            context.validation_rules = (*context.validation_rules, NoSchemaIntrospectionCustomRule)
        yield
