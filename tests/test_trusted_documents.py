"""Trusted documents (opsapi.graphql.trusted, docs/trusted-documents.md).

The manifests in tests/trusted/ are the real tools' output for a few operations of the schema:
``apollo-persisted-query-manifest.json`` written by ``npx generate-persisted-query-manifest``
(@apollo/generate-persisted-query-manifest 1.4.0), ``relay-persisted-documents.json`` by
``relay-compiler`` 21 with ``persistConfig: {file: ...}`` (the default MD5 ids).
"""

import hashlib
import json
import os
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from graphql import print_ast
from strawberry.schema import schema as strawberry_schema

from opsapi.accounts.services import issue_token
from opsapi.graphql import trusted
from opsapi.graphql.scoping import SubscriptionContext
from opsapi.schema import schema
from tests.factories import global_id as global_id_of
from tests.factories import make_incident, make_partner, state
from tests.graphql import GraphQLClient
from tests.processes import run_python
from tests.wsclient import InProcessGraphQLWebSocket

MANIFESTS = Path(__file__).parent / "trusted"
APOLLO_MANIFEST = str(MANIFESTS / "apollo-persisted-query-manifest.json")
RELAY_MANIFEST = str(MANIFESTS / "relay-persisted-documents.json")

APOLLO = {op["name"]: op for op in json.loads(Path(APOLLO_MANIFEST).read_text())["operations"]}
RELAY = {
    next(line.split()[1] for line in text.splitlines() if line.startswith("query")): (id_, text)
    for id_, text in json.loads(Path(RELAY_MANIFEST).read_text()).items()
}
ME_ID, ME = APOLLO["Me"]["id"], APOLLO["Me"]["body"]
INCIDENTS_ID, INCIDENTS = APOLLO["IncidentList"]["id"], APOLLO["IncidentList"]["body"]
RELAY_ME_ID, RELAY_ME = RELAY["MeQuery"]
AD_HOC = "query { me { username } }"


