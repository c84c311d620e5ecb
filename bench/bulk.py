"""Writing many rows, each with the history records the normal write path would give it.

:class:`BulkWriter` buffers rows per table and writes them with ``COPY`` on PostgreSQL (with
``executemany`` elsewhere), handing out primary keys itself so that rows can point at each
other before they are written. :class:`History` produces the history records of one tracked
model exactly as :mod:`opsapi.audit.recording` stamps them when a service saves an object: the
same row snapshot, the many-to-many snapshot rows, ``changes`` diffed against the object's
previous record, ``previous_hash`` and the HMAC ``record_hash`` computed by
:func:`opsapi.audit.chain.record_digest` itself. See :mod:`bench.seed` for why this is not a
way around history.
"""

import datetime
import json
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from typing import NamedTuple

from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max
from simple_history.utils import get_m2m_field_name, get_m2m_reverse_field_name

from opsapi.audit.chain import AuditJSONEncoder, current_key_id, record_digest

# Rows buffered per table before they are written.
FLUSH_ROWS = 20_000


class Table:
    """Rows waiting to be written to one model's table, and the primary keys it hands out."""

    def __init__(self, model, first_id: int):
        self.model = model
        fields = model._meta.concrete_fields
        self.attnames = [f.attname for f in fields]
        self.columns = [f.column for f in fields]
        self.row_of = itemgetter(*self.attnames)
        self.pk = model._meta.pk.attname
        self.next_id = first_id
        self.rows: list[tuple] = []

    def new_id(self) -> int:
        pk = self.next_id
        self.next_id += 1
        return pk

    def add(self, values: dict) -> None:
        """Buffer a row given as {attname: value} (every concrete field named)."""
        self.rows.append(self.row_of(values))


class BulkWriter:
    """Buffers rows per table and writes them in bulk, table by table in the order the tables
    were first used (foreign keys are checked at commit).

    On PostgreSQL:

    - a batch is copied by a background thread, on the same connection and so in the same
      transaction, while the caller builds the next one (which must not use the database
      meanwhile): the server ingests on one core while Python computes on the other;
    - the tables' plain indexes (not those of primary keys or unique constraints) are dropped
      before the first rows are written and created again, with the definitions read from
      ``pg_indexes``, by :meth:`finish`, which then runs ``ANALYZE`` on the tables: building an
      index once is several times faster than updating it row by row, and the planner needs
      statistics about the new rows ("Populating a Database" in the PostgreSQL manual).
    """

    def __init__(self):
        self.tables: dict[type, Table] = {}
        self.dropped_indexes: list[str] | None = None
        self.copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-copy")
        self.copying = None

    def table(self, model) -> Table:
        table = self.tables.get(model)
        if table is None:
            pk = model._meta.pk.attname
            highest = model._base_manager.aggregate(top=Max(pk))["top"] or 0
            table = self.tables[model] = Table(model, highest + 1)
        return table

    def flush_if_full(self) -> None:
        if sum(len(t.rows) for t in self.tables.values()) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Hand the buffered rows over to be written (wait for the previous batch first)."""
        self.wait()
        if self.dropped_indexes is None:
            self.dropped_indexes = _drop_indexes(self.tables.values())
        batch = [(t.model, t.columns, t.rows) for t in self.tables.values() if t.rows]
        for table in self.tables.values():
            table.rows = []
        if connection.vendor == "postgresql":
            self.copying = self.copier.submit(_copy, connection.connection, batch)
        else:
            _insert(batch)

    def wait(self) -> None:
        """Until the batch being copied is written (its error, if any, raised here)."""
        if self.copying is not None:
            copying, self.copying = self.copying, None
            copying.result()

    def finish(self) -> None:
        """Write what is buffered, rebuild the indexes and move the database's id sequences
        past the ids used."""
        self.flush()
        self.wait()
        self.copier.shutdown()
        statements = connection.ops.sequence_reset_sql(no_style(), list(self.tables))
        with connection.cursor() as cursor:
            if self.dropped_indexes:
                # Check the deferred foreign keys now (PostgreSQL cannot build an index on a
                # table with pending checks), then defer them again.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for sql in [*(self.dropped_indexes or ()), *statements]:
                cursor.execute(sql)
            if connection.vendor == "postgresql":
                # Planner statistics for the new rows, before anyone queries them (autovacuum
                # would get there, minutes later).
                for table in self.tables.values():
                    cursor.execute(
                        f"ANALYZE {connection.ops.quote_name(table.model._meta.db_table)}"
                    )


def _copy(raw_connection, batch) -> None:
    """COPY each table's rows, on the psycopg connection of the caller's transaction."""
    quote = connection.ops.quote_name
    with raw_connection.cursor() as cursor:
        for model, columns, rows in batch:
            names = ", ".join(quote(c) for c in columns)
            with cursor.copy(f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def _insert(batch) -> None:
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for model, columns, rows in batch:
            names = ", ".join(quote(c) for c in columns)
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})",
                [
                    tuple(adapt(v) if isinstance(v, datetime.datetime) else v for v in row)
                    for row in rows
                ],
            )


def _drop_indexes(tables) -> list[str]:
    """Drop the plain indexes of ``tables`` (PostgreSQL); return the statements recreating them."""
    if connection.vendor != "postgresql":
        return []
    names = [t.model._meta.db_table for t in tables]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
              AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c
                WHERE c.conindid = (quote_ident(i.schemaname) || '.'
                                    || quote_ident(i.indexname))::regclass
              )
            """,
            [names],
        )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return [definition for _, definition in found]


