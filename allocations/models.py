"""RAS policies, background jobs (re-pricing runs, letter batches), indicative budgets,
support plans, agreed budgets and letters."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from assessments.models import Assessment, Person, User
from assessments.workflows import Workflow, WorkflowModel
from ras_site.documents import read_document
from ras_site.forms import EARLIEST_DATE, LATEST_STORED_DATE


class ApprovedPolicyImmutable(Exception):
    def __init__(self, policy: RasPolicy):
        super().__init__(
            f"{policy} is approved and can no longer be changed: copy it to a new draft instead."
        )


class TransitionalRule(models.TextChoices):
    """How step 7 of the calculation treats a person's existing package (spec step 7)."""

    EXISTING_PACKAGE = "existing_package", "The cost of the current support (may be lower)"
    HIGHER_OF = "higher_of", "Whichever is higher: the RAS figure or the current support"


class RasPolicy(WorkflowModel):
    """One version of the council's RAS settings, in force from `effective_from` once a
    second person has approved it. An approved version never changes; changing the price
    makes a new version, so past budgets are never rewritten."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"

    # Approved by `policy_approve` (four eyes); an approved version never changes again.
    WORKFLOW = Workflow(
        noun="A policy",
        status=Status,
        moves={Status.DRAFT: {Status.APPROVED}, Status.APPROVED: set()},
        starts={Status.DRAFT},
    )

    name = models.CharField(max_length=120)
    notes = models.TextField(blank=True, max_length=5000)
    effective_from = models.DateField("in force from")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)

    price_per_point_gbp = models.DecimalField(
        "price per point (£)", max_digits=8, decimal_places=2, validators=[MinValueValidator(0)]
    )
    weeks_per_year = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("52"), validators=[MinValueValidator(1)]
    )
    client_group_factors = models.JSONField(default=dict, blank=True)
    informal_support_reductions = models.JSONField(default=dict)
    carer_impact_multipliers = models.JSONField(default=dict)
    contingency_bands = models.JSONField(default=list)
    minimum_weekly_gbp = models.DecimalField(
        "minimum weekly budget (£)",
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
    )
    panel_threshold_weekly_gbp = models.DecimalField(
        "panel threshold (£ a week)",
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    protect_existing_packages = models.BooleanField(
        "apply the transitional rule to existing packages",
        default=True,
        help_text="While a person's needs have not increased, their current package cost "
        "counts as the rule below says.",
    )
    transitional_rule = models.CharField(
        "transitional rule",
        max_length=20,
        choices=TransitionalRule.choices,
        default=TransitionalRule.EXISTING_PACKAGE,
        help_text="'The cost of the current support' can give less than the RAS figure; "
        "'whichever is higher' never gives anyone less than their current package.",
    )
    plan_tolerance_percent = models.DecimalField(
        "support plan tolerance (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(0)],
        help_text="A plan differing from the indicative budget by more than this needs a reason.",
    )
    residential_benchmark_annual_gbp = models.DecimalField(
        "residential care benchmark (£ a year)",
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    # Care Act s.27: how long after an agreement (or a review that changed nothing) the next
    # review falls due, unless the panel set its own date.
    review_interval_months = models.PositiveSmallIntegerField(
        "months between reviews",
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(36)],
        help_text="When an agreed budget is next reviewed, unless the panel sets a date.",
    )

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-effective_from", "-approved_at", "-id"]
        verbose_name = "RAS policy"
        verbose_name_plural = "RAS policies"
        permissions = [
            ("approve_raspolicy", "Can approve a RAS policy version drafted by someone else"),
            ("reprice_raspolicy", "Can apply an approved policy to current budgets"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(approved_by__isnull=False),
                name="policy_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=~Q(approved_by=models.F("created_by")),
                name="policy_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(price_per_point_gbp__gte=0), name="policy_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(transitional_rule__in=["existing_package", "higher_of"]),
                name="policy_transitional_rule_known",
            ),
            # A typo such as 0001 or 9999 (the forms keep it within 5 years of today).
            models.CheckConstraint(
                condition=Q(
                    effective_from__gte=EARLIEST_DATE, effective_from__lte=LATEST_STORED_DATE
                ),
                name="policy_effective_from_sensible",
            ),
        ]
        indexes = [
            # policy_in_force_on(): approved versions by effective date.
            models.Index(fields=["status", "-effective_from"], name="policy_in_force_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (from {self.effective_from:%d %b %Y})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED

    def save(self, *args, **kwargs):
        """Refuses any change to a version whose STORED status is approved (so approving a
        draft saves, and nothing after it does), then the workflow's own check."""
        if self.pk is not None:
            stored = RasPolicy.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == self.Status.APPROVED:
                raise ApprovedPolicyImmutable(self)
        super().save(*args, **kwargs)

    def client_group_factor_rows(self) -> list[tuple[str, str]]:
        """(client group as people read it, factor) for every group with a factor."""
        from assessments.models import ClientGroup

        labels = dict(ClientGroup.choices)
        return [(labels.get(k, k), v) for k, v in self.client_group_factors.items()]


