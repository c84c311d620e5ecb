"""The audit API: the global audit log, point-in-time views and the log of audit reads.

Officers and auditors read the audit log and ``asOf``; auditors read who read the trail.
Anyone else gets what a hidden row gives: nothing (an empty log, null).
"""

import datetime
from enum import Enum

import strawberry
from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from strawberry import Info, relay
from strawberry.types.nodes import SelectedField

from opsapi.accounts.access import roles_of, rows_visible_to
from opsapi.audit import trail
from opsapi.audit.graphql.reads import AuditRead
from opsapi.audit.graphql.types import HistoryAction, HistoryEntry
from opsapi.audit.recording import read_recorded_links
from opsapi.graphql.connection import KeysetConnection, connection
from opsapi.graphql.errors import BadInput
from opsapi.graphql.pages import NotACursor
from opsapi.graphql.scoping import current_user

EARLIEST = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
CLOCK_SKEW = datetime.timedelta(minutes=5)

HistoryModel = strawberry.enum(
    Enum(
        "HistoryModel",
        {
            "".join(f"_{c}" if c.isupper() else c.upper() for c in t.name).lstrip("_"): t.name
            for t in trail.trails()
        },
    ),
    description="A kind of object whose history is recorded.",
)


@strawberry.input(description="Which records of the audit log; all conditions must hold.")
class AuditLogFilter:
    model: list[HistoryModel] | None = strawberry.field(
        default=None, description="Kinds of object."
    )
    object_id: strawberry.ID | None = strawberry.field(
        default=None, description="One object's global ID (it may have been deleted)."
    )
    user: strawberry.ID | None = strawberry.field(default=None, description="Who (a User ID).")
    action: HistoryAction | None = None
    request_id: str | None = None
    since: datetime.datetime | None = strawberry.field(default=None, description="Inclusive.")
    until: datetime.datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.type(description="An edge in the audit log.")
class AuditLogEdge:
    cursor: str
    node: HistoryEntry


@strawberry.type(description="A page of the audit log, newest record first.")
class AuditLogConnection:
    edges: list[AuditLogEdge]
    page_info: relay.PageInfo
    trail_filter: strawberry.Private[trail.TrailFilter | None]

    @strawberry.field(description="Records matching the filters (counted when asked for).")
    def total_count(self) -> int:
        return 0 if self.trail_filter is None else trail.count(self.trail_filter)


def _aware(value: datetime.datetime | None, argument: str) -> datetime.datetime | None:
    if value is not None and timezone.is_naive(value):
        raise BadInput(
            f"'{argument}' needs a UTC offset, e.g. 2026-05-01T14:00:00Z.", argument=argument
        )
    return value


def _trail_filter(filters: AuditLogFilter | None) -> trail.TrailFilter:
    """The audit-log filters as a trail query; BadInput for arguments that cannot be used."""
    flt = trail.TrailFilter()
    if filters is None:
        return flt
    if filters.model is not None:
        flt.names = [m.value for m in filters.model]
    if filters.object_id is not None:
        name, pk = _decode(filters.object_id, "filters.objectId")
        if trail.trail_named(name) is None:
            raise BadInput(
                "'objectId' is not the ID of an object with a history.", argument="filters.objectId"
            )
        flt.names = [n for n in (flt.names or [name]) if n == name]
        flt.object_id = pk
    if filters.user is not None:
        name, flt.user_id = _decode(filters.user, "filters.user")
        if name != "User":
            raise BadInput("'user' must be a User ID.", argument="filters.user")
    if filters.action is not None:
        flt.action = filters.action.value
    flt.request_id = filters.request_id
    flt.since = _aware(filters.since, "filters.since")
    flt.until = _aware(filters.until, "filters.until")
    if flt.since and flt.until and flt.since > flt.until:
        raise BadInput("'since' must not be after 'until'.", argument="filters.since")
    return flt


def _decode(value: str, argument: str) -> tuple[str, int]:
    try:
        global_id = relay.GlobalID.from_id(value)
        return global_id.type_name, int(global_id.node_id)
    except (ValueError, TypeError):
        raise BadInput(f"'{argument}' is not a valid ID.", argument=argument) from None


