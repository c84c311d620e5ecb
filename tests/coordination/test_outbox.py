"""The escalation outbox, against a real SMTP server on loopback (aiosmtpd): a mail server
that is down loses nothing, each e-mail is sent once when it is back, attempts are on the
record, back-off and giving up, rollback, and two deliverers at once."""

import datetime
import email
import email.policy
import io
import logging
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.management import CommandError, call_command
from django.db.models.signals import post_save
from django.urls import reverse
from django.utils import timezone

from coordination.models import (
    AttemptOutcome,
    Notification,
    NotificationAttempt,
    NotificationAudience,
    NotificationState,
)
from coordination.outbox import deliver_pending, retry_delay
from coordination.services import escalate_overdue
from opsapi.accounts.access import OPS_OFFICER
from tests.coordination.test_concurrency import run_together
from tests.coordination.test_escalation import needs_row_locks
from tests.factories import make_action, make_incident, make_partner

DUE = datetime.datetime(2025, 1, 15, 14, 0, tzinfo=datetime.UTC)
RUN = DUE + datetime.timedelta(hours=3)
MINUTE = datetime.timedelta(minutes=1)
WATCH = "watch@vdem.example.gov"
LEAD = "lead@ops.example.gov"


class Inbox:
    """An aiosmtpd handler keeping every message the server accepted."""

    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"