class BackgroundJob(WorkflowModel):
    """What every background job keeps, whatever its work: who asked for it and when, where it
    has got to, and how it ended. Re-pricing runs and letter batches are jobs; the moves
    between statuses and the running of a job's body live in `allocations/jobs.py`, and one
    progress partial and status view serve them all.

    A concrete job names the counts its progress line shows (`PROGRESS_COUNTS`, field and
    words) and adds its own fields and history."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Running"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    # A running job holds a lease it renews at each checkpoint (`heartbeat_at`). A worker killed
    # mid-run leaves its job running with a lease that runs out: the job is then stalled, and
    # goes back to queued (or a worker takes it straight over: running → running) to resume
    # where it stopped; a worker asked to stop (SIGTERM) also puts its job back to queued. A
    # failed job may run again. A finished job never runs twice.
    WORKFLOW = Workflow(
        noun="A background job",
        status=Status,
        moves={
            Status.QUEUED: {Status.RUNNING},
            Status.RUNNING: {Status.RUNNING, Status.QUEUED, Status.DONE, Status.FAILED},
            Status.FAILED: {Status.RUNNING},
            Status.DONE: set(),
        },
        starts={Status.QUEUED},
    )

    # (attribute, the words after its number): "3 new budget versions".
    PROGRESS_COUNTS: tuple[tuple[str, str], ...] = ()

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # The lease of the worker running the job: renewed at each checkpoint, held by whoever
    # claimed it last (a random token), and how many times a worker has started it.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="%(class)s_status_known",
            ),
            models.CheckConstraint(
                condition=Q(processed__lte=models.F("total")),
                name="%(class)s_processed_within_total",
            ),
        ]

    @property
    def percent(self) -> int:
        if not self.total:  # nothing counted yet, or nothing to do
            return 100 if self.is_done else 0
        return int(self.processed * 100 / self.total)

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def is_active(self) -> bool:
        """Queued or running: the page keeps polling."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @classmethod
    def stalled_q(cls, now=None) -> Q:
        """Running, but its lease has run out (or it never had one): its worker died."""
        expired = (now or timezone.now()) - timedelta(seconds=settings.JOB_LEASE_SECONDS)
        return Q(status=cls.Status.RUNNING) & (
            Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=expired)
        )

    @property
    def is_stalled(self) -> bool:
        """Running, but no checkpoint for longer than the lease: its worker stopped."""
        if self.status != self.Status.RUNNING:
            return False
        lease = timedelta(seconds=settings.JOB_LEASE_SECONDS)
        return self.heartbeat_at is None or self.heartbeat_at < timezone.now() - lease

    @property
    def is_resuming(self) -> bool:
        """Queued again after a worker stopped part-way: it carries on from where it was."""
        return self.status == self.Status.QUEUED and self.attempts > 0

    @property
    def state_label(self) -> str:
        """The status as the page says it, honest about a worker that stopped."""
        if self.is_stalled:
            return f"Stalled: the worker stopped at {self.percent}%"
        if self.is_resuming:
            return f"Waiting to resume from {self.percent}% (the worker stopped)"
        if self.status == self.Status.RUNNING and self.attempts > 1:
            return "Running (resumed where the worker stopped)"
        return self.get_status_display()

    def progress_counts(self) -> list[tuple[str, int, str]]:
        """(attribute, number, words) for each count the progress line shows."""
        return [(name, getattr(self, name), words) for name, words in self.PROGRESS_COUNTS]

    def progress(self) -> dict:
        """What the status page polls for (and the progress partial first shows)."""
        data = {
            "status": self.status,
            "status_label": self.state_label,
            "stalled": self.is_stalled,
            "total": self.total,
            "processed": self.processed,
            "percent": self.percent,
            "error": self.error,
        }
        data.update({name: number for name, number, _ in self.progress_counts()})
        return data


class RepricingRun(BackgroundJob):
    """Applying an approved policy to everyone's current budget, as a background job."""

    PROGRESS_COUNTS = (
        ("changed", "new budget versions"),
        ("flagged", "lower figures awaiting a manager's decision"),
    )

    policy = models.ForeignKey(RasPolicy, on_delete=models.PROTECT, related_name="runs")
    reason = models.TextField()
    changed = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"Re-pricing to {self.policy} ({self.get_status_display().lower()})"


