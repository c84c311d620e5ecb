"""One world for the access tests, built once per module through the services.

Two partner organisations (Alpha, whose user is the partner user P, and Bravo), one user of
each role, and incidents at every distance from P: shared with Alpha, reached by an action to
Alpha, shared only with Bravo, TLP:RED with and without P named, and never shared at all.

The world is built inside a transaction held open for the whole module and rolled back at its
end; every test runs in a savepoint inside it, so tests may write freely and still see the
world as built. Users get no password: hashing one costs more than the rest of the world.
"""

import dataclasses

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from coordination.choices import Tlp, UpdateKind
from coordination.models import CoordinationAction, Incident, IncidentUpdate
from coordination.services import add_incident_update, share_incident
from opsapi.accounts.access import AUDITOR, OPS_OFFICER, PARTNER_USER
from opsapi.accounts.models import PartnerMembership
from opsapi.accounts.services import issue_token
from opsapi.audit.tracking import save_with_history
from partners.models import Contact, Partner
from tests.factories import make_action, make_contact, make_incident, make_partner
from tests.graphql import GraphQLClient
from tests.wsclient import InProcessGraphQLWebSocket

# Columns of the matrix in docs/access.md (anonymous has no user).
OFFICER, PARTNER, AUDITOR_ROLE, ADMINISTRATOR, NO_ROLE, ANONYMOUS = (
    "officer",
    "partner",
    "auditor",
    "administrator",
    "no_role",
    "anonymous",
)
ROLES = (OFFICER, PARTNER, AUDITOR_ROLE, ADMINISTRATOR, NO_ROLE)

# Rows any mutation could write, with their history tables.
TRACKED = (Incident, IncidentUpdate, CoordinationAction, Partner, Contact)


# The transports every GraphQL rule is proven on: the HTTP view with the role's session, and
# the WebSocket application with the role's API token (tests.wsclient, in process).
HTTP, WEBSOCKET = "http", "websocket"
TRANSPORTS = (HTTP, WEBSOCKET)


@dataclasses.dataclass
class World:
    users: dict
    partners: dict
    contacts: dict
    incidents: dict
    updates: dict
    actions: dict
    tokens: dict
    transport: str = HTTP

    def client(self, role: str):
        """A GraphQL client for ``role`` over the test's transport: the HTTP view (session
        cookie) or the WebSocket application (API token in connection_init)."""
        if self.transport == WEBSOCKET:
            return InProcessGraphQLWebSocket(self.tokens.get(role))
        if role == ANONYMOUS:
            from django.test import Client

            return GraphQLClient(Client())
        return GraphQLClient.logged_in(self.users[role])


def _user(username, *, groups=(), partner=None, **fields):
    user = get_user_model().objects.create_user(username=username, **fields)
    if partner is not None:
        groups = (*groups, PARTNER_USER)
        save_with_history(PartnerMembership(user=user, partner=partner), actor=None)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


