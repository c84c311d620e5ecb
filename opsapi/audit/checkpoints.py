"""Checkpoints: sealed summaries of every history table, so that records cannot vanish unseen.

A per-object chain proves each record's content and its place after the previous one, but not
that the newest records of an object are all still there: delete the tail of a chain and what
remains is a valid, shorter chain. A checkpoint records, for each history table, how many
records it held, its highest ``history_id`` and a digest of every object's newest record hash
(and, for the access log, its number of entries and the newest one's hash), sealed with an
HMAC under ``AUDIT_CHAIN_KEY``. ``verify_audit`` then checks that every record a checkpoint
covered is still there. ``checkpoint_audit`` takes one (from cron) and prints it, so
that a copy lives outside the database. See docs/audit.md.
"""

import hashlib
import hmac
import json

from django.apps import apps
from django.conf import settings
from django.db.models import Max

from opsapi.audit.chain import AuditJSONEncoder
from opsapi.audit.models import AuditAccess, AuditCheckpoint
from opsapi.audit.tracking import TrackedHistoricalRecords

STREAM_CHUNK = 5000


def tracked_models() -> list:
    """Every model with a tracked history (the domain models and ``auth.User``), by label."""
    found = [
        model
        for model in apps.get_models()
        if isinstance(getattr(model, "_history_tracker", None), TrackedHistoricalRecords)
        and model._history_tracker.cls is model
    ]
    return sorted(found, key=lambda model: model._meta.label)


def history_table(model) -> str:
    """The name of the history table of a tracked ``model``."""
    return model.history.model._meta.db_table


def chain_order(object_field: str) -> list[str]:
    """The order of history records object by object, each object's chain oldest first.

    A chain follows ``history_id`` (the order the database stored the records in, one writer
    at a time per object: each holds the object's row lock), not ``history_date``, which comes
    from the writing server's clock and could go backwards between two servers.
    """
    return [object_field, "history_id"]


class HeadsDigest:
    """SHA-256 over ``<object id>:<record_hash>`` of each object's newest record, objects in
    id order. Fed every record in chain order (or just each object's newest)."""

    def __init__(self):
        self._digest = hashlib.sha256()
        self._object = None
        self._head = None

    def add(self, object_id, record_hash: str) -> None:
        if object_id != self._object:
            self._flush()
            self._object = object_id
        self._head = record_hash

    def hexdigest(self) -> str:
        self._flush()
        return self._digest.hexdigest()

    def _flush(self) -> None:
        if self._object is not None:
            self._digest.update(f"{self._object}:{self._head}\n".encode())
        self._object = self._head = None


def summarize(model) -> dict:
    """{records, max_history_id, heads} of ``model``'s history table as it is now.

    The count and the heads come from one query over the records up to the highest id, so they
    describe the same set of records even while others are being written.
    """
    history = model.history.model
    object_field = model._meta.pk.attname
    top = history._base_manager.aggregate(top=Max("history_id"))["top"] or 0
    records = 0
    heads = HeadsDigest()
    rows = (
        history._base_manager.filter(history_id__lte=top)
        .order_by(*chain_order(object_field))
        .values_list(object_field, "record_hash")
    )
    for object_id, record_hash in rows.iterator(chunk_size=STREAM_CHUNK):
        records += 1
        heads.add(object_id, record_hash)
    return {"records": records, "max_history_id": top, "heads": heads.hexdigest()}


def seal(tables: dict) -> str:
    """The HMAC that seals a checkpoint's ``tables`` summary."""
    payload = json.dumps(
        {"checkpoint": tables}, cls=AuditJSONEncoder, sort_keys=True, separators=(",", ":")
    )
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), payload.encode(), hashlib.sha256).hexdigest()


def is_sealed(checkpoint: AuditCheckpoint) -> bool:
    """Whether ``checkpoint``'s tables are exactly what was sealed (under the current key)."""
    return hmac.compare_digest(seal(checkpoint.tables), checkpoint.seal)


# The access log's entry in a checkpoint's tables: {entries, newest_hash}.
ACCESS_LOG = AuditAccess._meta.db_table


def summarize_access_log() -> dict:
    """{entries, newest_hash} of the access log as it is now: its entries are numbered 1, 2, …
    with no gaps, so the newest one's number is how many there are."""
    newest = AuditAccess._base_manager.order_by("-sequence").values("sequence", "record_hash")
    newest = newest.first() or {"sequence": 0, "record_hash": ""}
    return {"entries": newest["sequence"], "newest_hash": newest["record_hash"]}


def take_checkpoint() -> AuditCheckpoint:
    """Summarize every history table and the access log now and store the sealed summary."""
    tables = {history_table(model): summarize(model) for model in tracked_models()}
    tables[ACCESS_LOG] = summarize_access_log()
    return AuditCheckpoint.objects.create(tables=tables, seal=seal(tables))


def parse_kept_copy(line: str) -> AuditCheckpoint:
    """A checkpoint from one line that :func:`export` wrote (unsaved: it is compared, never
    stored); ValueError if the line is not one."""
    try:
        data = json.loads(line)
        return AuditCheckpoint(pk=int(data["id"]), tables=dict(data["tables"]), seal=data["seal"])
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"not a checkpoint line: {error}") from None


def export(checkpoint: AuditCheckpoint) -> str:
    """One line of JSON holding the whole checkpoint, for a copy kept outside the database."""
    return json.dumps(
        {
            "id": checkpoint.pk,
            "created_at": checkpoint.created_at,
            "tables": checkpoint.tables,
            "seal": checkpoint.seal,
        },
        cls=AuditJSONEncoder,
        sort_keys=True,
    )
