"""The raw-SQL floor: the watch-floor page (:data:`bench.queries.WATCH_FLOOR`) written by hand.

It answers exactly what the API answers — the same JSON: keys, global IDs, enum names, times,
ordering, nesting, page info and cursors, and the same visibility for every role (officers
and auditors see everything; a partner user sees the incidents shared with its organisation
or with an action addressed to it, never TLP:RED unless named on it, and only its own
organisation's actions) — from three SQL statements and a loop, with nothing per field. It is
what the GraphQL path is measured against; ``tests/bench/test_bench.py`` keeps the two equal.

The endpoint authenticates like the API (the same bearer-token check, the same role lookup),
so that the comparison is between the two ways of answering, not between one that checks who
is asking and one that does not.
"""

import base64
import dataclasses
import datetime
import functools
import hashlib
import json

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from coordination.choices import ActionKind, ActionStatus, IncidentStatus, Severity
from coordination.models import CoordinationAction, Incident
from opsapi.accounts.access import OPS_OFFICER, PARTNER_USER, roles_of
from opsapi.accounts.authentication import authenticate_request
from opsapi.audit.chain import AuditJSONEncoder, current_key_id, record_digest
from opsapi.audit.context import current_request_id
from opsapi.audit.recording import link_tables
from opsapi.graphql.connection import _with_tiebreak
from opsapi.graphql.keyset import ordered
from partners.choices import PartnerKind

# Stored choice values -> the API's enum names.
SEVERITY = {c.value: c.name for c in Severity}
INCIDENT_STATUS = {c.value: c.name for c in IncidentStatus}
ACTION_KIND = {c.value: c.name for c in ActionKind}
ACTION_STATUS = {c.value: c.name for c in ActionStatus}
PARTNER_KIND = {c.value: c.name for c in PartnerKind}

INCIDENTS = """
SELECT i.id, i.reference, i.title, i.severity, i.status, i.reported_at
FROM coordination_incident i
{where}
ORDER BY i.reported_at DESC, i.id DESC
LIMIT %s
"""
# The page after a cursor: the rows past its (reported_at, id), in one index range.
AFTER = "(i.reported_at, i.id) < (%s, %s)"

PARTNER_SEES = """
((i.tlp <> 'red' AND (
        EXISTS (SELECT 1 FROM coordination_incident_shared_with s
                WHERE s.incident_id = i.id AND s.partner_id = %s)
        OR EXISTS (SELECT 1 FROM coordination_coordinationaction a
                   WHERE a.incident_id = i.id AND a.partner_id = %s)))
   OR (i.tlp = 'red' AND EXISTS (SELECT 1 FROM coordination_incident_shared_with_users n
                                 WHERE n.incident_id = i.id AND n.user_id = %s)))
"""

STATES = """
SELECT l.incident_id, s.code
FROM coordination_incident_states l JOIN partners_state s ON s.id = l.state_id
WHERE l.incident_id IN ({ids})
ORDER BY s.name
"""

# Each incident's newest actions, as many as a nested page holds.
ACTIONS = """
SELECT a.incident_id, a.kind, a.status, a.due_at, p.name, p.kind, ps.code
FROM (
    SELECT incident_id, partner_id, kind, status, due_at, ROW_NUMBER() OVER (
        PARTITION BY incident_id ORDER BY created_at DESC, id DESC) AS position
    FROM coordination_coordinationaction
    WHERE incident_id IN ({ids}) {partner}
) a
JOIN partners_partner p ON p.id = a.partner_id
LEFT JOIN partners_state ps ON ps.id = p.state_id
WHERE a.position <= %s
ORDER BY a.incident_id, a.position
"""


def _global_id(type_name: str, pk) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


@functools.cache
def incident_order():
    """``(queryset, Order)`` of the ``incidents`` list: its cursors are the API's own."""
    return ordered(_with_tiebreak(Incident.objects.all()), "CoordinationQuery.incidents")


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value  # SQLite: naive


def _time(value: datetime.datetime | None) -> str | None:
    return None if value is None else _utc(value).isoformat()


