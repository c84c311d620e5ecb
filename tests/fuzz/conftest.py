"""The people and clients of the fuzz suite, and the suite's hypothesis settings.

The settings are fixed so that CI is reproducible: ``derandomize`` makes each test draw the same
examples on every run, ``deadline=None`` because a 1 MB string through the whole stack takes
as long as it takes, and a modest number of examples keeps the suite within about a minute.
"""

import dataclasses

import pytest
from hypothesis import HealthCheck, settings

from opsapi.accounts.access import AUDITOR, OPS_OFFICER
from tests.factories import make_partner
from tests.graphql import GraphQLClient

settings.register_profile(
    "fuzz",
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ = settings.get_profile("fuzz")

OFFICER, PARTNER_USER, AUDITOR_ROLE = "officer", "partner user", "auditor"


@dataclasses.dataclass
class People:
    officer: object
    partner: object
    partner_user: object
    auditor: object
    clients: dict


@pytest.fixture
def people(make_user):
    """An officer, a partner organisation with one user, and an auditor, each with a client."""
    officer = make_user("fuzz.officer", roles=[OPS_OFFICER], staff=True)
    partner = make_partner(officer, name="Fuzz County Emergency Management")
    partner_user = make_user("fuzz.partner", partner=partner)
    auditor = make_user("fuzz.auditor", roles=[AUDITOR], staff=True)
    clients = {
        OFFICER: GraphQLClient.logged_in(officer),
        PARTNER_USER: GraphQLClient.logged_in(partner_user),
        AUDITOR_ROLE: GraphQLClient.logged_in(auditor),
    }
    return People(officer, partner, partner_user, auditor, clients)


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    """The fuzzer sends hundreds of requests a minute as one user: that is what the rate limit
    is for, and not what these tests are about."""
    settings.GRAPHQL_RATE_LIMIT = ""
