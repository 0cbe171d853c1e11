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

from assessments.workflows import Workflow, WorkflowModel
from ras_site.forms import EARLIEST_DATE_OF_BIRTH, LATEST_STORED_DATE


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
    # E-mails about work waiting for them (assessments/notifications.py); each user turns
    # them off or on for themselves (accounts/e-mail/), the history recording when.
    email_notifications = models.BooleanField(
        "e-mail me when something waits for me",
        default=True,
        help_text="E-mails say what kind of thing waits, with a link; never who it is about.",
    )
    # Roles are groups: a change of someone's roles (or team) is kept with who made it.
    history = HistoricalRecords(excluded_fields=["password", "last_login"], m2m_fields=["groups"])

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class SentNotification(models.Model):
    """A notification that must go out once only (a review's due date, announced once), by
    its key. The unique key makes a rerun, or two runs at once, send nothing twice
    (assessments.notifications.notification_claim). Written once, never changed."""

    key = models.CharField(max_length=200)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="sent_notification_once")]

    def __str__(self) -> str:
        return self.key


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


class Title(models.TextChoices):
    """How a letter addresses the person ("Dear Mrs Okafor"); blank when they use none."""

    MR = "Mr", "Mr"
    MRS = "Mrs", "Mrs"
    MS = "Ms", "Ms"
    MISS = "Miss", "Miss"
    MX = "Mx", "Mx"
    DR = "Dr", "Dr"


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
    r"\A[A-Z0-9][A-Z0-9/-]*\Z",
    "Use capital letters, digits, '-' and '/' only, e.g. ASC-004217.",
)
postcode_validator = RegexValidator(
    r"\A[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\Z",
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
    title = models.CharField(
        max_length=10,
        choices=Title.choices,
        blank=True,
        help_text="Used to address letters. Leave blank if the person uses no title.",
    )
    given_name = models.CharField("first name", max_length=100)
    family_name = models.CharField("last name", max_length=100)
    preferred_name = models.CharField(
        "preferred name",
        max_length=100,
        blank=True,
        help_text=(
            "The name the person prefers to be called, if it is not their title and last "
            "name: letters begin “Dear” and this name."
        ),
    )
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
    # Optimistic concurrency: every save adds one; an edit based on an older number is refused
    # ("X changed this at T") rather than silently overwriting a colleague's change.
    lock_version = models.PositiveIntegerField(default=1)

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
            models.CheckConstraint(
                condition=Q(
                    date_of_birth__gte=EARLIEST_DATE_OF_BIRTH, date_of_birth__lte=LATEST_STORED_DATE
                ),
                name="person_date_of_birth_sensible",
            ),
        ]
        indexes = [
            # The people list: one team's caseload in name order.
            models.Index(fields=["team", "family_name", "given_name"], name="person_team_name_idx"),
            # Search by date of birth.
            models.Index(fields=["date_of_birth"], name="person_dob_idx"),
            # "Of this team?" for a row of another table (an assessment, a budget, a review):
            # answered from the index alone, without reading the person's row (a team's
            # My work read every person of a 20,000-person team to find 500 drafts).
            models.Index(fields=["team", "id"], name="person_team_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.reference})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def addressed_as(self) -> str:
        """The name on the envelope and above the address: title and full name."""
        return f"{self.title} {self.full_name}" if self.title else self.full_name

    @property
    def salutation(self) -> str:
        """What follows "Dear" in every letter: the name the person prefers to be called, or
        else their title and last name, or (with no title) their first and last names."""
        if self.preferred_name:
            return self.preferred_name
        if self.title:
            return f"{self.title} {self.family_name}"
        return self.full_name

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
        ASSESSMENT = "assessment", "Assessment"
        LETTER = "letter_download", "Letter download"
        BUDGET = "budget", "Budget version"
        PLAN = "plan", "Support plan"
        PANEL = "panel_referral", "Panel referral"
        # Pages that show several people at once: each person shown gets a row.
        PEOPLE_LIST = "people_list", "People list or search"
        MY_WORK = "my_work", "My work"
        RECORDS_SEARCH = "records_search", "Records search"
        PANEL_MEETINGS = "panel_meetings", "Panel meetings"
        PANEL_MEETING = "panel_meeting", "Panel meeting"
        REPRICING_PREVIEW = "repricing_preview", "Re-pricing preview"
        REPRICING_EXPORT = "repricing_export", "Re-pricing export"
        ASSESSMENT_START = "assessment_start", "Start an assessment"
        ASSESSMENT_WITHDRAW = "assessment_withdraw", "Withdraw an assessment"
        REVIEW = "review", "Review"

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


# --- Questionnaires --------------------------------------------------------------------------


class PublishedVersionImmutable(Exception):
    """Raised on any attempt to change part of a questionnaire version that is not a draft."""

    def __init__(self, version: QuestionnaireVersion):
        super().__init__(
            f"{version} is {version.get_status_display().lower()} and can no longer be changed: "
            "copy it to a new draft instead."
        )


code_validator = RegexValidator(
    r"\A[a-z][a-z0-9_]*\Z", "Use lower-case letters, digits and '_', starting with a letter."
)


TRIGGER_CODE_FIXED_MESSAGE = "Used by published questionnaire {versions}: the code cannot change."


class FundingTrigger(models.Model):
    """Another funding stream an answer may point to (NHS continuing healthcare, Access to
    Work, ...), with what the worker should consider (staff pages) and, in words for the
    person, what help they might get and how to ask (their letters). Maintained by RAS
    administrators.

    The code is fixed once a published (or retired) questionnaire version uses the trigger:
    exports and past answers name it. clean() says so beside the field; a PostgreSQL trigger
    (migration 0007) refuses the change on every other path."""

    code = models.CharField(max_length=50, unique=True, validators=[code_validator])
    name = models.CharField(max_length=120)
    what_to_consider = models.TextField(help_text="Plain-English guidance shown to the worker.")
    for_the_person = models.TextField(
        blank=True,
        help_text="What the person reads in their letters: what help they might get and how to "
        "ask for it. Staff pages show the guidance above instead.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if self.pk is None:
            return
        stored = FundingTrigger.objects.filter(pk=self.pk).values_list("code", flat=True).first()
        if stored is None or stored == self.code:
            return
        used = list(
            QuestionnaireVersion.objects.filter(questions__options__triggers=self.pk)
            .exclude(status=QuestionnaireVersion.Status.DRAFT)
            .distinct()
            .order_by("number")
        )
        if used:
            names = [f"{v.number} ({v.title})" for v in used]
            versions = (
                f"version {names[0]}"
                if len(names) == 1
                else f"versions {', '.join(names[:-1])} and {names[-1]}"
            )
            raise ValidationError({"code": TRIGGER_CODE_FIXED_MESSAGE.format(versions=versions)})


class QuestionnaireVersion(WorkflowModel):
    """One version of the self-assessment questionnaire: draft → published → retired.

    A published or retired version never changes (assessments keep pointing at it); the next
    version starts as a copy in draft. At most one version is published at a time.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    # Publishing retires the version in use until then. (A row may be written already
    # published, as an import of a whole service's history would; the database's four-eyes
    # rule holds for it all the same.)
    WORKFLOW = Workflow(
        noun="A questionnaire version",
        status=Status,
        moves={
            Status.DRAFT: {Status.PUBLISHED},
            Status.PUBLISHED: {Status.RETIRED},
            Status.RETIRED: set(),
        },
    )

    title = models.CharField(max_length=120)
    number = models.PositiveIntegerField(help_text="Version number, counting up from 1.")
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-number"]
        permissions = [
            (
                "publish_questionnaireversion",
                "Can publish a questionnaire version drafted by someone else",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="questionnaire_version_number_unique"),
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="published"),
                name="questionnaire_one_published_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title}, version {self.number}"

    def save(self, *args, **kwargs):
        # Only the status (and who/when) may change once a version is no longer a draft.
        if self.pk is not None:
            stored = QuestionnaireVersion.objects.filter(pk=self.pk).first()
            if (
                stored is not None
                and stored.status != self.Status.DRAFT
                and (
                    (stored.title, stored.notes, stored.number)
                    != (self.title, self.notes, self.number)
                )
            ):
                raise PublishedVersionImmutable(stored)
        super().save(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def is_retired(self) -> bool:
        return self.status == self.Status.RETIRED

    def assert_editable(self) -> None:
        # Read the status from the database: an in-memory copy may be stale.
        status = (
            QuestionnaireVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
        )
        if status is not None and status != self.Status.DRAFT:
            self.status = status
            raise PublishedVersionImmutable(self)


class _VersionPart(models.Model):
    """Sections, questions and options refuse to change unless their version is a draft."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self._version().assert_editable()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._version().assert_editable()
        return super().delete(*args, **kwargs)

    def _version(self) -> QuestionnaireVersion:
        raise NotImplementedError


class Section(_VersionPart):
    """A needs domain, e.g. personal care. One page of the assessment."""

    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.CASCADE, related_name="sections"
    )
    order = models.PositiveIntegerField()
    code = models.CharField(max_length=50, validators=[code_validator])
    title = models.CharField(max_length=120)
    help_text = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="section_code_unique"),
            models.UniqueConstraint(fields=["version", "order"], name="section_order_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    def _version(self) -> QuestionnaireVersion:
        return self.version


class Question(_VersionPart):
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="questions")
    # The section's version, kept here so the database can hold question codes unique per
    # version (answers and exports name questions by code).
    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.CASCADE, related_name="questions", editable=False
    )
    order = models.PositiveIntegerField()
    code = models.CharField(max_length=50, validators=[code_validator])
    text = models.CharField(max_length=300)
    help_text = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["section__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="question_code_unique"),
            models.UniqueConstraint(fields=["section", "order"], name="question_order_unique"),
        ]

    def __str__(self) -> str:
        return self.text

    def save(self, *args, **kwargs):
        self.version_id = self.section.version_id
        super().save(*args, **kwargs)

    def _version(self) -> QuestionnaireVersion:
        return self.section.version


