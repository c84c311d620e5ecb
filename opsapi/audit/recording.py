"""What is added to every historical record as simple-history writes it."""

import functools

from simple_history.utils import get_m2m_reverse_field_name

from opsapi.audit.chain import record_digest
from opsapi.audit.context import current_request_id


def _ids(manager, attname: str) -> list:
    return sorted(manager.values_list(attname, flat=True))


def current_links(instance, record) -> dict[str, list[int]]:
    """The object's many-to-many links as the record's m2m history rows will hold them."""
    return {f.name: _ids(getattr(instance, f.name), "pk") for f in record._history_m2m_fields}


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


def recorded_links(record) -> dict[str, list[int]]:
    """The many-to-many links stored with an existing historical ``record`` (from prefetched
    rows when they were prefetched through :func:`link_accessors`)."""
    return {
        name: sorted(getattr(row, column) for row in getattr(record, accessor).all())
        for name, (accessor, column) in link_accessors(type(record)).items()
    }


def compute_changes(record, previous, links) -> list[dict]:
    """What ``record`` changes relative to ``previous`` (None for a creation)."""
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
    old_links = recorded_links(previous) if previous is not None else {}
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
        # The object's newest record in chain order (opsapi.audit.checkpoints.chain_order).
        previous = instance.history.order_by("-history_id").first()
    links = current_links(instance, record)
    record.request_id = current_request_id()
    record.changes = compute_changes(record, previous, links)
    record.previous_hash = previous.record_hash if previous is not None else ""
    record.record_hash = record_digest(record, links)
