"""Tamper evidence for the access log (who read the trail): every entry numbered and sealed.

Each :class:`~opsapi.audit.models.AuditAccess` row carries

- ``sequence``: its place in the log, 1, 2, 3, … with no gaps: the newest committed number
  plus one (:func:`next_sequence`). A unique index refuses a second entry with the same
  number, so of two writers that drew the same one, the second fails and draws again
  (:meth:`~opsapi.audit.models.AuditAccess.record`). A number is only ever taken by a row that
  commits, since each entry's predecessor was committed when its number was drawn: no gaps;
- ``record_hash``: HMAC-SHA256, under ``AUDIT_CHAIN_KEY``, of a canonical JSON form of the
  entry's content and its ``sequence`` (:func:`entry_digest`); ``chain_key_id`` names the key
  (:mod:`opsapi.audit.chain`: after a rotation, older entries verify under a retired key).

Editing an entry breaks its hash; deleting one leaves a gap in the numbers, which
``verify_audit`` reports with the missing positions; closing the gap by renumbering breaks the
hashes of every entry renumbered, and forging an entry needs the key. Deleting the newest
entries leaves no gap: checkpoints record the log's newest entry, so entries a checkpoint
covered cannot vanish unseen (see docs/audit.md).
"""

import decimal
import json

from django.db import connection

from opsapi.audit.chain import AuditJSONEncoder, chain_hmac

# Key of the PostgreSQL advisory lock taken by writers drawing a number again: any constant
# they all share (here the bytes of "opsapi.access", cut to a positive 64-bit integer).
NUMBERING_LOCK = int.from_bytes(b"opsapi.access", "big") & (2**63 - 1)

# Floats from 1e16 up are written with an exponent by Python (1e+16) and read back from a
# PostgreSQL jsonb column as integers (10000000000000000).
_EXPONENT_FROM = 1e16


def next_sequence(entries) -> int:
    """The number of the next entry of ``entries`` (the AuditAccess manager): one index
    lookup. Another writer may draw the same; the unique index lets one of them in."""
    newest = entries.order_by("-sequence").values_list("sequence", flat=True).first()
    return (newest or 0) + 1


def numbering_lock() -> None:
    """Draw numbers one writer at a time until this transaction ends: on PostgreSQL a
    transaction-scoped advisory lock; SQLite's ``BEGIN IMMEDIATE`` already holds the database's
    write lock. Only writers that lost a number take it, so the first try costs no lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [NUMBERING_LOCK])


def canonical_arguments(arguments):
    """``arguments`` as any database gives them back: through JSON (times in UTC, decimals as
    text), with the floats PostgreSQL's jsonb returns in another form (-0.0, and integral
    values from 1e16 up) written as it returns them."""
    return _numbers(json.loads(json.dumps(arguments, cls=AuditJSONEncoder)))


def _numbers(value):
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    if isinstance(value, float):
        if value == 0:
            return 0.0
        if value.is_integer() and abs(value) >= _EXPONENT_FROM:
            return int(decimal.Decimal(repr(value)))
    return value


def entry_content(entry) -> dict:
    """The canonical content of an access-log ``entry`` (an AuditAccess, or the migration
    state's version of it). An entry sealed before key ids names no key, and its content
    holds none."""
    content = {
        "log": "audit.AuditAccess",
        "sequence": entry.sequence,
        "at": entry.at,
        "user": entry.user_id,
        "request": entry.request_id,
        "operation": entry.operation,
        "target": entry.target,
        "arguments": canonical_arguments(entry.arguments),
    }
    chain_key_id = getattr(entry, "chain_key_id", "")  # not in migrations before 0005
    if chain_key_id:
        content["key"] = chain_key_id
    return content


def entry_digest(entry) -> str:
    """The HMAC that ``entry.record_hash`` must hold, under the key its ``chain_key_id`` names
    (:class:`~opsapi.audit.chain.UnknownChainKey` if no configured key has that id)."""
    return chain_hmac(entry_content(entry), getattr(entry, "chain_key_id", ""))
