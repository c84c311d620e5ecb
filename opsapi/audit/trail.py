"""The trail: every history record of every tracked model, as one time-ordered sequence.

Each tracked model keeps its history in its own table. The audit log and the exports read them
as one sequence ordered by (history_date, table, history_id), paged by keyset: each table is
asked for its next rows after the cursor with the row-comparison form
``(history_date, history_id) < (%s, %s)`` (which the (history_date, history_id) index serves;
the ``a < x OR (a = x AND b < y)`` form does not), and the tables' pages are merged in SQL.
"""

import dataclasses
import datetime
import functools

from django.apps import apps
from django.db import connection
from strawberry import relay

from opsapi.graphql.ids import type_name_of
from opsapi.graphql.pages import cursor_numbers, encode_cursor

HISTORY_ACTIONS = ("+", "~", "-")


@dataclasses.dataclass(frozen=True)
class Trail:
    """One tracked model's history table."""

    name: str  # the model's GraphQL type name, e.g. "Incident"
    model: type  # the live model
    rank: int  # fixed position, breaks ties between tables at the same instant

    @property
    def records(self):
        """The historical model."""
        return self.model.history.model


@functools.cache
def trails() -> tuple[Trail, ...]:
    """Every tracked model's trail, in a fixed order."""
    models = sorted(
        (m for m in apps.get_models() if getattr(m, "_history_tracker", None) is not None),
        key=lambda m: m._meta.label,
    )
    return tuple(
        Trail(name=type_name_of(model), model=model, rank=rank) for rank, model in enumerate(models)
    )


def trail_named(name: str) -> Trail | None:
    return next((t for t in trails() if t.name == name), None)


def trail_of(model) -> Trail:
    return next(t for t in trails() if t.model is model)


# Cursors count microseconds from the first instant a datetime holds, so that every record's
# time is a non-negative number (of at most 18 digits).
_ORIGIN = datetime.datetime.min.replace(tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)
CURSOR_PREFIX = "auditlog"


@dataclasses.dataclass(frozen=True)
class Position:
    """Where a record stands in the trail: the keyset cursor."""

    at: datetime.datetime
    rank: int
    history_id: int

    def encode(self) -> str:
        return encode_cursor(
            CURSOR_PREFIX, (self.at - _ORIGIN) // _MICROSECOND, self.rank, self.history_id
        )

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        """The position a cursor names; ValueError if it is not one of ours."""
        numbers = cursor_numbers(cursor, CURSOR_PREFIX, parts=3)
        if numbers is None or not numbers[1] < len(trails()):
            raise ValueError("not a trail cursor")
        microseconds, rank, history_id = numbers
        try:
            at = _ORIGIN + microseconds * _MICROSECOND
        except OverflowError:  # past the last instant a datetime holds
            raise ValueError("not a trail cursor") from None
        return cls(at, rank, history_id)