class IdIndexedHistory(HistoricalRecords):
    """History whose table has one index beside its primary key: the recorded row's id (an
    object's history page reads by it). simple-history also indexes the history's date and
    user and every foreign key the row copies, none of which a page reads the history by,
    and each history row written must update every one of them: re-pricing writes two a
    person (nine of eleven indexes fewer: a third less WAL for those rows). The history
    user's foreign key to the user stays."""

    # simple-history's own setting for whether history_date is indexed, per model.
    _date_indexing = False

    def copy_fields(self, model):
        fields = super().copy_fields(model)
        for name, field in fields.items():
            if name != model._meta.pk.name:
                field.db_index = False
        return fields

    def _get_history_user_fields(self):
        fields = super()._get_history_user_fields()
        fields["history_user"].db_index = False
        return fields


class IndicativeBudget(WorkflowModel):
    """One version of a person's indicative budget, with the whole calculation stored.

    A person has at most one current version. Recalculating makes a new version and the old
    one is superseded, never changed. A new figure below the current one while needs have not
    reduced waits for a manager's decision instead of replacing it (no silent reductions).
    """

    class Status(models.TextChoices):
        CURRENT = "current", "Current"
        SUPERSEDED = "superseded", "Superseded"
        AWAITING_DECISION = "awaiting_decision", "Lower figure awaiting a manager's decision"
        NOT_ADOPTED = "not_adopted", "Not adopted (manager kept the earlier figure)"
        ENDED = "ended", "Ended (a reassessment found the needs not eligible)"

    # A new version is current, or waits for a manager when it is lower while needs have not
    # reduced; a newer version supersedes it; a reassessment found not eligible ends it.
    WORKFLOW = Workflow(
        noun="An indicative budget",
        status=Status,
        moves={
            Status.CURRENT: {Status.SUPERSEDED, Status.ENDED},
            Status.AWAITING_DECISION: {
                Status.CURRENT,
                Status.NOT_ADOPTED,
                Status.SUPERSEDED,
                Status.ENDED,
            },
            Status.SUPERSEDED: set(),
            Status.NOT_ADOPTED: set(),
            Status.ENDED: set(),
        },
        starts={Status.CURRENT, Status.AWAITING_DECISION},
    )

    class Basis(models.TextChoices):
        RAS = "ras", "The RAS calculation"
        EXISTING_PACKAGE = "existing_package", "The cost of the current support"

    # Foreign keys without an index of their own where an index below already serves the
    # look-ups (or none are made): re-pricing writes 100,000 rows at a time, and every index
    # (here and on the history table) slows each one.
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="budgets", db_index=False
    )
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="budgets")
    policy = models.ForeignKey(
        RasPolicy, on_delete=models.PROTECT, related_name="budgets", db_index=False
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    reason = models.TextField(help_text="Why this version was calculated.")
    calculated_on = models.DateField(help_text="The date whose policy was used.")

    raw_points = models.DecimalField(max_digits=10, decimal_places=2)
    # Exact, as the engine keeps them (spec step 3): room for the decimals policies can give.
    reduction_percent = models.DecimalField(max_digits=20, decimal_places=10)
    adjusted_points = models.DecimalField(max_digits=24, decimal_places=12)
    gross_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    contingency_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    ras_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    indicative_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    annual_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    basis = models.CharField(max_length=20, choices=Basis.choices)
    panel_required = models.BooleanField()
    triggers = models.JSONField(default=list)
    # Everything needed to explain (and reproduce) the figure years later: the inputs, the
    # policy as applied, points by section and each contingency band.
    breakdown = models.JSONField()

    repricing_run = models.ForeignKey(
        RepricingRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="budgets",
        db_index=False,
    )
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", db_index=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(
        "why it ended", blank=True, help_text="Set when the budget ends without a successor."
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    decision_reason = models.TextField(blank=True)
    history = IdIndexedHistory()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("decide_indicativebudget", "Can decide whether a lower figure replaces a budget"),
            ("recalculate_indicativebudget", "Can recalculate a person's indicative budget"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="current"), name="budget_one_current"
            ),
            models.UniqueConstraint(
                fields=["person", "policy"],
                condition=Q(status="awaiting_decision"),
                name="budget_one_pending_per_policy",
            ),
            models.CheckConstraint(
                condition=Q(indicative_weekly_gbp__gte=0) & Q(annual_gbp__gte=0),
                name="budget_money_not_negative",
            ),
        ]
        indexes = [
            # The person's page: their budget versions, newest first.
            models.Index(fields=["person", "-created_at"], name="budget_person_idx"),
            # Re-pricing: every current budget not yet on a policy; a policy's budgets.
            models.Index(fields=["policy", "status"], name="budget_policy_status_idx"),
            # My work: the team's current budgets waiting for a plan, oldest first (read in
            # order until the box is full).
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status="current"),
                name="budget_current_created_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"£{self.indicative_weekly_gbp} a week for {self.person_id} ({self.status})"


# --- Support plans and agreed personal budgets -------------------------------------------------


class Management(models.TextChoices):
    DIRECT_PAYMENT = "direct_payment", "Direct payment"
    COUNCIL_MANAGED = "council_managed", "Council-managed"
    INDIVIDUAL_SERVICE_FUND = "individual_service_fund", "Individual service fund"
    MIXED = "mixed", "A mix of these"


