"""§8 of the benchmark (search at scale): its measurement runs and checks what it measures, and
its data set lives in a database beside the benchmark's own. Timings stay in `make bench`."""

import pytest
from django.contrib.auth import get_user_model

from bench.client import ApiClient
from bench.directory import OFFICER
from bench.scale import Census
from bench.search import _statements, search_database_url, search_scale, time_search
from bench.seed import seed


@pytest.fixture
def officer_client(db):
    seed(search_scale("tiny"), log=lambda message: None)
    return ApiClient(get_user_model().objects.get(username=OFFICER.format(1)))


def test_the_broad_word_finds_every_incident_and_the_floor_replays_the_same_sql(
    officer_client,
):
    measured = time_search(officer_client, rounds=2)

    incidents = Census.take().incidents
    assert measured["incidents"] == incidents == 30
    assert measured["hits"] >= incidents
    assert len(measured["api"]) == len(measured["raw"]) == 2
    # The count and the ranked page, as search() runs them; the API adds authentication and
    # the loading of the objects found.
    assert measured["raw_queries"] == len(_statements(officer_client.user)) == 2
    assert measured["queries"] > measured["raw_queries"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgres://postgres@127.0.0.1:5432/opsapi_bench",
            "postgres://postgres@127.0.0.1:5432/opsapi_bench_search",
        ),
        ("sqlite:////tmp/cache/bench.sqlite3", "sqlite:////tmp/cache/bench-search.sqlite3"),
    ],
)
def test_the_search_data_set_has_a_database_beside_the_benchmarks(url, expected):
    assert search_database_url(url) == expected


def test_the_national_search_data_set_holds_50000_incidents():
    assert search_scale("national").incidents == 50_000