def persisted_query(digest: str, version=1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def refusal(params: dict, user=None) -> tuple[str, str]:
    with pytest.raises(trusted.DocumentRefused) as refused:
        trusted.resolve(params, user)
    return refused.value.code, refused.value.message


def write_manifest(tmp_path, content, name="manifest.json") -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def relay_map(*texts: str) -> dict:
    return {hashlib.md5(text.encode()).hexdigest(): text for text in texts}


@pytest.fixture
def manifests(settings):
    settings.GRAPHQL_TRUSTED_DOCUMENTS = [APOLLO_MANIFEST, RELAY_MANIFEST]
    settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = []
    return settings


@pytest.fixture
def partner_user(make_user, officer):
    partner = make_partner(officer, name="Gulf Coast Electric Cooperative", state=state("TX"))
    return make_user("partner", partner=partner)


# --- resolve() -------------------------------------------------------------------------------


def test_apollo_documents_are_named_by_document_id_with_or_without_prefix(manifests):
    assert trusted.resolve({"documentId": f"sha256:{ME_ID}"}, None) == ME
    assert trusted.resolve({"documentId": ME_ID}, None) == ME


def test_apollo_documents_are_named_by_the_persisted_query_hash(manifests):
    assert trusted.resolve({"extensions": persisted_query(INCIDENTS_ID)}, None) == INCIDENTS


def test_relay_documents_are_named_by_their_bare_id(manifests):
    assert trusted.resolve({"documentId": RELAY_ME_ID}, None) == RELAY_ME
    # An MD5 id is no SHA-256 identifier, whatever prefix it is given.
    assert refusal({"documentId": f"sha256:{RELAY_ME_ID}"})[0] == "PERSISTED_QUERY_NOT_FOUND"


def test_relay_documents_hashed_with_sha256_take_the_prefix(settings, tmp_path):
    text = "query MeQuery {\n  me {\n    id\n  }\n}\n"
    digest = hashlib.sha256(text.encode()).hexdigest()
    settings.GRAPHQL_TRUSTED_DOCUMENTS = [write_manifest(tmp_path, {digest: text})]
    assert trusted.resolve({"documentId": f"sha256:{digest}"}, None) == text
    assert trusted.resolve({"extensions": persisted_query(digest)}, None) == text


def test_without_an_id_the_query_text_is_the_document(manifests):
    assert trusted.resolve({"query": AD_HOC, "variables": {}}, None) == AD_HOC
    assert trusted.resolve({"variables": {}}, None) is None


@pytest.mark.parametrize(
    "params",
    [
        {"documentId": f"sha256:{'0' * 64}"},
        {"documentId": "0" * 32},
        {"documentId": "x-app:dashboard"},
        {"extensions": persisted_query("0" * 64)},
    ],
    ids=["sha256", "bare", "other-prefix", "apollo"],
)
def test_an_unknown_id_is_persisted_query_not_found(manifests, params):
    code, message = refusal(params)
    assert code == "PERSISTED_QUERY_NOT_FOUND"
    assert "No trusted document has the id" in message


def test_an_id_sent_with_another_query_text_is_a_bad_request(manifests):
    code, message = refusal({"documentId": ME_ID, "query": AD_HOC})
    assert code == "BAD_REQUEST"
    assert "differs from the trusted document" in message
    assert refusal({"extensions": persisted_query(ME_ID), "query": INCIDENTS})[0] == "BAD_REQUEST"
    # Its own text is fine.
    assert trusted.resolve({"extensions": persisted_query(ME_ID), "query": ME}, None) == ME


def test_apollo_retry_of_an_unknown_hash_with_its_query_runs_the_query(manifests):
    """After PERSISTED_QUERY_NOT_FOUND Apollo's link sends the hash again with the text."""
    digest = hashlib.sha256(AD_HOC.encode()).hexdigest()
    params = {"query": AD_HOC, "extensions": persisted_query(digest)}
    assert trusted.resolve(params, None) == AD_HOC
    lying = {"query": AD_HOC, "extensions": persisted_query("0" * 64)}
    code, message = refusal(lying)
    assert code == "BAD_REQUEST"
    assert "is not the hash of the query" in message


def test_document_id_and_persisted_query_must_name_the_same_document(manifests):
    params = {"documentId": ME_ID, "extensions": persisted_query(INCIDENTS_ID)}
    assert refusal(params) == (
        "BAD_REQUEST",
        "'documentId' and 'extensions.persistedQuery' name different documents.",
    )
    same = {"documentId": f"sha256:{ME_ID}", "extensions": persisted_query(ME_ID)}
    assert trusted.resolve(same, None) == ME


def test_two_ids_of_one_text_name_the_same_document(settings, tmp_path):
    relay = write_manifest(tmp_path, relay_map(ME))
    settings.GRAPHQL_TRUSTED_DOCUMENTS = [APOLLO_MANIFEST, relay]
    md5 = hashlib.md5(ME.encode()).hexdigest()
    assert trusted.resolve({"documentId": md5, "extensions": persisted_query(ME_ID)}, None) == ME


def test_a_refusal_echoes_at_most_80_characters_of_an_id(manifests):
    code, message = refusal({"documentId": "a" * 100_000})
    assert code == "PERSISTED_QUERY_NOT_FOUND"
    assert message == f"No trusted document has the id '{'a' * 80}...'."


@pytest.mark.parametrize(
    "params",
    [
        {"extensions": persisted_query(ME_ID, version=2)},
        {"extensions": {"persistedQuery": {"version": 1}}},
        {"extensions": {"persistedQuery": "x"}},
        {"extensions": "x"},
        {"documentId": 5},
        {"query": 42},
    ],
    ids=["version", "no-hash", "not-object", "extensions", "document-id", "query"],
)
def test_malformed_ids_are_bad_requests(manifests, params):
    assert refusal(params)[0] == "BAD_REQUEST"


# --- GRAPHQL_TRUSTED_DOCUMENTS_ONLY ----------------------------------------------------------


def test_a_restricted_role_may_send_only_trusted_documents(manifests, partner_user, officer):
    manifests.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = ["partner_user"]
    code, message = refusal({"query": AD_HOC}, partner_user)
    assert code == "TRUSTED_DOCUMENT_REQUIRED"
    assert "trusted documents" in message
    assert "documentId" in message
    assert trusted.resolve({"documentId": ME_ID}, partner_user) == ME
    # The exact text of a trusted document is trusted, however it is sent.
    assert trusted.resolve({"query": RELAY_ME}, partner_user) == RELAY_ME
    # Roles not listed send what they like.
    assert trusted.resolve({"query": AD_HOC}, officer) == AD_HOC
    assert trusted.resolve({"query": AD_HOC}, AnonymousUser()) == AD_HOC


def test_every_role_is_named_in_the_setting(manifests, officer, auditor, administrator):
    callers = {"ops_officer": officer, "auditor": auditor, "administrator": administrator}
    callers["anonymous"] = AnonymousUser()
    for role, user in callers.items():
        manifests.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = [role]
        restricted = {name for name, other in callers.items() if _restricted(other)}
        assert restricted == {role}, role
        assert trusted.resolve({"documentId": ME_ID}, user) == ME


def _restricted(user) -> bool:
    try:
        trusted.resolve({"query": AD_HOC}, user)
    except trusted.DocumentRefused as refused:
        code = refused.code
    else:
        return False
    assert code == "TRUSTED_DOCUMENT_REQUIRED"
    return True


def test_all_restricts_every_caller(manifests, officer, outsider):
    manifests.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = ["all"]
    for user in (officer, outsider, AnonymousUser(), None):
        assert _restricted(user)
        assert trusted.resolve({"documentId": RELAY_ME_ID}, user) == RELAY_ME


# --- loading the manifests -------------------------------------------------------------------


def load_error(settings, *paths: str, only=()) -> str:
    settings.GRAPHQL_TRUSTED_DOCUMENTS = list(paths)
    settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = list(only)
    with pytest.raises(ImproperlyConfigured) as error:
        trusted.registry()
    return str(error.value)


def test_an_apollo_id_that_is_not_the_hash_of_its_body_is_refused_at_load(settings, tmp_path):
    manifest = json.loads(Path(APOLLO_MANIFEST).read_text())
    manifest["operations"][1]["id"] = ME_ID  # IncidentList's body under Me's id
    path = write_manifest(tmp_path, manifest)
    message = load_error(settings, path)
    assert path in message
    assert "operation 'IncidentList'" in message
    assert "not the SHA-256 of its body" in message


def test_a_relay_id_that_is_not_the_hash_of_its_text_is_refused_at_load(settings, tmp_path):
    path = write_manifest(tmp_path, {RELAY_ME_ID: AD_HOC})
    message = load_error(settings, path)
    assert path in message
    assert RELAY_ME_ID in message
    assert "not the MD5" in message


def test_a_document_the_schema_refuses_is_refused_at_load(settings, tmp_path):
    path = write_manifest(tmp_path, relay_map("query WatchFloor { incidents { secret } }"))
    message = load_error(settings, path)
    assert path in message
    assert "WatchFloor" in message
    assert "Cannot query field 'secret' on type 'IncidentConnection'." in message
    path = write_manifest(tmp_path, relay_map("query Broken { me {"), "syntax.json")
    assert "does not parse" in load_error(settings, path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot be read"),
        ("{not json", "is not a JSON file"),
        ("[]", "is neither an Apollo persisted-query manifest"),
        ({"format": "apollo-persisted-query-manifest", "version": 2}, "only version 1"),
        ({"format": "apollo-persisted-query-manifest", "version": 1}, "must be a list"),
        ({"format": "something-else"}, "is neither"),
        ({"abc": {"text": "{ me { id } }"}}, "is not a document text"),
    ],
    ids=["missing", "json", "list", "version", "operations", "format", "entry"],
)
def test_an_unreadable_manifest_is_refused_at_load(settings, tmp_path, content, problem):
    path = str(tmp_path / "absent.json") if content is None else write_manifest(tmp_path, content)
    message = load_error(settings, path)
    assert message.startswith(f"GRAPHQL_TRUSTED_DOCUMENTS: {path}: ")
    assert problem in message