# The comments a plan returned by the panel's decline starts with. Panels writes them
# (panels.services.panel_decide) and allocations' fairness report reads a decline by them, so
# allocations never asks panels (which sits above it).
PANEL_DECLINED_COMMENT = "Declined by the panel"


class SupportPlan(WorkflowModel):
    """How the person will spend their budget, costed line by line against the indicative
    budget, then authorised by a team manager or, for high-cost or risky plans, the panel.

    draft → awaiting_authorisation | at_panel → agreed, or → returned (to the worker, who
    changes it and submits again).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Being written"
        AWAITING_AUTHORISATION = "awaiting_authorisation", "Waiting for a team manager"
        AT_PANEL = "at_panel", "Referred to the risk enablement panel"
        RETURNED = "returned", "Returned to the worker"
        AGREED = "agreed", "Agreed"
        CLOSED = "closed", "Closed without agreement"

    # Submitted to a team manager or (when a panel rule holds) the panel; either agrees it or
    # returns it to be changed and submitted again; any open plan closes when no indicative
    # budget is due any more. An agreed or closed plan stays as it is (a review starts anew).
    WORKFLOW = Workflow(
        noun="A support plan",
        status=Status,
        moves={
            Status.DRAFT: {Status.AWAITING_AUTHORISATION, Status.AT_PANEL, Status.CLOSED},
            Status.RETURNED: {Status.AWAITING_AUTHORISATION, Status.AT_PANEL, Status.CLOSED},
            Status.AWAITING_AUTHORISATION: {Status.AGREED, Status.RETURNED, Status.CLOSED},
            Status.AT_PANEL: {Status.AGREED, Status.RETURNED, Status.CLOSED},
            Status.AGREED: set(),
            Status.CLOSED: set(),
        },
        starts={Status.DRAFT},
    )

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="plans")
    indicative_budget = models.ForeignKey(
        IndicativeBudget, on_delete=models.PROTECT, related_name="plans"
    )
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.DRAFT)
    management = models.CharField(
        "how the budget will be managed",
        max_length=30,
        choices=Management.choices,
        default=Management.DIRECT_PAYMENT,
    )
    direct_payment_weekly_gbp = models.DecimalField(
        "direct payment (£ a week)", max_digits=12, decimal_places=2, default=Decimal("0")
    )
    council_managed_weekly_gbp = models.DecimalField(
        "council-managed (£ a week)", max_digits=12, decimal_places=2, default=Decimal("0")
    )
    isf_weekly_gbp = models.DecimalField(
        "individual service fund (£ a week)", max_digits=12, decimal_places=2, default=Decimal("0")
    )
    contribution_weekly_gbp = models.DecimalField(
        "the person's assessed weekly contribution (£)",
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text="From the separate financial assessment.",
    )
    difference_reason = models.TextField(
        "why the plan differs from the indicative budget", blank=True, max_length=4000
    )
    risk_referral = models.BooleanField("refer to the panel for risk reasons", default=False)
    risk_reasons = models.TextField("the risks, and the worker's case", blank=True, max_length=4000)
    review_date = models.DateField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    routing_reasons = models.JSONField(default=list, blank=True)
    returned_comments = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField("why the plan was closed", blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("authorise_supportplan", "Can authorise support plans of their team"),
            # Held by the panel chair (panels registers it): agreeing or returning a plan
            # referred to the risk enablement panel.
            ("decide_plan_by_panel", "Can agree or return support plans referred to the panel"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status__in=["draft", "awaiting_authorisation", "at_panel", "returned"]),
                name="plan_one_open_per_person",
            ),
            models.CheckConstraint(
                condition=Q(contribution_weekly_gbp__gte=0)
                & Q(direct_payment_weekly_gbp__gte=0)
                & Q(council_managed_weekly_gbp__gte=0)
                & Q(isf_weekly_gbp__gte=0),
                name="plan_money_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(review_date__isnull=True)
                | Q(review_date__gte=EARLIEST_DATE, review_date__lte=LATEST_STORED_DATE),
                name="plan_review_date_sensible",
            ),
        ]

    def __str__(self) -> str:
        return f"Support plan for {self.person.full_name} ({self.get_status_display().lower()})"

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.RETURNED)

    @property
    def is_awaiting_authorisation(self) -> bool:
        return self.status == self.Status.AWAITING_AUTHORISATION

    @property
    def is_at_panel(self) -> bool:
        return self.status == self.Status.AT_PANEL

    @property
    def is_returned(self) -> bool:
        return self.status == self.Status.RETURNED

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class LiveQuerySet(models.QuerySet):
    """Plan lines and informal support are ended, never deleted: `live()` is what counts."""

    def live(self):
        return self.filter(ended_at__isnull=True)


class PlanLine(models.Model):
    class Category(models.TextChoices):
        PA_HOURS = "pa_hours", "Personal assistant hours"
        HOME_CARE = "home_care", "Agency home care"
        DAY_OPPORTUNITIES = "day_opportunities", "Day opportunities"
        SHORT_BREAKS = "short_breaks", "Short breaks"
        EQUIPMENT = "equipment", "Equipment"
        TRANSPORT = "transport", "Transport"
        OTHER = "other", "Other"

    class Frequency(models.TextChoices):
        WEEK = "week", "per week"
        FOUR_WEEKS = "four_weeks", "per 4 weeks"
        MONTH = "month", "per month"
        YEAR = "year", "per year"
        ONE_OFF = "one_off", "one-off"

    plan = models.ForeignKey(SupportPlan, on_delete=models.CASCADE, related_name="lines")
    category = models.CharField(max_length=30, choices=Category.choices)
    description = models.CharField(max_length=200)
    provider = models.CharField(max_length=120, blank=True)
    quantity = models.DecimalField(
        max_digits=9, decimal_places=2, validators=[MinValueValidator(0)]
    )
    unit = models.CharField(max_length=30, help_text="e.g. hour, session, item")
    unit_cost_gbp = models.DecimalField(
        "unit cost (£)", max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    frequency = models.CharField(max_length=20, choices=Frequency.choices)
    meets_outcomes = models.JSONField(
        "eligible needs it meets",
        default=list,
        blank=True,
        help_text="Eligibility outcome codes.",
    )
    meets_sections = models.JSONField(
        "questionnaire areas it meets",
        default=list,
        blank=True,
        help_text="Section codes of the assessment's questionnaire.",
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    objects = LiveQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0) & Q(unit_cost_gbp__gte=0),
                name="plan_line_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.quantity} {self.unit} × £{self.unit_cost_gbp}"


class InformalSupportItem(models.Model):
    """Named unpaid support that meets an eligible need instead of a paid plan line."""

    plan = models.ForeignKey(SupportPlan, on_delete=models.CASCADE, related_name="informal")
    outcome = models.CharField(max_length=30)
    who = models.CharField("who gives it", max_length=120)
    what = models.CharField("what they do", max_length=300)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    objects = LiveQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        return f"{self.who}: {self.what}"


class AgreedBudget(WorkflowModel):
    """The personal budget the council commits (Care Act s.26 statement): the cost, the
    person's contribution, the council's, how it is managed and when it is reviewed."""

    class Status(models.TextChoices):
        CURRENT = "current", "Current"
        ENDED = "ended", "Ended"
        AWAITING_DECISION = "awaiting_decision", "Lower budget awaiting a manager's decision"
        NOT_ADOPTED = "not_adopted", "Not adopted (manager kept the earlier budget)"

    # The same shape as the indicative budget's: a lower agreed budget waits for a manager.
    WORKFLOW = Workflow(
        noun="An agreed budget",
        status=Status,
        moves={
            Status.CURRENT: {Status.ENDED},
            Status.AWAITING_DECISION: {Status.CURRENT, Status.NOT_ADOPTED, Status.ENDED},
            Status.ENDED: set(),
            Status.NOT_ADOPTED: set(),
        },
        starts={Status.CURRENT, Status.AWAITING_DECISION},
    )

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="agreed_budgets")
    plan = models.OneToOneField(SupportPlan, on_delete=models.PROTECT, related_name="agreed")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CURRENT)
    weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    annual_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    one_off_gbp = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    direct_payment_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    council_managed_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    isf_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    contribution_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    council_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    indicative_weekly_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    difference_reason = models.TextField(blank=True)
    conditions = models.TextField(blank=True)
    review_date = models.DateField()
    agreed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    agreed_at = models.DateTimeField(default=timezone.now)
    agreed_how = models.CharField(max_length=40)  # "team manager" or "risk enablement panel"
    ended_at = models.DateTimeField(null=True, blank=True)
    # A lower budget while needs have not reduced waits for a manager (no silent reductions).
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-agreed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="current"), name="agreed_one_current"
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status="awaiting_decision"),
                name="agreed_one_awaiting_decision",
            ),
            models.CheckConstraint(
                condition=Q(weekly_gbp__gte=0) & Q(council_weekly_gbp__gte=0),
                name="agreed_money_not_negative",
            ),
            # Sufficiency: any difference from the indicative budget carries its reason.
            models.CheckConstraint(
                condition=Q(weekly_gbp=models.F("indicative_weekly_gbp"))
                | ~Q(difference_reason=""),
                name="agreed_difference_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(review_date__gte=EARLIEST_DATE, review_date__lte=LATEST_STORED_DATE),
                name="agreed_review_date_sensible",
            ),
        ]

    def __str__(self) -> str:
        return f"£{self.weekly_gbp} a week agreed for {self.person_id}"


class Review(WorkflowModel):
    """A review of an agreed budget (Care Act s.27): started by a worker or team manager of the
    person's team, with a reassessment linked to it; decided with one outcome and its reasons.
    No change keeps the agreed budget and sets the next review date (`next_review_date`: the
    agreed budget itself keeps what was agreed); reassess lets the reassessment go on through
    the normal path (a new plan, a new agreed budget); close ends the agreed budget."""

    class Status(models.TextChoices):
        OPEN = "open", "In progress"
        DECIDED = "decided", "Decided"

    class Outcome(models.TextChoices):
        NO_CHANGE = "no_change", "No change"
        REASSESS = "reassess", "Reassess"
        CLOSE = "close", "Close the budget"

    # Decided once, by review_decide; a decided review never reopens (start a new one).
    WORKFLOW = Workflow(
        noun="A review",
        status=Status,
        moves={Status.OPEN: {Status.DECIDED}, Status.DECIDED: set()},
        starts={Status.OPEN},
    )

    agreed_budget = models.ForeignKey(
        AgreedBudget, on_delete=models.PROTECT, related_name="reviews"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reason = models.TextField("why the review was started")
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reassessment = models.ForeignKey(
        Assessment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    outcome_reason = models.TextField(blank=True)
    next_review_date = models.DateField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("decide_review", "Can record a review's outcome")]
        constraints = [
            # Starting twice at once makes one review (review_start also locks the person).
            models.UniqueConstraint(
                fields=["agreed_budget"], condition=Q(status="open"), name="review_one_open"
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(outcome="") & Q(decided_by__isnull=True))
                | (
                    Q(status="decided")
                    & ~Q(outcome="")
                    & ~Q(outcome_reason="")
                    & Q(decided_by__isnull=False)
                    & Q(decided_at__isnull=False)
                ),
                name="review_decided_has_outcome_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(outcome="no_change", next_review_date__isnull=False)
                | (~Q(outcome="no_change") & Q(next_review_date__isnull=True)),
                name="review_no_change_sets_next_date",
            ),
            models.CheckConstraint(
                condition=Q(next_review_date__isnull=True)
                | Q(next_review_date__gte=EARLIEST_DATE, next_review_date__lte=LATEST_STORED_DATE),
                name="review_next_review_date_sensible",
            ),
        ]

    def __str__(self) -> str:
        return f"Review of agreed budget {self.agreed_budget_id} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


# --- Letters -----------------------------------------------------------------------------------


class LetterBatch(BackgroundJob):
    """Letters for many people at once, issued by a background job, downloaded as a ZIP."""

    PROGRESS_COUNTS = (("issued", "letters issued"), ("reused", "reused"), ("failed", "failed"))

    kind = models.CharField(max_length=30)
    description = models.CharField(max_length=300)
    person_ids = models.JSONField(default=list)
    issued = models.PositiveIntegerField(default=0)
    reused = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, help_text="[{reference, error}]")
    letter_ids = models.JSONField(default=list, help_text="The letters issued or reused.")
    history = HistoricalRecords()

    class Meta(BackgroundJob.Meta):
        permissions = [("run_letterbatch", "Can issue letters in batches")]

    def __str__(self) -> str:
        return f"Letters: {self.description}"

    @property
    def failed(self) -> int:
        return len(self.failures)


class Letter(models.Model):
    """An issued letter, kept exactly as sent: its PDF (a file in the documents storage) and
    the SHA-256 it must match, who issued it, when, and the figures it shows. Never changed;
    issuing again makes a new letter."""

    class Kind(models.TextChoices):
        INDICATIVE = "indicative", "Indicative budget letter"
        STATEMENT = "statement", "Personal budget statement"
        PANEL_DECISION = "panel_decision", "Panel decision letter"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # The stored record the letter was made from (an indicative budget, an agreed budget or a
    # panel decision, by kind): letters are only ever made from stored figures.
    source_id = models.PositiveBigIntegerField()
    figures = models.JSONField()
    figures_sha256 = models.CharField(max_length=64)
    # The PDF is a file in the "documents" storage (ras_site/documents.py), named here; `pdf`
    # held the bytes of letters issued before the files moved out (migration 0020 moved them
    # and emptied it). Read it with read_pdf(), which checks the SHA-256.
    pdf_file = models.CharField(max_length=255, blank=True, default="", editable=False)
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(
        LetterBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="letters"
    )
    # Withdrawal is the one change an issued letter allows (the PDF and figures never change).
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawn_reason = models.TextField(blank=True)
    # The history records issue and withdrawal (with the file's name), never the bytes.
    history = HistoricalRecords(excluded_fields=["pdf"])

    class Meta:
        ordering = ["-issued_at", "-id"]
        permissions = [("withdraw_letter", "Can withdraw an issued letter, with a reason")]
        constraints = [
            # One letter for the same figures (two clicks on "Issue" make one letter); its
            # index also serves reuse in batches.
            models.UniqueConstraint(
                fields=["person", "kind", "figures_sha256"],
                condition=Q(withdrawn_at__isnull=True),
                name="letter_once_per_figures",
            ),
            # A withdrawal always says why.
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | ~Q(withdrawn_reason=""),
                name="letter_withdrawal_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.person_id}, {self.issued_at:%d %b %Y}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not getattr(self, "_withdrawing", False):
            raise PermissionError("An issued letter never changes: issue a new one.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Issued letters are kept.")

    def read_pdf(self) -> bytes:
        """The PDF as issued, checked against its SHA-256 (ras_site.documents.read_document:
        raises DocumentRefused when the stored file does not match or is missing)."""
        return read_document(self)


# --- Calibration (issue 11): samples of cases and the fits made on them ---------------------


class CalibrationSample(models.Model):
    """A sample of cases (points against the current package's weekly cost) to calibrate the
    price per point and the weightings on: loaded from a CSV/XLSX file or built from the live
    caseload. Kept for good, with who made it and when; never changed or deleted. Its cases
    are `CalibrationCase` rows."""

    class Source(models.TextChoices):
        FILE = "file", "Uploaded file"
        CASELOAD = "caseload", "Live caseload"

    name = models.CharField(max_length=120)
    source = models.CharField(max_length=10, choices=Source.choices)
    filename = models.CharField(max_length=255, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("run_calibration", "Can load calibration samples, fit them and adopt a result"),
            ("view_calibration", "Can see calibration samples and runs"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=["file", "caseload"]), name="calibration_source_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.row_count} cases)"

    def delete(self, *args, **kwargs):
        raise PermissionError("Calibration samples are kept.")


class CalibrationCase(models.Model):
    """One case of a sample. Written once, with `bulk_create`, when the sample is made (a
    10,000-row sample loads in one statement), and never changed: so no history of its own —
    the sample's history records who made it, and the rows are exactly what was loaded."""

    sample = models.ForeignKey(CalibrationSample, on_delete=models.PROTECT, related_name="cases")
    row = models.PositiveIntegerField(help_text="Its row in the file (or its place in the sample).")
    reference = models.CharField(max_length=40)
    client_group = models.CharField(max_length=30)
    points = models.DecimalField(max_digits=9, decimal_places=2)
    weekly_cost_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    age_band = models.CharField(max_length=40, blank=True)
    team = models.CharField(max_length=120, blank=True)
    section_points = models.JSONField(default=dict, blank=True, help_text="{section code: points}")

    class Meta:
        ordering = ["sample", "row"]
        constraints = [
            models.UniqueConstraint(fields=["sample", "row"], name="calibration_case_row_unique"),
            models.CheckConstraint(
                condition=Q(weekly_cost_gbp__gte=0), name="calibration_case_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(points__gte=0), name="calibration_case_points_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.points} points, £{self.weekly_cost_gbp} a week"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("A sample's cases never change: load a new sample.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Calibration samples are kept.")


class CalibrationRun(models.Model):
    """One fit of a sample: the method (or every method), the policy it was read against and
    the weekly budget it was solved for, if any, and the report as data (`results`). Kept with
    who ran it and when; never changed or deleted."""

    sample = models.ForeignKey(CalibrationSample, on_delete=models.PROTECT, related_name="runs")
    method = models.CharField(max_length=20, help_text="A fitting method, or 'all'.")
    policy = models.ForeignKey(
        RasPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    budget_weekly_gbp = models.DecimalField(
        "weekly budget (£)", max_digits=12, decimal_places=2, null=True, blank=True
    )
    results = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget_weekly_gbp__isnull=True) | Q(budget_weekly_gbp__gte=0),
                name="calibration_run_budget_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} on {self.sample.name}, {self.created_at:%d %b %Y %H:%M}"

    def delete(self, *args, **kwargs):
        raise PermissionError("Calibration runs are kept.")


# --- Reports (issue 12) ------------------------------------------------------------------------


class ReportSettings(models.Model):
    """The targets the reports measure against, set by a RAS administrator: the take-up target
    (NI 130; councils aimed at 30%) and the annual budget for personal budgets. One row (pk 1);
    every change is kept in its history with who made it and why."""

    SINGLETON_PK = 1

    take_up_target_percent = models.DecimalField(
        "take-up target (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("30"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="The share of people receiving community-based support who should have an "
        "agreed personal budget.",
    )
    annual_budget_gbp = models.DecimalField(
        "annual budget for personal budgets (£)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="What the council has set aside a year for agreed personal budgets.",
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "report settings"
        permissions = [("view_reports", "Can see the service's reports")]
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="report_settings_one_row"),
            models.CheckConstraint(
                condition=Q(take_up_target_percent__gte=0) & Q(take_up_target_percent__lte=100),
                name="report_settings_target_is_a_percentage",
            ),
            models.CheckConstraint(
                condition=Q(annual_budget_gbp__isnull=True) | Q(annual_budget_gbp__gte=0),
                name="report_settings_budget_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return "Report settings"

    def delete(self, *args, **kwargs):
        raise PermissionError("The report settings are kept.")


class ReportPack(models.Model):
    """An issued "Personal budgets: performance and sustainability" pack: the PDF members read,
    kept byte for byte with its SHA-256, the scope it covers (`scope` as data: period, teams,
    client group), who issued it and when. Never changed or deleted; issuing again makes a new
    pack."""

    title = models.CharField(max_length=200)
    period_start = models.DateField()
    period_end = models.DateField()
    scope = models.JSONField(default=dict)
    # As a letter's: the file in the "documents" storage, or (packs issued before the files
    # moved out) the bytes in `pdf`. Read it with read_pdf().
    pdf_file = models.CharField(max_length=255, blank=True, default="", editable=False)
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    # The history names the file, never holds the bytes.
    history = HistoricalRecords(excluded_fields=["pdf"])

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="report_pack_period_in_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title}, {self.period_start:%d %b %Y} to {self.period_end:%d %b %Y}"

    def delete(self, *args, **kwargs):
        raise PermissionError("Issued report packs are kept.")

    def read_pdf(self) -> bytes:
        """The PDF as issued, checked against its SHA-256 (see Letter.read_pdf)."""
        return read_document(self)


class RunPart(models.Model):
    """One part of a run cut into parts by person id (allocations.services.repricing.
    run_in_parts): the people with ids from `first_person_id` to `last_person_id`, worked in
    one transaction by whichever worker takes it first (its row locked, skipping parts another
    worker holds) and marked done in that same transaction. Written by the workers only."""

    number = models.PositiveIntegerField()
    first_person_id = models.BigIntegerField()
    last_person_id = models.BigIntegerField()
    # People in the part: as planned, then as found when the part was worked.
    total = models.PositiveIntegerField()
    processed = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField("worker (host:process)", max_length=100, blank=True)

    class Meta:
        abstract = True
        ordering = ["run", "number"]

    def __str__(self) -> str:
        return f"Part {self.number} of {self.run}"


class RepricingChunk(RunPart):
    """One part of a re-pricing run (RunPart; allocations.services.repricing), applied and
    marked done with its counts in one transaction: a part is applied once, whichever workers
    stop or die, and the run's counts are the sums of its parts'. Never written by a person
    (the run and the budgets keep the history)."""

    run = models.ForeignKey(RepricingRun, on_delete=models.PROTECT, related_name="chunks")
    changed = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # "reference (why)" of the first people whose figure could not be calculated, a line each.
    failures = models.TextField(blank=True)

    class Meta(RunPart.Meta):
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="repricing_chunk_once"),
            models.CheckConstraint(
                condition=Q(first_person_id__lte=F("last_person_id")),
                name="repricing_chunk_range_in_order",
            ),
        ]


class RepricingPreviewRun(BackgroundJob):
    """What applying a policy would do, worked out for a whole caseload as a background job,
    in parts that several workers share (allocations.services.repricing_preview): the same
    tallies and biggest changes the preview page works out in its request for a small
    caseload. `summary` is its parts' results merged, once every part is done;
    `inputs_mark` says what the rows were when it started (a preview whose mark differs from
    today's is out of date: allocations.selectors.repricing._inputs_mark)."""

    PROGRESS_COUNTS = (
        ("parts_done", "parts worked out"),
        ("workers", "workers sharing them"),
    )

    policy = models.ForeignKey(RasPolicy, on_delete=models.PROTECT, related_name="preview_runs")
    inputs_mark = models.CharField(max_length=300)
    parts_done = models.PositiveIntegerField(default=0)
    workers = models.PositiveIntegerField(default=0)
    summary = models.JSONField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["summary"])

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"Preview of {self.policy} ({self.get_status_display().lower()})"


class RepricingPreviewPart(RunPart):
    """One part of a preview run (RunPart), marked done with its results (`tallies`,
    allocations.selectors.repricing.PreviewSummary as JSON) in the transaction that works it
    out: each part is counted once, whichever workers stop or die."""

    run = models.ForeignKey(RepricingPreviewRun, on_delete=models.PROTECT, related_name="parts")
    tallies = models.JSONField(null=True, blank=True)

    class Meta(RunPart.Meta):
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="repricing_preview_part_once"),
            models.CheckConstraint(
                condition=Q(first_person_id__lte=F("last_person_id")),
                name="repricing_preview_part_range_in_order",
            ),
            # A part done has its results; one not done has none.
            models.CheckConstraint(
                condition=Q(done_at__isnull=True, tallies__isnull=True)
                | Q(done_at__isnull=False, tallies__isnull=False),
                name="repricing_preview_part_done_with_tallies",
            ),
        ]
