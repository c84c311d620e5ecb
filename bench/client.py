"""Calling the API in-process the way a client over HTTP does, minus the network."""

import json

from django.test import Client

from opsapi.accounts.services import issue_token


class BenchError(RuntimeError):
    """The benchmark cannot go on (a wrong answer, a missing prerequisite)."""


class ApiClient:
    """Django's test client with a bearer token of ``user``: every call goes through URL
    routing, the whole middleware stack, token authentication and the view, in this process.
    (The benchmark runs under ``bench.urls``, the product's URLs plus the raw floor.)"""

    def __init__(self, user):
        _, raw = issue_token(
            user=user, name="make bench", actor=user, expires_in_days=1, reason="Benchmark run"
        )
        self.user = user
        self.token = raw
        self.client = Client(SERVER_NAME="localhost")  # a host ALLOWED_HOSTS accepts
        self.headers = {"Authorization": f"Bearer {raw}"}

    def post(self, path: str, query: str, variables: dict | None = None) -> bytes:
        """The response body of one POST; raises BenchError unless it is a 200."""
        response = self.client.post(
            path,
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            headers=self.headers,
        )
        if response.status_code != 200:
            raise BenchError(f"{path} answered {response.status_code}: {response.content[:500]}")
        return response.content

    def data(self, query: str, variables: dict | None = None, path="/graphql/") -> dict:
        """``data`` of a GraphQL answer that must carry no errors."""
        body = json.loads(self.post(path, query, variables))
        if body.get("errors"):
            raise BenchError(f"{path} answered with errors: {body['errors']}")
        return body["data"]
