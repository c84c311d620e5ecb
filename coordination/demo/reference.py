"""The reference data the demo builds on (states, sectors, urban areas), read once."""

import dataclasses

from coordination.demo.errors import DemoDataError
from coordination.demo.places import CITIES, City
from partners.models import Sector, State, UrbanArea

# Internal sector key -> a phrase that names exactly one of the 16 sectors.
SECTOR_KEYWORDS = {
    "chemical": "chemical",
    "commercial": "commercial facilities",
    "communications": "communications",
    "manufacturing": "critical manufacturing",
    "dams": "dams",
    "defense": "defense industrial",
    "emergency": "emergency services",
    "energy": "energy",
    "financial": "financial",
    "food": "food",
    "government": "government",
    "health": "health",
    "it": "information technology",
    "nuclear": "nuclear",
    "transportation": "transportation",
    "water": "water",
}


@dataclasses.dataclass(frozen=True)
class Reference:
    """The reference data the demo builds on."""

    states: dict[str, State]
    sectors: dict[str, Sector]
    urban_areas: tuple[UrbanArea, ...]
    urban_area_states: dict[int, tuple[State, ...]]

    def cities(self) -> list[tuple[State, City]]:
        """Every known city in a loaded state, in a stable order."""
        return [
            (self.states[code], city)
            for code in sorted(CITIES)
            if code in self.states
            for city in CITIES[code]
        ]


def load_reference() -> Reference:
    """Read the states, sectors and urban areas, or explain what is missing."""
    hint = "Load the reference data first: manage.py load_reference_data"
    states = {state.code: state for state in State.objects.order_by("code")}
    if not states:
        raise DemoDataError(f"No states in the database. {hint}")
    sectors = {}
    for key, phrase in SECTOR_KEYWORDS.items():
        matches = list(Sector.objects.filter(name__icontains=phrase).order_by("code"))
        if len(matches) != 1:
            raise DemoDataError(f"No single sector named like {phrase!r}. {hint}")
        sectors[key] = matches[0]
    urban_areas = tuple(
        UrbanArea.objects.filter(active=True).prefetch_related("states").order_by("name", "id")
    )
    if not urban_areas:
        raise DemoDataError(f"No active urban areas in the database. {hint}")
    return Reference(
        states=states,
        sectors=sectors,
        urban_areas=urban_areas,
        urban_area_states={
            area.pk: tuple(sorted(area.states.all(), key=lambda s: s.code)) for area in urban_areas
        },
    )
