"""Fixtures shared by the whole suite: people, API clients and reference data."""

import os
import secrets

# The suite runs with production settings (DEBUG off), which require a real secret key.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections
from django.test import Client

from tests.graphql import GraphQLClient


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the reference data (states, sectors, urban areas) once for the session.

    The database is then serialized again, so that transactional tests marked
    ``serialized_rollback=True`` get the reference data back after their flush.
    """
    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)
        for connection in connections.all():
            connection._test_serialized_contents = connection.creation.serialize_db_to_string()


@pytest.fixture
def make_user(db):
    """Create a user: ``make_user("name", staff=True)``."""

    def make(username, *, staff=False, superuser=False, **fields):
        return get_user_model().objects.create_user(
            username=username,
            password=secrets.token_urlsafe(16),
            is_staff=staff or superuser,
            is_superuser=superuser,
            **fields,
        )

    return make


@pytest.fixture
def officer(make_user):
    """An operations officer (staff) who reads and writes operational data."""
    return make_user("officer", staff=True, first_name="Olivia", last_name="Officer")


@pytest.fixture
def outsider(make_user):
    """An authenticated user with no role at the center."""
    return make_user("outsider")


@pytest.fixture
def gql(officer):
    """GraphQL client authenticated as the officer (session cookie, real view and middleware)."""
    return GraphQLClient.logged_in(officer)


@pytest.fixture
def anonymous_gql(db):
    """GraphQL client with no credentials at all."""
    return GraphQLClient(Client())