def watch_floor(user, first: int, after: str | None = None) -> dict:
    """The watch-floor page ``user`` gets from the API, as its JSON document."""
    roles = roles_of(user)
    _, order = incident_order()
    nested = settings.GRAPHQL_PAGE_SIZE
    with connection.cursor() as cursor:
        if roles.reads_everything:
            conditions, params, partner, partner_params = [], [], "", []
        elif roles.partner_id is not None:
            conditions = [PARTNER_SEES]
            params = [roles.partner_id, roles.partner_id, user.pk]
            partner, partner_params = "AND partner_id = %s", [roles.partner_id]
        else:
            conditions, params, partner, partner_params = ["1 = 0"], [], "", []
        if after:
            conditions.append(AFTER)
            reported_at, pk = order.values_of(after, "after", "incidents")
            params += [connection.ops.adapt_datetimefield_value(reported_at), pk]
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        cursor.execute(INCIDENTS.format(where=where), [*params, first + 1])
        rows = cursor.fetchall()
        has_next = len(rows) > first
        rows = rows[:first]
        states, actions = {}, {}
        if rows:
            ids = [row[0] for row in rows]
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(STATES.format(ids=marks), ids)
            for incident_id, code in cursor.fetchall():
                states.setdefault(incident_id, []).append({"code": code})
            cursor.execute(
                ACTIONS.format(ids=marks, partner=partner), [*ids, *partner_params, nested]
            )
            for incident_id, kind, status, due_at, name, partner_kind, code in cursor.fetchall():
                actions.setdefault(incident_id, []).append(
                    {
                        "node": {
                            "kind": ACTION_KIND[kind],
                            "status": ACTION_STATUS[status],
                            "dueAt": _time(due_at),
                            "partner": {
                                "name": name,
                                "kind": PARTNER_KIND[partner_kind],
                                "state": {"code": code} if code is not None else None,
                            },
                        }
                    }
                )
    edges = [
        {
            "node": {
                "id": _global_id("Incident", pk),
                "reference": reference,
                "title": title,
                "severity": SEVERITY[severity],
                "status": INCIDENT_STATUS[status],
                "states": states.get(pk, []),
                "actions": {"edges": actions.get(pk, [])},
            }
        }
        for pk, reference, title, severity, status, _ in rows
    ]
    last = rows[-1] if rows else None
    page_info = {
        "hasNextPage": has_next,
        "endCursor": order.cursor([_utc(last[5]), last[0]]) if last else None,
    }
    return {"data": {"incidents": {"pageInfo": page_info, "edges": edges}}}


@csrf_exempt
@require_POST
def watch_floor_view(request):
    """The raw floor over HTTP: POST the same JSON body as to /graphql/ (its variables are
    read: ``first``, ``after``), with the same ``Authorization: Bearer`` header."""
    rejected = authenticate_request(request)
    if rejected is not None:
        return rejected
    try:
        variables = json.loads(request.body)["variables"]
        first, after = int(variables["first"]), variables.get("after")
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"errors": [{"message": "Send variables first and after."}]}, status=400
        )
    body = json.dumps(watch_floor(request.user, first, after))
    return HttpResponse(body, content_type="application/json")


# --- The write floor: updateIncident and acknowledgeCoordinationAction by hand ---------------
#
# One transaction each, doing what the mutation does to the database: authenticate the bearer
# token (its SHA-256 digest looked up with the user's roles), lock the row, check the version
# the client read, UPDATE the changed columns, and INSERT the history record — the full row,
# who, when, why, the request id, the field-level changes, the many-to-many snapshot rows of
# an incident, and the chain link: the object's newest record's hash as ``previous_hash`` and
# the HMAC of the new record (opsapi.audit.chain.record_digest, so that the trail verifies).
# What it leaves out: GraphQL, the ORM, the change event told to subscribers after commit.

TOKEN_USER = """
SELECT u.id,
       EXISTS (SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
               WHERE ug.user_id = u.id AND g.name = %s),
       CASE WHEN EXISTS (SELECT 1 FROM auth_user_groups ug JOIN auth_group g
                         ON g.id = ug.group_id WHERE ug.user_id = u.id AND g.name = %s)
            THEN m.partner_id END
FROM accounts_apitoken t
JOIN auth_user u ON u.id = t.user_id
LEFT JOIN accounts_partnermembership m ON m.user_id = u.id
WHERE t.digest = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > %s)
  AND u.is_active
"""


