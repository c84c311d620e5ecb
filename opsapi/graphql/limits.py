"""Limits on what one GraphQL document may ask for, checked before validation and before any SQL.

The token count is bounded while parsing (strawberry's ``MaxTokensLimiter``). Everything else is
measured by :func:`document_limits` in one pass over the parsed document:

- **depth**: how deeply fields nest (a root field is at depth 0; ``__schema``/``__type``
  subtrees are not counted), at most ``GRAPHQL_MAX_DEPTH``; over it, ``QUERY_TOO_DEEP``;
- **aliases**, fragments expanded, at most ``GRAPHQL_MAX_ALIASES``: ``TOO_MANY_ALIASES``;
- **IDs** given to one ``nodes(ids:)``, at most ``GRAPHQL_MAX_NODE_IDS``: ``TOO_MANY_IDS``;
- **items** in any list argument (filters' ``inList``, orderings, input lists), inline or in a
  variable, at most ``GRAPHQL_MAX_LIST_ITEMS``: ``LIST_TOO_LONG``;
- **merge checks**, at most ``GRAPHQL_MAX_MERGE_CHECKS``: ``QUERY_TOO_COMPLEX``. graphql-core's
  validation (its OverlappingFieldsCanBeMerged rule) compares every two fields of one response
  key in a selection set, fragments expanded, and every two fragments spread side by side:
  700 copies of ``me { username }`` in 2,800 tokens took it 5 s on a busy 2-core machine. The
  pairs are counted (in each selection set as written, each spread bringing its fragment's
  fields) and bounded before validation runs; trusted documents, validated when they were
  loaded, are not validated again and skip this limit;
- **cost**, at most ``GRAPHQL_MAX_QUERY_COST``: ``QUERY_TOO_COSTLY``. The cost is the number of
  objects the operation could return — each connection's page size times the pages above it
  (nested connections multiply: 100 incidents x 100 actions x 100 history entries is a
  million), the IDs of ``nodes`` likewise — plus every item of every list argument (times the
  pages above it), plus every field selected once fragments are expanded.

Each named fragment is measured once, whatever number of times it is spread: its measure does
not depend on where it is spread (a spread scales the fragment's objects by the pages above
it and offsets its depth), so a document in which each fragment spreads the previous one twice
costs time linear in its size to measure, not in its expansion. Fragments are resolved without
recursion, in dependency order; a spread that closes a cycle counts as empty, as does an
unknown fragment, field or type: graphql-core's validation, which runs next, reports those.

:class:`DocumentLimits` runs the check in ``on_validate``, before graphql-core's validation
(strawberry skips it once an extension has set the errors), for every operation type and every
transport: queries, mutations and subscriptions, over HTTP and WebSocket.
"""

from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    VariableNode,
    get_named_type,
)
from graphql.utilities import type_from_ast
from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from opsapi.graphql.pages import PAGE_ARGUMENTS

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
TOO_MANY_IDS = "TOO_MANY_IDS"
LIST_TOO_LONG = "LIST_TOO_LONG"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"

# The argument of `nodes` naming the objects to return: its IDs count as objects, not items.
NODE_IDS = "ids"


def limit_extensions() -> list:
    """The document limits: the token count while parsing, everything else before validation
    (factories: strawberry builds each extension afresh for every request)."""
    return [
        partial(MaxTokensLimiter, max_token_count=settings.GRAPHQL_MAX_TOKENS),
        DocumentLimits,
    ]


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Measure:
    """What a selection set (an operation's, or a fragment's) asks for, fragments expanded."""

    objects: int = 0  # objects and list items, at one page above
    selections: int = 0  # field selections
    aliases: int = 0
    depth: int = -1  # the deepest field's nesting, -1 if no field
    deepest: tuple[str, ...] = ()  # the response path of the deepest field
    # Its top-level selection set, fragments expanded: fields by response key, and spreads.
    top_keys: dict[str, int] = field(default_factory=dict)
    top_spreads: int = 0

    @property
    def cost(self) -> int:
        return self.objects + self.selections


NOTHING = Measure()


