"""Paging on while rows come and go: no row that was there throughout repeats or goes missing.

Every connection with a stable order, in every ordering the API offers, is paged through
forwards (``first``/``after``) and backwards (``last``/``before``) while another database
connection (a thread, with its own) inserts and deletes rows between the pages through the
services, so history is written as it is in service. Each row that existed from the first
page to the last must be read exactly once, in the order a read without churn gives; rows
inserted or deleted meanwhile may or may not be read, but never twice. Offset cursors fail
this at once: an insert at the top shifts every later row down a place.

The default orderings run through the compiled read path (plain fields, first/after), the
others through normal execution: both page by keyset.
"""

import datetime
import itertools
import threading
from dataclasses import dataclass, field

import pytest
from django.db import connections
from django.utils import timezone

from coordination import services as coordination
from coordination.choices import Severity
from coordination.models import Incident, IncidentUpdate
from opsapi.audit.tracking import delete_with_history
from partners import services as partners
from partners.choices import StateKind
from partners.models import State
from tests.factories import global_id, make_action, make_contact, make_incident, make_partner
from tests.graphql import GraphQLClient

# Outside a transaction, so that the other connection's writes are committed and seen.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
_names = itertools.count(1)


def elsewhere(work):
    """Run ``work()`` on another database connection, committed before this returns."""
    failures = []

    def run():
        try:
            work()
        except BaseException as error:  # raised again in the test's thread
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


@dataclass
class Churn:
    """Rows to insert and delete between pages: ``insert()`` makes one row (and returns it);
    ``delete(obj)`` removes one. ``doomed``: rows there at the start that are
    deleted along the way (so a cursor's own row goes too)."""

    insert: object
    delete: object = None
    doomed: list = field(default_factory=list)
    inserted: list = field(default_factory=list)
    born: set = field(default_factory=set)  # what every row inserted is read as

    def between_pages(self, step: int):
        def work():
            row = self.insert()
            self.inserted.append(row)
            self.born.add(_identity(row))
            if self.delete is None:
                return
            if self.doomed:
                self.delete(self.doomed.pop())
            elif step % 2 and self.inserted:
                self.delete(self.inserted.pop(0))

        elsewhere(work)


def _identity(row) -> str:
    """How a row is read: a history record by its hash, an object by its global ID."""
    return getattr(row, "record_hash", None) or global_id(row)


def _connection_of(data: dict, path: list):
    value = data
    for step in path:
        if isinstance(step, str):
            value = value[step]
        else:  # ("edges", id): the edge of that node
            _, node_id = step
            value = next(e["node"] for e in value["edges"] if e["node"]["id"] == node_id)
    return value


def walk(client, query: str, path: list, churn: Churn, *, forwards: bool, size: int):
    """Every node id read page by page (in the connection's order), churning between pages."""
    ids, cursor = [], None
    for step in range(200):
        if forwards:
            page = f"first: {size}" + (f', after: "{cursor}"' if cursor else "")
        else:
            page = f"last: {size}" + (f', before: "{cursor}"' if cursor else "")
        connection = _connection_of(client.data(query.replace("PAGE", page)), path)
        nodes = [edge["node"]["id"] for edge in connection["edges"]]
        info = connection["pageInfo"]
        ids = ids + nodes if forwards else nodes + ids
        if not info["hasNextPage" if forwards else "hasPreviousPage"]:
            return ids
        cursor = info["endCursor" if forwards else "startCursor"]
        churn.between_pages(step)
    raise AssertionError(f"paging never ended: {ids}")


def check(client, label, query, path, churn, *, forwards, size=2):
    """The failure for one case, or None. Every change is the churn's: a row read at the end
    that it did not insert was there throughout."""
    doomed = set(map(_identity, churn.doomed))
    read = walk(client, query, path, churn, forwards=forwards, size=size)
    after = _ids(client, query, path)
    if churn.delete is not None:  # the next case starts from the rows there at the start
        elsewhere(lambda: [churn.delete(row) for row in churn.inserted])
    throughout = [i for i in after if i not in churn.born and i not in doomed]
    repeated = sorted({i for i in read if read.count(i) > 1})
    missing = [i for i in throughout if i not in read]
    in_order = [i for i in read if i in throughout] == throughout
    if repeated or missing or not in_order or len(throughout) < 3:
        return f"{label}: repeated {repeated}, missing {missing}, in order: {in_order}"
    return None


