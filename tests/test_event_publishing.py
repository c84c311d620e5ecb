"""Publishing from code outside any event loop (a WSGI worker, a command, the test client):
every event arrives, in order, sent from one long-lived loop over one Redis connection rather
than a new thread, event loop and connection per event."""

import secrets

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from coordination.models import Incident
from opsapi.events import group_of, publish
from tests.factories import make_incident
from tests.servers import REDIS_URL, require_redis


@pytest.fixture
def redis_layer(settings):
    """The channel layer in the local Redis, under a prefix of this test's own; its
    connections carry that prefix as their client name."""
    require_redis()
    prefix = f"test-{secrets.token_hex(4)}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "client_name": prefix}], "prefix": prefix},
        }
    }
    channel_layers.backends.clear()
    layer = get_channel_layer()
    layer.test_prefix = prefix
    yield layer
    channel_layers.backends.clear()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def open_connections(layer) -> set[int]:
    """Ids (the server's, never reused) of the layer's connections open now."""
    clients = redis.Redis.from_url(REDIS_URL).client_list()
    return {int(c["id"]) for c in clients if c["name"] == layer.test_prefix}


def test_events_published_outside_an_event_loop_share_one_redis_connection(redis_layer):
    layer = redis_layer
    group = group_of(Incident)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    publish(group, {"type": group, "pk": 0})
    publishing = open_connections(layer)

    for pk in range(1, 21):
        publish(group, {"type": group, "pk": pk})

    async def receive_all():
        return [(await layer.receive(channel))["pk"] for _ in range(21)]

    assert async_to_sync(receive_all)() == list(range(21))
    assert len(publishing) == 1, "the connection the events go out on stays open"
    assert publishing <= open_connections(layer), "and it is the same one for every event"


def test_a_committed_write_outside_an_event_loop_is_published(
    officer, redis_layer, django_capture_on_commit_callbacks
):
    layer = redis_layer
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_of(Incident), channel)
    with django_capture_on_commit_callbacks(execute=True):
        incident = make_incident(officer)
    message = async_to_sync(layer.receive)(channel)
    assert (message["pk"], message["change"]) == (incident.pk, "created")
