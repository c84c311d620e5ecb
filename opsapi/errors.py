"""Error codes shared by every app. Clients match on these; never change a published code.

Validation problems are raised as ``django.core.exceptions.ValidationError`` keyed by the field
at fault, with one of these codes (or Django's own: ``required``, ``max_length``, ``invalid``,
``invalid_choice``, ``blank``, ``unique``, ...), and reach clients as
``OperationInfo.messages[{kind, field, code, message}]``.
"""

import re

from django.core.exceptions import ValidationError

NOT_FOUND = "not_found"
INVALID_ID = "invalid_id"
FORBIDDEN = "forbidden"
STALE_VERSION = "stale_version"
TOO_MANY_ITEMS = "too_many_items"
OUT_OF_RANGE = "out_of_range"
IN_FUTURE = "in_future"
IN_PAST = "in_past"
NULL_CHARACTERS = "null_characters"
INVALID_UNICODE = "invalid_unicode"

# Most IDs one list argument may carry.
MAX_IDS_PER_ARGUMENT = 100

# Longest change reason accepted.
MAX_CHANGE_REASON = 1000


def field_error(field: str, message: str, code: str) -> ValidationError:
    """A ValidationError about one field."""
    return ValidationError({field: ValidationError(message, code=code)})


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_text(text: str) -> ValidationError | None:
    """Why ``text`` cannot be stored, or None: a NUL character (which PostgreSQL refuses in
    text), or a lone UTF-16 surrogate — JSON's ``"\\ud800"`` escape carries one into a Python
    string, and no UTF-8 database can encode it."""
    if "\x00" in text:
        return ValidationError("Null characters are not allowed.", code=NULL_CHARACTERS)
    if LONE_SURROGATE.search(text):
        return ValidationError(
            "Text must be valid Unicode (no lone surrogate characters).", code=INVALID_UNICODE
        )
    return None


def check_change_reason(reason: str | None) -> str:
    """The change reason, validated (bounded length, text a database can store)."""
    reason = (reason or "").strip()
    if len(reason) > MAX_CHANGE_REASON:
        raise field_error(
            "change_reason",
            f"Keep the change reason under {MAX_CHANGE_REASON} characters.",
            "max_length",
        )
    problem = unstorable_text(reason)
    if problem is not None:
        raise ValidationError({"change_reason": problem})
    return reason
