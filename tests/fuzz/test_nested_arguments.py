"""Every argument of every nested field (a connection or list on an object type: filters,
ordering, page sizes, cursors), spoiled with junk, as each role.

The nested fields come from the schema: for each type a root list query returns, every field
of it that takes arguments, reached as ``root(first: 2) { edges { node { field(...) } } }``.
The answer must be data, or typed errors — refused before execution naming the argument, or
``BAD_USER_INPUT`` for the nested field (on its path, or on the root list's when the nested
pages are read with the list), or the field's own documented answer (``ANSWERS``) — never a
server or masked error.
"""

import pytest
from graphql import GraphQLObjectType
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import AUDITOR_ROLE, FUZZ, OFFICER, PARTNER_USER
from tests.fuzz.junk import junk_for
from tests.fuzz.outcome import REQUEST_ERROR_CODES, body_of, top_level_refusal
from tests.fuzz.schema_walk import GRAPHQL, Slot, _unwrap, input_fields, selection
from tests.fuzz.world import Targets


def nested_fields() -> dict[str, tuple[str, str, tuple[Slot, ...], object]]:
    """``"Type.field"`` -> (root query, field, its argument slots, its type), for every field
    with arguments on the node type of a root connection (history fields excepted: their
    reads are recorded, and tests/audit covers them)."""
    found = {}
    for root, definition in GRAPHQL.query_type.fields.items():
        connection = _unwrap(definition.type)
        if not isinstance(connection, GraphQLObjectType) or "edges" not in connection.fields:
            continue
        node = _unwrap(_unwrap(connection.fields["edges"].type).fields["node"].type)
        if not isinstance(node, GraphQLObjectType):
            continue
        for name, field in node.fields.items():
            key = f"{node.name}.{name}"
            if not field.args or name == "history" or key in found:
                continue
            slots = tuple(Slot(a, arg.type) for a, arg in field.args.items())
            found[key] = (root, name, slots, field.type)
    return found


NESTED = nested_fields()

# A nested field's own documented answer to a well-formed argument, besides refusals.
ANSWERS = {"inclusionProof": {"NOT_YET_CHECKPOINTED"}}  # no signed checkpoint taken yet


def document(root: str, field: str, slot: Slot, returns) -> str:
    return (
        f"query Fuzz(${slot.name}: {slot.type_text()}) {{ {root}(first: 2) {{ edges {{ node {{ "
        f"{field}({slot.name}: ${slot.name}) {selection(returns)} }} }} }} }}"
    )


@pytest.fixture
def targets(people) -> Targets:
    return Targets.build(people.officer, people.partner, people.partner_user)


def test_there_are_nested_arguments_to_fuzz():
    assert {"Incident.actions", "Incident.states", "Partner.actions"} <= set(NESTED)


@pytest.mark.parametrize("key", sorted(NESTED))
@FUZZ
@given(data=st.data())
def test_junk_in_any_nested_argument_is_refused_cleanly(people, targets, key, data):
    root, field, slots, returns = NESTED[key]
    real_ids = [targets.id_of(type_name) for type_name in sorted(targets.rows)]
    role = data.draw(st.sampled_from([OFFICER, PARTNER_USER, AUDITOR_ROLE]), label="role")
    slot = data.draw(st.sampled_from(slots), label="argument")
    named = slot.name
    if slot.kind == "input":
        inner = data.draw(st.sampled_from(input_fields(slot.named)), label="field")
        value = {inner.name: data.draw(junk_for(inner.kind, inner.is_list, real_ids), "value")}
        value = [value] if slot.is_list else value
        named = inner.name
    else:
        value = data.draw(junk_for(slot.kind, slot.is_list, real_ids), label="value")

    body = body_of(
        people.clients[role].post(document(root, field, slot, returns), {slot.name: value})
    )

    errors = body.get("errors") or []
    if errors and all("path" not in e for e in errors):
        assert top_level_refusal(body, named) or top_level_refusal(body, slot.name)
        return
    if body["data"] is None:  # the nested pages are read with the list: refused as a whole
        assert all(error["path"] == [root] for error in errors), body
        assert top_level_refusal(body, named) or top_level_refusal(body, slot.name)
        return
    assert body["data"][root] is not None, body
    for error in errors:  # a nested field refused while the rows were read
        allowed = REQUEST_ERROR_CODES | ANSWERS.get(field, set())
        assert error["extensions"]["code"] in allowed, error
        assert error["path"][0] == root, error
        assert field in error["path"], error
