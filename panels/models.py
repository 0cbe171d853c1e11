"""The risk enablement panel: meetings, referrals, conflicts of interest and decisions."""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from allocations.models import SupportPlan
from assessments.models import User
from assessments.workflows import IllegalTransition, Workflow, WorkflowModel
from ras_site.forms import EARLIEST_DATE, LATEST_STORED_DATE


class IllegalReferralTransition(IllegalTransition):
    """A referral status change the workflow does not allow (PanelReferral.WORKFLOW), e.g.
    deciding a withdrawn referral or withdrawing a decided one."""


DEFAULT_MEETING_TIME = datetime.time(10, 0)


class PanelMeeting(models.Model):
    """A meeting of the panel, at a time and a place. `members` are everyone who sits on it
    (those invited and any substitute the chair adds); their attendance (PanelAttendance)
    says who is present. A cancelled meeting keeps its record, with the reason."""

    date = models.DateField()
    time = models.TimeField(default=DEFAULT_MEETING_TIME)
    place = models.CharField(max_length=200, blank=True)
    chair = models.ForeignKey(User, on_delete=models.PROTECT, related_name="chaired_meetings")
    members = models.ManyToManyField(User, related_name="panel_meetings", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_reason = models.TextField(blank=True)
    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        ordering = ["-date", "-time", "-id"]
        constraints = [
            # A cancelled meeting says when, by whom and why; a meeting that goes ahead none.
            models.CheckConstraint(
                condition=(
                    Q(cancelled_at__isnull=True, cancelled_by__isnull=True, cancelled_reason="")
                    | (
                        Q(cancelled_at__isnull=False, cancelled_by__isnull=False)
                        & ~Q(cancelled_reason="")
                    )
                ),
                name="meeting_cancelled_has_reason",
            ),
            # A typo such as 0001 or 9999 (the form keeps it within 5 years of today).
            models.CheckConstraint(
                condition=Q(date__gte=EARLIEST_DATE, date__lte=LATEST_STORED_DATE),
                name="meeting_date_sensible",
            ),
        ]

    def __str__(self) -> str:
        return f"Panel meeting, {self.date:%d %B %Y}"

    @property
    def starts_at(self) -> datetime.datetime:
        """When the meeting starts, in the council's time zone."""
        return timezone.make_aware(datetime.datetime.combine(self.date, self.time))

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def has_started(self) -> bool:
        return timezone.now() >= self.starts_at


class PanelAttendance(models.Model):
    """Whether one person sitting on a meeting is there: present, sent apologies, or a
    substitute the chair added (with the reason). The chair always attends their meeting."""

    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        APOLOGIES = "apologies", "Apologies"
        SUBSTITUTE = "substitute", "Substitute"

    meeting = models.ForeignKey(PanelMeeting, on_delete=models.PROTECT, related_name="attendance")
    member = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PRESENT)
    reason = models.TextField(blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["meeting", "member__last_name", "member__first_name", "member__username"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="attendance_once_a_meeting"),
            # The chair says why a substitute was needed.
            models.CheckConstraint(
                condition=~Q(status="substitute") | ~Q(reason=""),
                name="attendance_substitute_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member}: {self.get_status_display()}"

    @property
    def counts(self) -> bool:
        return self.status != self.Status.APOLOGIES


class PanelReferral(WorkflowModel):
    """A support plan sent to the panel, with the reasons it was sent. Stays on record after
    a decision; a plan deferred and resubmitted makes a new referral."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for a decision"
        DECIDED = "decided", "Decided"
        WITHDRAWN = "withdrawn", "Withdrawn before a decision"

    # Made waiting; leaves waiting once, by the chair's decision or by the plan leaving the
    # panel (its indicative budget changed or ended). Being put on a meeting's agenda does not
    # change the status: only a waiting referral can be scheduled. save() holds the table on
    # every path; migration 0004's trigger holds it for SQL that skips save().
    WORKFLOW = Workflow(
        noun="A referral",
        status=Status,
        moves={
            Status.WAITING: {Status.DECIDED, Status.WITHDRAWN},
            Status.DECIDED: set(),
            Status.WITHDRAWN: set(),
        },
        starts={Status.WAITING},
        error=IllegalReferralTransition,
    )

    plan = models.ForeignKey(SupportPlan, on_delete=models.PROTECT, related_name="referrals")
    meeting = models.ForeignKey(
        PanelMeeting,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    reasons = models.JSONField(default=list)
    plan_snapshot = models.JSONField(
        default=dict, help_text="The plan as referred: its costs, lines and the worker's case."
    )
    referred_at = models.DateTimeField(default=timezone.now)
    referred_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["referred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan"], condition=Q(status="waiting"), name="referral_one_waiting_per_plan"
            ),
            # A withdrawn referral says when; no other referral has a withdrawal date.
            models.CheckConstraint(
                condition=Q(status="withdrawn", withdrawn_at__isnull=False)
                | (~Q(status="withdrawn") & Q(withdrawn_at__isnull=True)),
                name="referral_withdrawn_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Referral of {self.plan.person.full_name}"

    def check_transition(self, to: str) -> None:
        """IllegalReferralTransition unless this referral may move to `to`."""
        self.WORKFLOW.check(self.status, to)

    @property
    def is_waiting(self) -> bool:
        return self.status == self.Status.WAITING

    @property
    def is_decided(self) -> bool:
        return self.status == self.Status.DECIDED

    @property
    def is_withdrawn(self) -> bool:
        return self.status == self.Status.WITHDRAWN


REFERRAL_INITIAL = PanelReferral.Status.WAITING
REFERRAL_TRANSITIONS = PanelReferral.WORKFLOW.moves


class ConflictDeclaration(models.Model):
    """A panel member declares a conflict of interest in a referral (automatic conflicts —
    having assessed, planned or managed the case — are worked out, not declared)."""

    referral = models.ForeignKey(PanelReferral, on_delete=models.PROTECT, related_name="conflicts")
    member = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    declared_at = models.DateTimeField(default=timezone.now)
    # A member may withdraw their declaration, saying why; it stays on record.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["declared_at", "id"]
        constraints = [
            # One standing declaration per member (one withdrawn may be declared again).
            models.UniqueConstraint(
                fields=["referral", "member"],
                condition=Q(withdrawn_at__isnull=True),
                name="conflict_once_per_member",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True, withdrawn_reason="")
                | (Q(withdrawn_at__isnull=False) & ~Q(withdrawn_reason="")),
                name="conflict_withdrawn_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} declared a conflict"

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class PanelDecision(models.Model):
    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved"
        APPROVED_WITH_CONDITIONS = "approved_with_conditions", "Approved with conditions"
        DEFERRED = "deferred", "Deferred: more information needed"
        DECLINED = "declined", "Declined"

    # One decision per referral, held by the database (two chairs clicking at once).
    referral = models.OneToOneField(
        PanelReferral, on_delete=models.PROTECT, related_name="decision"
    )
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    reasons = models.TextField()
    conditions = models.TextField(blank=True)
    information_needed = models.TextField(blank=True)
    review_date = models.DateField(null=True, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    present = models.JSONField(default=list, help_text="Usernames counted towards the quorum.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(review_date__isnull=True)
                | Q(review_date__gte=EARLIEST_DATE, review_date__lte=LATEST_STORED_DATE),
                name="panel_decision_review_date_sensible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.referral}"