@dataclasses.dataclass
class TrailFilter:
    """Which records: all fields optional, combined with AND."""

    names: list[str] | None = None  # trail names
    object_id: int | None = None  # with exactly one trail name
    user_id: int | None = None
    action: str | None = None  # "+", "~" or "-"
    request_id: str | None = None
    since: datetime.datetime | None = None  # inclusive
    until: datetime.datetime | None = None  # exclusive
    # {trail name: queryset of the live objects whose records may be read}, for trails the
    # reader may see only in part (an officer reads the records of their own API tokens only).
    only_objects: dict = dataclasses.field(default_factory=dict)

    def selected_trails(self) -> list[Trail]:
        if self.names is None:
            return list(trails())
        return [t for t in trails() if t.name in set(self.names)]


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _time(value: datetime.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _conditions(trail: Trail, flt: TrailFilter, after: Position | None, newest_first: bool):
    """The WHERE clause (and its parameters) selecting ``trail``'s records after ``after``."""
    opts = trail.records._meta
    date, hid = _quote("history_date"), _quote("history_id")
    where, params = [], []
    for column, value in (
        (opts.get_field("id").column, flt.object_id),
        ("history_user_id", flt.user_id),
        ("history_type", flt.action),
        ("request_id", flt.request_id),
    ):
        if value is not None:
            where.append(f"{_quote(column)} = %s")
            params.append(value)
    if trail.name in flt.only_objects:
        visible_sql, visible_params = (
            flt.only_objects[trail.name].values("pk").query.sql_with_params()
        )
        where.append(f"{_quote(opts.get_field('id').column)} IN ({visible_sql})")
        params += visible_params
    if flt.since is not None:
        where.append(f"{date} >= %s")
        params.append(_time(flt.since))
    if flt.until is not None:
        where.append(f"{date} < %s")
        params.append(_time(flt.until))
    if after is not None:
        beyond = "<" if newest_first else ">"
        if trail.rank == after.rank:
            where.append(f"({date}, {hid}) {beyond} (%s, %s)")
            params += [_time(after.at), after.history_id]
        else:
            # Another table's record at the same instant sorts before or after by rank.
            same_instant_follows = (trail.rank < after.rank) == newest_first
            where.append(f"{date} {beyond}{'=' if same_instant_follows else ''} %s")
            params.append(_time(after.at))
    return (" WHERE " + " AND ".join(where)) if where else "", params


def page(flt: TrailFilter, *, after: Position | None, limit: int, newest_first=True):
    """The next ``limit`` records after ``after``: a list of (trail, history_id) in order."""
    selected = flt.selected_trails()
    if not selected or limit <= 0:
        return []
    direction = "DESC" if newest_first else "ASC"
    date, hid = _quote("history_date"), _quote("history_id")
    branches, params = [], []
    for trail in selected:
        where, branch_params = _conditions(trail, flt, after, newest_first)
        # Each table contributes at most `limit` rows, read in index order.
        branches.append(
            f"SELECT * FROM (SELECT {trail.rank} AS trail_rank, {hid} AS history_id, "
            f"{date} AS history_date FROM {_quote(trail.records._meta.db_table)}{where} "
            f"ORDER BY {date} {direction}, {hid} {direction} LIMIT {int(limit)}) AS t{trail.rank}"
        )
        params += branch_params
    sql = (
        f"SELECT trail_rank, history_id FROM ({' UNION ALL '.join(branches)}) AS trail "
        f"ORDER BY history_date {direction}, trail_rank {direction}, history_id {direction} "
        f"LIMIT {int(limit)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_rank = {t.rank: t for t in trails()}
    return [(by_rank[rank], history_id) for rank, history_id in rows]


def count(flt: TrailFilter) -> int:
    """How many records match ``flt``."""
    total = 0
    with connection.cursor() as cursor:
        for trail in flt.selected_trails():
            where, params = _conditions(trail, flt, None, True)
            cursor.execute(
                f"SELECT COUNT(*) FROM {_quote(trail.records._meta.db_table)}{where}", params
            )
            total += cursor.fetchone()[0]
    return total


def load(entries, *, prepare=lambda queryset: queryset) -> list:
    """The historical records for (trail, history_id) pairs, in the same order, one query per
    table (``prepare`` adds select_related/prefetch_related to each)."""
    wanted: dict[Trail, list[int]] = {}
    for trail, history_id in entries:
        wanted.setdefault(trail, []).append(history_id)
    found = {}
    for trail, ids in wanted.items():
        # Unordered: the records come back in the order of ``entries`` below.
        queryset = prepare(trail.records.objects.filter(history_id__in=ids).order_by())
        for record in queryset:
            found[trail, record.history_id] = record
    return [found[key] for key in entries if key in found]


def position_of(record) -> Position:
    return Position(record.history_date, trail_of(record.instance_type).rank, record.history_id)


def object_global_id(record) -> str:
    """The global ID of the object a record is about (whether it still exists or not)."""
    return relay.to_base64(type_name_of(record.instance_type), record.id)
