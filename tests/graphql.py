"""A thin GraphQL client over Django's test client, so every request goes through the real
URL routing, middleware, authentication and view."""

import json

from django.test import Client


class Operations:
    """What every test client of the API offers over its ``post`` (HTTP or WebSocket)."""

    def __call__(self, query: str, variables: dict | None = None) -> dict:
        """Run an operation that must succeed at the HTTP level; returns the JSON body."""
        response = self.post(query, variables)
        assert response.status_code == 200, response.content
        return response.json()

    def data(self, query: str, variables: dict | None = None) -> dict:
        """Run an operation that must not produce top-level errors; returns ``data``."""
        body = self(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


class GraphQLClient(Operations):
    def __init__(self, client: Client, headers: dict | None = None):
        self.client = client
        self.headers = headers or {}

    @classmethod
    def logged_in(cls, user):
        client = Client()
        client.force_login(user)
        return cls(client)

    @classmethod
    def with_token(cls, raw_token: str):
        return cls(Client(), headers={"Authorization": f"Bearer {raw_token}"})

    def post(self, query: str, variables: dict | None = None):
        """POST the operation; returns the Django response."""
        return self.client.post(
            "/graphql/",
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            headers=self.headers,
        )


def payload(body_or_data: dict, mutation: str) -> dict:
    """The payload of ``mutation`` from a response's data."""
    return body_or_data[mutation]


def messages(result: dict) -> list[tuple[str | None, str | None]]:
    """(field, code) pairs of an OperationInfo payload."""
    assert "messages" in result, f"expected OperationInfo, got {result}"
    return [(m["field"], m["code"]) for m in result["messages"]]


def to_json(value) -> str:
    return json.dumps(value)