def _ids(client, query, path):
    connection = _connection_of(client.data(query.replace("PAGE", "first: 100")), path)
    return [edge["node"]["id"] for edge in connection["edges"]]


def _ordered(field: str, arguments: str, selection: str = "id") -> str:
    separator = ", " if arguments else ""
    return (
        f"query {{ {field}({arguments}{separator}PAGE) {{ edges {{ node {{ {selection} }} }}"
        f" {PAGE_INFO} }} }}"
    )


def _one_way(orderings: list[str]) -> list[tuple[str, bool]]:
    """Each ordering field, ascending forwards and descending backwards in turn."""
    return [
        (f"ordering: {{{name}: {'ASC' if n % 2 == 0 else 'DESC'}}}", n % 2 == 0)
        for n, name in enumerate(orderings)
    ]


def _both_ways(orderings: list[str]) -> list[tuple[str, bool]]:
    """Each ordering field ascending forwards and descending backwards."""
    cases = []
    for name in orderings:
        cases.append((f"ordering: {{{name}: ASC}}", True))
        cases.append((f"ordering: {{{name}: DESC}}", False))
    return cases


DEFAULT = [("", True), ("", False)]
INCIDENT_ORDERINGS = [
    *DEFAULT,
    *_both_ways(
        ["reportedAt", "occurredAt", "updatedAt", "reference", "title", "status", "severity"]
    ),
    # NULLs (occurredAt is optional) placed explicitly, and keys running different ways.
    ("ordering: {occurredAt: DESC_NULLS_LAST}", True),
    ("ordering: {occurredAt: ASC_NULLS_FIRST}", False),
    ("ordering: [{severity: DESC}, {occurredAt: ASC}]", True),
    ("ordering: [{severity: ASC}, {title: DESC}]", False),
]
ACTION_ORDERINGS = [
    *DEFAULT,
    *_one_way(["dueAt", "createdAt", "updatedAt", "status"]),
    ("ordering: {dueAt: ASC_NULLS_LAST}", True),
    ("ordering: [{status: ASC}, {dueAt: DESC}]", False),
]
PARTNER_ORDERINGS = [*DEFAULT, *_one_way(["name", "kind", "level", "updatedAt"])]


