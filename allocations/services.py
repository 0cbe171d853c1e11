"""Writes for policies and indicative budgets (support plans and agreed budgets are in
allocations.plans, letters in allocations.letters). Models become the engine's Case and Policy
only in allocations.adapter."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from allocations.adapter import case_for_assessment, engine_policy
from allocations.decisions import decide_lower, lock_person
from allocations.engine import (
    Case,
    InvalidPolicy,
    Result,
    calculate,
    validate_policy,
)
from allocations.models import IndicativeBudget, RasPolicy
from allocations.permissions import (
    BUDGET_DECIDE,
    BUDGET_RECALCULATE,
    POLICY_ADD,
    POLICY_APPROVE,
    POLICY_CHANGE,
)
from allocations.plans import plan_close_for_person, plan_follow_budget
from allocations.selectors import is_silent_reduction, policy_in_force_on
from assessments.models import (
    Answer,
    Assessment,
    CarerImpact,
    ClientGroup,
    InformalSupport,
    User,
)

FOUR_EYES = "A policy must be approved by someone other than the people who drafted or edited it."
NO_POLICY = "No RAS policy is in force on {date:%d %B %Y}."
EFFECTIVE_IN_PAST = (
    "A policy cannot take effect in the past: choose {today:%d %B %Y} or later (the day it is "
    "approved or after). Re-pricing moves existing budgets to a new policy."
)
NOT_ELIGIBLE_ENDED = (
    "Ended: the reassessment of {date:%d %B %Y} (assessment {assessment}) found the needs not "
    "eligible, so no indicative budget is due."
)


class NoPolicyInForce(Exception):
    pass


class PolicyNotDraft(Exception):
    pass


# --- Policies --------------------------------------------------------------------------------

POLICY_FIELDS = (
    "name",
    "notes",
    "effective_from",
    "price_per_point_gbp",
    "weeks_per_year",
    "client_group_factors",
    "informal_support_reductions",
    "carer_impact_multipliers",
    "contingency_bands",
    "minimum_weekly_gbp",
    "panel_threshold_weekly_gbp",
    "protect_existing_packages",
    "transitional_rule",
    "plan_tolerance_percent",
    "residential_benchmark_annual_gbp",
)

# Engine field names → the policy's own field names, so an engine complaint lands beside the
# right form field.
_ENGINE_FIELD = {
    "price_per_point": "price_per_point_gbp",
    "weeks_per_year": "weeks_per_year",
    "minimum_weekly": "minimum_weekly_gbp",
    "panel_threshold_weekly": "panel_threshold_weekly_gbp",
    "client_group_factors": "client_group_factors",
    "informal_support_reductions": "informal_support_reductions",
    "carer_impact_multipliers": "carer_impact_multipliers",
    "contingency_bands": "contingency_bands",
    "transitional_rule": "transitional_rule",
}


def _check_effective_date(policy: RasPolicy) -> None:
    today = timezone.localdate()
    if policy.effective_from is not None and policy.effective_from < today:
        raise ValidationError({"effective_from": EFFECTIVE_IN_PAST.format(today=today)})


def _validate_policy(policy: RasPolicy) -> None:
    policy.full_clean(exclude=["created_by", "updated_by"])
    _check_effective_date(policy)
    try:
        validate_policy(engine_policy(policy))
    except InvalidPolicy as problem:
        errors: dict[str, list[str]] = {}
        for name, message in problem.errors:
            field = _ENGINE_FIELD.get(name.split(".")[0].split("[")[0])
            errors.setdefault(field or "__all__", []).append(f"{name}: {message}")
        raise ValidationError(errors) from None
    unknown_levels = set(policy.informal_support_reductions) - set(InformalSupport.values)
    missing_levels = set(InformalSupport.values) - set(policy.informal_support_reductions)
    if unknown_levels or missing_levels:
        raise ValidationError(
            {
                "informal_support_reductions": "Give a percentage for each level: "
                + ", ".join(InformalSupport.values)
            }
        )
    if set(policy.carer_impact_multipliers) != set(CarerImpact.values):
        raise ValidationError(
            {
                "carer_impact_multipliers": "Give a multiplier for each impact: "
                + ", ".join(CarerImpact.values)
            }
        )
    if set(policy.client_group_factors) - set(ClientGroup.values):
        raise ValidationError(
            {"client_group_factors": "Use the client groups: " + ", ".join(ClientGroup.values)}
        )


@transaction.atomic
def policy_create_draft(*, actor: User, data: dict[str, Any]) -> RasPolicy:
    if not actor.has_perm(POLICY_ADD):
        raise PermissionDenied("Only RAS administrators draft policy versions.")
    policy = RasPolicy(**{k: data[k] for k in POLICY_FIELDS if k in data})
    policy.created_by = policy.updated_by = actor
    _validate_policy(policy)
    policy._history_user = actor
    policy.save()
    return policy


@transaction.atomic
def policy_update_draft(*, actor: User, policy: RasPolicy, data: dict[str, Any]) -> RasPolicy:
    if not actor.has_perm(POLICY_CHANGE):
        raise PermissionDenied("Only RAS administrators edit policy versions.")
    policy = RasPolicy.objects.select_for_update().get(pk=policy.pk)
    if policy.status != RasPolicy.Status.DRAFT:
        raise PolicyNotDraft(f"{policy} is approved and can no longer be changed.")
    for name in POLICY_FIELDS:
        if name in data:
            setattr(policy, name, data[name])
    policy.updated_by, policy.updated_at = actor, timezone.now()
    _validate_policy(policy)
    policy._history_user = actor
    policy.save()
    return policy


@transaction.atomic
def policy_copy_to_draft(*, actor: User, policy: RasPolicy) -> RasPolicy:
    """A new draft with this version's settings, to change and send for approval."""
    data = {name: getattr(policy, name) for name in POLICY_FIELDS}
    data["name"] = f"{policy.name} (copy)"
    data["effective_from"] = max(timezone.localdate(), policy.effective_from)
    return policy_create_draft(actor=actor, data=data)


