"""Exporting the trail: every record of a time range, oldest first, as JSON lines or CSV.

Records are read in bounded pages by keyset (memory stays flat however long the range), one
line per record with everything it holds, then a summary line: the count, and the range hash —
SHA-256 folded over the exported records' ``record_hash`` values in order — which changes if
any record in the range is altered, added or removed (compare it with an earlier export).
"""

import csv
import dataclasses
import datetime
import hashlib
import io
import json

from opsapi.audit import trail
from opsapi.audit.chain import AuditJSONEncoder, canonical_value
from opsapi.audit.recording import link_accessors, recorded_links
from opsapi.audit.tracking import hidden_history_fields

FORMATS = ("jsonl", "csv")
PAGE = 1000
CSV_COLUMNS = (
    "model",
    "history_id",
    "object_id",
    "action",
    "at",
    "user",
    "change_reason",
    "request_id",
    "fields",
    "links",
    "changes",
    "previous_hash",
    "record_hash",
)
ACTIONS = {"+": "created", "~": "updated", "-": "deleted"}


@dataclasses.dataclass
class ExportSummary:
    count: int = 0
    range_hash: str = hashlib.sha256(b"").hexdigest()
    last_record_hash: str = ""

    def add(self, record_hash: str) -> None:
        self.count += 1
        self.range_hash = hashlib.sha256((self.range_hash + record_hash).encode()).hexdigest()
        self.last_record_hash = record_hash


def _record(record) -> dict:
    """One record as an export row (hidden fields, such as token digests, left out)."""
    model = record.instance_type
    hidden = hidden_history_fields(model)
    return {
        "model": model._meta.label,
        "history_id": record.history_id,
        "object_id": record.id,
        "action": ACTIONS[record.history_type],
        "at": canonical_value(record._meta.get_field("history_date"), record.history_date),
        "user": record.history_user.get_username() if record.history_user else None,
        "change_reason": record.history_change_reason,
        "request_id": record.request_id,
        "fields": {
            f.attname: canonical_value(f, getattr(record, f.attname))
            for f in record.tracked_fields
            if f.name not in hidden
        },
        "links": recorded_links(record),
        "changes": [c for c in record.changes if c["field"] not in hidden],
        "previous_hash": record.previous_hash,
        "record_hash": record.record_hash,
    }


def _prepare(queryset):
    accessors = [accessor for accessor, _ in link_accessors(queryset.model).values()]
    return queryset.select_related("history_user").prefetch_related(*accessors)


def records(flt: trail.TrailFilter, summary: ExportSummary):
    """The records ``flt`` selects, oldest first, as export rows; fills ``summary``."""
    position = None
    while True:
        entries = trail.page(flt, after=position, limit=PAGE, newest_first=False)
        if not entries:
            return
        loaded = trail.load(entries, prepare=_prepare)
        for record in loaded:
            summary.add(record.record_hash)
            yield _record(record)
        position = trail.position_of(loaded[-1])


def _summary_row(flt: trail.TrailFilter, summary: ExportSummary) -> dict:
    return {
        "summary": {
            "count": summary.count,
            "range_hash": summary.range_hash,
            "last_record_hash": summary.last_record_hash,
            "since": flt.since,
            "until": flt.until,
            "models": flt.names,
            "exported_at": datetime.datetime.now(datetime.UTC),
        }
    }


def _json(value) -> str:
    return json.dumps(value, cls=AuditJSONEncoder, sort_keys=True)


def lines(flt: trail.TrailFilter, fmt: str):
    """The export as text lines (each ending in a newline), summary last."""
    summary = ExportSummary()
    if fmt == "jsonl":
        for row in records(flt, summary):
            yield _json(row) + "\n"
        yield _json(_summary_row(flt, summary)) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush(row) -> str:
        writer.writerow(row)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    def cells(row: dict) -> list:
        return [
            _json(row[c]) if c in {"fields", "links", "changes"} else row.get(c, "")
            for c in CSV_COLUMNS
        ]

    yield flush(CSV_COLUMNS)
    for row in records(flt, summary):
        yield flush(cells(row))
    # Last row: "#summary", the count in history_id, the summary in fields, the range hash.
    yield flush(
        cells(
            {
                "model": "#summary",
                "history_id": summary.count,
                "fields": _summary_row(flt, summary)["summary"],
                "links": None,
                "changes": None,
                "record_hash": summary.range_hash,
            }
        )
    )


