"""Reference data shipped with the code: the states, DC and territories, the 16
critical-infrastructure sectors and an initial list of urban areas.

The rows live in ``partners/reference_data/*.csv`` (their sources are in ``SOURCES.md`` there).
Loading only ever adds: it creates the rows that are missing and never changes or deletes a row
that exists, because administrators edit reference data in the admin (an urban area is renamed
or leaves the program) and a load that runs on every start must not undo their work.
"""

import csv
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models, transaction

from opsapi.audit.tracking import save_with_history
from partners.models import Sector, State, UrbanArea

DATA_DIR = Path(__file__).resolve().parent / "reference_data"
CHANGE_REASON = "Reference data loaded (partners/reference_data)"
STATES_SEPARATOR = ";"


class ReferenceDataError(Exception):
    """A reference row cannot be loaded: the file is wrong or an existing row conflicts."""


def read_rows(filename: str) -> list[dict[str, str]]:
    """The rows of one reference CSV file, as dicts keyed by its header."""
    with (DATA_DIR / filename).open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@transaction.atomic
def load_reference_data() -> dict[str, int]:
    """Create the states, sectors and urban areas that are missing; return how many of each.

    States and sectors are matched by ``code``, urban areas by ``(name, program)``. A row whose
    key an administrator has since edited (an urban area renamed) still counts as present, so
    it is not created a second time; a deleted row is created again. One transaction: a bad row
    leaves the database as it was.
    """
    return {
        "states": _load_states(),
        "sectors": _load_sectors(),
        "urban_areas": _load_urban_areas(),
    }


def _load_states() -> int:
    rows = _missing(State, read_rows("states.csv"), ("code",))
    for row in rows:
        _create(State(code=row["code"], name=row["name"], fips=row["fips"], kind=row["kind"]))
    return len(rows)


def _load_sectors() -> int:
    rows = _missing(Sector, read_rows("sectors.csv"), ("code",))
    for row in rows:
        _create(Sector(code=row["code"], name=row["name"]))
    return len(rows)


def _load_urban_areas() -> int:
    rows = _missing(UrbanArea, read_rows("urban_areas.csv"), ("name", "program"))
    if not rows:
        return 0
    states = State.objects.in_bulk(field_name="code")
    for row in rows:
        codes = [code.strip() for code in row["states"].split(STATES_SEPARATOR) if code.strip()]
        unknown = [code for code in codes if code not in states]
        if not codes or unknown:
            raise ReferenceDataError(
                f"Urban area {row['name']!r}: states {row['states']!r} must list one or more "
                f"known USPS codes separated by {STATES_SEPARATOR!r} (unknown: {unknown})."
            )
        # fiscal_year stays a string here: full_clean converts it and reports a bad value.
        area = UrbanArea(name=row["name"], program=row["program"], fiscal_year=row["fiscal_year"])
        _create(area, links={"states": [states[code] for code in codes]})
    return len(rows)


def _missing(model: type[models.Model], rows: list[dict], key_fields: tuple[str, ...]):
    """The ``rows`` whose key no existing object of ``model`` has now or had before an edit."""
    keys = model.objects.order_by().values_list("pk", *key_fields)
    live = {tuple(values): pk for pk, *values in keys}
    missing = [row for row in rows if tuple(row[f] for f in key_fields) not in live]
    if not missing:
        return missing
    # An administrator may have renamed a row since it was loaded: its history still holds the
    # key this file knows it by, and loading it again would bring back a row they replaced.
    first = key_fields[0]
    former = set(
        model.history.filter(
            id__in=live.values(), **{f"{first}__in": {row[first] for row in missing}}
        ).values_list(*key_fields)
    )
    return [row for row in missing if tuple(row[f] for f in key_fields) not in former]


def _create(obj: models.Model, *, links=None) -> None:
    try:
        obj.full_clean()
    except ValidationError as error:
        raise ReferenceDataError(
            f"{type(obj).__name__} {obj}: {'; '.join(error.messages)}"
        ) from error
    save_with_history(obj, actor=None, reason=CHANGE_REASON, links=links)