def test_the_only_setting_is_checked_at_load(settings):
    message = load_error(settings, RELAY_MANIFEST, only=["partner_users"])
    assert "'partner_users'" in message
    assert "ops_officer, partner_user, auditor" in message
    message = load_error(settings, only=["all"])
    assert "GRAPHQL_TRUSTED_DOCUMENTS names no manifest" in message


def test_a_bad_manifest_stops_the_server_at_start(tmp_path):
    """The ASGI application loads the manifests as it is built, not at the first request."""
    absent = str(tmp_path / "absent.json")
    env = {**os.environ, "GRAPHQL_TRUSTED_DOCUMENTS": f"{APOLLO_MANIFEST},{absent}"}
    started = run_python("-c", "import opsapi.asgi", env=env)
    assert started.returncode != 0
    assert f"ImproperlyConfigured: GRAPHQL_TRUSTED_DOCUMENTS: {absent}: cannot be read" in (
        started.stderr
    )


def test_manifests_load_once_and_again_when_the_setting_changes(manifests, tmp_path):
    first = trusted.registry()
    assert trusted.registry() is first
    assert set(first.by_id) == {op["id"] for op in APOLLO.values()} | {
        id_ for id_, _ in RELAY.values()
    }
    manifests.GRAPHQL_TRUSTED_DOCUMENTS = [write_manifest(tmp_path, relay_map(AD_HOC))]
    assert set(trusted.registry().by_text) == {AD_HOC}


# --- the TrustedDocuments extension ----------------------------------------------------------


