"""Apollo Client's relayStylePagination over the incident list while incidents arrive.

The case the offset cursors got wrong: two pages read, three incidents created, one more page
fetched. With keyset cursors the third page continues after the second page's last incident:
nothing read twice, nothing skipped. The new incidents are not on it (they sort on top, before
the first page), as a client merging subscription events places them (docs/live-updates.md).
"""

import json

import pytest

from tests.clients.node import require_node, run_in_clients
from tests.factories import make_incident
from tests.operations import token_for
from tests.servers import Server

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def server(django_db_setup):
    require_node()
    server = Server()
    yield server
    server.stop()


def test_fetching_more_after_new_incidents_neither_repeats_nor_skips(server, officer):
    titles = [f"Listed {n}" for n in range(8)]
    for title in titles:
        make_incident(officer, title=title)
    arguments = json.dumps({"httpUrl": f"{server.url}/graphql/", "token": token_for(officer)})

    completed = run_in_clients("node", "apollo-pages.mjs", arguments)

    listed = json.loads(completed.stdout.splitlines()[-1])["titles"]
    assert listed == titles[::-1][:6]
