"""Writes for indicative budgets: calculating a new version for a submitted assessment (with
the explanation stored beside it), placing it (a lower figure waits for a manager), ending
it when needs are not eligible, recalculating, and a manager's decision on a lower figure.
Models become the engine's Case and Policy only in allocations.adapter."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from allocations.adapter import case_for_assessment, engine_policy
from allocations.decisions import decide_lower, lock_person
from allocations.engine import Case, Result, calculate
from allocations.models import IndicativeBudget, RasPolicy
from allocations.notifications import notify_lower_figure
from allocations.permissions import BUDGET_DECIDE, BUDGET_RECALCULATE
from allocations.selectors.budgets import is_silent_reduction
from allocations.selectors.policies import policy_in_force_on
from allocations.services.plans import plan_close_for_person, plan_follow_budget
from assessments.models import Answer, Assessment, User
from assessments.selectors.people import team_allowed
from assessments.services.people import TEAM_NOT_ALLOWED

NO_POLICY = "No RAS policy is in force on {date:%d %B %Y}."


NOT_ELIGIBLE_ENDED = (
    "Ended: the reassessment of {date:%d %B %Y} (assessment {assessment}) found the needs not "
    "eligible, so no indicative budget is due."
)


class NoPolicyInForce(Exception):
    pass


def _check_team(actor: User, person) -> None:
    """PermissionDenied unless the team rule lets `actor` keep records for `person`."""
    if not team_allowed(actor, person.team_id):
        raise PermissionDenied(TEAM_NOT_ALLOWED)


def points_by_section(assessment: Assessment) -> list[dict[str, str]]:
    """Points by questionnaire section, summed in SQL (one query)."""
    rows = (
        Answer.objects.filter(assessment=assessment)
        .values("question__section__order", "question__section__code", "question__section__title")
        .annotate(points=Sum("option__points"))
        .order_by("question__section__order")
    )
    return [
        {
            "code": row["question__section__code"],
            "title": row["question__section__title"],
            "points": str(row["points"]),
        }
        for row in rows
    ]


def policy_breakdown(policy: RasPolicy) -> dict[str, Any]:
    """The policy figures a budget's explanation quotes, stored with each budget (the rest of
    the approved version, which never changes, is a foreign key away). Once per batch."""
    return {
        "id": policy.pk,
        "name": policy.name,
        "effective_from": policy.effective_from.isoformat(),
        "price_per_point": str(policy.price_per_point_gbp),
        "weeks_per_year": str(policy.weeks_per_year),
        "minimum_weekly": str(policy.minimum_weekly_gbp),
        "protect_existing_packages": policy.protect_existing_packages,
        "transitional_rule": policy.transitional_rule,
    }


def breakdown_for(
    *,
    policy_data: dict[str, Any],
    case: Case,
    result: Result,
    sections: list[dict],
    assessment_id: int,
    assessment_date: datetime.date,
) -> dict[str, Any]:
    """Everything needed to explain and reproduce the figure, as JSON."""
    # The figures themselves are the budget's own columns; this keeps what explains them.
    return {
        "policy": policy_data,
        # Each answer's points are in the answers themselves (a submitted assessment never
        # changes); the sums by section are below.
        "inputs": {
            "client_group": case.client_group,
            "informal_support": case.informal_support,
            "carer_assessed": case.carer_assessed,
            "carer_able_and_willing": case.carer_able_and_willing,
            "carer_impact": case.carer_impact,
            "existing_weekly_cost": (
                None if case.existing_weekly_cost is None else str(case.existing_weekly_cost)
            ),
            "needs_increased": case.needs_increased,
            "assessment_id": assessment_id,
            "assessment_date": assessment_date.isoformat(),
        },
        "points_by_section": sections,
        "reduction_because": result.reduction_applied_because,
        "client_group_factor": str(result.client_group_factor),
        "bands": [
            {
                "lower": str(s.lower),
                "upper": None if s.upper is None else str(s.upper),
                "rate": str(s.rate),
                "amount_in_band": str(s.amount_in_band),
                "retained": str(s.retained),
            }
            for s in result.contingency_by_band
        ],
    }


def budget_fields(result: Result) -> dict[str, Any]:
    return {
        "raw_points": result.raw_points,
        "reduction_percent": result.reduction_percent,
        "adjusted_points": result.adjusted_points,
        "gross_weekly_gbp": result.gross_weekly,
        "contingency_weekly_gbp": result.contingency_weekly,
        "ras_weekly_gbp": result.ras_weekly,
        "indicative_weekly_gbp": result.indicative_weekly,
        "annual_gbp": result.annual,
        "basis": result.basis,
        "panel_required": result.panel_required,
        "triggers": list(result.triggers),
    }


def budget_place(budget: IndicativeBudget, *, actor: User, now) -> IndicativeBudget:
    """Save `budget`, a new unsaved version for its person with its figures filled in (from
    budget_fields) and no status yet: it becomes current and supersedes the person's current
    one, unless it is a silent reduction, in which case it waits for a manager. Stale pending
    versions close. An open support plan follows the new current figure
    (allocations.services.plans.plan_follow_budget). Locks the person; the caller must be
    inside a transaction and has checked the actor (role and team rule). Used by
    budget_for_assessment and re-pricing's portable path."""
    lock_person(budget.person_id)
    person_budgets = IndicativeBudget.objects.select_for_update().filter(person=budget.person)
    current = person_budgets.filter(status=IndicativeBudget.Status.CURRENT).first()
    for stale in person_budgets.filter(status=IndicativeBudget.Status.AWAITING_DECISION):
        stale.status, stale.ended_at = IndicativeBudget.Status.SUPERSEDED, now
        stale._history_user = actor
        stale.save()
    budget.replaces = current
    if current is not None and is_silent_reduction(
        new_weekly=budget.indicative_weekly_gbp,
        new_points=budget.raw_points,
        current_weekly=current.indicative_weekly_gbp,
        current_points=current.raw_points,
    ):
        budget.status = IndicativeBudget.Status.AWAITING_DECISION
    else:
        budget.status = IndicativeBudget.Status.CURRENT
        if current is not None:
            current.status, current.ended_at = IndicativeBudget.Status.SUPERSEDED, now
            current._history_user = actor
            current.save()
    budget._history_user = actor
    budget.save()
    if budget.status == IndicativeBudget.Status.CURRENT:
        plan_follow_budget(actor=actor, budget=budget)
    return budget


