"""The escalation outbox: sending the e-mails that escalations wrote, retried with back-off.

An escalation writes its e-mails as :class:`~coordination.models.Notification` rows in its
own transaction (:func:`coordination.services.escalate_overdue`), so an escalation is never
saved without the e-mails that tell people about it, nor an e-mail queued for an escalation
that was rolled back. :func:`deliver_pending` sends them, called by ``escalate_overdue`` after
each run and by the ``deliver_notifications`` command (for a worker or a cron line of its own).

Each notification is sent in its own transaction, which locks its row, hands the message to
the mail server and records the outcome before it commits:

- accepted: marked sent, with a ``sent`` attempt;
- refused (connection refused, timed out, SMTP error): a ``failed`` attempt with the error,
  and the next attempt scheduled after an exponential back-off — one minute, then 2, 4, 8 …
  up to an hour between attempts. After the last allowed attempt it is marked failed for good
  and logged at ERROR, once: someone has to phone the partner and the lead.

A mail server that is down loses nothing: the rows wait, and the first run after it is back
sends each of them.

**Two deliverers at once** (two workers, or a worker and ``escalate_overdue``): on PostgreSQL
the row is picked with ``SELECT ... FOR UPDATE SKIP LOCKED``, so a row being sent is skipped
by the other deliverer rather than sent twice or waited for, and since it is marked sent in
the transaction that holds the lock, nobody picks it again. On SQLite, which has no row locks,
the select is a plain one; SQLite lets one writer in at a time, which serialises the marking
but not the sending, so run a single deliverer there (SQLite is for development only).

**At least once, not exactly once.** Between the mail server accepting a message and the
commit that marks it sent there is a window: if the process dies there (killed, host lost) or
the commit fails, the row is still pending and the message is sent again by the next run.
Likewise a server that accepted the message but whose reply never arrived looks like a
failure and the message is retried. The window is one SMTP reply and one commit long, so a
duplicate is rare, and a duplicate escalation e-mail is the lesser harm than a lost one.

Settings (opsapi/settings.py, each from the environment):

- ``NOTIFICATION_MAX_ATTEMPTS`` (10): attempts before a notification is given up; with the
  default back-off that is about four hours of retrying.
- ``NOTIFICATION_RETRY_FIRST`` (60): seconds before the second attempt; doubles each time.
- ``NOTIFICATION_RETRY_LONGEST`` (3600): the longest wait between two attempts, in seconds.
- ``EMAIL_TIMEOUT`` (30): Django's own, seconds before a hung mail server is given up, so
  that it does not hold a row's lock (and the run) forever.
"""

import dataclasses
import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from coordination.choices import AttemptOutcome, NotificationState
from coordination.models import Notification, NotificationAttempt

logger = logging.getLogger("coordination.escalation")

DEFAULT_LIMIT = 500
MAX_ERROR_LENGTH = 2000
FAILURE_FIELDS = ["attempts", "last_error", "next_attempt_at"]


def max_attempts() -> int:
    return settings.NOTIFICATION_MAX_ATTEMPTS


def retry_delay(failed_attempts: int) -> datetime.timedelta:
    """How long to wait after the ``failed_attempts``-th failure: 1 min, 2, 4 … capped."""
    first = settings.NOTIFICATION_RETRY_FIRST
    longest = settings.NOTIFICATION_RETRY_LONGEST
    # Capped before it is computed: 2**n grows past any timedelta long before n = 64.
    exponent = min(max(failed_attempts - 1, 0), 32)
    return datetime.timedelta(seconds=min(first * 2**exponent, longest))


