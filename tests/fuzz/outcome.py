"""What every answer to junk must look like: never a server error, never a masked internal
error, and a refusal that says which field or argument is at fault."""

import json
import re

from opsapi.graphql.errors import INTERNAL_SERVER_ERROR

ACCEPTED, REFUSED = "accepted", "refused"

# Codes of top-level errors that are about the request (not bugs).
REQUEST_ERROR_CODES = {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED"}
# Codes of refusals of the whole request body, which name no field (it is all at fault).
BODY_ERROR_CODES = {"PAYLOAD_TOO_LARGE", "BAD_REQUEST"}


def body_of(response) -> dict:
    """The JSON body of a response that is not a server error."""
    assert response.status_code < 500, (response.status_code, response.content[:2000])
    body = json.loads(response.content)
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code != INTERNAL_SERVER_ERROR, f"masked internal error: {error}"
        assert code, f"untyped error: {error}"
    return body


def names(error: dict, name: str) -> bool:
    """Whether a top-level error points at ``name`` (by argument, or in its message's path)."""
    extensions = error.get("extensions") or {}
    if extensions.get("argument") == name:
        return True
    # graphql-core says e.g. "Variable '$input' has invalid value at .title: ..." or
    # "Argument 'first' of ...": the name as a whole word after a quote, dot or dollar.
    return re.search(rf"['.$\"]{re.escape(name)}\b", error["message"]) is not None


def top_level_refusal(body: dict, name: str) -> bool:
    """True if the request was refused with errors, one of which names ``name``."""
    errors = body.get("errors")
    if not errors:
        return False
    codes = {e["extensions"]["code"] for e in errors}
    if codes <= BODY_ERROR_CODES:
        return True
    assert codes <= REQUEST_ERROR_CODES, errors
    assert any(names(e, name) for e in errors), f"no error names {name!r}: {errors}"
    return True


def mutation_outcome(response, mutation: str, field: str) -> str:
    """ACCEPTED or REFUSED; a refusal must be typed and name ``field`` (or be a permission
    refusal, which names no field)."""
    body = body_of(response)
    if top_level_refusal(body, field):
        assert body.get("data") is None, body
        return REFUSED
    result = body["data"][mutation]
    if result["__typename"] != "OperationInfo":
        return ACCEPTED
    messages = result["messages"]
    assert messages, result
    for message in messages:
        assert message["code"], f"a message without a code: {message}"
        assert message["field"] or message["kind"] == "PERMISSION", message
    return REFUSED


def mutation_document(mutation: str, input_type: str) -> str:
    return (
        f"mutation Fuzz($input: {input_type}!) {{ {mutation}(input: $input) {{ __typename "
        "... on OperationInfo { messages { kind field code message } } } }"
    )
