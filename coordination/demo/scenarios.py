"""What incidents look like, by category, and how often each category, severity and marking
occurs."""

import dataclasses

from coordination.choices import IncidentCategory, Severity, Tlp
from partners.choices import PartnerKind


@dataclasses.dataclass(frozen=True)
class Scenario:
    """What incidents of one category look like: headlines, sectors, sources, who to involve."""

    titles: tuple[str, ...]
    sectors: tuple[str, ...]
    sources: tuple[str, ...]
    partner_kinds: tuple[str, ...]
    situations: tuple[str, ...]


K = PartnerKind
SCENARIOS = {
    IncidentCategory.TERRORISM: Scenario(
        titles=(
            "Suspicious package prompts evacuation of {place} transit hub",
            "Threat received against {place} government complex",
            "Vehicle breach at {place} stadium perimeter",
            "Online threats referencing {place} houses of worship",
            "Unauthorized drone over {place} critical facility",
        ),
        sectors=("commercial", "government", "transportation"),
        sources=("Fusion center bulletin", "Local police report", "FBI JTTF notification"),
        partner_kinds=(K.FUSION_CENTER, K.LAW_ENFORCEMENT, K.HOMELAND_SECURITY_ADVISOR),
        situations=(
            "Bomb squad on scene; perimeter holding at 300 feet.",
            "No credible nexus to a broader plot identified so far.",
            "Increased patrols at similar sites across the state.",
        ),
    ),
    IncidentCategory.NATURAL_HAZARD: Scenario(
        titles=(
            "Tornado damage reported near {place}",
            "Flash flooding closes roads around {place}",
            "Wildfire threatens homes outside {place}",
            "Winter storm knocks out power across {state}",
            "Magnitude {magnitude} earthquake felt in {place}",
            "Severe thunderstorms with damaging winds across {state}",
        ),
        sectors=("energy", "emergency", "water", "transportation"),
        sources=("National Weather Service", "State EOC", "Media reports"),
        partner_kinds=(K.EMERGENCY_MANAGEMENT, K.GOVERNORS_OFFICE, K.FEDERAL_AGENCY),
        situations=(
            "Damage assessments under way; shelters open.",
            "Power restoration estimated within 48 hours for most customers.",
            "Search and rescue teams staged; no fatalities confirmed.",
        ),
    ),
    IncidentCategory.INFRASTRUCTURE: Scenario(
        titles=(
            "Substation fire causes outage in {place}",
            "Water main break disrupts service in {place}",
            "Bridge closed after structural damage in {place}",
            "Dam spillway erosion observed near {place}",
            "Gas pipeline rupture near {place}",
            "Regional 911 outage in {place}",
        ),
        sectors=("energy", "water", "dams", "transportation", "communications", "emergency"),
        sources=("Operator notification", "State EOC", "Local emergency management"),
        partner_kinds=(K.CRITICAL_INFRASTRUCTURE, K.EMERGENCY_MANAGEMENT, K.URBAN_AREA_OFFICE),
        situations=(
            "Operator crews on site; cause under investigation.",
            "Backup systems carrying the load; service degraded.",
            "Detours in place; inspection teams assessing the structure.",
        ),
    ),
    IncidentCategory.CYBER: Scenario(
        titles=(
            "Ransomware attack on {place} hospital network",
            "Intrusion into water utility control systems in {place}",
            "Denial-of-service attack on {state} government portals",
            "Phishing campaign targeting {state} county offices",
            "Data breach at {place} municipal systems",
        ),
        sectors=("it", "communications", "health", "water", "financial", "government"),
        sources=("CISA alert", "Operator notification", "Fusion center bulletin"),
        partner_kinds=(K.CRITICAL_INFRASTRUCTURE, K.FUSION_CENTER, K.FEDERAL_AGENCY),
        situations=(
            "Affected systems isolated; incident response firm engaged.",
            "Indicators of compromise shared with sector partners.",
            "Manual operations in place; no safety impact reported.",
        ),
    ),
    IncidentCategory.PUBLIC_SAFETY: Scenario(
        titles=(
            "Active shooter reported at {place} shopping center",
            "Mass-casualty collision on interstate near {place}",
            "Crowd crush at {place} concert venue",
            "Hostage situation at {place} office building",
        ),
        sectors=("commercial", "emergency"),
        sources=("Local police report", "911 dispatch", "Media reports"),
        partner_kinds=(K.LAW_ENFORCEMENT, K.FUSION_CENTER, K.EMERGENCY_MANAGEMENT),
        situations=(
            "Scene secured; casualties transported to area hospitals.",
            "Reunification center opened for families.",
            "Investigation ongoing; no further threat to the public.",
        ),
    ),
    IncidentCategory.HAZMAT: Scenario(
        titles=(
            "Chemical release at {place} industrial plant",
            "Tanker truck spill closes highway near {place}",
            "Freight train derailment with hazardous cargo near {place}",
            "Ammonia leak at {place} cold-storage facility",
            "Radiological source reported missing in {state}",
        ),
        sectors=("chemical", "transportation", "nuclear", "food"),
        sources=("Local fire department", "National Response Center", "Operator notification"),
        partner_kinds=(K.EMERGENCY_MANAGEMENT, K.CRITICAL_INFRASTRUCTURE, K.FEDERAL_AGENCY),
        situations=(
            "Shelter-in-place order for residents within one mile.",
            "Air monitoring shows readings below action levels.",
            "Hazmat teams containing the release; cleanup contractor en route.",
        ),
    ),
    IncidentCategory.PUBLIC_HEALTH: Scenario(
        titles=(
            "Respiratory illness cluster strains {place} hospitals",
            "Boil-water advisory after contamination in {place}",
            "Foodborne illness outbreak traced to {place} distributor",
            "Heat emergency fills {place} emergency departments",
        ),
        sectors=("health", "water", "food"),
        sources=("State health department", "Hospital association", "CDC notification"),
        partner_kinds=(K.EMERGENCY_MANAGEMENT, K.CRITICAL_INFRASTRUCTURE, K.GOVERNORS_OFFICE),
        situations=(
            "Hospitals on diversion; regional patient transfers coordinated.",
            "Public health messaging issued in three languages.",
            "Cooling centers and water distribution points open.",
        ),
    ),
    IncidentCategory.CIVIL_UNREST: Scenario(
        titles=(
            "Large demonstration planned in downtown {place}",
            "Clashes reported during protest in {place}",
            "Protesters block port access roads in {place}",
            "Vandalism of government offices in {place}",
        ),
        sectors=("government", "commercial", "transportation"),
        sources=("Local police report", "Fusion center bulletin", "Open-source monitoring"),
        partner_kinds=(K.LAW_ENFORCEMENT, K.FUSION_CENTER, K.GOVERNORS_OFFICE),
        situations=(
            "Crowd estimated at several thousand; largely peaceful.",
            "Road closures in effect downtown; transit rerouted.",
            "Curfew under consideration by local officials.",
        ),
    ),
    IncidentCategory.TRANSPORTATION: Scenario(
        titles=(
            "Ground stop at {place} airport after systems failure",
            "Commuter rail collision near {place}",
            "Interstate closed after multi-vehicle pileup near {place}",
            "Vessel grounding blocks shipping channel near {place}",
        ),
        sectors=("transportation",),
        sources=("FAA notification", "Operator notification", "State DOT"),
        partner_kinds=(K.CRITICAL_INFRASTRUCTURE, K.LAW_ENFORCEMENT, K.FEDERAL_AGENCY),
        situations=(
            "Traffic diverted; delays expected through the evening.",
            "Operator estimates service restoration within 12 hours.",
            "Injuries reported; NTSB notified.",
        ),
    ),
    IncidentCategory.OTHER: Scenario(
        titles=(
            "Large public event in {place}: coordination watch",
            "Erroneous emergency alert sent in {state}",
            "Space weather advisory: possible GPS disruption in {state}",
            "VIP visit to {place}: security coordination",
        ),
        sectors=("communications", "government", "commercial"),
        sources=("Partner notification", "Media reports", "Watch officer observation"),
        partner_kinds=(K.URBAN_AREA_OFFICE, K.HOMELAND_SECURITY_ADVISOR, K.FEDERAL_AGENCY),
        situations=(
            "No operational impact reported so far.",
            "Partners briefed; public messaging coordinated.",
            "Watch floor monitoring; next check-in scheduled.",
        ),
    ),
}

