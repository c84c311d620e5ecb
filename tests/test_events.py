"""Change events are published once the writing transaction commits, and only then."""

import asyncio

import pytest
from django.db import transaction

from coordination import services
from coordination.models import CoordinationAction, Incident
from opsapi.events import group_of, publish
from tests.factories import make_action, make_incident, make_partner


class Interrupted(Exception):
    pass


@pytest.fixture
def listener(change_events):
    """The events published to the change groups of incidents and actions."""
    return change_events(Incident, CoordinationAction)


def test_a_committed_change_is_published_with_its_changed_fields(
    officer, listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = make_incident(officer, title="Pipeline leak")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_incident(actor=officer, incident=incident, version=1, title="Leak")
    created, updated = listener()
    assert (created["pk"], created["change"]) == (incident.pk, "created")
    assert {"reference", "title", "severity"} <= set(created["fields"])
    assert (updated["pk"], updated["change"]) == (incident.pk, "updated")
    assert updated["fields"] == ["title", "version", "updatedAt"]
    assert updated["record"] == incident.history.latest().pk
    assert "Leak" not in str(updated), "events carry field names, never values"


def test_rolled_back_work_publishes_nothing(officer, listener, django_capture_on_commit_callbacks):
    incident = make_incident(officer)
    partner = make_partner(officer)

    def interrupted_work():
        with transaction.atomic():
            services.update_incident(actor=officer, incident=incident, version=1, title="x")
            make_action(officer, incident, partner)
            raise Interrupted

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Interrupted):
        interrupted_work()
    assert callbacks == []
    assert listener() == []


def test_a_publishing_failure_does_not_fail_the_write(
    officer, settings, django_capture_on_commit_callbacks, caplog
):
    """A Redis that cannot be reached: the change commits, the event is logged and dropped."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Nothing listens on port 1 of loopback.
            "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0"}]},
        }
    }
    channel_layers.backends.clear()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            incident = make_incident(officer, title="Still saved")
    finally:
        channel_layers.backends.clear()
    assert Incident.objects.get(pk=incident.pk).title == "Still saved"
    assert "Change event not published" in caplog.text


def test_a_change_committed_on_an_event_loops_thread_is_published_too(listener):
    """Sync code running on an event loop's thread (an async test harness, a browser driver)
    cannot block on the layer: the send is scheduled on that loop instead."""
    message = {"type": group_of(Incident), "pk": 7, "change": "updated", "fields": ["title"]}

    async def on_the_loop():
        publish(group_of(Incident), message)
        await asyncio.sleep(0.05)

    asyncio.run(on_the_loop())
    assert listener() == [message]