def policy_authors(policy: RasPolicy) -> set[int]:
    """Everyone who drafted or edited this version at any point: its whole history, not only
    the creator and the last editor."""
    authors = set(policy.history.values_list("history_user_id", flat=True))
    authors |= {policy.created_by_id, policy.updated_by_id}
    authors.discard(None)
    return authors


def policy_can_approve(*, user: User, policy: RasPolicy) -> bool:
    return (
        user.has_perm(POLICY_APPROVE)
        and policy.status == RasPolicy.Status.DRAFT
        and user.pk not in policy_authors(policy)
    )


@transaction.atomic
def policy_approve(*, actor: User, policy: RasPolicy) -> RasPolicy:
    """draft → approved, by a RAS administrator or senior manager who never drafted or edited
    it (four eyes, over the draft's whole history). Its effective date must be on or after
    the day of approval. In force from that date; never changes again."""
    if not actor.has_perm(POLICY_APPROVE):
        raise PermissionDenied("Only RAS administrators and senior managers approve policies.")
    policy = RasPolicy.objects.select_for_update().get(pk=policy.pk)
    if policy.status != RasPolicy.Status.DRAFT:
        raise PolicyNotDraft(f"{policy} is already approved.")
    if actor.pk in policy_authors(policy):
        raise PermissionDenied(FOUR_EYES)
    _validate_policy(policy)
    policy.status = RasPolicy.Status.APPROVED
    policy.approved_by, policy.approved_at = actor, timezone.now()
    policy._history_user = actor
    # Bypass the model's own "approved never changes" guard for this one transition.
    super(RasPolicy, policy).save()
    return policy


# --- Indicative budgets ------------------------------------------------------------------------


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
    (allocations.plans.plan_follow_budget). Locks the person; the caller must be inside a
    transaction. Used by budget_for_assessment and re-pricing's portable path."""
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
    policy in force on `on_date`. Raises NoPolicyInForce."""
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
    return budget_place(budget, actor=actor, now=now)


@transaction.atomic
def budget_recalculate(*, actor: User, person, reason: str) -> IndicativeBudget:
    """A new version from the person's submitted assessment with today's policy (for example
    after their existing package cost was corrected). Never overwrites an earlier version."""
    if not actor.has_perm(BUDGET_RECALCULATE):
        raise PermissionDenied("Your role cannot recalculate budgets.")
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
