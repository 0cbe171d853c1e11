"""Teams, staff users, and the people (service users) on each team's caseload."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Team(models.Model):
    """A locality or specialist team. Social workers and team managers belong to one."""

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(max_length=30, unique=True, help_text="Short code, e.g. 'north'.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff. Roles are Django groups (see assessments/roles.py)."""

    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        help_text="Social workers and team managers see the people of this team.",
    )
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class ClientGroup(models.TextChoices):
    OLDER_PEOPLE = "older_people", "Older people"
    PHYSICAL_DISABILITY = "physical_disability", "Physical disability"
    LEARNING_DISABILITY = "learning_disability", "Learning disability"
    MENTAL_HEALTH = "mental_health", "Mental health"
    SENSORY_IMPAIRMENT = "sensory_impairment", "Sensory impairment"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    NOT_STATED = "not_stated", "Prefers not to say"


class Ethnicity(models.TextChoices):
    """The five high-level groups of the 2021 Census for England, for fairness monitoring."""

    ASIAN = "asian", "Asian or Asian British"
    BLACK = "black", "Black, Black British, Caribbean or African"
    MIXED = "mixed", "Mixed or multiple ethnic groups"
    WHITE = "white", "White"
    OTHER = "other", "Other ethnic group"
    NOT_STATED = "not_stated", "Prefers not to say"


# Age bands used in fairness reports; the last band is open-ended.
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (18, 24, "18–24"),
    (25, 34, "25–34"),
    (35, 44, "35–44"),
    (45, 54, "45–54"),
    (55, 64, "55–64"),
    (65, 74, "65–74"),
    (75, 84, "75–84"),
    (85, None, "85 and over"),
)
UNDER_18_BAND = "Under 18"


def age_on(date_of_birth: datetime.date, on: datetime.date) -> int:
    """Whole years of age on a date (a 29 February birthday counts from 1 March)."""
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - before_birthday


def age_band_for(age: int) -> str:
    for lower, upper, label in AGE_BANDS:
        if age >= lower and (upper is None or age <= upper):
            return label
    return UNDER_18_BAND


REFERENCE_DUPLICATE_MESSAGE = "Another person already has this reference."
DATE_OF_BIRTH_FUTURE_MESSAGE = "Date of birth must be today or in the past."
DATE_OF_BIRTH_TOO_OLD_MESSAGE = "Date of birth is more than 120 years ago: check the year."
COST_NEGATIVE_MESSAGE = "The weekly cost cannot be negative."

reference_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9/-]*$",
    "Use capital letters, digits, '-' and '/' only, e.g. ASC-004217.",
)
postcode_validator = RegexValidator(
    r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$",
    "Enter a UK postcode, e.g. LE1 6ZG.",
)


def validate_date_of_birth(value: datetime.date) -> None:
    today = timezone.localdate()
    if value > today:
        raise ValidationError(DATE_OF_BIRTH_FUTURE_MESSAGE, code="future")
    if age_on(value, today) > 120:
        raise ValidationError(DATE_OF_BIRTH_TOO_OLD_MESSAGE, code="too_old")


class Person(models.Model):
    """Someone who uses (or may use) adult social care. Special category personal data."""

    reference = models.CharField(
        "council reference",
        max_length=20,
        validators=[reference_validator],
        error_messages={"unique": REFERENCE_DUPLICATE_MESSAGE},
        unique=True,
    )
    given_name = models.CharField("first name", max_length=100)
    family_name = models.CharField("last name", max_length=100)
    date_of_birth = models.DateField(validators=[validate_date_of_birth])
    client_group = models.CharField(max_length=30, choices=ClientGroup.choices)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="people")

    address_line_1 = models.CharField("address line 1", max_length=100)
    address_line_2 = models.CharField("address line 2", max_length=100, blank=True)
    town = models.CharField("town or city", max_length=60)
    postcode = models.CharField(max_length=8, validators=[postcode_validator])

    existing_weekly_cost_gbp = models.DecimalField(
        "current weekly package cost (£)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0, message=COST_NEGATIVE_MESSAGE)],
        help_text="The weekly cost of the person's current traditional care package, if any.",
    )
    needs_increased = models.BooleanField(
        "needs have increased",
        default=False,
        help_text="Tick when the person's needs have increased since their package was set.",
    )

    # Optional equality data, used only for fairness monitoring.
    sex = models.CharField(max_length=20, choices=Sex.choices, blank=True)
    ethnicity = models.CharField(max_length=20, choices=Ethnicity.choices, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "reference"]
        verbose_name_plural = "people"
        permissions = [
            ("view_all_people", "Can see the people of every team"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(existing_weekly_cost_gbp__isnull=True)
                | Q(existing_weekly_cost_gbp__gte=0),
                name="person_existing_weekly_cost_not_negative",
            ),
        ]
        indexes = [
            # The people list: one team's caseload in name order.
            models.Index(fields=["team", "family_name", "given_name"], name="person_team_name_idx"),
            # Search by date of birth.
            models.Index(fields=["date_of_birth"], name="person_dob_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.reference})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def age(self) -> int:
        return age_on(self.date_of_birth, timezone.localdate())

    @property
    def age_band(self) -> str:
        return age_band_for(self.age)

    @property
    def address_lines(self) -> list[str]:
        lines = [self.address_line_1, self.address_line_2, self.town, self.postcode]
        return [line for line in lines if line]


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The access log is append-only: rows cannot be changed.")

    def delete(self):
        raise PermissionError("The access log is append-only: rows cannot be deleted.")


class PersonAccess(models.Model):
    """One opening of a person's record by a member of staff. Append-only.

    Refused in Python here, and in PostgreSQL by a trigger (migration 0002), so that even a
    raw UPDATE or DELETE cannot rewrite who looked at whose record.
    """

    class Page(models.TextChoices):
        DETAIL = "person_detail", "Person's record"
        EDIT = "person_edit", "Edit person"
        ACCESS_LOG = "access_log", "Access log"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="accesses")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="person_accesses")
    accessed_at = models.DateTimeField(default=timezone.now)
    page = models.CharField(max_length=40, choices=Page.choices)
    path = models.CharField(max_length=300)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-accessed_at", "-id"]
        verbose_name = "record access"
        verbose_name_plural = "record accesses"
        indexes = [
            # "Who viewed this person?", newest first.
            models.Index(fields=["person", "-accessed_at"], name="access_person_time_idx"),
            # "Whose records did this user open?"
            models.Index(fields=["user", "-accessed_at"], name="access_user_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} opened person {self.person_id} ({self.page}) at {self.accessed_at}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The access log is append-only: rows cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The access log is append-only: rows cannot be deleted.")