@pytest.fixture
def spies():
    """Counters of strawberry's own parsing and validation (the real functions still run)."""
    with (
        mock.patch.object(strawberry_schema, "parse", wraps=strawberry_schema.parse) as parse,
        mock.patch.object(
            strawberry_schema, "validate_document", wraps=strawberry_schema.validate_document
        ) as validate,
    ):
        yield parse, validate


def test_a_trusted_document_runs_without_being_parsed_or_validated_again(
    manifests, gql, officer, spies
):
    parse, validate = spies
    make_incident(officer, title="Levee breach")
    trusted.registry()  # as at start
    assert gql.data(INCIDENTS, {"first": 5})["incidents"]["totalCount"] == 1
    assert (parse.call_count, validate.call_count) == (0, 0)
    assert gql.data(AD_HOC)["me"]["username"] == "officer"
    assert (parse.call_count, validate.call_count) == (1, 1)


def test_rules_the_operation_adds_still_hold_for_trusted_documents(settings, tmp_path, gql):
    introspection = "query Types { __schema { queryType { name } } }"
    settings.GRAPHQL_TRUSTED_DOCUMENTS = [write_manifest(tmp_path, relay_map(introspection))]
    assert gql.data(introspection)["__schema"]["queryType"]["name"] == "Query"
    settings.GRAPHQL_INTROSPECTION = False
    errors = gql(introspection)["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection has been disabled" in errors[0]["message"]


def test_checks_that_depend_on_variables_still_run_for_trusted_documents(manifests, tmp_path, gql):
    errors = gql(INCIDENTS, {"first": 1000})["errors"]
    assert [(e["extensions"]["code"], e["extensions"]["argument"]) for e in errors] == [
        ("BAD_USER_INPUT", "first")
    ]
    nodes = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    manifests.GRAPHQL_TRUSTED_DOCUMENTS = [write_manifest(tmp_path, relay_map(nodes))]
    errors = gql(nodes, {"ids": [f"id-{n}" for n in range(101)]})["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["TOO_MANY_IDS"]


def test_the_shared_document_is_never_changed_by_an_operation(manifests, gql):
    document = trusted.registry().by_id[INCIDENTS_ID].document
    printed = print_ast(document)
    assert gql.data(INCIDENTS)["incidents"]["totalCount"] == 0  # default page size added
    assert print_ast(trusted.registry().by_id[INCIDENTS_ID].document) == printed


# --- over HTTP, through the operation pipeline -----------------------------------------------


@pytest.mark.django_db
class TestOverHTTP:
    """What a web or mobile client sees (GraphQL over HTTP, opsapi.views)."""

    @pytest.fixture(autouse=True)
    def _manifests(self, manifests):
        self.settings = manifests

    def post(self, client: GraphQLClient, body: dict) -> dict:
        response = client.client.post(
            "/graphql/", data=json.dumps(body), content_type="application/json"
        )
        return response.json()

    def get(self, client: GraphQLClient, params: dict):
        return client.client.get(f"/graphql/?{urlencode(params)}", HTTP_ACCEPT="application/json")

    def test_post_with_a_document_id(self, gql, officer):
        make_incident(officer, title="Levee breach")
        body = self.post(gql, {"documentId": f"sha256:{INCIDENTS_ID}", "variables": {"first": 1}})
        assert body["data"]["incidents"]["edges"][0]["node"]["title"] == "Levee breach"

    def test_get_with_a_document_id(self, gql):
        response = self.get(gql, {"documentId": RELAY_ME_ID})
        assert response.status_code == 200
        assert response.json()["data"] == {"me": {"username": "officer", "id": mock.ANY}}

    def test_get_of_a_trusted_mutation_is_refused(self, gql):
        mutation = APOLLO["DeleteContact"]["id"]
        response = self.get(gql, {"documentId": f"sha256:{mutation}", "variables": "{}"})
        assert response.status_code == 405

    def test_apollo_persisted_query_by_post_and_get(self, gql):
        body = self.post(gql, {"extensions": persisted_query(ME_ID)})
        assert body["data"]["me"] == {"username": "officer", "__typename": "User"}
        extensions = json.dumps(persisted_query(ME_ID))
        response = self.get(gql, {"operationName": "Me", "extensions": extensions})
        assert response.json()["data"]["me"]["username"] == "officer"

    def test_unknown_id_answers_apollos_code(self, gql):
        body = self.post(gql, {"extensions": persisted_query("0" * 64)})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["PERSISTED_QUERY_NOT_FOUND"]
        assert body.get("data") is None
        response = gql.client.post(
            "/graphql/",
            data=json.dumps({"documentId": f"sha256:{'0' * 64}"}),
            content_type="application/json",
            HTTP_ACCEPT="application/graphql-response+json",
        )
        assert response.status_code == 400
        assert "data" not in response.json()

    def test_ad_hoc_documents_refused_for_a_restricted_role_only(self, partner_user, gql):
        self.settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = ["partner_user"]
        partner = GraphQLClient.logged_in(partner_user)
        body = self.post(partner, {"query": AD_HOC})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["TRUSTED_DOCUMENT_REQUIRED"]
        assert self.post(partner, {"documentId": ME_ID})["data"]["me"]["username"] == "partner"
        assert self.post(gql, {"query": AD_HOC})["data"] == {"me": {"username": "officer"}}


@pytest.mark.django_db
class TestOverWebSocket:
    """The same documents in a graphql-transport-ws ``subscribe`` (opsapi.subscriptions)."""

    @pytest.fixture(autouse=True)
    def _manifests(self, manifests):
        self.settings = manifests

    @staticmethod
    def socket(user, administrator) -> InProcessGraphQLWebSocket:
        _, raw = issue_token(user=user, name="trusted documents", actor=administrator)
        return InProcessGraphQLWebSocket(raw)

    def test_a_subscribe_names_its_document_by_id(self, officer, administrator):
        socket = self.socket(officer, administrator)
        by_id, by_hash = socket.exchange(
            [{"documentId": f"sha256:{ME_ID}"}, {"extensions": persisted_query(ME_ID)}]
        )
        assert by_id.json()["data"]["me"]["username"] == "officer"
        assert by_hash.json()["data"]["me"]["username"] == "officer"

    def test_ad_hoc_documents_refused_for_a_restricted_role(
        self, partner_user, officer, administrator
    ):
        self.settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = ["partner_user"]
        ad_hoc, by_id = self.socket(partner_user, administrator).exchange(
            [{"query": AD_HOC}, {"documentId": RELAY_ME_ID}]
        )
        assert [e["extensions"]["code"] for e in ad_hoc.json()["errors"]] == [
            "TRUSTED_DOCUMENT_REQUIRED"
        ]
        assert by_id.json()["data"]["me"]["username"] == "partner"
        assert self.socket(officer, administrator).data(AD_HOC) == {"me": {"username": "officer"}}


# --- texts sent before ---------------------------------------------------------------------------

NODES = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id } }"


