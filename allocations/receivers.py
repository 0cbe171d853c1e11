"""Allocations reacts to events in assessments (which never calls up into allocations)."""

import contextlib

from django.dispatch import receiver

from allocations.services.budgets import (
    NoPolicyInForce,
    budget_end_not_eligible,
    budget_for_assessment,
)
from assessments.signals import assessment_submitted


@receiver(assessment_submitted, dispatch_uid="allocations.budget_on_submission")
def calculate_budget_on_submission(sender, assessment, actor, **kwargs):
    """An eligible person's submitted assessment gets its indicative budget at once, with
    the policy in force on the assessment date. With no policy in force the submission still
    stands; the person's page says so and a manager can calculate later. A reassessment that
    finds the needs not eligible ends the current budget (and closes an open plan)."""
    eligibility = getattr(assessment, "eligibility", None)
    if eligibility is None or not eligibility.eligible:
        budget_end_not_eligible(actor=actor, assessment=assessment)
        return
    with contextlib.suppress(NoPolicyInForce):
        budget_for_assessment(
            actor=actor,
            assessment=assessment,
            on_date=assessment.assessment_date,
            reason="Assessment submitted",
        )
