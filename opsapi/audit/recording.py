"""What is added to every historical record as simple-history writes it.

Writing a record of an object with many-to-many fields takes two reads besides the INSERTs:
the object's previous record, and one statement for all its links — the rows of every
many-to-many table as they are now (the new record's snapshot rows, and its digest) together
with the previous record's snapshot rows (for ``changes``). The rows read are the ones
:meth:`opsapi.audit.tracking.TrackedHistoricalRecords.create_historical_record_m2ms` copies
into the record's snapshot, so the digest and the snapshot hold the same links.
"""

import dataclasses
import functools

from django.db import connection
from simple_history.utils import get_m2m_field_name, get_m2m_reverse_field_name

from opsapi.audit.chain import current_key_id, record_digest
from opsapi.audit.context import current_request_id


@dataclasses.dataclass(frozen=True)
class LinkTable:
    """One many-to-many field of a tracked model: its table of links, and the table of the
    snapshot rows simple-history writes from it for each record."""

    name: str  # the many-to-many field
    rows_model: type  # simple-history's model of the snapshot rows
    attnames: tuple[str, str, str]  # the link's id, the object's id, the related object's id
    select: str  # SELECT of those three columns from the table of links, by object
    select_recorded: str  # SELECT of the same from the snapshot rows, by history record


@functools.cache
def _newest_record_sql(record_model, vendor: str) -> str:
    object_field = record_model.instance_type._meta.pk.attname
    query = record_model._base_manager.filter(**{object_field: 0}).order_by("-history_id")
    sql, _ = query[:1].query.sql_with_params()
    return sql


def newest_record(record_model, object_id):
    """The newest record of the object ``object_id`` in chain order
    (opsapi.audit.checkpoints.chain_order), or None; its SQL is built once per model."""
    sql = _newest_record_sql(record_model, connection.vendor)
    return next(iter(record_model._base_manager.raw(sql, [object_id])), None)


@functools.cache
def link_tables(record_model) -> tuple[LinkTable, ...]:
    """The :class:`LinkTable` of each many-to-many field of a historical model."""
    tracker = record_model.instance_type._history_tracker
    quote = connection.ops.quote_name
    tables = []
    for index, field in enumerate(record_model._history_m2m_fields):
        through = field.remote_field.through
        if len(through._meta.concrete_fields) != 3:
            raise TypeError(f"{field} has a custom through model; its links cannot be recorded.")
        rows_model = tracker.m2m_models[field]
        names = (
            through._meta.pk.name,
            get_m2m_field_name(field),
            get_m2m_reverse_field_name(field),
        )

        def columns(model, names=names, quote=quote):
            return ", ".join(quote(model._meta.get_field(name).column) for name in names)

        source = quote(through._meta.get_field(names[1]).column)
        history = quote(rows_model._meta.get_field("history").column)
        tables.append(
            LinkTable(
                name=field.name,
                rows_model=rows_model,
                attnames=tuple(through._meta.get_field(name).attname for name in names),
                select=f"SELECT {index}, {columns(through)} "
                f"FROM {quote(through._meta.db_table)} WHERE {source} = %s",
                select_recorded=f"SELECT {len(record_model._history_m2m_fields) + index}, "
                f"{columns(rows_model)} FROM {quote(rows_model._meta.db_table)} "
                f"WHERE {history} = %s",
            )
        )
    return tuple(tables)


def read_links(instance, record, previous) -> tuple[dict, dict | None]:
    """The rows of ``instance``'s many-to-many tables now, and the links ``previous`` (a
    record of it, or None) recorded, in one query.

    Returns ({field: [(link id, object id, related id), ...]}, {field: sorted related ids}
    of ``previous``, or None without one).
    """
    tables = link_tables(type(record))
    rows = {table.name: [] for table in tables}
    recorded = {table.name: [] for table in tables} if previous is not None else None
    if not tables:
        return rows, recorded
    statements = [table.select for table in tables]
    params = [instance.pk] * len(tables)
    if previous is not None:
        statements += [table.select_recorded for table in tables]
        params += [previous.pk] * len(tables)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(statements), params)
        found = cursor.fetchall()
    for index, *row in found:
        if index < len(tables):
            rows[tables[index].name].append(tuple(row))
        else:
            recorded[tables[index - len(tables)].name].append(row[2])
    for ids in (recorded or {}).values():
        ids.sort()
    for table_rows in rows.values():
        table_rows.sort(key=lambda row: row[0])
    return rows, recorded


