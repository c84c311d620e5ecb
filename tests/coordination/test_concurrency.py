"""Writers racing each other, with real threads and transactions."""

import threading

import pytest
from django.db import connection

from coordination.models import Incident
from tests.factories import make_incident

# Transactional tests flush the database; serialized_rollback brings the reference data back.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def run_together(count: int, work) -> list:
    """Run ``work(i)`` in ``count`` threads released at the same instant; return results."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def worker(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:  # reported below, with the thread's own traceback
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_incidents_created_at_the_same_moment_get_distinct_sequential_references(officer):
    references = run_together(8, lambda i: make_incident(officer, title=f"Race {i}").reference)
    assert len(set(references)) == 8
    numbers = sorted(int(ref.rsplit("-", 1)[1]) for ref in references)
    assert numbers == list(range(numbers[0], numbers[0] + 8)), "no gaps, no duplicates"
    assert Incident.history.filter(history_type="+").count() == 8
