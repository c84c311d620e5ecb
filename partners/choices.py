"""Choice lists of the partners app (their values are stored; their names are API enums)."""

from django.db import models


class StateKind(models.TextChoices):
    STATE = "state", "State"
    DISTRICT = "district", "District"
    TERRITORY = "territory", "Territory"


class PartnerKind(models.TextChoices):
    GOVERNORS_OFFICE = "governors_office", "Governor's office"
    HOMELAND_SECURITY_ADVISOR = "homeland_security_advisor", "Homeland security advisor"
    LAW_ENFORCEMENT = "law_enforcement", "Law enforcement"
    CRITICAL_INFRASTRUCTURE = "critical_infrastructure", "Critical-infrastructure operator"
    FUSION_CENTER = "fusion_center", "Fusion center"
    URBAN_AREA_OFFICE = "urban_area_office", "Urban-area office"
    FEDERAL_AGENCY = "federal_agency", "Federal agency"
    EMERGENCY_MANAGEMENT = "emergency_management", "Emergency management"
    OTHER = "other", "Other"


class PartnerLevel(models.TextChoices):
    FEDERAL = "federal", "Federal"
    STATE = "state", "State"
    LOCAL = "local", "Local"
    TRIBAL = "tribal", "Tribal"
    TERRITORIAL = "territorial", "Territorial"
    PRIVATE = "private", "Private sector"
