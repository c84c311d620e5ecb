"""``seed_demo --first-run``, what `make run` does: the demo data set on an empty database,
saying so and how to skip it; later runs, or a database someone has started filling, are left
alone."""

from io import StringIO

import pytest
from django.core.management import call_command

from coordination.models import Incident
from partners.models import Partner
from tests.factories import make_partner

pytestmark = pytest.mark.django_db


def first_run() -> str:
    output = StringIO()
    call_command("seed_demo", "--first-run", "--scale", "20", stdout=output)
    return output.getvalue()


def test_an_empty_database_gets_the_demo_data_once():
    said = first_run()

    assert said.startswith(
        "First run on an empty database: loading the demo data set "
        "(to start empty instead: make run DEMO=0). Later runs leave the data alone.\n"
    )
    assert "Seeded the demo data (seed 2026)" in said
    incidents, partners = Incident.objects.count(), Partner.objects.count()
    assert incidents == 20

    assert first_run() == ""
    assert (Incident.objects.count(), Partner.objects.count()) == (incidents, partners)


def test_a_database_with_a_partner_is_left_alone(officer):
    make_partner(officer, name="Alpha County Emergency Management")

    assert first_run() == ""
    assert Incident.objects.count() == 0
    assert Partner.objects.count() == 1
