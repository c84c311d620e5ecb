"""The people and clients of the fuzz suite, and the suite's hypothesis settings.

The settings are fixed so that CI is reproducible: ``derandomize`` makes each test draw the same
examples on every run, ``deadline=None`` because a 1 MB string through the whole stack takes
as long as it takes, and a modest number of examples keeps the suite within about a minute.
"""

import dataclasses

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, settings

from opsapi.accounts.access import AUDITOR, OPS_OFFICER
from opsapi.accounts.access import PARTNER_USER as PARTNER_USER_GROUP
from opsapi.accounts.models import PartnerMembership
from opsapi.audit.tracking import save_with_history
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


def _user(username, *, roles=(), partner=None, **fields):
    # No password: hashing one costs more than everything else a fuzz test sets up.
    user = get_user_model().objects.create_user(username=username, **fields)
    if partner is not None:
        roles = (*roles, PARTNER_USER_GROUP)
        save_with_history(PartnerMembership(user=user, partner=partner), actor=None)
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


@pytest.fixture
def people(db):
    """An officer, a partner organisation with one user, and an auditor, each with a client."""
    officer = _user("fuzz.officer", roles=[OPS_OFFICER], is_staff=True)
    partner = make_partner(officer, name="Fuzz County Emergency Management")
    partner_user = _user("fuzz.partner", partner=partner)
    auditor = _user("fuzz.auditor", roles=[AUDITOR], is_staff=True)
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
