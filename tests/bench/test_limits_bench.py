"""§6 of the benchmark (bench/limits.py) runs: each hostile document is refused with its code
(checked before timing), and the section is written."""

from bench.client import ApiClient
from bench.limits import limits_section, measure_limits, targets
from tests.factories import make_incident


def test_the_hostile_documents_are_refused_and_reported(officer):
    make_incident(officer)
    result = measure_limits(ApiClient(officer), rounds=1)
    assert [h.code for h, _ in result.hostile] == [
        "QUERY_TOO_COSTLY",
        "TOO_MANY_IDS",
        "QUERY_TOO_COMPLEX",
    ]
    assert 0 < result.check_share < 1
    section = "\n".join(limits_section(result))
    assert "nodes(ids:) with 100,000 IDs" in section
    assert len(targets(result)) == 4
