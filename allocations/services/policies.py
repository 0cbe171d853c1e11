"""Writes for RAS policy versions: drafting, editing, copying and approving (four eyes)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from allocations.adapter import engine_policy
from allocations.engine import InvalidPolicy, validate_policy
from allocations.models import RasPolicy
from allocations.notifications import notify_policy_to_approve
from allocations.permissions import POLICY_ADD, POLICY_APPROVE, POLICY_CHANGE
from allocations.selectors.policies import policy_authors
from assessments.models import CarerImpact, ClientGroup, InformalSupport, User
from assessments.workflows import IllegalTransition

NOT_DRAFTER = "Only RAS administrators draft policy versions."


FOUR_EYES = "A policy must be approved by someone other than the people who drafted or edited it."


EFFECTIVE_IN_PAST = (
    "A policy cannot take effect in the past: choose {today:%d %B %Y} or later (the day it is "
    "approved or after). Re-pricing moves existing budgets to a new policy."
)


class PolicyNotDraft(IllegalTransition):
    """Only a draft is edited or approved: an approved version never changes."""


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
    "review_interval_months",
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
def policy_create_draft(
    *, actor: User, data: dict[str, Any], permission: str = POLICY_ADD
) -> RasPolicy:
    """A new draft version from `data` (POLICY_FIELDS), validated whole. `permission` is the
    one the caller's capability asks of the actor: drafting on the policy pages asks
    POLICY_ADD; adopting a calibrated price asks CALIBRATION_RUN, so the senior managers
    who calibrate may adopt a result (allocations/services/calibration.py). Either way it is a
    draft that someone else must approve (policy_approve, four eyes)."""
    if not actor.has_perm(permission):
        raise PermissionDenied(NOT_DRAFTER)
    policy = RasPolicy(**{k: data[k] for k in POLICY_FIELDS if k in data})
    policy.created_by = policy.updated_by = actor
    _validate_policy(policy)
    policy._history_user = actor
    policy.save()
    notify_policy_to_approve(policy, actor=actor)
    return policy


@transaction.atomic
def policy_update_draft(*, actor: User, policy: RasPolicy, data: dict[str, Any]) -> RasPolicy:
    if not actor.has_perm(POLICY_CHANGE):
        raise PermissionDenied("Only RAS administrators edit policy versions.")
    policy = RasPolicy.objects.select_for_update().get(pk=policy.pk)
    if not policy.is_draft:
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
    if not actor.has_perm(POLICY_ADD):
        raise PermissionDenied(NOT_DRAFTER)
    data = {name: getattr(policy, name) for name in POLICY_FIELDS}
    data["name"] = f"{policy.name} (copy)"
    data["effective_from"] = max(timezone.localdate(), policy.effective_from)
    return policy_create_draft(actor=actor, data=data)


@transaction.atomic
def policy_approve(*, actor: User, policy: RasPolicy) -> RasPolicy:
    """draft → approved, by a RAS administrator or senior manager who never drafted or edited
    it (four eyes, over the draft's whole history). Its effective date must be on or after
    the day of approval. In force from that date; never changes again."""
    if not actor.has_perm(POLICY_APPROVE):
        raise PermissionDenied("Only RAS administrators and senior managers approve policies.")
    policy = RasPolicy.objects.select_for_update().get(pk=policy.pk)
    if not policy.is_draft:
        raise PolicyNotDraft(f"{policy} is already approved.")
    if actor.pk in policy_authors(policy):
        raise PermissionDenied(FOUR_EYES)
    _validate_policy(policy)
    RasPolicy.WORKFLOW.move(policy, RasPolicy.Status.APPROVED)
    policy.approved_by, policy.approved_at = actor, timezone.now()
    policy._history_user = actor
    # The model's guard compares with the stored status (still draft), so this save passes it,
    # as it passes the database's trigger (allocations/migrations/0008); no later save does.
    policy.save()
    return policy
