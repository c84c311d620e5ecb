"""The organisations the partner directory draws on: real public bodies by name, and the
templates and brands that make up fictional companies."""

from partners.choices import PartnerKind, PartnerLevel

# Statewide police where the name is not "<State> State Police".
STATE_POLICE = {
    "DC": "Metropolitan Police Department",
    "PR": "Puerto Rico Police Bureau",
    "GU": "Guam Police Department",
    "VI": "Virgin Islands Police Department",
    "AS": "American Samoa Department of Public Safety",
    "MP": "CNMI Department of Public Safety",
}

# Cities whose police is the statewide (or district/territory) force listed above.
NO_CITY_POLICE = {"DC", "PR", "GU", "VI", "AS", "MP"}

BRANDS = (
    "Cedar Valley", "Granite Ridge", "Prairie Wind", "Summit", "Riverbend", "Lakeshore",
    "Pinecrest", "Redstone", "Silver Creek", "Twin Rivers", "Clearwater", "High Plains",
    "Bayview", "Ironwood", "Maple Hill", "Stonebridge", "Harbor Point", "Eagle Bluff",
    "Sandhill", "North Fork", "Copper Basin", "Oak Hollow", "Westgate", "Meridian",
)  # fmt: skip

# (name template, level, sectors): {city} and {brand} are filled in.
OPERATORS = (
    ("{city} Water Department", PartnerLevel.LOCAL, ("water",)),
    ("{city} Regional Transit Authority", PartnerLevel.LOCAL, ("transportation",)),
    ("{city} International Airport Authority", PartnerLevel.LOCAL, ("transportation",)),
    ("{city} General Hospital", PartnerLevel.PRIVATE, ("health",)),
    ("{city} Convention Center", PartnerLevel.LOCAL, ("commercial",)),
    ("{brand} Power & Light Company", PartnerLevel.PRIVATE, ("energy",)),
    ("{brand} Electric Cooperative", PartnerLevel.PRIVATE, ("energy",)),
    ("{brand} Natural Gas Company", PartnerLevel.PRIVATE, ("energy",)),
    ("{brand} Communications", PartnerLevel.PRIVATE, ("communications", "it")),
    ("{brand} Data Centers", PartnerLevel.PRIVATE, ("it",)),
    ("{brand} Chemical Company", PartnerLevel.PRIVATE, ("chemical",)),
    ("{brand} Health System", PartnerLevel.PRIVATE, ("health",)),
    ("{brand} Community Bank", PartnerLevel.PRIVATE, ("financial",)),
    ("{brand} Foods", PartnerLevel.PRIVATE, ("food",)),
    ("{brand} Hydroelectric Project", PartnerLevel.PRIVATE, ("dams", "energy")),
    ("{brand} Nuclear Generating Station", PartnerLevel.PRIVATE, ("nuclear", "energy")),
    ("{brand} Aerospace", PartnerLevel.PRIVATE, ("manufacturing", "defense")),
    ("{brand} Freight Railroad", PartnerLevel.PRIVATE, ("transportation",)),
)

# (name, state code or None for a national office, sectors)
FEDERAL_PARTNERS = (
    ("FEMA National Response Coordination Center", None, ("emergency",)),
    ("FEMA Region 1", "MA", ("emergency",)),
    ("FEMA Region 2", "NY", ("emergency",)),
    ("FEMA Region 3", "PA", ("emergency",)),
    ("FEMA Region 4", "GA", ("emergency",)),
    ("FEMA Region 5", "IL", ("emergency",)),
    ("FEMA Region 6", "TX", ("emergency",)),
    ("FEMA Region 7", "MO", ("emergency",)),
    ("FEMA Region 8", "CO", ("emergency",)),
    ("FEMA Region 9", "CA", ("emergency",)),
    ("FEMA Region 10", "WA", ("emergency",)),
    ("CISA Central", None, ("it", "communications")),
    ("CISA Region 4", "GA", ("it", "communications")),
    ("CISA Region 9", "CA", ("it", "communications")),
    ("HHS ASPR Region 6", "TX", ("health",)),
    ("EPA Region 5 Emergency Response", "IL", ("water", "chemical")),
    ("U.S. Coast Guard Sector New York", "NY", ("transportation",)),
    ("U.S. Coast Guard Sector Houston-Galveston", "TX", ("transportation",)),
    ("National Weather Service Forecast Office Norman", "OK", ()),
    ("National Weather Service Forecast Office Miami", "FL", ()),
)
FBI_FIELD_OFFICES = (
    ("Atlanta", "GA"), ("Boston", "MA"), ("Chicago", "IL"), ("Dallas", "TX"), ("Denver", "CO"),
    ("Houston", "TX"), ("Los Angeles", "CA"), ("Miami", "FL"), ("New York", "NY"),
    ("Phoenix", "AZ"), ("Seattle", "WA"), ("Washington", "DC"),
)  # fmt: skip
TRIBAL_PARTNERS = (
    ("Navajo Nation Police", PartnerKind.LAW_ENFORCEMENT, "AZ"),
    ("Cherokee Nation Marshal Service", PartnerKind.LAW_ENFORCEMENT, "OK"),
    (
        "Tohono O'odham Nation Office of Emergency Management",
        PartnerKind.EMERGENCY_MANAGEMENT,
        "AZ",
    ),
    ("Seminole Tribe of Florida Emergency Management", PartnerKind.EMERGENCY_MANAGEMENT, "FL"),
)
OTHER_PARTNERS = (
    "{state} Voluntary Organizations Active in Disaster",
    "American Red Cross, {state} Region",
    "{state} Hospital Association Preparedness Program",
    "{state} Business Emergency Operations Center",
)
