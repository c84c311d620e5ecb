"""Every mutation, every field of its input, spoiled one at a time with junk.

The list of mutations and their fields comes from the schema, so a mutation added later is
fuzzed too (and test_every_mutation_has_a_valid_input tells whoever adds it if the fuzzer
needs to learn something). Each example starts from a valid input, spoils one field (or leaves
a required one out), posts it as a role through the real view, and checks: no server error,
no masked internal error, a typed refusal naming the field — and, when refused, not one row or
history record written.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import AUDITOR_ROLE, FUZZ, OFFICER, PARTNER_USER
from tests.fuzz.junk import junk_for
from tests.fuzz.outcome import (
    ACCEPTED,
    REFUSED,
    body_of,
    mutation_document,
    mutation_outcome,
)
from tests.fuzz.schema_walk import mutations
from tests.fuzz.world import Targets, counts, valid_input

MUTATIONS = {shape.name: shape for shape in mutations()}
LEFT_OUT = object()


def _post(people, role, shape, variables):
    client = people.clients[role]
    return client.post(mutation_document(shape.name, shape.input_type), {"input": variables})


@pytest.mark.parametrize("name", MUTATIONS)
def test_every_mutation_has_a_valid_input(people, name):
    """The fuzzer's starting point is accepted by at least one role, so that the errors it
    provokes come from the field it spoils, not from an input that was never valid."""
    shape = MUTATIONS[name]
    answers = {}
    for role in (OFFICER, PARTNER_USER):
        targets = Targets.build(people.officer, people.partner, people.partner_user)
        response = _post(people, role, shape, valid_input(shape, targets))
        if mutation_outcome(response, name, field="input") == ACCEPTED:
            return
        answers[role] = response.json()
    raise AssertionError(f"no role can run {name} with the fuzzer's valid input: {answers}")


@pytest.mark.parametrize("name", MUTATIONS)
@FUZZ
@given(data=st.data())
def test_junk_in_any_field_is_refused_cleanly(people, name, data):
    shape = MUTATIONS[name]
    targets = Targets.build(people.officer, people.partner, people.partner_user)
    real_ids = [targets.id_of(type_name) for type_name in sorted(targets.rows)]
    # Mostly officers, who may write everything, so that junk gets past the permission check.
    roles = [OFFICER, OFFICER, PARTNER_USER, AUDITOR_ROLE]
    role = data.draw(st.sampled_from(roles), label="role")
    slot = data.draw(st.sampled_from(shape.fields), label="field")
    junk = st.one_of(junk_for(slot.kind, slot.is_list, real_ids), st.just(LEFT_OUT))
    value = data.draw(junk, label="value")
    variables = valid_input(shape, targets)
    variables.pop(slot.name, None)
    if value is not LEFT_OUT:
        variables[slot.name] = value

    before = counts()
    outcome = mutation_outcome(_post(people, role, shape, variables), shape.name, slot.name)
    after = counts()

    if outcome == REFUSED:
        assert after == before, "a refused mutation wrote something"
    else:
        _every_new_row_has_history(before, after)


def _every_new_row_has_history(before: dict, after: dict) -> None:
    for label, rows in after.items():
        if "Historical" in label:
            continue
        app, model = label.split(".")
        history = f"{app}.Historical{model}"
        if history in after and rows > before[label]:
            assert after[history] - before[history] >= rows - before[label], label


def test_a_required_field_sent_as_null_is_named(people):
    targets = Targets.build(people.officer, people.partner, people.partner_user)
    shape = MUTATIONS["createIncident"]
    variables = {**valid_input(shape, targets), "title": None}
    before = counts()
    body = body_of(_post(people, OFFICER, shape, variables))
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"].startswith("Variable '$input' has invalid value at .title:")
    assert counts() == before