@transaction.atomic
def budget_end_not_eligible(*, actor: User, assessment: Assessment) -> list[IndicativeBudget]:
    """A reassessment found the needs not eligible: the person's current indicative budget
    (and any lower figure awaiting a decision) ends, naming the assessment; an open support
    plan is closed with a message to the worker. Returns the budgets ended."""
    _check_team(actor, assessment.person)
    lock_person(assessment.person_id)
    now = timezone.now()
    why = NOT_ELIGIBLE_ENDED.format(date=assessment.assessment_date, assessment=assessment.pk)
    ended = []
    for budget in IndicativeBudget.objects.select_for_update().filter(
        person_id=assessment.person_id,
        status__in=[IndicativeBudget.Status.CURRENT, IndicativeBudget.Status.AWAITING_DECISION],
    ):
        budget.status, budget.ended_at, budget.end_reason = (
            IndicativeBudget.Status.ENDED,
            now,
            why,
        )
        budget._history_user = actor
        budget._change_reason = f"ended: assessment {assessment.pk} found the needs not eligible"
        budget.save()
        ended.append(budget)
    plan_close_for_person(actor=actor, person_id=assessment.person_id, reason=why)
    return ended


@transaction.atomic
def budget_for_assessment(
    *, actor: User, assessment: Assessment, on_date: datetime.date, reason: str
) -> IndicativeBudget:
    """Calculate and store a new indicative budget version for a submitted assessment with the
    policy in force on `on_date`. The actor is whoever submitted the assessment (checked by
    assessment_submit) or recalculates (budget_recalculate): here the team rule is checked
    again. Raises NoPolicyInForce or PermissionDenied."""
    _check_team(actor, assessment.person)
    policy = policy_in_force_on(on_date)
    if policy is None:
        raise NoPolicyInForce(NO_POLICY.format(date=on_date))
    case = case_for_assessment(assessment)
    result = calculate(engine_policy(policy), case)
    now = timezone.now()
    budget = IndicativeBudget(
        person=assessment.person,
        assessment=assessment,
        policy=policy,
        reason=reason,
        calculated_on=on_date,
        breakdown=breakdown_for(
            policy_data=policy_breakdown(policy),
            case=case,
            result=result,
            sections=points_by_section(assessment),
            assessment_id=assessment.pk,
            assessment_date=assessment.assessment_date,
        ),
        created_by=actor,
        created_at=now,
        **budget_fields(result),
    )
    budget = budget_place(budget, actor=actor, now=now)
    if budget.status == IndicativeBudget.Status.AWAITING_DECISION:
        notify_lower_figure(budget, actor=actor)
    return budget


@transaction.atomic
def budget_recalculate(*, actor: User, person, reason: str) -> IndicativeBudget:
    """A new version from the person's submitted assessment with today's policy (for example
    after their existing package cost was corrected). Never overwrites an earlier version."""
    if not actor.has_perm(BUDGET_RECALCULATE):
        raise PermissionDenied("Your role cannot recalculate budgets.")
    _check_team(actor, person)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the budget is being recalculated."})
    assessment = (
        Assessment.objects.filter(person=person, status=Assessment.Status.SUBMITTED)
        .select_related("person", "eligibility")
        .first()
    )
    if assessment is None or not getattr(assessment, "eligibility", None):
        raise ValidationError("The person has no submitted assessment to calculate from.")
    if not assessment.eligibility.eligible:
        raise ValidationError("The person's needs were found not eligible: no budget is due.")
    return budget_for_assessment(
        actor=actor, assessment=assessment, on_date=timezone.localdate(), reason=reason.strip()
    )


@transaction.atomic
def budget_decide(
    *, actor: User, budget: IndicativeBudget, decision: str, reason: str
) -> IndicativeBudget:
    """A manager's decision on a lower figure: adopt it (it becomes current) or keep the
    earlier figure (the lower one is kept on record, not adopted). Reasons are required."""
    if not actor.has_perm(BUDGET_DECIDE):
        raise PermissionDenied("Only managers decide on lower figures.")
    _check_team(actor, budget.person)
    budget = decide_lower(
        budget,
        actor=actor,
        decision=decision,
        reason=reason,
        replaced_status=IndicativeBudget.Status.SUPERSEDED,
        already_decided="This figure has already been decided.",
    )
    if budget.status == IndicativeBudget.Status.CURRENT:
        plan_follow_budget(actor=actor, budget=budget)
    return budget
