"""Reference data shipped with the code: the states, DC and territories, the 16
critical-infrastructure sectors and an initial list of urban areas.

The rows live in ``partners/reference_data/*.csv`` (their sources are in ``SOURCES.md`` there).
Loading creates the rows that are missing and never deletes a row. It changes an existing row in
one case only: an urban area the loader created and nobody has edited since gets the states the
file now lists (a correction shipped with the code). Administrators edit reference data in the
admin (an urban area is renamed or leaves the program) and a load that runs on every start must
not undo their work, so a row with any other history is left as it is.
"""

import csv
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models, transaction

from opsapi.audit.tracking import save_with_history
from partners.models import Sector, State, UrbanArea

DATA_DIR = Path(__file__).resolve().parent / "reference_data"
CHANGE_REASON = "Reference data loaded (partners/reference_data)"
UPDATE_REASON = "Reference data corrected (partners/reference_data): states of the urban area"
LOADER_REASONS = (CHANGE_REASON, UPDATE_REASON)
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
    rows = read_rows("urban_areas.csv")
    _correct_urban_area_states(rows)
    rows = _missing(UrbanArea, rows, ("name", "program"))
    if not rows:
        return 0
    states = State.objects.in_bulk(field_name="code")
    for row in rows:
        codes = _state_codes(row, known=states)
        # fiscal_year stays a string here: full_clean converts it and reports a bad value.
        area = UrbanArea(name=row["name"], program=row["program"], fiscal_year=row["fiscal_year"])
        _create(area, links={"states": [states[code] for code in codes]})
    return len(rows)


def _state_codes(row: dict[str, str], *, known) -> list[str]:
    """The USPS codes of a row's ``states`` column, each one a state in ``known``."""
    codes = [code.strip() for code in row["states"].split(STATES_SEPARATOR) if code.strip()]
    unknown = [code for code in codes if code not in known]
    if not codes or unknown:
        raise ReferenceDataError(
            f"Urban area {row['name']!r}: states {row['states']!r} must list one or more "
            f"known USPS codes separated by {STATES_SEPARATOR!r} (unknown: {unknown})."
        )
    return codes


def _correct_urban_area_states(rows: list[dict[str, str]]) -> int:
    """Give the file's states to existing urban areas only the loader ever wrote; return how
    many changed.

    One query when nothing differs. An area someone edited in the admin (any history record
    with a user or another reason) keeps its states: the database is then the record.
    """
    links = UrbanArea.states.through.objects.values_list(
        "urbanarea__name", "urbanarea__program", "state__code"
    )
    stored: dict[tuple[str, str], set[str]] = {}
    for name, program, code in links:
        stored.setdefault((name, program), set()).add(code)
    wanted = {
        (row["name"], row["program"]): row
        for row in rows
        if (row["name"], row["program"]) in stored
    }
    differing = {}
    for key, row in wanted.items():
        codes = {c.strip() for c in row["states"].split(STATES_SEPARATOR) if c.strip()}
        if codes != stored[key]:
            differing[key] = row
    if not differing:
        return 0
    states = State.objects.in_bulk(field_name="code")
    areas = UrbanArea.objects.filter(name__in={name for name, _ in differing})
    edited = set(
        UrbanArea.history.filter(id__in=areas.values("pk"))
        .exclude(history_user__isnull=True, history_change_reason__in=LOADER_REASONS)
        .values_list("id", flat=True)
    )
    changed = 0
    for area in areas:
        row = differing.get((area.name, area.program))
        if row is None or area.pk in edited:
            continue
        codes = _state_codes(row, known=states)
        save_with_history(
            area, actor=None, reason=UPDATE_REASON, links={"states": [states[c] for c in codes]}
        )
        changed += 1
    return changed


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
