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
import datetime
import json

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from coordination.choices import ActionKind, ActionStatus, IncidentStatus, Severity
from opsapi.accounts.access import roles_of
from opsapi.accounts.authentication import authenticate_request
from partners.choices import PartnerKind

CURSOR_PREFIX = "arrayconnection:"

# Stored choice values -> the API's enum names.
SEVERITY = {c.value: c.name for c in Severity}
INCIDENT_STATUS = {c.value: c.name for c in IncidentStatus}
ACTION_KIND = {c.value: c.name for c in ActionKind}
ACTION_STATUS = {c.value: c.name for c in ActionStatus}
PARTNER_KIND = {c.value: c.name for c in PartnerKind}

INCIDENTS = """
SELECT i.id, i.reference, i.title, i.severity, i.status
FROM coordination_incident i
{where}
ORDER BY i.reported_at DESC, i.id DESC
LIMIT %s OFFSET %s
"""

PARTNER_SEES = """
WHERE (i.tlp <> 'red' AND (
        EXISTS (SELECT 1 FROM coordination_incident_shared_with s
                WHERE s.incident_id = i.id AND s.partner_id = %s)
        OR EXISTS (SELECT 1 FROM coordination_coordinationaction a
                   WHERE a.incident_id = i.id AND a.partner_id = %s)))
   OR (i.tlp = 'red' AND EXISTS (SELECT 1 FROM coordination_incident_shared_with_users n
                                 WHERE n.incident_id = i.id AND n.user_id = %s))
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


def _cursor(offset: int) -> str:
    return base64.b64encode(f"{CURSOR_PREFIX}{offset}".encode()).decode()


def _offset(after: str | None) -> int:
    if not after:
        return 0
    return int(base64.b64decode(after).decode().removeprefix(CURSOR_PREFIX)) + 1


def _time(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=datetime.UTC)
    return value.isoformat()


def watch_floor(user, first: int, after: str | None = None) -> dict:
    """The watch-floor page ``user`` gets from the API, as its JSON document."""
    roles = roles_of(user)
    offset = _offset(after)
    nested = settings.GRAPHQL_PAGE_SIZE
    with connection.cursor() as cursor:
        if roles.reads_everything:
            where, params, partner, partner_params = "", [], "", []
        elif roles.partner_id is not None:
            where = PARTNER_SEES
            params = [roles.partner_id, roles.partner_id, user.pk]
            partner, partner_params = "AND partner_id = %s", [roles.partner_id]
        else:
            where, params, partner, partner_params = "WHERE 1 = 0", [], "", []
        cursor.execute(INCIDENTS.format(where=where), [*params, first + 1, offset])
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
        for pk, reference, title, severity, status in rows
    ]
    page_info = {
        "hasNextPage": has_next,
        "endCursor": _cursor(offset + len(edges) - 1) if edges else None,
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