@dataclass(frozen=True)
class _Spread:
    """A fragment spread, where it stands in the definition that spreads it."""

    name: str
    pages: int  # objects one of the fragment's objects stands for here
    level: int | None  # fields around the spread; None inside an introspection field
    path: tuple[str, ...]


@dataclass
class _SelectionSet:
    """One selection set as written (inline fragments merged into it): its fields by response
    key, and the fragments it spreads."""

    keys: dict[str, int] = field(default_factory=dict)
    spreads: list[str] = field(default_factory=list)


@dataclass
class _Definition:
    """An operation's or a fragment's own measure, the spreads still to add to it, and its
    selection sets (the first is the definition's own)."""

    measure: Measure = field(default_factory=Measure)
    spreads: list[_Spread] = field(default_factory=list)
    sets: list[_SelectionSet] = field(default_factory=lambda: [_SelectionSet()])


class _Measuring:
    def __init__(self, schema, document, variables):
        self.schema = schema
        self.variables = variables if isinstance(variables, dict) else {}
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.defaults = {}  # variable name -> default value node
        self.operations: list[OperationDefinitionNode] = []
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments.setdefault(definition.name.value, definition)
            elif isinstance(definition, OperationDefinitionNode):
                self.operations.append(definition)
                for variable in definition.variable_definitions or ():
                    name, default = variable.variable.name.value, variable.default_value
                    if default is not None:
                        self.defaults.setdefault(name, default)
        self.errors: list[GraphQLError] = []
        self.measured: dict[str, Measure] = {}  # fragment name -> its whole measure
        self._own: dict[str, _Definition | None] = {}
        self._variable_lists: dict[str, tuple[int, list]] = {}
        self._reported_variables: set[str] = set()
        self._operations_own: list[_Definition] = []

    # definitions -------------------------------------------------------------------------

    def operation(self, operation: OperationDefinitionNode) -> Measure:
        root = self.schema.get_root_type(operation.operation)
        own = self._definition(operation.selection_set, root)
        self._operations_own.append(own)
        for spread in own.spreads:
            self._resolve(spread.name)
        return self._combined(own)

    def _fragment_definition(self, name: str) -> _Definition | None:
        if name not in self._own:
            fragment = self.fragments.get(name)
            if fragment is None:
                self._own[name] = None
            else:
                condition = type_from_ast(self.schema, fragment.type_condition)
                self._own[name] = self._definition(fragment.selection_set, condition)
        return self._own[name]

    def _resolve(self, name: str) -> None:
        """Measure fragment ``name`` and every fragment it spreads, each once, innermost first
        (an explicit stack: a long chain of fragments must not exhaust Python's recursion)."""
        in_progress: set[str] = set()
        stack = [(name, False)]
        while stack:
            current, expanded = stack.pop()
            if current in self.measured:
                continue
            own = self._fragment_definition(current)
            if own is None:
                self.measured[current] = NOTHING
            elif expanded:
                self.measured[current] = self._combined(own)
                in_progress.discard(current)
            elif current not in in_progress:  # else a cycle: validation reports it
                in_progress.add(current)
                stack.append((current, True))
                stack.extend(
                    (spread.name, False)
                    for spread in own.spreads
                    if spread.name not in self.measured and spread.name not in in_progress
                )

    def _combined(self, own: _Definition) -> Measure:
        measure = Measure(**vars(own.measure))
        for spread in own.spreads:
            inner = self.measured.get(spread.name, NOTHING)  # not measured: a cycle
            measure.objects += spread.pages * inner.objects
            measure.selections += inner.selections
            measure.aliases += inner.aliases
            if spread.level is not None and inner.depth >= 0:
                depth = spread.level + inner.depth
                if depth > measure.depth:
                    measure.depth, measure.deepest = depth, spread.path + inner.deepest
        measure.top_keys, measure.top_spreads = self._expanded(own.sets[0])
        return measure

    def _expanded(self, selection_set: _SelectionSet) -> tuple[dict[str, int], int]:
        """(fields by response key, fragments spread) of a selection set, fragments expanded."""
        keys, spreads = dict(selection_set.keys), 0
        for name in selection_set.spreads:
            inner = self.measured.get(name, NOTHING)
            spreads += 1 + inner.top_spreads
            for key, count in inner.top_keys.items():
                keys[key] = keys.get(key, 0) + count
        return keys, spreads

    def merge_pairs(self) -> int:
        """The pairs of selections graphql-core's OverlappingFieldsCanBeMerged rule compares
        in the whole document, at most: in each selection set as written, fragments expanded,
        every two fields of one response key and every two fragments spread side by side."""
        for name in self.fragments:
            self._resolve(name)  # unused fragments are validated too
        definitions = [self._own[name] for name in self.fragments]
        definitions += self._operations_own
        pairs = 0
        for own in definitions:
            for selection_set in own.sets if own is not None else ():
                keys, spreads = self._expanded(selection_set)
                pairs += spreads * (spreads - 1) // 2
                pairs += sum(count * (count - 1) // 2 for count in keys.values())
        return pairs

    # selections --------------------------------------------------------------------------

    def _definition(self, selection_set, parent_type) -> _Definition:
        own = _Definition()
        self._selections(own, own.sets[0], selection_set, parent_type, 1, 0, ())
        return own

    def _selections(self, own, written, selection_set, parent_type, pages, level, path):
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._field(own, written, selection, parent_type, pages, level, path)
            elif isinstance(selection, InlineFragmentNode):
                inner = parent_type
                if selection.type_condition is not None:
                    inner = type_from_ast(self.schema, selection.type_condition)
                self._selections(own, written, selection.selection_set, inner, pages, level, path)
            elif isinstance(selection, FragmentSpreadNode):
                own.spreads.append(_Spread(selection.name.value, pages, level, path))
                written.spreads.append(selection.name.value)

    def _field(self, own, written, node: FieldNode, parent_type, pages, level, path):
        measure = own.measure
        name = node.name.value
        key = node.alias.value if node.alias else name
        here = (*path, key)
        written.keys[key] = written.keys.get(key, 0) + 1
        measure.selections += 1
        if node.alias:
            measure.aliases += 1
        if level is not None and level > measure.depth:
            measure.depth, measure.deepest = level, here
        definition = (getattr(parent_type, "fields", None) or {}).get(name)
        pages *= self._arguments(own, node, definition, pages)
        if node.selection_set is None:
            return
        introspection = name.startswith("__")
        inner_level = None if introspection or level is None else level + 1
        inner_type = get_named_type(definition.type) if definition is not None else None
        inner = _SelectionSet()
        own.sets.append(inner)
        self._selections(own, inner, node.selection_set, inner_type, pages, inner_level, here)

    def _arguments(self, own, node: FieldNode, definition, pages) -> int:
        """Count the field's list arguments into ``own``; return how many objects each of the
        field's objects stands for: its page size if it is paged, its IDs for ``nodes``."""
        arguments = {argument.name.value: argument for argument in node.arguments or ()}
        objects = None
        for name, argument in arguments.items():
            if name == NODE_IDS:
                objects = self._node_ids(node, argument)
            else:
                own.measure.objects += pages * self._list_items(node, argument)
        if definition is not None and any(name in definition.args for name in PAGE_ARGUMENTS):
            objects = self._page_size(arguments)
        if objects is None:
            return 1
        own.measure.objects += pages * objects
        return objects

    def _page_size(self, arguments) -> int:
        sizes = []
        for name in PAGE_ARGUMENTS:
            value = arguments[name].value if name in arguments else None
            if isinstance(value, VariableNode):
                value = self._variable(value.name.value)
            elif isinstance(value, IntValueNode):
                value = int(value.value)
            if isinstance(value, int) and not isinstance(value, bool):
                sizes.append(value)
        size = max(sizes, default=settings.GRAPHQL_PAGE_SIZE)
        # A size out of range is refused by PageSizes, naming the argument; counted here at
        # the cap, so that the refusal says what is wrong.
        return min(max(size, 1), settings.GRAPHQL_MAX_PAGE_SIZE)

    # list arguments ----------------------------------------------------------------------

    def _variable(self, name: str):
        if name in self.variables:
            return self.variables[name]
        return self.defaults.get(name)

    def _node_ids(self, node: FieldNode, argument) -> int:
        value = argument.value
        variable = None
        if isinstance(value, VariableNode):
            variable = value.name.value
            value = self._variable(variable)
        if isinstance(value, ListValueNode):
            count = len(value.values)
        elif isinstance(value, list):
            count = len(value)
        else:
            count = 0 if value is None else 1  # one ID where a list is expected is a list of one
        limit = settings.GRAPHQL_MAX_NODE_IDS
        if count > limit and variable not in self._reported_variables:
            if variable is not None:
                self._reported_variables.add(variable)
            self.errors.append(
                GraphQLError(
                    f"'{node.name.value}' was given {count} IDs{_in_variable(variable)}; "
                    f"at most {limit} may be asked for at a time.",
                    nodes=[argument],
                    extensions={
                        "code": TOO_MANY_IDS,
                        "field": node.name.value,
                        "argument": NODE_IDS,
                        "count": count,
                        "limit": limit,
                    },
                )
            )
        return count

    def _list_items(self, node: FieldNode, argument) -> int:
        """Items in the lists of one argument's value; a list over the limit is reported."""
        total = 0
        stack = [(argument.value, argument.name.value)]
        while stack:
            value, path = stack.pop()
            if isinstance(value, VariableNode):
                total += self._variable_items(node, argument, value.name.value, path)
            elif isinstance(value, ListValueNode):
                total += len(value.values)
                self._check_list(node, argument, path, len(value.values), None)
                stack.extend((item, path) for item in value.values)
            elif isinstance(value, ObjectValueNode):
                stack.extend((f.value, f"{path}.{f.name.value}") for f in value.fields)
        return total

    def _variable_items(self, node, argument, name: str, path: str) -> int:
        """Items in the lists of a variable's value, counted once per variable."""
        if name not in self._variable_lists:
            value = self._variable(name)  # a JSON value, or the default's value node
            if isinstance(value, ListValueNode | ObjectValueNode):
                counted = self._list_items_of_node(value)
            else:
                counted = _python_list_items(value)
            self._variable_lists[name] = counted
        total, too_long = self._variable_lists[name]
        if too_long and name not in self._reported_variables:
            self._reported_variables.add(name)
            inner, count = too_long[0]
            self._check_list(node, argument, f"{path}{inner}", count, name)
        return total

    @staticmethod
    def _list_items_of_node(value) -> tuple[int, list]:
        total, too_long = 0, []
        stack = [(value, "")]
        while stack:
            value, path = stack.pop()
            if isinstance(value, ListValueNode):
                total += len(value.values)
                if len(value.values) > settings.GRAPHQL_MAX_LIST_ITEMS:
                    too_long.append((path, len(value.values)))
                stack.extend((item, path) for item in value.values)
            elif isinstance(value, ObjectValueNode):
                stack.extend((f.value, f"{path}.{f.name.value}") for f in value.fields)
        return total, too_long

    def _check_list(self, node, argument, path: str, count: int, variable: str | None):
        limit = settings.GRAPHQL_MAX_LIST_ITEMS
        if count <= limit:
            return
        self.errors.append(
            GraphQLError(
                f"'{path}' on '{node.name.value}' holds {count} items{_in_variable(variable)}; "
                f"a list argument may hold at most {limit}.",
                nodes=[argument],
                extensions={
                    "code": LIST_TOO_LONG,
                    "field": node.name.value,
                    "argument": path,
                    "count": count,
                    "limit": limit,
                },
            )
        )


def _in_variable(variable: str | None) -> str:
    return "" if variable is None else f" (in variable ${variable})"


def _python_list_items(value) -> tuple[int, list]:
    """(items in every list of a variable's JSON value, [(path, items)] of lists too long)."""
    total, too_long = 0, []
    stack = [(value, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, list):
            total += len(value)
            if len(value) > settings.GRAPHQL_MAX_LIST_ITEMS:
                too_long.append((path, len(value)))
            stack.extend((item, path) for item in value if isinstance(item, (list, dict)))
        elif isinstance(value, dict):
            stack.extend(
                (item, f"{path}.{key}")
                for key, item in value.items()
                if isinstance(item, (list, dict))
            )
    return total, too_long


# --- the limits -----------------------------------------------------------------------------


# Counts past this are reported as "more than" it: JSON clients read numbers as doubles, and a
# fan-out of fragments counts past any of them.
MOST_REPORTED = 2**53 - 1


def _count(value: int) -> tuple[int, str]:
    """``value`` as reported in an error's extensions, and in words."""
    if value > MOST_REPORTED:
        return MOST_REPORTED, f"more than {MOST_REPORTED}"
    return value, str(value)


def _operation_name(operation: OperationDefinitionNode) -> str:
    return f"'{operation.name.value}'" if operation.name else "The operation"


def _refusals(operation: OperationDefinitionNode, measure: Measure) -> list[GraphQLError]:
    name = _operation_name(operation)
    errors = []
    limit = settings.GRAPHQL_MAX_DEPTH
    if measure.depth > limit:
        at = ".".join(measure.deepest)
        errors.append(
            GraphQLError(
                f"{name} nests fields {measure.depth} deep (at '{at}'); the maximum depth is "
                f"{limit}.",
                nodes=[operation],
                extensions={
                    "code": QUERY_TOO_DEEP,
                    "depth": measure.depth,
                    "limit": limit,
                    "field": at,
                },
            )
        )
    limit = settings.GRAPHQL_MAX_ALIASES
    if measure.aliases > limit:
        aliases, words = _count(measure.aliases)
        errors.append(
            GraphQLError(
                f"{name} uses {words} aliases, fragments expanded; the limit is {limit}.",
                nodes=[operation],
                extensions={"code": TOO_MANY_ALIASES, "aliases": aliases, "limit": limit},
            )
        )
    limit = settings.GRAPHQL_MAX_QUERY_COST
    if measure.cost > limit:
        cost, words = _count(measure.cost)
        errors.append(
            GraphQLError(
                f"This query could return up to {words} objects and fields (fragments "
                f"expanded, list arguments included); the limit is {limit}. Ask for smaller "
                "pages (first/last), fewer nested lists or fewer fields.",
                nodes=[operation],
                extensions={"code": QUERY_TOO_COSTLY, "cost": cost, "limit": limit},
            )
        )
    return errors


def document_limits(schema, document, variables, *, validating: bool = True) -> list[GraphQLError]:
    """The refusals of ``document`` under the project's limits (empty if it is within them).

    Every operation in the document is checked, whichever is to run. ``validating``: the
    document is about to be validated (it is not a trusted document, validated at load), so
    the work of validation is bounded too.
    """
    measuring = _Measuring(schema, document, variables)
    errors = []
    for operation in measuring.operations:
        errors.extend(_refusals(operation, measuring.operation(operation)))
    limit = settings.GRAPHQL_MAX_MERGE_CHECKS
    if validating and not errors and (checks := measuring.merge_pairs()) > limit:
        checks, words = _count(checks)
        errors.append(
            GraphQLError(
                f"Checking this document would compare {words} pairs of fields of one name or "
                f"of fragments spread side by side; the limit is {limit}. Select each field "
                "once per selection set and spread fewer fragments side by side.",
                extensions={"code": QUERY_TOO_COMPLEX, "checks": checks, "limit": limit},
            )
        )
    return measuring.errors + errors


class DocumentLimits(SchemaExtension):
    """Refuse a document over any limit of :func:`document_limits` before it is validated."""

    def on_validate(self):
        context = self.execution_context
        # Empty (not None) errors: a trusted document, validated at load; its variables are
        # still to be checked.
        if not context.pre_execution_errors and context.graphql_document is not None:
            errors = document_limits(
                context.schema._schema,
                context.graphql_document,
                context.variables,
                validating=context.pre_execution_errors is None,
            )
            if errors:
                # strawberry then skips graphql-core's validation and answers these.
                context.pre_execution_errors = errors
        yield