@dataclasses.dataclass
class Delivery:
    """What one :func:`deliver_pending` did: notification ids sent, to be retried, given up."""

    sent: list[int] = dataclasses.field(default_factory=list)
    retrying: list[int] = dataclasses.field(default_factory=list)
    given_up: list[int] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.sent)} e-mail(s) sent, {len(self.retrying)} to be retried, "
            f"{len(self.given_up)} given up."
        )

    def given_up_text(self) -> str:
        ids = ", ".join(str(pk) for pk in self.given_up)
        return (
            f"{len(self.given_up)} e-mail(s) given up after their last attempt (notification "
            f"ids {ids}); see the log and tell their recipients another way."
        )


def due_notifications(now=None):
    """Pending notifications whose next attempt is due, the longest waiting first."""
    return Notification.objects.filter(
        state=NotificationState.PENDING, next_attempt_at__lte=now or timezone.now()
    ).order_by("next_attempt_at", "pk")


def deliver_pending(*, now=None, limit: int = DEFAULT_LIMIT) -> Delivery:
    """Send up to ``limit`` due notifications, each once, recording every attempt.

    ``now`` (default: the clock at each attempt) decides which are due and stamps the
    attempts. Mail-server failures are recorded and scheduled for retry, never raised.
    """
    delivery = Delivery()
    mail = get_connection()  # EMAIL_TIMEOUT bounds a hung mail server
    try:
        for _ in range(limit):
            if not _deliver_next(mail, now or timezone.now(), delivery):
                break
    finally:
        _close_quietly(mail)
    return delivery


@transaction.atomic
def _deliver_next(mail, now, delivery: Delivery) -> bool:
    """Send the next due notification; False when none is due (or all are being sent)."""
    notification = due_notifications(now).select_for_update(skip_locked=True).first()
    if notification is None:
        return False
    message = EmailMessage(
        subject=notification.subject,
        body=notification.body,
        to=notification.recipients,
        connection=mail,
    )
    try:
        if message.send() != 1:
            raise RuntimeError("the mail backend accepted no message")
    except Exception as error:
        _close_quietly(mail)  # whatever broke, the next message starts on a fresh connection
        _record_failure(notification, now, f"{type(error).__name__}: {error}", delivery)
    else:
        _record(notification, now, AttemptOutcome.SENT)
        notification.state = NotificationState.SENT
        notification.sent_at = now
        notification.next_attempt_at = None
        notification.save(update_fields=["attempts", "state", "sent_at", "next_attempt_at"])
        delivery.sent.append(notification.pk)
    return True


def _record(notification, now, outcome, error="") -> None:
    notification.attempts += 1
    NotificationAttempt.objects.create(
        notification=notification,
        number=notification.attempts,
        at=now,
        outcome=outcome,
        error=error,
    )


def _record_failure(notification, now, error: str, delivery: Delivery) -> None:
    error = error[:MAX_ERROR_LENGTH]
    _record(notification, now, AttemptOutcome.FAILED, error)
    notification.last_error = error
    to = ", ".join(notification.recipients)
    if notification.attempts >= max_attempts():
        notification.state = NotificationState.FAILED
        notification.next_attempt_at = None
        notification.save(update_fields=[*FAILURE_FIELDS, "state"])
        delivery.given_up.append(notification.pk)
        logger.error(
            "Gave up the escalation e-mail %s for coordination action %s to %s after %s "
            "attempts (last: %s); tell them another way.",
            notification.pk,
            notification.action_id,
            to,
            notification.attempts,
            error,
        )
        return
    notification.next_attempt_at = now + retry_delay(notification.attempts)
    notification.save(update_fields=FAILURE_FIELDS)
    delivery.retrying.append(notification.pk)
    logger.warning(
        "The escalation e-mail %s for coordination action %s to %s could not be sent "
        "(attempt %s: %s); it is retried at %s.",
        notification.pk,
        notification.action_id,
        to,
        notification.attempts,
        error,
        notification.next_attempt_at.isoformat(),
    )


def _close_quietly(mail) -> None:
    try:
        mail.close()
    except Exception:  # a connection that broke cannot be closed cleanly; it is dropped
        logger.debug("Closing the mail connection failed.", exc_info=True)