class ExportError(ValueError):
    """An export request that cannot be served; names the parameter at fault."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


def _time(parameter: str, value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ExportError(parameter, f"{parameter} is not an ISO 8601 time.") from None
    if parsed.tzinfo is None:
        raise ExportError(parameter, f"{parameter} needs a UTC offset, e.g. 2026-05-01T00:00Z.")
    return parsed


def export_filter(*, since: str | None, until: str | None, models=()) -> trail.TrailFilter:
    """The records of an export: ``since`` (inclusive) to ``until`` (exclusive), ISO 8601 with
    offsets, optionally only some models (type names such as "Incident" or labels such as
    "coordination.Incident")."""
    flt = trail.TrailFilter(since=_time("since", since), until=_time("until", until))
    if flt.since and flt.until and flt.since > flt.until:
        raise ExportError("since", "since must not be after until.")
    if models:
        known = {t.name: t.name for t in trail.trails()}
        known |= {t.model._meta.label.lower(): t.name for t in trail.trails()}
        unknown = [m for m in models if m not in known and m.lower() not in known]
        if unknown:
            names = ", ".join(sorted(t.name for t in trail.trails()))
            raise ExportError("model", f"Unknown model(s) {', '.join(unknown)}; use {names}.")
        flt.names = [known.get(m) or known[m.lower()] for m in models]
    return flt


# The signed export (export_audit --checkpoints), for verify_export; format in docs/audit.md §10.

SIGNED_FORMAT = "opsapi-audit-signed-export/1"


class NoSignedCheckpoint(ExportError):
    def __init__(self):
        super().__init__(
            "checkpoints",
            "no signed checkpoint yet: set AUDIT_SIGNING_KEY and run manage.py checkpoint_audit.",
        )


def signed_lines():
    """The signed export as JSON lines: a header, every signing key (oldest first, each after
    the first with its rotation statement), every signed checkpoint (by number), each log's
    records up to the newest checkpoint in id order with their place in its tree, then an end
    line with the counts. Records are read in pages: memory stays flat."""
    from opsapi.audit.checkpoints import log_records
    from opsapi.audit.models import AuditCheckpoint, AuditSigningKey

    signed = AuditCheckpoint.objects.filter(number__isnull=False).order_by("number")
    newest = signed.last()
    if newest is None:
        raise NoSignedCheckpoint()
    yield _line({"format": SIGNED_FORMAT, "exported_at": datetime.datetime.now(datetime.UTC)})
    for key in AuditSigningKey.objects.order_by("pk"):
        yield _line(
            {
                "key": {
                    "key_id": key.key_id,
                    "public_key": key.public_key,
                    "created_at": key.created_at,
                    "rotation": key.rotation,
                    "predecessor_signature": key.predecessor_signature,
                    "successor_signature": key.successor_signature,
                }
            }
        )
    checkpoints = 0
    for checkpoint in signed.iterator():
        checkpoints += 1
        yield _line(
            {"checkpoint": {"statement": checkpoint.statement, "signature": checkpoint.signature}}
        )
    records = 0
    for log in sorted(newest.trees):
        for index, leaf in enumerate(log_records(log, 0, newest.trees[log]["max_id"])):
            records += 1
            yield _line({**leaf, "index": index})
    yield _line({"end": {"checkpoints": checkpoints, "records": records}})


def _line(value) -> str:
    return json.dumps(value, cls=AuditJSONEncoder, sort_keys=True, ensure_ascii=False) + "\n"