class AnswerOption(_VersionPart):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    order = models.PositiveIntegerField()
    label = models.CharField(max_length=300)
    points = models.DecimalField(max_digits=6, decimal_places=2, validators=[MinValueValidator(0)])
    triggers = models.ManyToManyField(FundingTrigger, blank=True, related_name="options")
    history = HistoricalRecords(m2m_fields=[triggers])

    class Meta:
        ordering = ["question", "order"]
        constraints = [
            models.UniqueConstraint(fields=["question", "order"], name="option_order_unique"),
            models.CheckConstraint(condition=Q(points__gte=0), name="option_points_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.points} points)"

    def _version(self) -> QuestionnaireVersion:
        return self.question.section.version


# --- Assessments -----------------------------------------------------------------------------


class SupportedBy(models.TextChoices):
    SELF = "self", "The person on their own"
    FAMILY = "family", "A family member"
    ADVOCATE = "advocate", "An advocate"
    SOCIAL_WORKER = "social_worker", "A social worker"


class InformalSupport(models.TextChoices):
    """Levels named in the RAS policy's informal_support_reductions."""

    NONE = "none", "No unpaid support"
    SOME = "some", "Some of the support they need"
    SUBSTANTIAL = "substantial", "A substantial part of the support they need"
    MOST = "most", "Most of the support they need"


class CarerImpact(models.TextChoices):
    """Levels named in the RAS policy's carer_impact_multipliers."""

    LOW = "low", "Low: caring is manageable"
    MODERATE = "moderate", "Moderate: caring affects the carer's health, work or life"
    HIGH = "high", "High: the carer is at risk of being unable to continue"


class Assessment(WorkflowModel):
    """A supported self-assessment of one person on one questionnaire version.

    draft → submitted (locked) → superseded (by the person's next submitted assessment);
    a draft started by mistake can be withdrawn, with a reason. Nothing is deleted.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "In progress"
        SUBMITTED = "submitted", "Submitted"
        SUPERSEDED = "superseded", "Superseded"
        WITHDRAWN = "withdrawn", "Withdrawn"

    # Submitted (locked), or withdrawn unfinished; a submitted assessment is superseded by the
    # person's next one, never changed.
    WORKFLOW = Workflow(
        noun="An assessment",
        status=Status,
        moves={
            Status.DRAFT: {Status.SUBMITTED, Status.WITHDRAWN},
            Status.SUBMITTED: {Status.SUPERSEDED},
            Status.SUPERSEDED: set(),
            Status.WITHDRAWN: set(),
        },
        starts={Status.DRAFT},
    )

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="assessments")
    questionnaire = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.PROTECT, related_name="assessments"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    supported_by = models.CharField(
        "who supported the person", max_length=20, choices=SupportedBy.choices
    )
    assessment_date = models.DateField(default=timezone.localdate)

    # The informal-support facts the RAS needs (see spec/ras-calculation.md, step 2).
    informal_support = models.CharField(
        "informal support the person gets",
        max_length=20,
        choices=InformalSupport.choices,
        blank=True,
    )
    carer_assessed = models.BooleanField(
        "the carer's own needs have been assessed", null=True, blank=True
    )
    carer_able_and_willing = models.BooleanField(
        "the carer is able and willing to continue", null=True, blank=True
    )
    carer_impact = models.CharField(
        "impact of caring on the carer", max_length=20, choices=CarerImpact.choices, blank=True
    )

    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    # Optimistic concurrency: every save of a draft adds one; a save based on an older
    # number is refused rather than silently overwriting a colleague's work.
    lock_version = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="supersedes"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawn_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status="draft"),
                name="assessment_one_open_per_person",
            ),
        ]
        indexes = [
            # The person's page: their assessments, newest first.
            models.Index(fields=["person", "-started_at"], name="assessment_person_idx"),
            # "Assessments in progress" on My work: drafts, oldest first, read in that order
            # until the box is full (a team of 20,000 had 550 drafts sorted on every visit).
            models.Index(
                fields=["started_at", "id"],
                condition=Q(status="draft"),
                name="assessment_draft_started_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Assessment of {self.person.full_name} started {self.started_at:%d %b %Y}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED

    @property
    def is_superseded(self) -> bool:
        return self.status == self.Status.SUPERSEDED

    @property
    def is_withdrawn(self) -> bool:
        return self.status == self.Status.WITHDRAWN


class Answer(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    option = models.ForeignKey(AnswerOption, on_delete=models.PROTECT, related_name="+")
    evidence = models.TextField("evidence note", blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    answered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "question"], name="answer_one_per_question"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question.code}: {self.option.label}"


# --- Eligibility (Care Act 2014; the Care and Support (Eligibility Criteria) Regulations 2015) --


class Outcome(models.TextChoices):
    """The ten outcomes of regulation 2(2)."""

    NUTRITION = "nutrition", "Managing and maintaining nutrition"
    HYGIENE = "hygiene", "Maintaining personal hygiene"
    TOILET = "toilet", "Managing toilet needs"
    CLOTHING = "clothing", "Being appropriately clothed"
    HOME_SAFETY = "home_safety", "Being able to make use of the home safely"
    HABITABLE_HOME = "habitable_home", "Maintaining a habitable home environment"
    RELATIONSHIPS = "relationships", "Developing and maintaining family or other relationships"
    WORK_LEARNING = (
        "work_learning",
        "Accessing and engaging in work, training, education or volunteering",
    )
    COMMUNITY = (
        "community",
        "Making use of necessary facilities or services in the local community, "
        "including public transport and recreational facilities",
    )
    CARING_FOR_CHILD = "caring_for_child", "Carrying out any caring responsibilities for a child"


class EligibilityDetermination(models.Model):
    """Whether the person's needs meet the eligibility criteria, recorded apart from any budget.

    Eligible = needs arise from a physical or mental impairment or illness AND the person is
    unable to achieve two or more outcomes AND, as a consequence, there is (or is likely to be)
    a significant impact on their wellbeing.
    """

    assessment = models.OneToOneField(
        Assessment, on_delete=models.PROTECT, related_name="eligibility"
    )
    impairment_or_illness = models.BooleanField(
        "the needs arise from a physical or mental impairment or illness"
    )
    significant_impact = models.BooleanField(
        "as a result there is, or is likely to be, a significant impact on wellbeing"
    )
    eligible = models.BooleanField()
    reasons = models.TextField()
    decided_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{'Eligible' if self.eligible else 'Not eligible'}: {self.assessment}"


class OutcomeFinding(models.Model):
    """For one outcome: the ways, if any, in which the person is unable to achieve it.

    'Unable to achieve' has four meanings in regulation 2(3); ticking any one is enough.
    """

    determination = models.ForeignKey(
        EligibilityDetermination, on_delete=models.PROTECT, related_name="findings"
    )
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    needs_assistance = models.BooleanField("unable to achieve it without assistance")
    pain_or_distress = models.BooleanField(
        "can achieve it without assistance but with significant pain, distress or anxiety"
    )
    endangers = models.BooleanField(
        "can achieve it without assistance but doing so endangers, or is likely to endanger, "
        "their or others' health or safety"
    )
    significantly_longer = models.BooleanField(
        "can achieve it without assistance but it takes significantly longer than normally expected"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["determination", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["determination", "outcome"], name="finding_one_per_outcome"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {'unable' if self.unable else 'able'}"

    @property
    def unable(self) -> bool:
        return (
            self.needs_assistance
            or self.pain_or_distress
            or self.endangers
            or self.significantly_longer
        )