@dataclasses.dataclass(frozen=True)
class _FloorRecord:
    """What opsapi.audit.chain.record_content reads of a historical record."""

    instance_type: type
    _meta: object
    tracked_fields: list
    values: dict
    history_type: str
    history_date: datetime.datetime
    history_user_id: int
    history_change_reason: str | None
    request_id: str
    changes: list
    previous_hash: str
    chain_key_id: str

    def __getattr__(self, name):  # a tracked field's value, as on a historical instance
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


@functools.cache
def _floor_sql(model) -> dict:
    """The statements of one model's write floor, built once from its metadata."""
    record_model = model.history.model
    quote = connection.ops.quote_name
    fields = record_model.tracked_fields
    table, history = quote(model._meta.db_table), quote(record_model._meta.db_table)
    columns = ", ".join(f"r.{quote(f.column)}" for f in fields)
    written = [f for f in record_model._meta.concrete_fields if f.name != "history_id"]
    columns_read = [f.get_col(model._meta.db_table) for f in fields]
    return {
        "fields": fields,
        # What the ORM does to a column's value as read (e.g. SQLite's text times to datetimes).
        "converters": [
            (
                column,
                connection.ops.get_db_converters(column) + column.get_db_converters(connection),
            )
            for column in columns_read
        ],
        "written": written,
        # The row locked, then (a statement of its own, so that it sees a record committed
        # by a writer this one waited for) the head of its chain.
        "lock": f"SELECT {columns} FROM {table} r WHERE r.id = %s"
        + (" FOR UPDATE" if connection.features.has_select_for_update else ""),
        "head": f"SELECT record_hash FROM {history} WHERE id = %s ORDER BY history_id DESC LIMIT 1",
        "update": f"UPDATE {table} SET {{assignments}} WHERE id = %s",
        "insert": f"INSERT INTO {history} ({', '.join(quote(f.column) for f in written)}) "
        f"VALUES ({', '.join(['%s'] * len(written))}) RETURNING history_id",
        "links": link_tables(record_model),
    }


class FloorRefusal(Exception):
    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def _floor_user(cursor, authorization: str | None) -> tuple[int, bool, int | None]:
    raw = (authorization or "").removeprefix("Bearer ").strip()
    digest = hashlib.sha256(raw.encode()).hexdigest()
    cursor.execute(TOKEN_USER, [OPS_OFFICER, PARTNER_USER, digest, timezone.now()])
    found = cursor.fetchone()
    if found is None:
        raise FloorRefusal("UNAUTHENTICATED", "The API token is invalid, expired or revoked.")
    return found


def floor_write(model, user, pk: int, version: int, reason: str, change, permitted) -> dict:
    """Lock row ``pk`` of ``model``, check ``version``, apply ``change(row, now)`` (returns
    {attname: new value}), UPDATE and write its history record; returns the new row.
    ``permitted(row)`` decides whether ``user`` (id, officer, partner id) may."""
    sql = _floor_sql(model)
    fields, now = sql["fields"], timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql["lock"], [pk])
        found = cursor.fetchone()
        if found is None:
            raise FloorRefusal("not_found", "No such object.", "id")
        row = {}
        for f, (column, converters), value in zip(fields, sql["converters"], found, strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            row[f.attname] = value
        if not permitted(row):
            raise FloorRefusal("forbidden", "You may not do this.")
        if row["version"] != version:
            raise FloorRefusal("stale_version", "Changed since you read it.", "version")
        new = {**change(row, now), "version": version + 1, "updated_at": now}
        changed = {name: value for name, value in new.items() if row[name] != value}
        assignments = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in changed)
        cursor.execute(sql["update"].format(assignments=assignments), [*changed.values(), pk])
        cursor.execute(sql["head"], [pk])
        head = cursor.fetchone()
        links, link_rows = {}, {}
        if sql["links"]:
            cursor.execute(
                " UNION ALL ".join(t.select for t in sql["links"]), [pk] * len(sql["links"])
            )
            for table in sql["links"]:
                link_rows[table.name] = []
            for index, *link in cursor.fetchall():
                link_rows[sql["links"][index].name].append(link)
            links = {n: sorted(link[2] for link in rows) for n, rows in link_rows.items()}
        values = {**row, **changed}
        record = _FloorRecord(
            instance_type=model,
            _meta=model.history.model._meta,
            tracked_fields=fields,
            values=values,
            history_type="~",
            history_date=now,
            history_user_id=user[0],
            history_change_reason=reason or None,
            request_id=current_request_id(),
            changes=[
                {"field": f.name, "old": row[f.attname], "new": values[f.attname]}
                for f in fields
                if f.attname in changed
            ],
            previous_hash=head[0] if head else "",
            chain_key_id=current_key_id(),
        )
        stored = {
            **values,
            "request_id": record.request_id,
            "changes": json.dumps(record.changes, cls=AuditJSONEncoder),
            "previous_hash": record.previous_hash,
            "record_hash": record_digest(record, links),
            "chain_key_id": record.chain_key_id,
            "history_date": now,
            "history_change_reason": record.history_change_reason,
            "history_type": "~",
            "history_user_id": user[0],
            "history_relation_id": pk,
        }
        cursor.execute(sql["insert"], [stored[f.attname] for f in sql["written"]])
        (history_id,) = cursor.fetchone()
        _insert_snapshot(cursor, sql["links"], link_rows, history_id)
    return values