def build_world() -> World:
    officer = _user("watch.officer", groups=[OPS_OFFICER], is_staff=True)
    alpha = make_partner(officer, name="Alpha County Emergency Management")
    bravo = make_partner(officer, name="Bravo Regional Fusion Center")
    users = {
        OFFICER: officer,
        AUDITOR_ROLE: _user("trail.auditor", groups=[AUDITOR], is_staff=True),
        ADMINISTRATOR: _user("site.administrator", is_staff=True, is_superuser=True),
        NO_ROLE: _user("no.role"),
        PARTNER: _user("alpha.duty", partner=alpha),
        "alpha_colleague": _user("alpha.colleague", partner=alpha),
        "bravo": _user("bravo.analyst", partner=bravo),
        "bravo_colleague": _user("bravo.colleague", partner=bravo),
        "former_officer": _user("former.officer", groups=[OPS_OFFICER], is_staff=True),
    }
    contacts = {
        "alpha": make_contact(officer, alpha, name="Avery Alpha", email="avery@alpha.example"),
        "bravo": make_contact(officer, bravo, name="Blake Bravo", email="blake@bravo.example"),
    }

    shared = make_incident(
        officer, title="Levee breach at Riverside", tlp=Tlp.AMBER, shared_with=[alpha, bravo]
    )
    share_incident(
        actor=officer, incident=shared, version=1, users=[users[PARTNER], users["bravo"]]
    )
    asked = make_incident(
        officer, title="Grid frequency dip", tlp=Tlp.GREEN, lead=users["former_officer"]
    )
    # The incident's lead has since moved to the audit team: no longer an officer, so no
    # longer someone partner users may see.
    users["former_officer"].groups.set(Group.objects.filter(name=AUDITOR))
    bravo_only = make_incident(
        officer, title="Pipeline pressure anomaly", tlp=Tlp.CLEAR, shared_with=[bravo]
    )
    red_unnamed = make_incident(
        officer, title="Covert threat to a state capitol", tlp=Tlp.RED, shared_with=[alpha]
    )
    red_named = make_incident(
        officer, title="Insider at a water utility", tlp=Tlp.RED, shared_with=[alpha]
    )
    share_incident(actor=officer, incident=red_named, version=1, users=[users[PARTNER]])
    red_bravo_named = make_incident(
        officer, title="Drone sightings over a refinery", tlp=Tlp.RED, shared_with=[alpha]
    )
    share_incident(actor=officer, incident=red_bravo_named, version=1, users=[users["bravo"]])
    unshared = make_incident(officer, title="Watch floor staffing gap", tlp=Tlp.CLEAR)

    actions = {
        "alpha_on_shared": make_action(
            officer, shared, alpha, instructions="Confirm shelter capacity in Alpha County."
        ),
        "bravo_on_shared": make_action(
            officer, shared, bravo, instructions="Stage swift-water teams for Bravo."
        ),
        "alpha_on_asked": make_action(
            officer, asked, alpha, instructions="Report substation status."
        ),
        "bravo_on_bravo_only": make_action(
            officer, bravo_only, bravo, instructions="Isolate the compressor station."
        ),
        "alpha_on_red_unnamed": make_action(
            officer, red_unnamed, alpha, instructions="Protect the capitol perimeter."
        ),
    }
    updates = {
        "shared_internal": add_incident_update(
            actor=officer, incident=shared, body="INTERNAL: evacuation routes under review."
        ),
        "shared_public": add_incident_update(
            actor=officer,
            incident=shared,
            body="Shelters open at the high school.",
            kind=UpdateKind.SITUATION_REPORT,
            partner_visible=True,
        ),
        "shared_by_bravo": add_incident_update(
            actor=users["bravo"], incident=shared, body="Bravo teams on standby."
        ),
        "bravo_only_public": add_incident_update(
            actor=officer,
            incident=bravo_only,
            body="Compressor pressure back to normal.",
            partner_visible=True,
        ),
        "red_unnamed_public": add_incident_update(
            actor=officer,
            incident=red_unnamed,
            body="Capitol police briefed.",
            partner_visible=True,
        ),
    }
    incidents = {
        "shared": shared,
        "asked": asked,
        "bravo_only": bravo_only,
        "red_unnamed": red_unnamed,
        "red_named": red_named,
        "red_bravo_named": red_bravo_named,
        "unshared": unshared,
    }
    for name, incident in incidents.items():
        incidents[name] = Incident.objects.get(pk=incident.pk)  # current version
    administrator = users[ADMINISTRATOR]
    tokens = {
        name: issue_token(user=user, name="access tests", actor=administrator)[1]
        for name, user in users.items()
    }
    return World(
        tokens=tokens,
        users=users,
        partners={"alpha": alpha, "bravo": bravo},
        contacts=contacts,
        incidents=incidents,
        updates=updates,
        actions=actions,
    )


def pytest_generate_tests(metafunc):
    """Every test of the world runs over each transport, unless marked ``http_only`` (pages
    and downloads, which only HTTP serves)."""
    if "transport" in metafunc.fixturenames and not metafunc.definition.get_closest_marker(
        "http_only"
    ):
        metafunc.parametrize("transport", TRANSPORTS, indirect=True)


@pytest.fixture(autouse=True)
def transport(request, world):
    world.transport = getattr(request, "param", HTTP)
    yield world.transport
    world.transport = HTTP


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, shared by the tests of one module and rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def snapshot() -> list[tuple[int, int]]:
    """Row and history counts of everything a mutation could write."""
    return [(model.objects.count(), model.history.count()) for model in TRACKED]
