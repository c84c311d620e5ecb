"""The per-user request rate limit on /graphql/ (opsapi.ratelimit): 429 RATE_LIMITED with
Retry-After past the budget, counted atomically, shared through Redis between processes."""

import json
import logging
import os
import socket
import threading
import uuid

import pytest
import redis
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from coordination.models import Incident
from opsapi import ratelimit
from opsapi.accounts.services import issue_token
from opsapi.ratelimit import Rate, parse_rate, retry_after
from tests.graphql import GraphQLClient
from tests.processes import run_python
from tests.servers import REDIS_URL, require_redis

ME = "{ me { username } }"
CREATE_INCIDENT = (
    'mutation { createIncident(input: {title: "One too many", category: CYBER, severity: LOW}) '
    "{ __typename } }"
)


@pytest.fixture(autouse=True)
def fresh_counters():
    """Counters live in the cache, not the database: start and end each test without any."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def five_per_minute(settings):
    settings.GRAPHQL_RATE_LIMIT = "5/m"


def test_past_the_budget_a_caller_gets_429_with_retry_after_and_nothing_runs(
    officer, five_per_minute
):
    _, raw = issue_token(user=officer, name="Script", actor=officer)
    client = GraphQLClient.with_token(raw)
    for _ in range(5):
        assert client.post(ME).status_code == 200

    response = client.post(CREATE_INCIDENT)

    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "errors": [
            {
                "message": "Too many requests: the limit is 5 requests per minute. "
                f"Try again in {wait} seconds.",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": wait},
            }
        ]
    }
    assert Incident.objects.count() == 0


def test_the_budget_is_per_user_across_sessions_and_tokens(officer, auditor, five_per_minute):
    _, raw = issue_token(user=officer, name="Script", actor=officer)
    by_token = GraphQLClient.with_token(raw)
    by_session = GraphQLClient.logged_in(officer)
    for client in (by_token, by_session, by_token, by_session, by_token):
        assert client.post(ME).status_code == 200
    assert by_session.post(ME).status_code == 429
    assert by_token.post(ME).status_code == 429
    # Someone else is not slowed down by the officer's script.
    assert GraphQLClient.logged_in(auditor).post(ME).status_code == 200


def test_anonymous_callers_are_refused_before_they_count(db, officer, five_per_minute):
    for _ in range(10):
        assert Client().post("/graphql/", content_type="application/json").status_code == 401
    assert GraphQLClient.logged_in(officer).post(ME).status_code == 200


def test_an_empty_setting_turns_the_limit_off(officer, settings):
    settings.GRAPHQL_RATE_LIMIT = ""
    client = GraphQLClient.logged_in(officer)
    assert all(client.post(ME).status_code == 200 for _ in range(30))


def test_the_budget_comes_back_when_the_next_window_opens():
    rate = Rate(3, 60)
    start = 1_800_000_000.0  # a window boundary (a multiple of 60)
    assert [retry_after("user:1", rate, now=start + s) for s in (0, 10, 20)] == [None] * 3
    assert retry_after("user:1", rate, now=start + 45.5) == 15  # 14.5 s left, rounded up
    assert retry_after("user:1", rate, now=start + 59.9) == 1
    assert retry_after("user:1", rate, now=start + 60) is None


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("600/m", Rate(600, 60)),
        ("10/s", Rate(10, 1)),
        ("5000 / hour", Rate(5000, 3600)),
        ("100000/d", Rate(100_000, 86_400)),
        ("", None),
        ("0/m", None),
    ],
)
def test_rates_are_read_from_the_setting(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["600", "fast", "-1/m", "600/fortnight", "1.5/s"])
def test_a_rate_that_is_not_one_is_a_configuration_error(text):
    with pytest.raises(ImproperlyConfigured, match="GRAPHQL_RATE_LIMIT"):
        parse_rate(text)


def count_concurrently(rate: Rate, *, threads: int, calls: int) -> int:
    """How many of threads x calls requests by one user a rate lets through."""
    allowed = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)
    now = 1_800_000_000.0 + 1  # one window for every call

    def worker():
        barrier.wait()
        mine = sum(retry_after("user:7", rate, now=now) is None for _ in range(calls))
        with lock:
            allowed.append(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(allowed)


def test_concurrent_requests_are_counted_exactly():
    assert count_concurrently(Rate(500, 60), threads=16, calls=50) == 500


@pytest.fixture
def redis_cache(settings):
    """The default cache in Redis under a key prefix of this test's own, as with REDIS_URL."""
    require_redis()
    prefix = f"opsapi-test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield prefix
    # Not cache.clear(): on Redis that empties the whole database, other users' keys included.
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_with_redis_concurrent_requests_are_counted_exactly(redis_cache):
    assert count_concurrently(Rate(300, 60), threads=12, calls=40) == 300


def test_with_redis_every_process_counts_against_one_budget(redis_cache, officer, settings):
    """Three requests here and three in another process: the sixth is over a budget of five.
    (A budget per day, so that no window boundary falls between the two processes' calls.)"""
    settings.GRAPHQL_RATE_LIMIT = "5/d"
    client = GraphQLClient.logged_in(officer)
    assert [client.post(ME).status_code for _ in range(3)] == [200, 200, 200]

    script = (
        "import django, json; django.setup()\n"
        "from opsapi.ratelimit import retry_after, Rate\n"
        f"print(json.dumps([retry_after('user:{officer.pk}', Rate(5, 86400)) for _ in range(3)]))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opsapi.settings",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": redis_cache,
    }
    result = run_python("-c", script, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    other_process = json.loads(result.stdout.strip().splitlines()[-1])
    assert other_process[:2] == [None, None]
    assert isinstance(other_process[2], int)
    assert other_process[2] >= 1

    assert client.post(ME).status_code == 429


def test_with_redis_down_requests_go_on_uncounted(officer, settings, caplog, monkeypatch):
    """The limit protects the service; it must not take the service down with Redis."""
    monkeypatch.setattr(ratelimit, "_last_uncounted_warning", float("-inf"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
        }
    }
    settings.GRAPHQL_RATE_LIMIT = "2/m"
    client = GraphQLClient.logged_in(officer)
    with caplog.at_level(logging.WARNING, logger="opsapi.ratelimit"):
        statuses = [client.post(ME).status_code for _ in range(4)]
    assert statuses == [200] * 4
    assert "Rate limit not enforced: the cache is unavailable" in caplog.text
