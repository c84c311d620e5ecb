"""Compiled reads: list queries answered straight from SQL rows, skipping per-field execution.

A watch-floor page of 100 incidents with their actions and partners is about 5,400 fields;
graphql-core and strawberry resolve each one through several Python calls, which made the
API about 13 times slower than a hand-written SQL endpoint returning the same JSON
(``make bench``). strawberry-django's optimizer already fetches the rows in a constant number
of queries; what costs is the per-field machinery after it. No library does this part for
strawberry, so it is written here, small and bounded:

- :mod:`.plan` decides whether a document is made only of plain model fields, relations and
  connections (see its docstring for the list) and plans it; anything else is executed
  normally, as is any document whose data would need an error (a null in a non-null field).
- :mod:`.run` reads the rows with ``values()`` through each type's own ``get_queryset`` (the
  caller's visibility) and builds the response dictionaries.

It runs as a schema extension after validation, the limits, page sizes and cost checks, so a
compiled answer has passed every check a normal one does; it replaces execution only. The
answers are identical to normal execution byte for byte — ``tests/test_compiled_reads.py``
checks generated queries through both paths for every role. ``GRAPHQL_COMPILED_READS=0``
switches it off.
"""

import logging

from django.conf import settings
from django.db import DatabaseError
from graphql import ExecutionResult, get_operation_ast
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from opsapi.graphql import deadline
from opsapi.graphql.compiled.plan import Operation, Planner, Unsupported, Value
from opsapi.graphql.compiled.run import Reader

logger = logging.getLogger("opsapi.graphql")

__all__ = ["CompiledReads", "compiled_plan"]


def compiled_plan(execution_context) -> Operation | None:
    """The plan of the operation about to run, or None if it must be executed normally."""
    if execution_context.operation_type != OperationType.QUERY:
        return None
    document = execution_context.graphql_document
    operation = get_operation_ast(document, execution_context.operation_name)
    if operation is None:
        return None
    schema = execution_context.schema._schema
    variables = get_variable_values(
        schema, operation.variable_definitions or (), execution_context.variables or {}
    )
    if isinstance(variables, list):  # errors: normal execution reports them
        return None
    try:
        return Planner(schema, document, variables.coerced).operation(operation)
    except Unsupported:
        return None


def compiled_data(plan: Operation, context) -> dict | None:
    """The response data of ``plan``, or None if the rows need normal execution."""
    reader = Reader(context)
    data = {}
    try:
        for field in plan.fields:
            data[field.key] = field.value if isinstance(field, Value) else reader.root(field)
    except Unsupported as reason:
        logger.debug("Compiled read handed over to execution: %s", reason)
        return None
    except DatabaseError:
        if not deadline.passed():  # else its statement was cancelled: execution stops at once
            logger.warning("Compiled read failed; executing normally", exc_info=True)
        return None
    return data


class CompiledReads(SchemaExtension):
    """Answers a compilable query itself; execution then has nothing left to do."""

    def on_execute(self):
        context = self.execution_context
        if context.result is None and settings.GRAPHQL_COMPILED_READS:
            plan = compiled_plan(context)
            data = compiled_data(plan, context.context) if plan is not None else None
            if data is not None:
                logger.debug("Compiled read answered %s", context.operation_name or "query")
                context.result = ExecutionResult(data=data)
        yield
