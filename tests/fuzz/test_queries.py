"""Every argument of every query field, spoiled with junk, as each role.

The fields and their arguments come from the schema. An input-object argument (filters,
ordering) gets its junk in one of its own fields. Each answer must be data, or a typed request
error (BAD_USER_INPUT, GRAPHQL_VALIDATION_FAILED) naming the argument or the field inside it:
never a server error, never a masked internal error.
"""

import datetime

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import AUDITOR_ROLE, FUZZ, OFFICER, PARTNER_USER
from tests.fuzz.junk import junk_for
from tests.fuzz.outcome import body_of, top_level_refusal
from tests.fuzz.schema_walk import input_fields, queries, selection
from tests.fuzz.world import Targets

QUERIES = {shape.name: shape for shape in queries()}


def valid_argument(slot, targets: Targets):
    """A value for a required argument (the only ones a valid query must send)."""
    if slot.kind == "ID":
        value = targets.id_of("Incident")
    elif slot.kind == "DateTime":
        value = (timezone.now() - datetime.timedelta(minutes=1)).isoformat()
    elif slot.kind == "String":
        value = "flood"
    else:
        raise AssertionError(f"The fuzzer has no valid value for required {slot.type_text()}")
    return [value] if slot.is_list else value


def document(shape, spoiled) -> str:
    """The query, every required argument and ``spoiled`` passed as variables."""
    sent = [s for s in shape.arguments if s.required or s.name == spoiled.name]
    declared = ", ".join(f"${s.name}: {s.type_text()}" for s in sent)
    passed = ", ".join(f"{s.name}: ${s.name}" for s in sent)
    return f"query Fuzz({declared}) {{ {shape.name}({passed}) {selection(shape.returns)} }}"


@pytest.fixture
def targets(people) -> Targets:
    """Rows the queries find (queries write nothing, so one set serves every example)."""
    return Targets.build(people.officer, people.partner, people.partner_user)


@pytest.mark.parametrize("name", QUERIES)
def test_the_fuzzers_query_runs_as_an_officer(people, targets, name):
    """The starting point is a valid query, so that errors come from the junk."""
    shape = QUERIES[name]
    variables = {s.name: valid_argument(s, targets) for s in shape.arguments if s.required}
    query = document(shape, shape.arguments[0])
    variables.setdefault(shape.arguments[0].name, None)
    people.clients[OFFICER].data(query, variables)


@pytest.mark.parametrize("name", QUERIES)
@FUZZ
@given(data=st.data())
def test_junk_in_any_argument_is_refused_cleanly(people, targets, name, data):
    shape = QUERIES[name]
    real_ids = [targets.id_of(type_name) for type_name in sorted(targets.rows)]
    role = data.draw(st.sampled_from([OFFICER, PARTNER_USER, AUDITOR_ROLE]), label="role")
    slot = data.draw(st.sampled_from(shape.arguments), label="argument")
    variables = {s.name: valid_argument(s, targets) for s in shape.arguments if s.required}
    named = slot.name
    if slot.kind == "input":
        inner = data.draw(st.sampled_from(input_fields(slot.named)), label="field")
        junk = data.draw(junk_for(inner.kind, inner.is_list, real_ids), label="value")
        value = {inner.name: junk}
        variables[slot.name] = [value] if slot.is_list else value
        named = inner.name
    else:
        variables[slot.name] = data.draw(junk_for(slot.kind, slot.is_list, real_ids), "value")

    body = body_of(people.clients[role].post(document(shape, slot), variables))

    if body.get("errors"):
        assert top_level_refusal(body, named) or top_level_refusal(body, slot.name)
    else:
        assert body["data"][name] is not None or not slot.required


UNSTORABLE = ["\x00", "nul \x00 inside", "\ud800", "surrogate \udfff inside"]


def text_slots():
    """(query, argument, path inside it) for every place a query takes text: string arguments,
    and the string fields and `exact` lookups of filter inputs."""
    for shape in QUERIES.values():
        for slot in shape.arguments:
            if slot.kind in ("String", "ID"):
                yield shape.name, slot.name, ()
            elif slot.kind == "input" and not slot.is_list:
                for inner in input_fields(slot.named):
                    if inner.kind in ("String", "ID") and not inner.is_list:
                        yield shape.name, slot.name, (inner.name,)
                    elif inner.kind == "input" and "exact" in inner.named.fields:
                        exact = inner.named.fields["exact"].type
                        if getattr(exact, "name", None) in ("String", "ID"):
                            yield shape.name, slot.name, (inner.name, "exact")


@pytest.mark.parametrize(("name", "argument", "path"), sorted(set(text_slots())))
def test_text_no_database_takes_is_refused_in_every_text_argument(
    people, targets, name, argument, path
):
    """Every text argument, every filter's text: NUL and lone surrogates, as an officer. The
    sampling above finds such text in one place or another; this covers every place."""
    shape = QUERIES[name]
    slot = next(s for s in shape.arguments if s.name == argument)
    for text in UNSTORABLE:
        variables = {s.name: valid_argument(s, targets) for s in shape.arguments if s.required}
        value = text
        for key in reversed(path):
            value = {key: value}
        variables[argument] = value
        body = body_of(people.clients[OFFICER].post(document(shape, slot), variables))
        if body.get("errors") and "path" not in body["errors"][0]:
            # Refused before execution (variable coercion): must name what it refused.
            assert top_level_refusal(body, path[-1] if path else argument)
            continue
        for error in body.get("errors") or []:
            # Typed, and about this query field. The argument is named when the field itself
            # failed; when its rows are fetched lazily by a nested field (totalCount, edges),
            # the error carries that field's path instead.
            assert error["extensions"]["code"] == "BAD_USER_INPUT", error
            assert error["path"][0] == name, error
            named = error["extensions"].get("argument")
            assert named is None or named.split(".")[0] in (argument, *path), error
