"""Tamper evidence: every history record carries an HMAC of its content, chained per object.

Each record's ``record_hash`` is HMAC-SHA256, under a key kept outside the database
(``AUDIT_CHAIN_KEY``), of a canonical JSON form of the record: what it says about the object
(every tracked field and the many-to-many links), who, when, why, the request, the stored
changes, and ``previous_hash`` — the hash of the object's previous record. Editing a record
breaks its own hash; deleting, inserting or reordering records breaks the link of the next one;
forging a consistent chain needs the key. See docs/audit.md for what this can and cannot detect.

Every record (and access-log entry) names the key that sealed it by its id
(``chain_key_id``, :func:`key_id`), so that the key can be rotated: new records are sealed
under ``AUDIT_CHAIN_KEY``, and the keys before it stay in ``AUDIT_CHAIN_RETIRED_KEYS`` for
verification only. Records sealed before key ids existed name none; they were sealed under
the original key, the oldest configured one (:func:`original_key`).
"""

import datetime
import decimal
import functools
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


# What a chain key's id is the HMAC of, under the key.
KEY_ID_LABEL = b"opsapi audit chain key id"


class UnknownChainKey(LookupError):
    """A record names a chain key id that no configured key has."""

    def __init__(self, key_id: str):
        super().__init__(key_id)
        self.key_id = key_id


@functools.lru_cache(maxsize=64)
def key_id(key: str) -> str:
    """The id of a chain key: the first 16 hex digits of HMAC-SHA256(key, KEY_ID_LABEL).
    Computed from the key itself, so that no other key can claim it, and it tells nothing
    about the key."""
    return hmac.new(key.encode(), KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _configured(current: str, retired: tuple[str, ...]) -> dict[str, str]:
    return {key_id(key): key for key in (*retired, current)}


def chain_keys() -> dict[str, str]:
    """{key id: key} of every configured chain key: the retired ones, oldest first, then the
    current one."""
    return _configured(settings.AUDIT_CHAIN_KEY, tuple(settings.AUDIT_CHAIN_RETIRED_KEYS))


def current_key_id() -> str:
    """The id of ``AUDIT_CHAIN_KEY``, which seals every new record."""
    return key_id(settings.AUDIT_CHAIN_KEY)


def original_key() -> str:
    """The key of the records that name none (sealed before key ids): the oldest configured
    key, the first of ``AUDIT_CHAIN_RETIRED_KEYS``, or ``AUDIT_CHAIN_KEY`` if none is retired."""
    retired = settings.AUDIT_CHAIN_RETIRED_KEYS
    return retired[0] if retired else settings.AUDIT_CHAIN_KEY


def key_named(chain_key_id: str) -> str:
    """The configured key a record names by ``chain_key_id`` (empty: the original key);
    :class:`UnknownChainKey` if none has that id."""
    if not chain_key_id:
        return original_key()
    key = chain_keys().get(chain_key_id)
    if key is None:
        raise UnknownChainKey(chain_key_id)
    return key


def hmac_under(key: str, content: dict) -> str:
    """HMAC-SHA256 under ``key`` of the canonical JSON of ``content``."""
    payload = json.dumps(content, cls=AuditJSONEncoder, sort_keys=True, separators=(",", ":"))
    return hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()


def chain_hmac(content: dict, chain_key_id: str) -> str:
    """:func:`hmac_under` the key named by ``chain_key_id`` (:func:`key_named`)."""
    return hmac_under(key_named(chain_key_id), content)


def rotation_content(rotation) -> dict:
    """What both keys of a rotation (an AuditChainKeyRotation) seal."""
    return {
        "rotation": "audit.AuditChainKeyRotation",
        "at": rotation.at,
        "from": rotation.old_key_id,
        "to": rotation.new_key_id,
    }


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
    before it existed keep the digest they were sealed with. So is the key id of a record
    sealed before key ids.
    """
    added = getattr(record.instance_type, "history_added_fields", ())
    content = {
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
    if record.chain_key_id:
        content["key"] = record.chain_key_id
    return content


def record_digest(record, links: dict[str, list[int]]) -> str:
    """The HMAC that ``record.record_hash`` must hold, under the key its ``chain_key_id``
    names (:class:`UnknownChainKey` if no configured key has that id)."""
    return chain_hmac(record_content(record, links), record.chain_key_id)
