"""``DATABASE_POOL_SIZE``: a real uvicorn server with a pool of PostgreSQL connections keeps
its connections bounded and reused under concurrent load, and every request is answered."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from opsapi.accounts.access import OPS_OFFICER
from tests.operations import ME, token_for
from tests.servers import Server, database_url_of_tests

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a connection pool is PostgreSQL's"
    ),
]

POOL_SIZE = 3
IN_FLIGHT = 12
REQUESTS = 96


def _server_connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


def test_a_pooled_server_answers_everyone_within_its_pool(make_user):
    officer = make_user("pool.officer", roles=[OPS_OFFICER])
    token = token_for(officer)
    # The pool's connections carry a name of their own, so they can be counted.
    name = f"opsapi-pool-{uuid.uuid4().hex[:8]}"
    server = Server(
        database_url=f"{database_url_of_tests()}?application_name={name}",
        extra_env={"DATABASE_POOL_SIZE": str(POOL_SIZE)},
    )
    try:
        peak = 0

        def ask(_):
            nonlocal peak
            answer = server.graphql(ME, token=token)
            peak = max(peak, _server_connections(name))
            connection.close()  # this thread's own connection to the test database
            return answer

        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            answers = list(pool.map(ask, range(REQUESTS)))

        assert all(a == {"data": {"me": {"username": "pool.officer"}}} for a in answers)
        assert 1 <= peak <= POOL_SIZE
        # Kept open for the next requests, not closed after each one.
        assert 1 <= _server_connections(name) <= POOL_SIZE
    finally:
        server.stop()
