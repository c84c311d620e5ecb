"""The reference data loader: what it loads, its history, and that reruns never undo admin edits.

The session fixture in tests/conftest.py has already run ``load_reference_data`` once.
"""

import io
import re
import shutil
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from opsapi.audit.tracking import delete_with_history, save_with_history
from partners import reference
from partners.models import Sector, State, UrbanArea

TERRITORIES = {"AS", "GU", "MP", "PR", "VI"}
REFERENCE_MODELS = (State, Sector, UrbanArea)

pytestmark = pytest.mark.django_db


def run_loader(verbosity: int = 1) -> str:
    out = io.StringIO()
    call_command("load_reference_data", verbosity=verbosity, stdout=out)
    return out.getvalue()


def history_count() -> int:
    return sum(model.history.count() for model in REFERENCE_MODELS)


def state_codes(area: UrbanArea) -> set[str]:
    return set(area.states.values_list("code", flat=True))


# --- what is loaded ---------------------------------------------------------------------------


def test_the_50_states_dc_and_the_five_inhabited_territories_are_loaded():
    assert State.objects.count() == 56
    assert Counter(State.objects.values_list("kind", flat=True)) == {
        "state": 50,
        "district": 1,
        "territory": 5,
    }
    assert set(State.objects.filter(kind="territory").values_list("code", flat=True)) == (
        TERRITORIES
    )
    assert State.objects.get(kind="district").name == "District of Columbia"


@pytest.mark.parametrize(
    ("code", "fips"),
    [("VA", "51"), ("DC", "11"), ("PR", "72"), ("GU", "66"), ("WY", "56"), ("AK", "02")],
)
def test_fips_codes(code, fips):
    assert State.objects.get(code=code).fips == fips


def test_fips_codes_are_unique_two_digit_strings():
    codes = list(State.objects.values_list("fips", flat=True))
    assert len(set(codes)) == len(codes) == 56
    assert all(re.fullmatch(r"[0-9]{2}", code) for code in codes)


def test_the_16_critical_infrastructure_sectors_are_loaded():
    assert Sector.objects.count() == 16
    assert Sector.objects.get(code="energy").name == "Energy"
    assert Sector.objects.get(code="water-wastewater").name == "Water and Wastewater Systems"
    assert Sector.objects.filter(name="Nuclear Reactors, Materials, and Waste").exists()


def test_every_urban_area_spans_a_state_and_carries_its_program_year():
    areas = UrbanArea.objects.prefetch_related("states")
    assert len(areas) == 40
    for area in areas:
        assert area.states.all(), area.name
        assert area.program == "UASI"
        assert area.fiscal_year == 2023
        assert area.active


def test_the_national_capital_region_spans_dc_maryland_and_virginia():
    assert state_codes(UrbanArea.objects.get(name="National Capital Region")) == {
        "DC",
        "MD",
        "VA",
    }


def test_the_fy_2023_uasi_list_has_its_40_areas():
    names = set(UrbanArea.objects.values_list("name", flat=True))
    assert len(names) == 40
    for name in ("New York City", "Bay Area", "Austin Area", "Kansas City Area", "Honolulu Area"):
        assert name in names


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("St. Louis Area", {"MO", "IL"}),
        ("Kansas City Area", {"MO", "KS"}),
        ("Portland Area", {"OR", "WA"}),
        ("Jersey City/Newark Area", {"NJ"}),
        ("Philadelphia Area", {"PA"}),
        ("Houston Area", {"TX"}),
        ("Honolulu Area", {"HI"}),
    ],
)
def test_urban_areas_span_their_states(name, codes):
    assert state_codes(UrbanArea.objects.get(name=name)) == codes


# --- history ----------------------------------------------------------------------------------


def test_loaded_rows_are_on_the_record_as_one_command_run():
    records = [
        record for model in REFERENCE_MODELS for record in model.history.order_by("history_id")
    ]
    assert len(records) == 56 + 16 + UrbanArea.objects.count()
    assert {record.history_type for record in records} == {"+"}
    assert {record.history_change_reason for record in records} == {reference.CHANGE_REASON}
    assert {record.history_user for record in records} == {None}
    request_ids = {record.request_id for record in records}
    assert len(request_ids) == 1
    assert request_ids.pop().startswith("cmd:load_reference_data:")


def test_an_urban_area_history_record_holds_its_states():
    area = UrbanArea.objects.get(name="National Capital Region")
    record = area.history.get()
    expected = sorted(
        State.objects.filter(code__in=["DC", "MD", "VA"]).values_list("pk", flat=True)
    )
    assert [change["new"] for change in record.changes if change["field"] == "states"] == [expected]
    # The record's own snapshot of the links, which "as it was at a given time" reads.
    assert {link.state.code for link in record.states.select_related("state")} == {
        "DC",
        "MD",
        "VA",
    }