class MailServer:
    """An SMTP server on a loopback port the e-mail settings point at, down until started."""

    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self._controller = None

    def start(self):
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[tuple[str, str]]:
        """(recipients, subject) of each message received."""
        return [(m["To"], m["Subject"]) for m in self.inbox.messages]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mail_server(settings):
    """Django's SMTP backend pointed at a loopback port where nothing listens yet."""
    server = MailServer(free_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def overdue_action(officer, make_user):
    """An action to a partner with a watch mailbox, on an incident with a lead, due at DUE."""
    lead = make_user("lead", roles=[OPS_OFFICER], staff=True, email=LEAD)
    partner = make_partner(officer, name="Virginia Emergency Management", watch_email=WATCH)
    incident = make_incident(officer, title="Flooding on the James River", lead=lead)
    return make_action(
        officer, incident, partner, due_at=DUE, now=DUE - datetime.timedelta(hours=2)
    )


def queue(action, subject, at=None) -> Notification:
    """A notification due now (or ``at``), as an escalation writes it."""
    return Notification.objects.create(
        action=action,
        audience=NotificationAudience.PARTNER,
        recipients=[WATCH],
        subject=subject,
        body="Please acknowledge.",
        next_attempt_at=at or timezone.now(),
    )


def notifications(action) -> dict[str, Notification]:
    return {n.audience: n for n in action.notifications.all()}


def attempts(notification) -> list[tuple]:
    return [
        (a.number, a.at, a.outcome, a.error.split(":")[0])
        for a in notification.delivery_attempts.all()
    ]


# --- a mail server that is down, and comes back ----------------------------------------------


@pytest.mark.django_db
def test_a_mail_server_that_is_down_leaves_the_escalation_and_its_emails_pending(
    mail_server, overdue_action, caplog
):
    with caplog.at_level(logging.WARNING, logger="coordination.escalation"):
        run = escalate_overdue(now=RUN)

    assert [e.action for e in run.escalated] == [overdue_action]
    overdue_action.refresh_from_db()
    assert overdue_action.escalated_at == RUN
    sent = notifications(overdue_action)
    assert sorted(run.delivery.retrying) == sorted(n.pk for n in sent.values())
    assert {a: n.recipients for a, n in sent.items()} == {
        NotificationAudience.PARTNER: [WATCH],
        NotificationAudience.LEAD: [LEAD],
    }
    for notification in sent.values():
        assert (notification.state, notification.attempts, notification.next_attempt_at) == (
            NotificationState.PENDING,
            1,
            RUN + MINUTE,
        )
        assert notification.last_error.startswith("ConnectionRefusedError")
        assert attempts(notification) == [(1, RUN, AttemptOutcome.FAILED, "ConnectionRefusedError")]
    assert [r.levelno for r in caplog.records] == [logging.WARNING] * 2
    assert mail_server.received == []


@pytest.mark.django_db
def test_when_the_server_is_back_each_email_is_sent_exactly_once(mail_server, overdue_action):
    escalate_overdue(now=RUN)  # the server is down
    mail_server.start()

    early = deliver_pending(now=RUN + MINUTE - datetime.timedelta(seconds=1))
    assert (early.sent, mail_server.received) == ([], [])  # still backing off

    back = deliver_pending(now=RUN + MINUTE)
    again = escalate_overdue(now=RUN + 2 * MINUTE)  # the next scheduled run sends nothing more
    deliver_pending(now=RUN + datetime.timedelta(days=1))

    assert len(back.sent) == 2
    assert again.delivery.sent == []
    reference = overdue_action.incident.reference
    assert sorted(mail_server.received) == [
        (LEAD, f"[{reference}] Overdue: Request for information to Virginia Emergency "
         "Management, due 2025-01-15 09:00 EST"),
        (WATCH, f"[{reference}] Overdue: Request for information due 2025-01-15 09:00 EST"),
    ]  # fmt: skip
    for notification in notifications(overdue_action).values():
        assert (notification.state, notification.sent_at, notification.next_attempt_at) == (
            NotificationState.SENT,
            RUN + MINUTE,
            None,
        )
        assert attempts(notification) == [
            (1, RUN, AttemptOutcome.FAILED, "ConnectionRefusedError"),
            (2, RUN + MINUTE, AttemptOutcome.SENT, ""),
        ]


@pytest.mark.django_db
def test_an_escalation_rolled_back_leaves_no_email(mail_server, overdue_action):
    mail_server.start()

    def fail_after_the_partners_copy(sender, instance, **kwargs):
        if instance.audience == NotificationAudience.LEAD:
            raise RuntimeError("database went away")

    post_save.connect(fail_after_the_partners_copy, sender=Notification, dispatch_uid="test")
    try:
        run = escalate_overdue(now=RUN)
    finally:
        post_save.disconnect(sender=Notification, dispatch_uid="test")

    assert run.failed == [overdue_action.pk]
    overdue_action.refresh_from_db()
    assert overdue_action.escalated_at is None
    assert Notification.objects.count() == 0
    assert mail_server.received == []

    retry = escalate_overdue(now=RUN)
    assert [e.action for e in retry.escalated] == [overdue_action]
    assert len(mail_server.received) == 2


# --- back-off and giving up -------------------------------------------------------------------


def test_the_back_off_doubles_from_a_minute_up_to_an_hour():
    assert [retry_delay(n) for n in (1, 2, 3, 6, 7, 8, 500)] == [
        MINUTE,
        2 * MINUTE,
        4 * MINUTE,
        32 * MINUTE,
        60 * MINUTE,
        60 * MINUTE,
        60 * MINUTE,
    ]


@pytest.mark.django_db
def test_an_email_is_given_up_after_its_last_attempt_and_logged_once(
    mail_server, overdue_action, settings, caplog
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    with caplog.at_level(logging.WARNING, logger="coordination.escalation"):
        escalate_overdue(now=RUN)  # attempt 1; the next after a minute
        assert deliver_pending(now=RUN + MINUTE - datetime.timedelta(seconds=1)).retrying == []
        second = deliver_pending(now=RUN + MINUTE)  # the next after two more
        assert deliver_pending(now=RUN + 3 * MINUTE - datetime.timedelta(seconds=1)).retrying == []
        third = deliver_pending(now=RUN + 3 * MINUTE)
        later = deliver_pending(now=RUN + datetime.timedelta(days=1))

    assert len(second.retrying) == 2
    assert (len(third.given_up), third.retrying) == (2, [])
    assert (later.sent, later.retrying, later.given_up) == ([], [], [])
    for notification in notifications(overdue_action).values():
        assert (notification.state, notification.attempts, notification.next_attempt_at) == (
            NotificationState.FAILED,
            3,
            None,
        )
        assert [a[:3] for a in attempts(notification)] == [
            (1, RUN, AttemptOutcome.FAILED),
            (2, RUN + MINUTE, AttemptOutcome.FAILED),
            (3, RUN + 3 * MINUTE, AttemptOutcome.FAILED),
        ]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert all("after 3 attempts" in message for message in errors)
    assert {r.levelno for r in caplog.records} == {logging.WARNING, logging.ERROR}

    mail_server.start()
    deliver_pending(now=RUN + datetime.timedelta(days=2))
    assert mail_server.received == []  # given up means given up: an officer phones instead


# --- the worker's command ---------------------------------------------------------------------


@pytest.mark.django_db
def test_deliver_notifications_sends_what_is_due_and_fails_loudly_on_giving_up(
    mail_server, overdue_action, settings
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    doomed = queue(overdue_action, "Sent while the server is down")
    with pytest.raises(CommandError, match=rf"1 e-mail\(s\) given up .*ids {doomed.pk}\)"):
        call_command("deliver_notifications", stdout=io.StringIO())
    doomed.refresh_from_db()
    assert doomed.state == NotificationState.FAILED

    mail_server.start()
    notification = queue(overdue_action, "Overdue")
    out = io.StringIO()
    call_command("deliver_notifications", stdout=out)

    assert out.getvalue().splitlines() == ["1 e-mail(s) sent, 0 to be retried, 0 given up."]
    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert mail_server.received == [(WATCH, "Overdue")]


@pytest.mark.django_db
def test_escalate_overdue_fails_loudly_when_an_email_is_given_up(mail_server, officer, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    partner = make_partner(officer, watch_email=WATCH)
    now = timezone.now()
    action = make_action(
        officer, make_incident(officer), partner, due_at=now - MINUTE, now=now - 2 * MINUTE
    )
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"^1 e-mail\(s\) given up after their last attempt"):
        call_command("escalate_overdue", stdout=out)

    assert out.getvalue().splitlines()[-2:] == [
        "1 action(s) escalated.",
        "0 e-mail(s) sent, 0 to be retried, 1 given up.",
    ]
    action.refresh_from_db()
    assert action.escalated_at is not None  # the escalation stands; the e-mail is the problem


# --- two deliverers at once (PostgreSQL) ------------------------------------------------------


@needs_row_locks
def test_two_deliverers_at_once_send_each_email_once(mail_server, overdue_action):
    mail_server.start()
    for i in range(20):
        queue(overdue_action, f"Notice {i}", at=RUN)

    runs = run_together(2, lambda i: deliver_pending(now=RUN))

    assert sorted(pk for run in runs for pk in run.sent) == sorted(
        Notification.objects.values_list("pk", flat=True)
    )
    assert sorted(subject for _, subject in mail_server.received) == sorted(
        f"Notice {i}" for i in range(20)
    )
    assert NotificationAttempt.objects.count() == 20
    assert set(Notification.objects.values_list("state", flat=True)) == {NotificationState.SENT}


# --- the admin --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_officers_read_the_outbox_and_its_attempts_and_change_nothing(
    mail_server, overdue_action, officer_client, client, make_user
):
    escalate_overdue(now=RUN)
    mail_server.start()
    deliver_pending(now=RUN + MINUTE)
    lead_copy = notifications(overdue_action)[NotificationAudience.LEAD]
    listing = reverse("admin:coordination_notification_changelist")
    page = reverse("admin:coordination_notification_change", args=[lead_copy.pk])

    listed = officer_client.get(listing)
    shown = officer_client.get(page)

    assert listed.status_code == 200
    assert listed.content.decode().count(WATCH) == 1
    assert shown.status_code == 200
    html = shown.content.decode()
    assert "ConnectionRefusedError" in html  # the failed first attempt
    assert 'name="_save"' not in html
    assert officer_client.post(page, {}).status_code == 403
    client.force_login(make_user("outsider", staff=True))
    assert client.get(listing).status_code == 403


@pytest.mark.django_db
def test_each_email_costs_three_statements_in_its_own_transaction(
    overdue_action, mailoutbox, django_assert_num_queries
):
    for i in range(3):
        queue(overdue_action, f"Notice {i}")
    # Per e-mail: lock and read the next due row, insert the attempt, update the row, inside a
    # savepoint here (a transaction outside tests); then one more look finds nothing due.
    with django_assert_num_queries(3 * 5 + 3):
        delivery = deliver_pending()
    assert len(delivery.sent) == len(mailoutbox) == 3