def test_every_connection_pages_without_repeats_or_gaps_while_rows_change(officer, administrator):
    client = GraphQLClient.logged_in(officer)
    hours = itertools.count(1)
    severities = itertools.cycle(list(Severity))

    def incident():
        occurred = (
            None
            if next(_names) % 3 == 0
            else timezone.now() - datetime.timedelta(hours=next(hours))
        )
        return make_incident(
            officer,
            title=f"Incident {next(_names):03d}",
            severity=next(severities),
            occurred_at=occurred,
        )

    organisations = [make_partner(officer, name=f"Org {n}") for n in range(3)]
    watched = incident()
    dues = itertools.cycle([None, 2, 30, 5])

    def action(target=watched, partner=organisations[0]):
        due = next(dues)
        due_at = None if due is None else timezone.now() + datetime.timedelta(hours=due)
        return make_action(officer, target, partner, due_at=due_at)

    for _ in range(5):
        incident()
        action()
    failures = []

    def run(label, query, path, churn, forwards, size=2):
        failures.append(check(client, label, query, path, churn, forwards=forwards, size=size))

    def remove(obj):
        delete_with_history(type(obj).objects.get(pk=obj.pk), actor=officer)

    # Root lists, every ordering.
    for arguments, forwards in INCIDENT_ORDERINGS:
        doomed = [incident(), incident()]
        churn = Churn(incident, remove, doomed)
        run(
            f"incidents({arguments})",
            _ordered("incidents", arguments),
            ["incidents"],
            churn,
            forwards,
        )
    for arguments, forwards in ACTION_ORDERINGS:
        churn = Churn(action, remove, [action(), action()])
        query = _ordered("coordinationActions", arguments)
        run(f"coordinationActions({arguments})", query, ["coordinationActions"], churn, forwards)
    for arguments, forwards in PARTNER_ORDERINGS:
        churn = Churn(lambda: make_partner(officer), remove, [make_partner(officer)])
        run(
            f"partners({arguments})", _ordered("partners", arguments), ["partners"], churn, forwards
        )

    # Reference data (some fifty rows: larger pages).
    def new_state():
        taken = set(State.objects.values_list("fips", flat=True))
        fips = min({f"{n:02d}" for n in range(1, 100)} - taken)
        return partners.save_state(
            actor=administrator,
            code=f"Q{chr(ord('A') + int(fips) % 26)}",
            name=f"Territory {fips}",
            fips=fips,
            kind=StateKind.TERRITORY,
        )

    def drop_state(state):
        partners.delete_reference(actor=administrator, row=state)

    for arguments, forwards in [*DEFAULT, *_one_way(["name", "code", "fips"])]:
        churn = Churn(new_state, drop_state)
        run(f"states({arguments})", _ordered("states", arguments), ["states"], churn, forwards, 20)

    # Nested connections, under a list of parents (the optimizer prefetches every parent's
    # page in one query; with the default ordering the compiled path answers).
    watched_id = global_id(watched)

    def nested(field: str, arguments: str, selection: str = "id") -> str:
        inner = _ordered(field, arguments, selection)[len("query { ") : -len(" }")]
        return f"query {{ incidents(first: 100) {{ edges {{ node {{ id {inner} }} }} }} }}"

    for arguments, forwards in [*DEFAULT, *ACTION_ORDERINGS[-2:]]:
        churn = Churn(action, remove, [action()])
        path = ["incidents", ("edges", watched_id), "actions"]
        run(f"Incident.actions({arguments})", nested("actions", arguments), path, churn, forwards)

    def post():
        return coordination.add_incident_update(actor=officer, incident=watched, body="Update")

    for _ in range(6):
        post()
    for forwards in (True, False):
        churn = Churn(post, remove, [IncidentUpdate.objects.filter(incident=watched).last()])
        path = ["incidents", ("edges", watched_id), "updates"]
        run("Incident.updates", nested("updates", ""), path, churn, forwards)

    def edit():
        current = Incident.objects.get(pk=watched.pk)
        coordination.update_incident(
            actor=officer, incident=current, version=current.version, summary=f"S{next(_names)}"
        )
        return current.history.first()

    for _ in range(4):
        elsewhere(edit)
    for forwards in (True, False):  # history is append-only: records are only added
        path = ["incidents", ("edges", watched_id), "history"]
        query = nested("history", "", selection="id: recordHash")
        run("Incident.history", query, path, Churn(edit), forwards)

    org = organisations[1]
    for _ in range(4):
        make_contact(officer, org)

    def new_contact():
        return make_contact(officer, org)

    def drop_contact(contact):
        partners.delete_contact(actor=officer, contact=contact)

    for forwards in (True, False):
        churn = Churn(new_contact, drop_contact, [make_contact(officer, org)])
        query = (
            "query { partners(first: 100) { edges { node { id "
            + _ordered("contacts", "")[len("query { ") : -len(" }")]
            + " } } } }"
        )
        path = ["partners", ("edges", global_id(org)), "contacts"]
        run("Partner.contacts", query, path, churn, forwards)

    # A list a resolver defines: unanswered requests past due, the most overdue first.
    def overdue():
        past = timezone.now() - datetime.timedelta(hours=next(hours) + 2)
        return make_action(
            officer, watched, organisations[2], due_at=past + datetime.timedelta(hours=1), now=past
        )

    for _ in range(4):
        overdue()
    for forwards in (True, False):
        churn = Churn(overdue, remove)
        run("overdueActions", _ordered("overdueActions", ""), ["overdueActions"], churn, forwards)

    failures = [failure for failure in failures if failure]
    assert not failures, "\n".join(failures)
