"""Jurisdictions, critical-infrastructure sectors, partner organisations and their contacts."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from opsapi.accounts.access import roles_of
from opsapi.audit.tracking import NOTHING, TrackedModel, tracked_history
from partners.choices import PartnerKind, PartnerLevel, StateKind

phone_validator = RegexValidator(
    r"^\+?[0-9(][0-9 ().-]{5,23}[0-9]( ?(x|ext\.?) ?[0-9]{1,6})?$",
    message="Enter a phone number such as +1 202 555 0100 or (202) 555-0100 ext 12.",
    code="invalid_phone",
)

# Levels of government whose partners always sit in one state, DC or territory.
LEVELS_WITH_STATE = {PartnerLevel.STATE, PartnerLevel.LOCAL, PartnerLevel.TERRITORIAL}


def _partner_visibility(user, partner_field: str) -> Q:
    roles = roles_of(user)
    if roles.reads_everything or roles.administrator:
        return Q()
    if roles.partner_id is not None:
        return Q(**{partner_field: roles.partner_id})
    return NOTHING


class State(TrackedModel):
    """A U.S. state, the District of Columbia or an inhabited territory (reference data)."""

    code = models.CharField(max_length=2, unique=True, help_text="USPS code, e.g. VA.")
    name = models.CharField(max_length=64, unique=True, help_text="Official name.")
    fips = models.CharField(
        max_length=2,
        unique=True,
        validators=[RegexValidator(r"^[0-9]{2}$", code="invalid_fips")],
        help_text="Two-digit FIPS state code, e.g. 51.",
    )
    kind = models.CharField(
        max_length=16, choices=StateKind.choices, help_text="State, district or territory."
    )

    history = tracked_history()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class UrbanArea(TrackedModel):
    """A major urban area in a federal preparedness program such as UASI (reference data)."""

    name = models.CharField(max_length=120, help_text="Name of the urban area.")
    states = models.ManyToManyField(
        State, related_name="urban_areas", help_text="States the urban area spans."
    )
    program = models.CharField(max_length=32, default="UASI", help_text="Grant program, e.g. UASI.")
    fiscal_year = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(2003), MaxValueValidator(2100)],
        help_text="Fiscal year of the program list this entry reflects.",
    )
    active = models.BooleanField(default=True, help_text="Still in the program.")

    history = tracked_history(m2m_fields=["states"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "program"], name="urban_area_unique_name"),
        ]

    def __str__(self):
        return self.name


class Sector(TrackedModel):
    """One of the 16 critical-infrastructure sectors named in PPD-21."""

    code = models.SlugField(max_length=48, unique=True, help_text="Stable short code.")
    name = models.CharField(max_length=80, unique=True, help_text="Sector name.")

    history = tracked_history()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Partner(TrackedModel):
    """An organisation the center coordinates with: a governor's office, an agency, an operator."""

    name = models.CharField(max_length=200, help_text="Organisation name.")
    kind = models.CharField(
        max_length=32, choices=PartnerKind.choices, help_text="What kind of organisation."
    )
    level = models.CharField(
        max_length=16, choices=PartnerLevel.choices, help_text="Level of government or sector."
    )
    state = models.ForeignKey(
        State,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="partners",
        help_text="Home state, DC or territory (required for state, local, territorial).",
    )
    urban_area = models.ForeignKey(
        UrbanArea,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="partners",
        help_text="Urban area the organisation serves, if any.",
    )
    sectors = models.ManyToManyField(
        Sector,
        blank=True,
        related_name="partners",
        help_text="Critical-infrastructure sectors it operates in or covers.",
    )
    watch_phone = models.CharField(
        max_length=40,
        blank=True,
        validators=[phone_validator],
        help_text="24/7 watch or duty-officer phone.",
    )
    watch_email = models.EmailField(blank=True, help_text="24/7 watch or duty-officer email.")
    active = models.BooleanField(default=True, help_text="Currently an active partner.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history(m2m_fields=["sectors"])

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["name", "state"], name="partner_unique_name_in_state"),
        ]
        indexes = [models.Index(fields=["kind", "level"])]

    def __str__(self):
        return self.name

    @classmethod
    def visibility(cls, user) -> Q:
        """Officers, auditors and administrators see every partner; a partner user sees its
        own organisation only (other partners' names are need-to-know too)."""
        return _partner_visibility(user, "pk")

    def clean(self):
        errors = {}
        if self.level in LEVELS_WITH_STATE and self.state_id is None:
            errors["state"] = ValidationError(
                "A state, local or territorial partner needs its state.", code="required"
            )
        if self.kind == PartnerKind.URBAN_AREA_OFFICE and self.urban_area_id is None:
            errors["urban_area"] = ValidationError(
                "An urban-area office needs its urban area.", code="required"
            )
        if (
            self.state_id is not None
            and self.urban_area_id is not None
            and not self.urban_area.states.filter(pk=self.state_id).exists()
        ):
            errors["urban_area"] = ValidationError(
                "The urban area does not extend into the partner's state.",
                code="state_not_in_urban_area",
            )
        if errors:
            raise ValidationError(errors)


class Contact(TrackedModel):
    """A person at a partner organisation the center can reach."""

    partner = models.ForeignKey(
        Partner,
        on_delete=models.CASCADE,
        related_name="contacts",
        help_text="Organisation the person works for.",
    )
    name = models.CharField(max_length=120, help_text="Full name.")
    title = models.CharField(max_length=120, blank=True, help_text="Job title or role.")
    email = models.EmailField(blank=True, help_text="Work email.")
    phone = models.CharField(
        max_length=40, blank=True, validators=[phone_validator], help_text="Work phone."
    )
    is_primary = models.BooleanField(
        default=False, help_text="The partner's primary point of contact."
    )
    is_24x7 = models.BooleanField(
        default=False, help_text="Reachable around the clock (watch or duty officer)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history()

    class Meta:
        ordering = ["-is_primary", "name", "id"]

    def __str__(self):
        return f"{self.name} ({self.partner})"

    @classmethod
    def visibility(cls, user) -> Q:
        """Contacts are seen with their partner."""
        return _partner_visibility(user, "partner_id")

    def clean(self):
        if not self.email and not self.phone:
            raise ValidationError(
                {"email": ValidationError("Give an email or a phone number.", code="required")}
            )
