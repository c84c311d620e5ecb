"""Fixtures shared by the whole suite: people, API clients and reference data."""

import asyncio
import datetime
import os
import secrets
from unittest import mock

# The suite runs with production settings (DEBUG off), which require a real secret key.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.test import Client

from opsapi.accounts.access import AUDITOR, OPS_OFFICER, PARTNER_USER
from opsapi.accounts.models import PartnerMembership
from opsapi.audit.tracking import save_with_history
from opsapi.events import group_of
from tests.graphql import GraphQLClient


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the reference data (states, sectors, urban areas) once for the session.

    The database is then serialized again, so that transactional tests marked
    ``serialized_rollback=True`` get the reference data back after their flush. It is
    serialized with full microsecond precision: Django's JSON encoder keeps milliseconds only,
    and restoring a history row with a rounded ``history_date`` would be an UPDATE that the
    append-only triggers rightly refuse on PostgreSQL (and would break the hash chain).
    """
    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)
        with mock.patch("django.core.serializers.json.DjangoJSONEncoder", FullPrecisionEncoder):
            for connection in connections.all():
                connection._test_serialized_contents = connection.creation.serialize_db_to_string()


class FullPrecisionEncoder(DjangoJSONEncoder):
    """Django's JSON encoder, keeping the microseconds of datetimes and times."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


@pytest.fixture(autouse=True)
def _fresh_local_cache():
    """Each test starts with empty rate-limit counters (user ids repeat across tests). Only the
    local-memory cache is cleared: clearing a Redis cache would empty the whole database."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        cache.clear()


@pytest.fixture
def make_user(db):
    """Create a user: ``make_user("name", roles=[OPS_OFFICER])``, or a partner user with
    ``make_user("name", partner=some_partner)``. No roles: an account that may see nothing."""

    def make(username, *, roles=(), partner=None, staff=False, superuser=False, **fields):
        user = get_user_model().objects.create_user(
            username=username,
            password=secrets.token_urlsafe(16),
            is_staff=staff or superuser,
            is_superuser=superuser,
            **fields,
        )
        if partner is not None:
            roles = (*roles, PARTNER_USER)
            save_with_history(PartnerMembership(user=user, partner=partner), actor=None)
        user.groups.set(Group.objects.filter(name__in=roles))
        return user

    return make


@pytest.fixture
def officer(make_user):
    """An operations officer, who reads everything and writes operational data."""
    return make_user(
        "officer", roles=[OPS_OFFICER], staff=True, first_name="Olivia", last_name="Officer"
    )


@pytest.fixture
def auditor(make_user):
    """An auditor, who reads everything including history and writes nothing."""
    return make_user("auditor", roles=[AUDITOR], staff=True)


@pytest.fixture
def administrator(make_user):
    """An administrator (superuser): the Django admin, partner management, roles."""
    return make_user("administrator", superuser=True)


@pytest.fixture
def outsider(make_user):
    """An authenticated user with no role at the center."""
    return make_user("outsider")


@pytest.fixture
def officer_client(officer):
    """Django test client logged in as the officer (for admin pages)."""
    client = Client()
    client.force_login(officer)
    return client


@pytest.fixture
def gql(officer):
    """GraphQL client authenticated as the officer (session cookie, real view and middleware)."""
    return GraphQLClient.logged_in(officer)


@pytest.fixture
def anonymous_gql(db):
    """GraphQL client with no credentials at all."""
    return GraphQLClient(Client())


@pytest.fixture
def change_events():
    """``listen(*models)``: a channel in the change groups of ``models`` on the (in-memory)
    channel layer; it returns ``received()``, the events published to it so far."""
    layer = get_channel_layer()

    def listen(*models):
        channel = async_to_sync(layer.new_channel)()
        for model in models:
            async_to_sync(layer.group_add)(group_of(model), channel)

        async def take_all():
            messages = []
            while True:
                try:
                    messages.append(await asyncio.wait_for(layer.receive(channel), 0.2))
                except TimeoutError:
                    return messages

        return async_to_sync(take_all)

    yield listen
    async_to_sync(layer.flush)()