class Tracked:
    """One object being written: its current values and links, and the head of its chain."""

    __slots__ = ("links", "pk", "previous", "previous_hash", "values")

    def __init__(self, pk, values: dict, links: dict[str, dict[int, int]]):
        self.pk = pk
        self.values = values  # {attname: value} of every tracked field
        self.links = links  # {m2m field: {related id: id of the link (through) row}}
        self.previous = None  # (values, sorted links) of the newest record
        self.previous_hash = ""


class LinkTables(NamedTuple):
    """A many-to-many field's tables: its links, and the snapshots of them in the history."""

    name: str
    through: Table  # the live links
    snapshots: Table  # simple-history's rows of the links each record saw
    source: str  # attname of the column pointing at the object
    target: str  # attname of the column pointing at the related object


class History:
    """Live rows and history records of one tracked model."""

    def __init__(self, writer: BulkWriter, model):
        self.model = model
        records = model.history.model
        tracker = model._history_tracker
        self.rows = writer.table(model)
        self.records = writer.table(records)
        self.fields = list(records.tracked_fields)
        self.m2m = []
        for field in records._history_m2m_fields:
            self.m2m.append(
                LinkTables(
                    field.name,
                    writer.table(field.remote_field.through),
                    writer.table(tracker.m2m_models[field]),
                    f"{get_m2m_field_name(field)}_id",
                    f"{get_m2m_reverse_field_name(field)}_id",
                )
            )
        # What record_digest reads of a record, on a plain object (no model instance needed).
        self.stand_in = type(
            f"{records.__name__}StandIn",
            (),
            {
                "_meta": records._meta,
                "instance_type": model,
                "tracked_fields": records.tracked_fields,
            },
        )

    def new(self, values: dict, links: dict[str, list[int]] | None = None) -> Tracked:
        """An object with a fresh primary key (its "+" record is written by :meth:`record`)."""
        pk = self.rows.new_id()
        values = {**values, self.rows.pk: pk}
        held = {}
        for m2m in self.m2m:
            held[m2m.name] = {
                target: m2m.through.new_id() for target in (links or {}).get(m2m.name, ())
            }
        return Tracked(pk, values, held)

    def link(self, obj: Tracked, name: str, targets) -> None:
        """Add links (as ``.set()`` would: existing links keep their rows)."""
        through = next(m2m.through for m2m in self.m2m if m2m.name == name)
        for target in targets:
            if target not in obj.links[name]:
                obj.links[name][target] = through.new_id()

    def record(self, obj: Tracked, kind: str, *, at, user_id, reason, request_id) -> None:
        """The history record of ``obj`` as it stands now (``kind`` "+" or "~")."""
        values = obj.values
        links = {m2m.name: sorted(obj.links[m2m.name]) for m2m in self.m2m}
        changes = self._changes(values, links, obj.previous)
        history_id = self.records.new_id()
        stamp = {
            "history_id": history_id,
            "history_date": at,
            "history_type": kind,
            "history_user_id": user_id,
            "history_change_reason": reason or None,
            "history_relation_id": obj.pk,
            "request_id": request_id,
            "changes": changes,
            "previous_hash": obj.previous_hash,
            "chain_key_id": current_key_id(),
        }
        stand_in = self.stand_in()
        stand_in.__dict__.update(values)
        stand_in.__dict__.update(stamp)
        stamp["record_hash"] = record_digest(stand_in, links)
        stamp["changes"] = json.dumps(changes, cls=AuditJSONEncoder)
        self.records.add({**values, **stamp})
        for m2m in self.m2m:
            for related, through_id in obj.links[m2m.name].items():
                m2m.snapshots.add(
                    {
                        "m2m_history_id": m2m.snapshots.new_id(),
                        "history_id": history_id,
                        "id": through_id,
                        m2m.source: obj.pk,
                        m2m.target: related,
                    }
                )
        obj.previous = (dict(values), links)
        obj.previous_hash = stamp["record_hash"]

    def _changes(self, values: dict, links: dict, previous) -> list[dict]:
        """opsapi.audit.recording.compute_changes, on values held in memory."""
        old_values, old_links = previous if previous is not None else (None, {})
        changes = []
        for field in self.fields:
            if field.primary_key:
                continue
            new = values[field.attname]
            old = old_values[field.attname] if old_values is not None else None
            if old != new:
                changes.append({"field": field.name, "old": old, "new": new})
        for name, new in links.items():
            old = old_links.get(name)
            if (old or []) != new:
                changes.append({"field": name, "old": old, "new": new})
        return changes

    def save_live(self, obj: Tracked) -> None:
        """Write the live row and its links as they stand (after the object's last record)."""
        self.rows.add(obj.values)
        for m2m in self.m2m:
            for related, through_id in obj.links[m2m.name].items():
                m2m.through.add({"id": through_id, m2m.source: obj.pk, m2m.target: related})