CATEGORY_WEIGHTS = {
    IncidentCategory.TERRORISM: 8,
    IncidentCategory.NATURAL_HAZARD: 20,
    IncidentCategory.INFRASTRUCTURE: 15,
    IncidentCategory.CYBER: 14,
    IncidentCategory.PUBLIC_SAFETY: 12,
    IncidentCategory.HAZMAT: 8,
    IncidentCategory.PUBLIC_HEALTH: 6,
    IncidentCategory.CIVIL_UNREST: 6,
    IncidentCategory.TRANSPORTATION: 8,
    IncidentCategory.OTHER: 3,
}
SEVERITY_WEIGHTS = {
    Severity.LOW: 30,
    Severity.MODERATE: 35,
    Severity.HIGH: 25,
    Severity.CRITICAL: 10,
}
TLP_WEIGHTS = {Tlp.CLEAR: 10, Tlp.GREEN: 30, Tlp.AMBER: 40, Tlp.AMBER_STRICT: 12, Tlp.RED: 8}
# Severity -> range of earthquake magnitudes that fits it.
MAGNITUDES = {
    Severity.LOW: (3.0, 4.4),
    Severity.MODERATE: (4.5, 5.4),
    Severity.HIGH: (5.5, 6.4),
    Severity.CRITICAL: (6.5, 7.4),
}
# Severity -> (fewest, most) coordination actions issued.
ACTION_COUNTS = {
    Severity.LOW: (0, 1),
    Severity.MODERATE: (0, 2),
    Severity.HIGH: (1, 3),
    Severity.CRITICAL: (2, 4),
}

COORDINATION_SENTENCES = (
    "The center is coordinating with state and local partners.",
    "Partners are assessing impact; further reporting expected.",
    "No request for federal assistance so far.",
)
NOTES = (
    "Called the state watch desk; awaiting confirmation of details.",
    "Requested an updated assessment from the fusion center.",
    "Media coverage growing; no new facts in open sources.",
    "State EOC confirms local resources are sufficient for now.",
    "Shift handover: lead briefed the incoming watch officer.",
    "Partner liaison confirmed their watch desk is tracking.",
)
