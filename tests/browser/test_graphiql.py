"""A newcomer's first minutes in a real browser, on a network that reaches nothing else: log in,
land on /, open GraphiQL, read the schema's docs, run a query and a subscription.

The server is production-like: uvicorn with DEBUG off, serving the static files that
``manage.py collectstatic`` gathered (WhiteNoise), as docs/production.md §4 says. Every request
the page makes to anything but that server is blocked and recorded, and the test asserts there
was none: GraphiQL must need no CDN.
"""

import os
import re
import subprocess
import sys
import urllib.request
from urllib.parse import quote

import pytest

from tests.operations import CREATE_INCIDENT, token_for
from tests.processes import ROOT
from tests.servers import Server

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "a long passphrase for the browser tests"
GRAPHIQL_FILE = "/static/graphiql/graphiql@3.8.3/graphiql.min.js"

INCIDENT_CHANGED = "subscription Watch { incidentChanged { change incident { title } } }"


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """What ``manage.py collectstatic --noinput`` writes, as a deployment runs it."""
    root = tmp_path_factory.mktemp("staticfiles")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "", "STATIC_ROOT": str(root)},
        check=True,
    )
    return root


@pytest.fixture(scope="module")
def server(django_db_setup, static_root):
    server = Server(extra_env={"STATIC_ROOT": str(static_root)})
    yield server
    server.stop()


@pytest.fixture
def signed_in_officer(officer):
    """The officer, with a password to log in with and an API token for the test's own calls
    (made now: the browser fixture forbids ORM calls once open)."""
    officer.set_password(PASSWORD)
    officer.save(update_fields=["password"])
    officer.token = token_for(officer)
    return officer


class Page:
    """A browser page that may reach ``server`` only: anything else is aborted and recorded,
    and so is every script error."""

    def __init__(self, browser, server):
        self.origin = server.url
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.sockets: list[str] = []
        self.sent_frames: list[str] = []
        context = browser.new_context()
        context.route("**/*", self._only_the_server)
        self.page = context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on(
            "console",
            lambda message: message.type == "error" and self.errors.append(message.text),
        )
        self.page.on("websocket", self._watch_socket)

    def _only_the_server(self, route):
        url = route.request.url
        if url == self.origin or url.startswith(self.origin + "/"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _watch_socket(self, socket):
        self.sockets.append(socket.url)
        socket.on("framesent", lambda payload: self.sent_frames.append(str(payload)))

    def assert_nothing_outside(self):
        assert self.blocked == [], "requests outside the server"
        websocket_origin = self.origin.replace("http://", "ws://", 1)
        assert all(url.startswith(websocket_origin + "/") for url in self.sockets), self.sockets
        assert self.errors == []


def log_in(page: Page, server, user):
    """Log in through the form at /login/, which leads to the landing page."""
    page.page.goto(server.url + "/login/")
    page.page.fill("#id_username", user.username)
    page.page.fill("#id_password", PASSWORD)
    page.page.click("input[type=submit]")
    page.page.wait_for_url(server.url + "/")


def result_text(page: Page) -> str:
    return page.page.locator(".result-window").inner_text()


def test_graphiql_from_the_servers_own_files_runs_a_query_and_a_subscription(
    server, signed_in_officer, browser
):
    page = Page(browser, server)
    log_in(page, server, signed_in_officer)
    landing = page.page
    assert landing.get_by_test_id("username").inner_text() == "officer"
    assert "Operations officer" in landing.get_by_test_id("roles").inner_text()
    assert landing.get_by_role("link", name="Administration").is_visible()
    assert landing.get_by_role("link", name="Today's brief").is_visible()

    landing.get_by_role("link", name="GraphiQL").click()
    landing.wait_for_url(server.url + "/graphql/")
    landing.locator(".graphiql-container").wait_for()
    assert landing.title() == "GraphiQL | OPS API"

    # The schema's documentation, from introspection over the session.
    landing.get_by_role("button", name="Show Documentation Explorer").click()
    docs = landing.locator(".graphiql-doc-explorer")
    docs.get_by_text("Query", exact=True).first.wait_for()
    docs.get_by_text("Query", exact=True).first.click()
    docs.get_by_text("The authenticated caller.").wait_for()
    # The explorer plugin builds queries by ticking fields.
    landing.get_by_role("button", name="Show GraphiQL Explorer").click()
    landing.locator(".graphiql-explorer-root").wait_for()

    # The default query, run with the session and the CSRF header.
    landing.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    landing.locator(".result-window", has_text='"username": "officer"').wait_for()
    assert '"errors"' not in result_text(page)

    # A subscription over the WebSocket at /graphql/ (the query is taken from the address).
    landing.goto(f"{server.url}/graphql/?q={quote(INCIDENT_CHANGED)}")
    landing.locator(".graphiql-container").wait_for()
    landing.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    _wait_until(lambda: any('"subscribe"' in frame for frame in page.sent_frames), landing)
    landing.wait_for_timeout(500)  # the server starts listening once it has the message
    body = server.graphql(
        CREATE_INCIDENT,
        {"input": {"title": "Levee breach", "category": "INFRASTRUCTURE", "severity": "HIGH"}},
        token=signed_in_officer.token,
    )
    assert "reference" in body["data"]["createIncident"], body
    landing.locator(".result-window", has_text="Levee breach").wait_for(timeout=10_000)
    assert '"change": "CREATED"' in result_text(page)
    assert page.sockets == [server.ws_url]

    page.assert_nothing_outside()


def _wait_until(condition, page, *, attempts=100):
    for _ in range(attempts):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the page did not get there")


def test_collected_files_are_served_compressed_and_cached_for_good(server):
    request = urllib.request.Request(
        server.url + GRAPHIQL_FILE, headers={"Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert "immutable" in response.headers["Cache-Control"]
        assert response.headers["Content-Type"].startswith("text/javascript")

    with urllib.request.urlopen(server.url + "/favicon.ico", timeout=20) as response:
        assert response.status == 200  # after the redirect to the collected icon
        assert response.headers["Content-Type"] == "image/svg+xml"
        assert re.search(rb"<svg\b", response.read())