@functools.cache
def link_accessors(record_model) -> dict[str, tuple[str, str]]:
    """{m2m field: (reverse accessor of its m2m history rows, related id column)} of a
    historical model; the accessors can be prefetched for a list of records."""
    accessors = {}
    for field in record_model._history_m2m_fields:
        rows_model = f"{record_model.__name__}_{field.name}"
        relation = next(
            r for r in record_model._meta.related_objects if r.related_model.__name__ == rows_model
        )
        accessors[field.name] = (
            relation.get_accessor_name(),
            f"{get_m2m_reverse_field_name(field)}_id",
        )
    return accessors


def read_recorded_links(records) -> None:
    """Read the many-to-many links stored with ``records`` (of one historical model) in one
    query, for :func:`recorded_links` (instead of one query per many-to-many table)."""
    tables = link_tables(type(records[0])) if records else ()
    by_id = {record.pk: record for record in records}
    for record in records:
        record._recorded_links = {table.name: [] for table in tables}
    if not tables:
        return
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(by_id))
    statements = []
    for index, table in enumerate(tables):
        rows = table.rows_model._meta
        history = quote(rows.get_field("history").column)
        related = quote(rows.get_field(table.attnames[2]).column)
        statements.append(
            f"SELECT {index}, {history}, {related} FROM {quote(rows.db_table)} "
            f"WHERE {history} IN ({placeholders})"
        )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(statements), list(by_id) * len(tables))
        for index, history_id, related_id in cursor.fetchall():
            by_id[history_id]._recorded_links[tables[index].name].append(related_id)
    for record in records:
        for ids in record._recorded_links.values():
            ids.sort()


def recorded_links(record) -> dict[str, list[int]]:
    """The many-to-many links stored with an existing historical ``record`` (from prefetched
    rows when they were prefetched through :func:`link_accessors`, or read by
    :func:`read_recorded_links`)."""
    if hasattr(record, "_recorded_links"):
        return record._recorded_links
    return {
        name: sorted(getattr(row, column) for row in getattr(record, accessor).all())
        for name, (accessor, column) in link_accessors(type(record)).items()
    }


def compute_changes(record, previous, links, previous_links=None) -> list[dict]:
    """What ``record`` changes relative to ``previous`` (None for a creation); the links
    ``previous`` recorded are read from it unless given as ``previous_links``."""
    if record.history_type == "-":
        return []
    changes = []
    for field in record.tracked_fields:
        if field.primary_key:
            continue
        new = getattr(record, field.attname)
        old = getattr(previous, field.attname) if previous else None
        if old != new:
            changes.append({"field": field.name, "old": old, "new": new})
    if previous is None:
        old_links = {}
    else:
        old_links = recorded_links(previous) if previous_links is None else previous_links
    for name, new in links.items():
        old = old_links.get(name)
        if (old or []) != new:
            changes.append({"field": name, "old": old, "new": new})
    return changes


def stamp_historical_record(sender, instance, history_instance, **kwargs):
    """pre_create_historical_record: request id, changes, and the link in the object's chain."""
    record = history_instance
    previous = None
    if record.history_type != "+":
        # Read after the row was written: its row lock keeps another writer from adding a
        # record to the chain until this transaction ends.
        previous = newest_record(type(record), instance.pk)
    rows, previous_links = read_links(instance, record, previous)
    # Copied into the record's snapshot rows (TrackedHistoricalRecords), not read again.
    record._link_rows = rows
    links = {name: sorted(row[2] for row in table_rows) for name, table_rows in rows.items()}
    record.request_id = current_request_id()
    record.changes = compute_changes(record, previous, links, previous_links)
    record.previous_hash = previous.record_hash if previous is not None else ""
    record.chain_key_id = current_key_id()
    record.record_hash = record_digest(record, links)
