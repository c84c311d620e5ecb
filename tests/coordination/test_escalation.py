"""Overdue escalation: which actions are escalated, what is recorded and sent, that a second
run (or a concurrent one) does nothing twice, and the ``overdueActions`` query."""

import datetime
import io
import logging
import threading
from smtplib import SMTPServerDisconnected

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models.signals import pre_save
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coordination import services
from coordination.choices import ActionStatus, Tlp, UpdateKind
from coordination.models import CoordinationAction, IncidentUpdate
from coordination.services import center_time_text, escalate_overdue
from opsapi.accounts.access import OPS_OFFICER
from partners.services import update_partner
from tests.coordination.test_concurrency import run_together
from tests.factories import (
    global_id,
    make_action,
    make_contact,
    make_incident,
    make_partner,
    state,
)
from tests.graphql import GraphQLClient

# A winter morning: the center's time zone (America/New_York) is on EST.
DUE = datetime.datetime(2025, 1, 15, 14, 0, tzinfo=datetime.UTC)
DUE_TEXT = "2025-01-15 09:00 EST"
RUN = DUE + datetime.timedelta(hours=3)
REASON = "Escalated: unacknowledged 3 h past due"

OVERDUE = """
query($first: Int, $after: String) {
  overdueActions(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id status dueAt escalatedAt isOverdue
      incident { reference title }
      partner { name }
    } }
  }
}"""


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down: every send raises, as SMTP does when it drops the line."""

    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("Connection unexpectedly closed")


# --- the world --------------------------------------------------------------------------------


@pytest.fixture
def lead(make_user):
    return make_user("lead", roles=[OPS_OFFICER], staff=True, email="lead@ops.example.gov")


@pytest.fixture
def vdem(officer):
    """A partner reachable around the clock: a watch mailbox and 24/7 contacts."""
    partner = make_partner(
        officer,
        name="Virginia Emergency Management",
        watch_email="watch@vdem.example.gov",
        watch_phone="+1 804 555 0100",
    )
    make_contact(officer, partner, name="Duty Officer", email="duty@vdem.example.gov", is_24x7=True)
    # The watch mailbox again, as a contact: emailed once.
    make_contact(officer, partner, name="Night Desk", email="watch@vdem.example.gov", is_24x7=True)
    # Office hours only: not woken up at night.
    make_contact(officer, partner, name="Planner", email="planner@vdem.example.gov")
    make_contact(
        officer, partner, name="Radio Room", email="", phone="+1 804 555 0199", is_24x7=True
    )
    return partner


@pytest.fixture
def mema(officer):
    """A partner with a phone line only: nobody to email."""
    partner = make_partner(
        officer,
        name="Maryland Emergency Management",
        state=state("MD"),
        watch_phone="+1 410 555 0100",
    )
    make_contact(officer, partner, name="Director", email="director@mema.example.gov")
    return partner


@pytest.fixture
def incident(officer, lead):
    return make_incident(officer, title="Flooding on the James River", lead=lead)


def issue(officer, incident, partner, *, due=DUE, **fields):
    """An action issued two hours before it is due (unless told when)."""
    if "now" not in fields:
        fields["now"] = due - datetime.timedelta(hours=2)
    return make_action(officer, incident, partner, due_at=due, **fields)


@pytest.fixture
def escalate(django_capture_on_commit_callbacks):
    """Run the escalation as the command does, the emails going out when each one commits."""

    def run(now=RUN):
        with django_capture_on_commit_callbacks(execute=True):
            return escalate_overdue(now=now)

    return run


@pytest.fixture
def broken_timeline():
    """Make writing the timeline entry of the given incidents fail, after the action was saved
    (a real pre_save receiver: the database work before it is really done and rolled back)."""
    broken = set()

    def refuse(sender, instance, **kwargs):
        if instance.kind == UpdateKind.ESCALATION and instance.incident_id in broken:
            raise RuntimeError("timeline unavailable")

    pre_save.connect(refuse, sender=IncidentUpdate, dispatch_uid="test_broken_timeline")
    yield broken
    pre_save.disconnect(sender=IncidentUpdate, dispatch_uid="test_broken_timeline")


def escalation_entries(incident) -> list[IncidentUpdate]:
    return list(incident.updates.filter(kind=UpdateKind.ESCALATION))


def escalation_records(action) -> int:
    return action.history.filter(history_change_reason__startswith="Escalated:").count()


# --- which actions ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_escalates_only_pending_actions_past_their_due_time(escalate, officer, incident, vdem):
    three_hours_late = issue(officer, incident, vdem)
    half_an_hour_late = issue(officer, incident, vdem, due=RUN - datetime.timedelta(minutes=30))
    acknowledged = issue(officer, incident, vdem)
    services.acknowledge_action(actor=officer, action=acknowledged, version=1)
    answered = {}
    for outcome in ("in_progress", "completed", "declined"):
        answered[outcome] = issue(officer, incident, vdem)
        services.respond_to_action(
            actor=officer,
            action=answered[outcome],
            version=1,
            outcome=outcome,
            response="Handled by phone.",
        )
    cancelled = issue(officer, incident, vdem)
    services.cancel_action(actor=officer, action=cancelled, version=1)
    due_later = issue(officer, incident, vdem, due=RUN + datetime.timedelta(minutes=1))
    no_due_time = issue(officer, incident, vdem, due=None, now=DUE)

    run = escalate()

    assert [e.action for e in run.escalated] == [three_hours_late, half_an_hour_late]
    assert [e.late_by for e in run.escalated] == [
        datetime.timedelta(hours=3),
        datetime.timedelta(minutes=30),
    ]
    assert run.failed == []
    escalated = CoordinationAction.objects.filter(escalated_at__isnull=False)
    assert set(escalated.values_list("pk", flat=True)) == {
        three_hours_late.pk,
        half_an_hour_late.pk,
    }
    assert set(escalated.values_list("escalated_at", flat=True)) == {RUN}
    for untouched in (acknowledged, *answered.values(), cancelled, due_later, no_due_time):
        untouched.refresh_from_db()
        assert untouched.escalated_at is None
        assert escalation_records(untouched) == 0
    assert len(escalation_entries(incident)) == 2


# --- what is recorded and sent ----------------------------------------------------------------


@pytest.mark.django_db
def test_escalation_is_on_the_record_once(escalate, officer, incident, vdem):
    action = issue(officer, incident, vdem)

    escalate()

    action.refresh_from_db()
    assert (action.status, action.escalated_at, action.version) == (ActionStatus.PENDING, RUN, 2)
    assert action.history.count() == 2
    record = action.history.order_by("-history_id").first()
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "~",
        None,
        REASON,
    )
    assert {change["field"] for change in record.changes} >= {"escalated_at", "version"}
    assert "status" not in {change["field"] for change in record.changes}


@pytest.mark.django_db
def test_escalation_adds_one_internal_timeline_entry(escalate, officer, incident, vdem):
    issue(officer, incident, vdem)

    escalate()

    [entry] = escalation_entries(incident)
    assert (entry.author, entry.posted_at, entry.partner_visible) == (None, RUN, False)
    assert entry.body == (
        "Overdue: the request for information asked of Virginia Emergency Management "
        f"(due {DUE_TEXT}) is still unacknowledged 3 h later.\n"
        "Emailed the partner's 24/7 watch: duty@vdem.example.gov, watch@vdem.example.gov.\n"
        "Emailed the incident lead: lead@ops.example.gov."
    )
    [record] = entry.history.all()
    assert (record.history_user, record.history_change_reason) == (None, REASON)


@pytest.mark.django_db
def test_the_partner_user_does_not_see_the_escalation_entry(
    escalate, officer, make_user, incident, vdem
):
    issue(officer, incident, vdem)
    escalate()
    partner_user = make_user("vdem.watch", partner=vdem)
    assert IncidentUpdate.objects.visible_to(partner_user).count() == 0
    assert IncidentUpdate.objects.visible_to(officer).count() == 1


@pytest.mark.django_db
def test_emails_go_to_the_partners_24x7_watch_and_to_the_incident_lead(
    escalate, officer, incident, vdem, mailoutbox, settings
):
    issue(officer, incident, vdem)

    escalate()

    partner_copy, lead_copy = mailoutbox
    assert partner_copy.to == ["duty@vdem.example.gov", "watch@vdem.example.gov"]
    assert partner_copy.subject == (
        f"[{incident.reference}] Overdue: Request for information due {DUE_TEXT}"
    )
    assert partner_copy.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Overdue:  3 h" in partner_copy.body
    # A watch mailbox is read by whoever is on duty: no title, no instructions.
    assert incident.title not in partner_copy.body
    assert "Report the status" not in partner_copy.body

    assert lead_copy.to == ["lead@ops.example.gov"]
    assert lead_copy.subject == (
        f"[{incident.reference}] Overdue: Request for information to Virginia Emergency "
        f"Management, due {DUE_TEXT}"
    )
    assert incident.title in lead_copy.body
    assert "emailed: duty@vdem.example.gov, watch@vdem.example.gov." in lead_copy.body


@pytest.mark.django_db
def test_a_partner_with_no_24x7_email_is_escalated_and_the_gap_is_said(
    escalate, officer, incident, mema, mailoutbox, caplog
):
    action = issue(officer, incident, mema)

    with caplog.at_level(logging.WARNING, logger="coordination.escalation"):
        run = escalate()

    assert [e.action for e in run.escalated] == [action]
    assert run.escalated[0].partner_recipients == ()
    action.refresh_from_db()
    assert action.escalated_at == RUN
    [entry] = escalation_entries(incident)
    assert entry.body.splitlines()[1] == (
        "No email went to the partner: it has no 24/7 email address; "
        "its watch phone is +1 410 555 0100."
    )
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "Maryland Emergency Management has no 24/7 email address" in warning.getMessage()
    [lead_copy] = mailoutbox
    assert lead_copy.to == ["lead@ops.example.gov"]
    assert "emailed: nobody (it has no 24/7 email address)." in lead_copy.body


@pytest.mark.django_db
def test_no_lead_and_an_inactive_partner_means_no_email_at_all(escalate, officer, vdem, mailoutbox):
    incident = make_incident(officer)
    action = issue(officer, incident, vdem)
    update_partner(actor=officer, partner=vdem, active=False, reason="Merged into another office")

    run = escalate()

    assert [e.action for e in run.escalated] == [action]
    assert mailoutbox == []
    [entry] = escalation_entries(incident)
    assert entry.body.splitlines()[1:] == [
        "No email went to the partner: it is marked inactive; its watch phone is +1 804 555 0100.",
        "No email went to an incident lead: none with an email address is set.",
    ]


# --- idempotence ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_second_run_escalates_records_and_sends_nothing(
    escalate, officer, incident, vdem, mema, mailoutbox
):
    actions = [issue(officer, incident, vdem), issue(officer, incident, mema)]
    first = escalate()
    assert len(first.escalated) == 2
    assert len(mailoutbox) == 3  # vdem's watch, and the lead twice
    history = CoordinationAction.history.count()
    timeline = IncidentUpdate.objects.count()
    timeline_history = IncidentUpdate.history.count()

    second = escalate(now=RUN + datetime.timedelta(hours=1))

    assert (second.escalated, second.failed) == ([], [])
    assert len(mailoutbox) == 3
    assert CoordinationAction.history.count() == history
    assert IncidentUpdate.objects.count() == timeline
    assert IncidentUpdate.history.count() == timeline_history
    for action in actions:
        action.refresh_from_db()
        assert (action.escalated_at, action.version) == (RUN, 2)


@pytest.mark.django_db
def test_an_escalated_action_can_still_be_acknowledged(
    escalate, officer, incident, vdem, make_user
):
    action = issue(officer, incident, vdem)
    escalate()
    partner_user = make_user("vdem.watch", partner=vdem)
    client = GraphQLClient.logged_in(partner_user)
    acknowledge = """
    mutation($input: AcknowledgeCoordinationActionInput!) {
      acknowledgeCoordinationAction(input: $input) {
        ... on CoordinationAction { status version escalatedAt acknowledgedBy { username } }
        ... on OperationInfo { messages { field code } }
      }
    }"""

    stale = client.data(acknowledge, {"input": {"id": global_id(action), "version": 1}})
    assert stale["acknowledgeCoordinationAction"]["messages"] == [
        {"field": "version", "code": "stale_version"}
    ]
    done = client.data(acknowledge, {"input": {"id": global_id(action), "version": 2}})

    assert done["acknowledgeCoordinationAction"] == {
        "status": "ACKNOWLEDGED",
        "version": 3,
        "escalatedAt": RUN.isoformat(),
        "acknowledgedBy": {"username": "vdem.watch"},
    }
    assert GraphQLClient.logged_in(officer).data(OVERDUE)["overdueActions"]["totalCount"] == 0


# --- failures ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failure_after_saving_rolls_that_escalation_back_and_sends_nothing_for_it(
    escalate, officer, lead, vdem, broken_timeline, mailoutbox, caplog
):
    broken_incident = make_incident(officer, lead=lead)
    sound_incident = make_incident(officer, lead=lead)
    broken = issue(officer, broken_incident, vdem)
    sound = issue(officer, sound_incident, vdem, due=DUE + datetime.timedelta(minutes=1))
    broken_timeline.add(broken_incident.pk)

    with caplog.at_level(logging.ERROR, logger="coordination.escalation"):
        run = escalate()

    assert run.failed == [broken.pk]
    assert [e.action for e in run.escalated] == [sound]
    broken.refresh_from_db()
    assert (broken.escalated_at, broken.version) == (None, 1)
    assert escalation_records(broken) == 0
    assert escalation_entries(broken_incident) == []
    assert [m.subject.split("]")[0] for m in mailoutbox] == [f"[{sound_incident.reference}"] * 2
    [error] = caplog.records
    assert error.getMessage().startswith(f"Escalating coordination action {broken.pk} failed")

    broken_timeline.clear()
    retry = escalate()
    assert [e.action for e in retry.escalated] == [broken]
    assert len(mailoutbox) == 4


@pytest.mark.django_db
def test_email_failures_are_logged_and_keep_the_escalation(
    escalate, officer, incident, vdem, mailoutbox, caplog
):
    # Retries and back-off: tests/coordination/test_outbox.py.
    action = issue(officer, incident, vdem)

    with (
        override_settings(EMAIL_BACKEND=f"{__name__}.RefusingBackend"),
        caplog.at_level(logging.WARNING, logger="coordination.escalation"),
    ):
        run = escalate()

    assert [e.action for e in run.escalated] == [action]
    action.refresh_from_db()
    assert action.escalated_at == RUN
    assert escalation_records(action) == 1
    assert len(escalation_entries(incident)) == 1
    assert len(run.delivery.retrying) == 2
    assert [r.getMessage().split(" could not be sent")[0] for r in caplog.records] == [
        f"The escalation e-mail {run.delivery.retrying[0]} for coordination action "
        f"{action.pk} to duty@vdem.example.gov, watch@vdem.example.gov",
        f"The escalation e-mail {run.delivery.retrying[1]} for coordination action "
        f"{action.pk} to lead@ops.example.gov",
    ]
    assert {r.levelno for r in caplog.records} == {logging.WARNING}
    assert mailoutbox == []


# --- the command ------------------------------------------------------------------------------


def overdue_by_three_hours(officer, incident, partner):
    now = timezone.now()
    return make_action(
        officer,
        incident,
        partner,
        due_at=now - datetime.timedelta(hours=3),
        now=now - datetime.timedelta(hours=5),
    )


def run_command(*args) -> list[str]:
    out = io.StringIO()
    call_command("escalate_overdue", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.mark.django_db
def test_the_command_prints_each_escalation_and_the_total_under_its_own_request_id(
    officer, incident, vdem, mema, mailoutbox, django_capture_on_commit_callbacks
):
    first = overdue_by_three_hours(officer, incident, vdem)
    second = overdue_by_three_hours(officer, incident, mema)

    with django_capture_on_commit_callbacks(execute=True):
        lines = run_command()

    due = [center_time_text(first.due_at), center_time_text(second.due_at)]
    assert lines == [
        f"escalated {incident.reference} request for information to Virginia Emergency "
        f"Management, due {due[0]}, 3 h past due; e-mailing duty@vdem.example.gov, "
        "watch@vdem.example.gov, lead@ops.example.gov",
        f"escalated {incident.reference} request for information to Maryland Emergency "
        f"Management, due {due[1]}, 3 h past due; e-mailing lead@ops.example.gov",
        "2 action(s) escalated.",
        "3 e-mail(s) sent, 0 to be retried, 0 given up.",
    ]
    assert len(mailoutbox) == 3
    records = [first.history.latest("history_id"), second.history.latest("history_id")]
    records += [u.history.get() for u in escalation_entries(incident)]
    request_ids = {record.request_id for record in records}
    assert len(request_ids) == 1
    assert request_ids.pop().startswith("cmd:escalate_overdue:")

    assert run_command() == [
        "0 action(s) escalated.",
        "0 e-mail(s) sent, 0 to be retried, 0 given up.",
    ]
    assert len(mailoutbox) == 3


@pytest.mark.django_db
def test_dry_run_lists_and_changes_nothing(officer, incident, vdem, mailoutbox):
    action = overdue_by_three_hours(officer, incident, vdem)
    issue(officer, incident, vdem, due=timezone.now() + datetime.timedelta(hours=1))
    history = CoordinationAction.history.count()

    lines = run_command("--dry-run")

    assert lines == [
        f"would escalate {incident.reference} request for information to Virginia Emergency "
        f"Management, due {center_time_text(action.due_at)}, 3 h past due",
        "1 action(s) would be escalated (dry run: nothing saved or sent).",
    ]
    action.refresh_from_db()
    assert (action.escalated_at, action.version) == (None, 1)
    assert CoordinationAction.history.count() == history
    assert escalation_entries(incident) == []
    assert mailoutbox == []


@pytest.mark.django_db
def test_the_command_fails_loudly_when_an_action_could_not_be_escalated(
    officer, incident, vdem, broken_timeline
):
    action = overdue_by_three_hours(officer, incident, vdem)
    broken_timeline.add(incident.pk)
    with pytest.raises(
        CommandError, match=rf"1 action\(s\) could not be escalated \(ids {action.pk}\)"
    ):
        run_command()


# --- overdueActions ---------------------------------------------------------------------------


@pytest.fixture
def overdue_world(escalate, officer, lead, vdem, mema):
    """Past-due pending actions to two partners, two already escalated, and some that are not
    overdue or not visible to a partner."""
    flood = make_incident(officer, title="Flooding on the James River", lead=lead)
    red = make_incident(officer, title="Threat to a water utility", tlp=Tlp.RED)
    day = datetime.timedelta(days=1)
    actions = {
        "vdem_oldest": issue(officer, flood, vdem, due=DUE - day),
        "mema": issue(officer, flood, mema, due=DUE - datetime.timedelta(hours=2)),
        "vdem_red": issue(officer, red, vdem, due=DUE - datetime.timedelta(hours=1)),
        "vdem_recent": issue(officer, flood, vdem, due=DUE),
    }
    acknowledged = issue(officer, flood, vdem, due=DUE - day)
    services.acknowledge_action(actor=officer, action=acknowledged, version=1)
    issue(officer, flood, vdem, due=timezone.now() + datetime.timedelta(hours=2))
    escalate(now=DUE - datetime.timedelta(minutes=90))  # the two oldest
    return actions


def listed(client) -> list[str]:
    connection_ = client.data(OVERDUE)["overdueActions"]
    assert connection_["totalCount"] == len(connection_["edges"])
    return [edge["node"]["id"] for edge in connection_["edges"]]


def ids(actions, *names) -> list[str]:
    return [global_id(actions[name]) for name in names]


@pytest.mark.django_db
def test_officers_and_auditors_see_every_overdue_action_most_overdue_first(
    overdue_world, gql, auditor
):
    expected = ids(overdue_world, "vdem_oldest", "mema", "vdem_red", "vdem_recent")
    assert listed(gql) == expected
    assert listed(GraphQLClient.logged_in(auditor)) == expected

    nodes = [edge["node"] for edge in gql.data(OVERDUE)["overdueActions"]["edges"]]
    assert [node["escalatedAt"] is not None for node in nodes] == [True, True, False, False]
    assert {(node["status"], node["isOverdue"]) for node in nodes} == {("PENDING", True)}


@pytest.mark.django_db
def test_a_partner_user_sees_only_its_own_organisations_visible_overdue_actions(
    overdue_world, make_user, vdem, mema
):
    # vdem's action on the TLP:RED incident stays hidden: the user is not named on it.
    assert listed(GraphQLClient.logged_in(make_user("vdem.watch", partner=vdem))) == ids(
        overdue_world, "vdem_oldest", "vdem_recent"
    )
    assert listed(GraphQLClient.logged_in(make_user("mema.watch", partner=mema))) == ids(
        overdue_world, "mema"
    )


@pytest.mark.django_db
def test_an_account_without_a_role_sees_no_overdue_action(overdue_world, outsider):
    result = GraphQLClient.logged_in(outsider).data(OVERDUE)["overdueActions"]
    assert (result["totalCount"], result["edges"]) == (0, [])


@pytest.mark.django_db
def test_anonymous_callers_get_an_authentication_error(overdue_world, anonymous_gql):
    response = anonymous_gql.post(OVERDUE)
    assert response.status_code == 401
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.django_db
def test_overdue_actions_page_with_cursors(overdue_world, gql):
    first = gql.data(OVERDUE, {"first": 3})["overdueActions"]
    assert first["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"] is True
    rest = gql.data(OVERDUE, {"first": 3, "after": first["pageInfo"]["endCursor"]})
    rest = rest["overdueActions"]
    assert rest["pageInfo"]["hasNextPage"] is False
    seen = [edge["node"]["id"] for edge in first["edges"] + rest["edges"]]
    assert seen == ids(overdue_world, "vdem_oldest", "mema", "vdem_red", "vdem_recent")


@pytest.mark.django_db
def test_a_page_size_over_the_cap_is_refused_naming_the_argument(gql):
    body = gql(OVERDUE, {"first": 101})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        client.data(OVERDUE)
    return len(queries)


@pytest.mark.django_db
def test_overdue_actions_cost_the_same_queries_for_3_or_30_actions(
    officer, lead, vdem, mema, make_user, django_assert_max_num_queries
):
    partner_user = GraphQLClient.logged_in(make_user("vdem.watch", partner=vdem))
    clients = {"officer": GraphQLClient.logged_in(officer), "partner": partner_user}

    def add_actions(count):
        for i in range(count):
            incident = make_incident(officer, lead=lead)
            issue(officer, incident, vdem if i % 2 else mema, due=DUE + i * datetime.timedelta(1))

    add_actions(3)
    few = {name: count_queries(client) for name, client in clients.items()}
    add_actions(27)
    many = {name: count_queries(client) for name, client in clients.items()}

    assert few == many
    # Session, user, roles and the partner user's membership; then the page with its total,
    # its incidents and its partners: no query per row.
    with django_assert_max_num_queries(7):
        assert clients["partner"].data(OVERDUE)["overdueActions"]["totalCount"] == 14


# --- concurrent runs (PostgreSQL) -------------------------------------------------------------


def needs_row_locks(test):
    """Real row locks with SKIP LOCKED: PostgreSQL. (SQLite ignores SELECT ... FOR UPDATE and
    lets one writer in at a time, so two runs cannot overlap there.)"""
    test = pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks exist on PostgreSQL only"
    )(test)
    test = pytest.mark.django_db(transaction=True, serialized_rollback=True)(test)
    return pytest.mark.postgres(test)


@needs_row_locks
def test_two_runs_at_once_escalate_and_email_each_action_once(officer, lead, vdem, mailoutbox):
    incident = make_incident(officer, lead=lead)
    minute = datetime.timedelta(minutes=1)
    actions = [issue(officer, incident, vdem, due=DUE + i * minute) for i in range(20)]

    runs = run_together(2, lambda i: escalate_overdue(now=RUN))

    assert [run.failed for run in runs] == [[], []]
    escalated = [e.action.pk for run in runs for e in run.escalated]
    assert sorted(escalated) == sorted(action.pk for action in actions)
    assert [escalation_records(action) for action in actions] == [1] * 20
    assert len(escalation_entries(incident)) == 20
    assert len(mailoutbox) == 40  # the partner's watch and the lead, once per action


@needs_row_locks
def test_a_run_skips_an_action_locked_elsewhere_instead_of_waiting(officer, lead, vdem, mailoutbox):
    incident = make_incident(officer, lead=lead)
    held = issue(officer, incident, vdem)
    free = issue(officer, incident, vdem, due=DUE + datetime.timedelta(minutes=1))
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        try:
            with transaction.atomic():
                CoordinationAction.objects.select_for_update().get(pk=held.pk)
                locked.set()
                # A run that waited for the lock would wait this long and then escalate it.
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        run = escalate_overdue(now=RUN)
        assert holder.is_alive(), "the run returned while the row was still locked"
    finally:
        release.set()
        holder.join()

    assert [e.action for e in run.escalated] == [free]
    held.refresh_from_db()
    assert (held.escalated_at, escalation_records(held)) == (None, 0)
    assert [e.action for e in escalate_overdue(now=RUN).escalated] == [held]
    assert len(mailoutbox) == 4