def _insert_snapshot(cursor, tables, link_rows: dict, history_id: int) -> None:
    """The record's many-to-many snapshot rows: on PostgreSQL one statement for every table
    (each INSERT a WITH query), elsewhere one per table."""
    quote = connection.ops.quote_name
    inserts = []
    for table in tables:
        rows = link_rows[table.name]
        if rows:
            columns = [table.rows_model._meta.get_field(a).column for a in table.attnames]
            inserts.append(
                (
                    f"INSERT INTO {quote(table.rows_model._meta.db_table)} "
                    f"({', '.join(quote(c) for c in columns)}, history_id) "
                    f"VALUES {', '.join(['(%s, %s, %s, %s)'] * len(rows))}",
                    [value for link in rows for value in (*link, history_id)],
                )
            )
    if connection.vendor == "postgresql" and len(inserts) > 1:
        clauses = ", ".join(f"t{n} AS ({insert})" for n, (insert, _) in enumerate(inserts))
        cursor.execute(f"WITH {clauses} SELECT 1", [p for _, params in inserts for p in params])
        return
    for insert, params in inserts:
        cursor.execute(insert, params)


def _floor_body(request) -> tuple[int, dict]:
    data = json.loads(request.body)["variables"]["input"]
    pk = int(base64.b64decode(data["id"]).decode().split(":", 1)[1])
    return pk, data


def _floor_answer(field: str, answer) -> HttpResponse:
    return HttpResponse(json.dumps({"data": {field: answer}}), content_type="application/json")


def _floor_view(field: str, type_name: str, write):
    @csrf_exempt
    @require_POST
    def view(request):
        try:
            with connection.cursor() as cursor:
                user = _floor_user(cursor, request.headers.get("Authorization"))
            pk, data = _floor_body(request)
            row = write(user, pk, data)
        except FloorRefusal as refusal:
            message = {"field": refusal.field, "code": refusal.code, "message": refusal.message}
            return _floor_answer(field, {"messages": [message]})
        return _floor_answer(field, {"id": _global_id(type_name, pk), **row})

    return view


def _update_incident(user, pk: int, data: dict) -> dict:
    title = str(data["title"]).strip()
    if not title or len(title) > Incident._meta.get_field("title").max_length:
        raise FloorRefusal("invalid", "Give a title of at most 200 characters.", "title")
    row = floor_write(
        Incident,
        user,
        pk,
        int(data["version"]),
        data.get("changeReason", ""),
        lambda row, now: {"title": title},
        lambda row: user[1],
    )
    return {"version": row["version"], "title": row["title"]}


def _acknowledge_action(user, pk: int, data: dict) -> dict:
    def acknowledged(row, now):
        if row["status"] != ActionStatus.PENDING:
            raise FloorRefusal("invalid_transition", "Only a pending action.", "status")
        return {
            "status": ActionStatus.ACKNOWLEDGED.value,
            "acknowledged_at": now,
            "acknowledged_by_id": user[0],
        }

    row = floor_write(
        CoordinationAction,
        user,
        pk,
        int(data["version"]),
        data.get("changeReason", ""),
        acknowledged,
        lambda row: user[1] or (user[2] is not None and user[2] == row["partner_id"]),
    )
    return {"version": row["version"], "status": ACTION_STATUS[row["status"]]}


update_incident_view = _floor_view("updateIncident", "Incident", _update_incident)
acknowledge_action_view = _floor_view(
    "acknowledgeCoordinationAction", "CoordinationAction", _acknowledge_action
)