def _partly_visible(user, selected) -> dict:
    """{trail name: the objects ``user`` may see} for the trails ``user`` may read only in part.

    Auditors read every record. Officers read every record of the objects they may see, and
    for most models that is all of them; API tokens are the exception (their own only).
    """
    if roles_of(user).auditor:
        return {}
    visible = {t.name: rows_visible_to(t.model, user) for t in selected}
    return {name: rows for name, rows in visible.items() if rows.query.where}


def _selects(selections, path: list[str]) -> bool:
    """Whether ``selections`` (strawberry's, fragments included) select the field ``path``."""
    for selection in selections:
        if not isinstance(selection, SelectedField):
            if _selects(selection.selections, path):
                return True
        elif selection.name == path[0] and (
            len(path) == 1 or _selects(selection.selections, path[1:])
        ):
            return True
    return False


def _live_objects(user, model) -> Prefetch:
    """The prefetch of the records' live objects, within what ``user`` may see."""
    return Prefetch("history_relation", queryset=rows_visible_to(model, user))


def _with_live_objects(user, selected: bool):
    def prepare(queryset):
        queryset = queryset.select_related("history_user")
        if not selected:  # one query per table on the page, for a field not asked for
            return queryset
        return queryset.prefetch_related(_live_objects(user, queryset.model.instance_type))

    return prepare


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Every recorded change to every object, newest first, filtered and paged "
        "(officers and auditors)."
    )
    def audit_log(
        self,
        info: Info,
        filters: AuditLogFilter | None = None,
        first: int | None = strawberry.UNSET,
        after: str | None = None,
    ) -> AuditLogConnection:
        user = current_user(info)
        flt = _trail_filter(filters)
        limit = settings.GRAPHQL_PAGE_SIZE if first in (None, strawberry.UNSET) else first
        try:
            position = None if after is None else trail.Position.decode(after)
        except ValueError:
            raise NotACursor("after", "auditLog") from None
        if not roles_of(user).reads_everything:
            empty = relay.PageInfo(
                has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
            )
            return AuditLogConnection(edges=[], page_info=empty, trail_filter=None)
        flt.only_objects = _partly_visible(user, flt.selected_trails())
        entries = trail.page(flt, after=position, limit=limit + 1)
        wants_objects = _selects(info.selected_fields[0].selections, ["edges", "node", "object"])
        records = trail.load(entries[:limit], prepare=_with_live_objects(user, wants_objects))
        edges = [AuditLogEdge(cursor=trail.position_of(r).encode(), node=r) for r in records]
        page_info = relay.PageInfo(
            has_next_page=len(entries) > limit,
            has_previous_page=position is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return AuditLogConnection(edges=edges, page_info=page_info, trail_filter=flt)

    @strawberry.field(
        description="The object as it stood at `at`: the history record in effect then (null if "
        "it did not exist yet, had been deleted, or is not visible to you)."
    )
    def as_of(self, info: Info, id: strawberry.ID, at: datetime.datetime) -> HistoryEntry | None:  # noqa: A002
        user = current_user(info)
        at = _aware(at, "at")
        if at > timezone.now() + CLOCK_SKEW:
            raise BadInput("'at' is in the future; the trail only knows the past.", argument="at")
        if at < EARLIEST:
            raise BadInput("'at' is before 1970.", argument="at")
        name, pk = _decode(id, "id")
        kind = trail.trail_named(name)
        if kind is None or not roles_of(user).reads_everything:
            return None
        hidden = _partly_visible(user, [kind])
        if hidden and not hidden[kind.name].filter(pk=pk).exists():
            return None
        records = (
            kind.records.objects.filter(id=pk, history_date__lte=at)
            .order_by("-history_date", "-history_id")
            .select_related("history_user")
        )
        selections = info.selected_fields[0].selections
        if _selects(selections, ["object"]):
            records = records.prefetch_related(_live_objects(user, kind.model))
        record = records.first()
        if record is None or record.history_type == "-":
            return None
        if _selects(selections, ["snapshot"]):
            read_recorded_links([record])
        return record

    audit_reads: KeysetConnection[AuditRead] = connection(
        description="Who read the audit trail, when, and with what arguments (auditors)."
    )
