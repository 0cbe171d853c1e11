"""Writes for reviews (Care Act s.27): starting a review of a current agreed budget (and the
reassessment linked to it), and recording its outcome with reasons. Each one transaction,
locking the person (so two starts at once make one review), recording who and why."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocations.decisions import lock_person
from allocations.models import AgreedBudget, Review
from allocations.permissions import REVIEW_DECIDE, REVIEW_START
from allocations.selectors.reviews import default_review_date
from assessments.models import Assessment, User
from assessments.selectors.people import team_allowed
from assessments.services.assessments import assessment_start, assessment_withdraw
from assessments.services.history import save_as

ROLE_CANNOT_REVIEW = "Your role cannot start or decide reviews."
OWN_TEAM_ONLY = "You can only review your own team's people."
ONLY_CURRENT_REVIEWED = "Only a current agreed budget can be reviewed."
ALREADY_OPEN = "A review of this agreed budget is already in progress."
ALREADY_DECIDED = "This review has already been decided."
BUDGET_NO_LONGER_CURRENT = (
    "The agreed budget is no longer current (a new plan was agreed): record the outcome as "
    "reassess."
)
REASON_NEEDED = "Give the reason."
CHOOSE_OUTCOME = "Choose an outcome."
WITHDRAWN_BY_REVIEW = "The review found no reassessment was needed ({outcome}): {reason}"


class ReviewStateError(Exception):
    """A review cannot be started or decided in the state it (or its budget) is in."""


def _check(actor: User, agreed: AgreedBudget, permission: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied(ROLE_CANNOT_REVIEW)
    if not team_allowed(actor, agreed.person.team_id):
        raise PermissionDenied(OWN_TEAM_ONLY)


@transaction.atomic
def review_start(
    *, actor: User, agreed: AgreedBudget, reason: str, supported_by: str = "social_worker"
) -> Review:
    """A worker or team manager of the person's team starts a review of their current agreed
    budget, and with it a reassessment (the person's assessment already in progress, if there
    is one). PermissionDenied (role, team), ValidationError (no reason), ReviewStateError (not
    current, or a review already in progress: of two starts at once the second waits for the
    first and is refused). AssessmentLocked if no questionnaire is published."""
    _check(actor, agreed, REVIEW_START)
    if not reason.strip():
        raise ValidationError({"reason": REASON_NEEDED})
    lock_person(agreed.person_id)
    agreed = AgreedBudget.objects.select_related("person").get(pk=agreed.pk)
    if agreed.status != AgreedBudget.Status.CURRENT:
        raise ReviewStateError(ONLY_CURRENT_REVIEWED)
    if Review.objects.filter(agreed_budget=agreed, status=Review.Status.OPEN).exists():
        raise ReviewStateError(ALREADY_OPEN)
    reassessment = Assessment.objects.filter(
        person_id=agreed.person_id, status=Assessment.Status.DRAFT
    ).first() or assessment_start(actor=actor, person=agreed.person, supported_by=supported_by)
    review = Review(
        agreed_budget=agreed,
        reason=reason.strip(),
        started_by=actor,
        started_at=timezone.now(),
        reassessment=reassessment,
    )
    try:
        with transaction.atomic():
            save_as(review, actor, reason="review started")
    except IntegrityError:  # the partial unique index: the lock above normally stops this
        raise ReviewStateError(ALREADY_OPEN) from None
    return review


@transaction.atomic
def review_decide(*, actor: User, review: Review, outcome: str, reason: str) -> Review:
    """Record a review's outcome with its reason: no change (the agreed budget stays and the
    next review falls due after the policy's interval from today), reassess (the reassessment
    goes on through the normal path) or close (the agreed budget ends, with the reason). No
    change and close withdraw the reassessment if it is still a draft. PermissionDenied (role,
    team), ValidationError (outcome, reason), ReviewStateError (already decided; no change or
    close of a budget no longer current), IllegalTransition by the workflow's table."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    agreed = AgreedBudget.objects.select_related("person").get(pk=review.agreed_budget_id)
    _check(actor, agreed, REVIEW_DECIDE)
    errors = {}
    if outcome not in Review.Outcome.values:
        errors["outcome"] = CHOOSE_OUTCOME
    if not reason.strip():
        errors["reason"] = REASON_NEEDED
    if errors:
        raise ValidationError(errors)
    if not review.is_open:
        raise ReviewStateError(ALREADY_DECIDED)
    lock_person(agreed.person_id)
    agreed = AgreedBudget.objects.select_related("person").get(pk=agreed.pk)
    if outcome != Review.Outcome.REASSESS and agreed.status != AgreedBudget.Status.CURRENT:
        raise ReviewStateError(BUDGET_NO_LONGER_CURRENT)
    now = timezone.now()
    label = Review.Outcome(outcome).label.lower()
    Review.WORKFLOW.move(review, Review.Status.DECIDED)
    review.outcome, review.outcome_reason = outcome, reason.strip()
    review.decided_at, review.decided_by = now, actor
    review.next_review_date = default_review_date() if outcome == Review.Outcome.NO_CHANGE else None
    if outcome == Review.Outcome.CLOSE:
        AgreedBudget.WORKFLOW.move(agreed, AgreedBudget.Status.ENDED)
        agreed.ended_at = now
        save_as(agreed, actor, reason=f"closed at review: {reason.strip()}")
    if outcome != Review.Outcome.REASSESS and review.reassessment_id is not None:
        draft = Assessment.objects.filter(
            pk=review.reassessment_id, status=Assessment.Status.DRAFT
        ).first()
        if draft is not None:
            assessment_withdraw(
                actor=actor,
                assessment=draft,
                reason=WITHDRAWN_BY_REVIEW.format(outcome=label, reason=reason.strip()),
            )
    return save_as(review, actor, reason=f"decided: {label}")
