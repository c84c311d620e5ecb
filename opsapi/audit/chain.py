"""Tamper evidence: every history record carries an HMAC of its content, chained per object.

Each record's ``record_hash`` is HMAC-SHA256, under a key kept outside the database
(``AUDIT_CHAIN_KEY``), of a canonical JSON form of the record: what it says about the object
(every tracked field and the many-to-many links), who, when, why, the request, the stored
changes, and ``previous_hash`` — the hash of the object's previous record. Editing a record
breaks its own hash; deleting, inserting or reordering records breaks the link of the next one;
forging a consistent chain needs the key. See docs/audit.md for what this can and cannot detect.
"""

import datetime
import decimal
import hashlib
import hmac
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditJSONEncoder(DjangoJSONEncoder):
    """JSON for audit data: times in UTC with full precision (Django's encoder drops
    microseconds), decimals as strings."""

    def default(self, o):
        if isinstance(o, datetime.datetime) and o.tzinfo is not None:
            return o.astimezone(datetime.UTC).isoformat()
        return super().default(o)


def canonical_value(field: models.Field, value):
    """A field value as stored, independent of how it was held in memory when written."""
    if value is None:
        return None
    if isinstance(field, models.DateTimeField):
        return field.to_python(value).astimezone(datetime.UTC).isoformat()
    if isinstance(field, models.DecimalField):
        quantum = decimal.Decimal(1).scaleb(-field.decimal_places)
        return str(field.to_python(value).quantize(quantum))
    if isinstance(field, models.DateField):
        return field.to_python(value).isoformat()
    return value


def record_content(record, links: dict[str, list[int]]) -> dict:
    """The canonical content of a historical ``record`` whose many-to-many ``links`` are given
    as {field name: sorted related ids}.

    A field added to a tracked model after records exist is listed in the model's
    ``history_added_fields``: while it is empty (NULL) it is left out, so the records written
    before it existed keep the digest they were sealed with.
    """
    added = getattr(record.instance_type, "history_added_fields", ())
    return {
        "model": record.instance_type._meta.label,
        "type": record.history_type,
        "date": canonical_value(record._meta.get_field("history_date"), record.history_date),
        "user": record.history_user_id,
        "reason": record.history_change_reason,
        "request": record.request_id,
        "fields": {
            f.attname: canonical_value(f, value)
            for f in record.tracked_fields
            if (value := getattr(record, f.attname)) is not None or f.attname not in added
        },
        "links": links,
        "changes": record.changes,
        "previous": record.previous_hash,
    }


def record_digest(record, links: dict[str, list[int]]) -> str:
    """The HMAC that ``record.record_hash`` must hold."""
    payload = json.dumps(
        record_content(record, links), cls=AuditJSONEncoder, sort_keys=True, separators=(",", ":")
    )
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), payload.encode(), hashlib.sha256).hexdigest()
