"""The landing page at /, where logging in and the admin's "View site" lead; the documentation
pages; the site's icon; and GraphiQL's page, which loads nothing but the server's own files."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from opsapi.accounts.access import AUDITOR
from tests.factories import make_partner

PASSWORD = "a long passphrase for the landing tests"

pytestmark = pytest.mark.django_db


def links(page: str) -> set[str]:
    return set(re.findall(r'<a href="([^"]+)"', page))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_log_in():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_logging_in_leads_to_the_landing_page(officer):
    officer.set_password(PASSWORD)
    officer.save(update_fields=["password"])
    client = Client()
    response = client.post("/login/", {"username": "officer", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/").content.decode()
    assert "Welcome, Olivia Officer" in page


def test_an_officer_sees_who_they_are_and_where_to_go(officer):
    response = signed_in(officer).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<strong data-testid="username">officer</strong>' in page
    assert "Operations officer: reads everything" in page
    assert {"/graphql/", "/brief/", "/admin/", "/docs/readme/", "/docs/production/"} <= links(page)
    assert '<button type="submit">Log out</button>' in page
    assert '<link rel="icon" href="/static/opsapi/favicon.svg"' in page


def test_a_partner_user_sees_their_organisation_and_no_admin_link(
    officer, make_user, django_assert_max_num_queries
):
    partner = make_partner(officer, name="Gulf Coast Fusion Center")
    analyst = make_user("analyst", partner=partner)
    client = signed_in(analyst)
    with django_assert_max_num_queries(6):  # session, user, groups, membership, partner
        page = client.get("/").content.decode()
    assert "Partner user of Gulf Coast Fusion Center" in page
    assert "/admin/" not in links(page)
    assert {"/graphql/", "/brief/"} <= links(page)


def test_several_roles_are_all_shown(make_user):
    page = signed_in(make_user("both", roles=[AUDITOR], superuser=True)).get("/").content.decode()
    assert "Administrator: the admin" in page
    assert "Auditor: reads everything" in page


def test_a_user_without_a_role_is_told_so(outsider):
    page = signed_in(outsider).get("/").content.decode()
    assert "You have no role yet" in page
    assert "/admin/" not in links(page)


def test_every_document_of_the_repository_is_listed_and_shown_as_text(officer):
    client = signed_in(officer)
    landing = client.get("/").content.decode()
    names = ["readme", *(p.stem for p in sorted((settings.BASE_DIR / "docs").glob("*.md")))]
    listed = re.findall(r'<a href="/docs/([^/"]+)/">', landing)
    assert listed == names

    page = client.get("/docs/production/")
    assert page.status_code == 200
    text = (settings.BASE_DIR / "docs" / "production.md").read_text()
    heading = text.splitlines()[0].removeprefix("# ")
    assert f"<title>{heading} | OPS API</title>" in page.content.decode()
    assert "collectstatic" in page.content.decode()


def test_an_unknown_document_is_not_found_and_paths_are_not_followed(officer):
    client = signed_in(officer)
    assert client.get("/docs/nothing-here/").status_code == 404
    assert client.get("/docs/..%2Fopsapi%2Fsettings/").status_code == 404


def test_documents_need_a_login():
    response = Client().get("/docs/readme/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_admins_view_site_link_leads_to_the_landing_page(officer):
    page = signed_in(officer).get("/admin/").content.decode()
    assert '<a href="/">View site</a>' in page


def test_favicon_answers_with_the_sites_icon():
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/opsapi/favicon.svg"
    icon = Path(finders.find("opsapi/favicon.svg")).read_text()
    assert icon.startswith("<svg xmlns=")


# --- GraphiQL's page ---------------------------------------------------------------------------


def graphiql_page(user) -> str:
    response = signed_in(user).get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies  # the page's script sends it back as X-CSRFToken
    return response.content.decode()


def test_graphiql_loads_only_the_servers_own_pinned_files(officer):
    page = graphiql_page(officer)
    loaded = re.findall(r'(?:src|href)="([^"]+)"(?:\s+integrity="sha384-([^"]+)")?', page)
    assert loaded, page
    assert all(url.startswith("/static/") for url, _ in loaded), loaded
    assert "https://" not in page
    pinned = {url: integrity for url, integrity in loaded if integrity}
    assert len(pinned) == 6  # React, ReactDOM, GraphiQL's script and style, the explorer's two
    for url, integrity in pinned.items():
        path = finders.find(url.removeprefix("/static/").replace("%40", "@"))
        assert path, f"{url} is not among the static files"
        digest = base64.b64encode(hashlib.sha384(Path(path).read_bytes()).digest()).decode()
        assert digest == integrity, f"{url} is not the file its integrity attribute names"


def test_vendored_packages_carry_their_licences():
    vendored = settings.BASE_DIR / "opsapi" / "static" / "graphiql"
    packages = [p for p in vendored.rglob("*@*") if p.is_dir() and "@" in p.name[1:]]
    assert {p.name for p in packages} == {
        "react@18.2.0",
        "react-dom@18.2.0",
        "graphiql@3.8.3",
        "plugin-explorer@1.0.2",
    }
    for package in packages:
        assert "MIT License" in (package / "LICENSE").read_text(), package
    readme = (vendored / "README.md").read_text()
    for package in packages:
        assert package.name in readme