# --- reruns -----------------------------------------------------------------------------------


def test_a_rerun_creates_nothing_writes_no_history_and_takes_a_handful_of_queries(
    django_assert_max_num_queries,
):
    before = history_count()
    # A savepoint and its release, one query per file, and one comparing urban areas' states.
    with django_assert_max_num_queries(6):
        output = run_loader()
    assert output == "Reference data created: states 0, sectors 0, urban areas 0.\n"
    assert history_count() == before


def test_the_loader_is_quiet_at_verbosity_0():
    assert run_loader(verbosity=0) == ""


def test_a_rerun_leaves_rows_as_administrators_edited_them():
    bay_area = UrbanArea.objects.get(name="Bay Area")
    bay_area.name = "San Francisco Bay Area"
    save_with_history(bay_area, actor=None, reason="Renamed by FEMA")
    tampa = UrbanArea.objects.get(name="Tampa Area")
    tampa.active = False
    save_with_history(tampa, actor=None, reason="Left the program")
    virgin_islands = State.objects.get(code="VI")
    virgin_islands.name = "United States Virgin Islands"
    save_with_history(virgin_islands, actor=None, reason="Official name")
    before = history_count()

    assert run_loader() == "Reference data created: states 0, sectors 0, urban areas 0.\n"

    assert history_count() == before
    assert not UrbanArea.objects.filter(name="Bay Area").exists()
    bay_area.refresh_from_db()
    assert bay_area.name == "San Francisco Bay Area"
    tampa.refresh_from_db()
    assert tampa.active is False
    virgin_islands.refresh_from_db()
    assert virgin_islands.name == "United States Virgin Islands"


def as_an_earlier_load_left_it(name: str, codes: list[str]) -> UrbanArea:
    """The area as a database loaded from an earlier version of the file holds it."""
    area = UrbanArea.objects.get(name=name)
    states = list(State.objects.filter(code__in=codes))
    save_with_history(area, actor=None, reason=reference.CHANGE_REASON, links={"states": states})
    return area


def test_an_earlier_load_gets_the_corrected_states_once():
    st_louis = as_an_earlier_load_left_it("St. Louis Area", ["MO"])

    assert run_loader() == "Reference data created: states 0, sectors 0, urban areas 0.\n"

    assert state_codes(st_louis) == {"MO", "IL"}
    latest = st_louis.history.latest("history_id")
    assert latest.history_change_reason == reference.UPDATE_REASON
    assert latest.history_type == "~"
    before = history_count()
    run_loader()
    assert history_count() == before


def test_an_area_an_administrator_edited_keeps_its_states(officer):
    portland = UrbanArea.objects.get(name="Portland Area")
    save_with_history(
        portland,
        actor=officer,
        reason="Oregon counties only this year",
        links={"states": [State.objects.get(code="OR")]},
    )
    before = history_count()

    run_loader()

    assert state_codes(portland) == {"OR"}
    assert history_count() == before


def test_a_deleted_row_is_created_again():
    delete_with_history(State.objects.get(code="WY"), actor=None, reason="Test")
    delete_with_history(Sector.objects.get(code="dams"), actor=None, reason="Test")
    delete_with_history(
        UrbanArea.objects.get(name="National Capital Region"), actor=None, reason="Test"
    )

    output = run_loader()

    assert output == "Reference data created: states 1, sectors 1, urban areas 1.\n"
    assert State.objects.get(code="WY").fips == "56"
    assert Sector.objects.get(code="dams").name == "Dams"
    area = UrbanArea.objects.get(name="National Capital Region")
    assert state_codes(area) == {"DC", "MD", "VA"}
    assert [record.history_type for record in area.history.order_by("history_id")] == ["+"]


def test_an_empty_database_gets_everything():
    for model in REFERENCE_MODELS:
        for obj in model.objects.all():
            delete_with_history(obj, actor=None, reason="Test")

    output = run_loader()

    areas = UrbanArea.objects.count()
    assert output == f"Reference data created: states 56, sectors 16, urban areas {areas}.\n"
    assert (State.objects.count(), Sector.objects.count()) == (56, 16)


def test_a_bad_row_fails_the_whole_load(tmp_path, monkeypatch):
    shutil.copytree(reference.DATA_DIR, tmp_path, dirs_exist_ok=True)
    with (tmp_path / "urban_areas.csv").open("a", encoding="utf-8") as file:
        file.write("Atlantis Area,ZZ,UASI,2023\n")
    monkeypatch.setattr(reference, "DATA_DIR", tmp_path)
    delete_with_history(Sector.objects.get(code="dams"), actor=None, reason="Test")
    before = history_count()

    with pytest.raises(CommandError, match="Atlantis Area"):
        run_loader()

    assert not Sector.objects.filter(code="dams").exists()
    assert history_count() == before