def strawberry_schema_execute(query: str, user):
    """``query`` as a WebSocket connection authenticated as ``user`` runs it."""
    return async_to_sync(schema.execute)(
        query, context_value=SubscriptionContext(ws=None, user=user)
    )


def test_a_text_that_validated_runs_again_under_every_rule_that_depends_on_the_call(
    officer, administrator
):
    """A document sent as text is parsed and validated once; sent again it still meets the
    introspection policy of its caller and the limits on its variables."""
    _, raw = issue_token(user=officer, name="texts", actor=administrator)
    client = GraphQLClient.with_token(raw)
    incident = global_id_of(make_incident(officer))
    introspection = "query Types { __schema { queryType { name } } }"

    assert client.data(NODES, {"ids": [incident]}) == {"nodes": [{"id": incident}]}
    assert client.data(introspection) == {"__schema": {"queryType": {"name": "Query"}}}
    assert any(key[0] == NODES for key in trusted._validated)

    assert client.data(NODES, {"ids": [incident, incident]})["nodes"] == [{"id": incident}] * 2
    too_many = client(NODES, {"ids": [incident] * 101})["errors"]
    assert [e["extensions"]["code"] for e in too_many] == ["TOO_MANY_IDS"]
    anonymous = strawberry_schema_execute(introspection, AnonymousUser())
    assert "introspection has been disabled" in anonymous.errors[0].message


def test_a_text_that_failed_validation_is_not_remembered(officer, administrator):
    _, raw = issue_token(user=officer, name="texts", actor=administrator)
    client = GraphQLClient.with_token(raw)
    wrong = "query Wrong { me { nosuchfield } }"

    for _ in range(2):
        errors = client(wrong)["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["GRAPHQL_VALIDATION_FAILED"]
    assert not any(key[0] == wrong for key in trusted._validated)


def test_remembered_texts_are_bounded(officer, administrator, monkeypatch):
    monkeypatch.setattr(trusted, "VALIDATED_TEXTS", 3)
    _, raw = issue_token(user=officer, name="texts", actor=administrator)
    client = GraphQLClient.with_token(raw)
    for n in range(5):
        assert client.data(f"query Me{n} {{ me {{ username }} }}") == {
            "me": {"username": "officer"}
        }
    assert len(trusted._validated) <= 3
    assert any(key[0] == "query Me4 { me { username } }" for key in trusted._validated)
