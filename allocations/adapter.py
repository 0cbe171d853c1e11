"""The only place that turns models (and re-pricing's raw rows) into the engine's Case and
Policy (STYLE.md §2). Budgets, re-pricing, calibration (`manage.py ras_calculate`) and the
rules page all call it, so the copies cannot drift.

`case_from_facts` is the one mapping from an assessment's facts to a Case; the assessment path
(`case_for_assessment`) and re-pricing's rows (SQL and portable) both go through it. It does no
database work, so re-pricing stays at one query for every row.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from allocations.engine import Band, Case, Policy, policy_to_dict
from assessments.models import Answer, ClientGroup

if TYPE_CHECKING:
    from allocations.models import RasPolicy
    from assessments.models import Assessment

# The rules page's worked example: an older person with 60 points and nothing else.
EXAMPLE_POINTS = Decimal("60")


def _decimal_map(data: dict) -> dict[str, Decimal]:
    return {str(k): Decimal(str(v)) for k, v in (data or {}).items()}


def engine_policy(policy: RasPolicy) -> Policy:
    """The engine's Policy for a stored policy version (draft or approved)."""
    return Policy(
        price_per_point=policy.price_per_point_gbp,
        weeks_per_year=policy.weeks_per_year,
        client_group_factors=_decimal_map(policy.client_group_factors),
        informal_support_reductions=_decimal_map(policy.informal_support_reductions),
        carer_impact_multipliers=_decimal_map(policy.carer_impact_multipliers),
        contingency_bands=tuple(
            Band(
                up_to=None if band["up_to"] is None else Decimal(str(band["up_to"])),
                rate=Decimal(str(band["rate"])),
            )
            for band in policy.contingency_bands
        ),
        minimum_weekly=policy.minimum_weekly_gbp,
        panel_threshold_weekly=policy.panel_threshold_weekly_gbp,
        protect_existing_packages=policy.protect_existing_packages,
        transitional_rule=policy.transitional_rule,
    )


def case_from_facts(
    *,
    ref: str | None,
    points: Iterable[Decimal],
    client_group: str,
    informal_support: str | None,
    carer_assessed: bool | None,
    carer_able_and_willing: bool | None,
    carer_impact: str | None,
    existing_weekly_cost: Decimal | None,
    needs_increased: bool,
    triggers: Iterable[str] | None,
) -> Case:
    """The engine's case from an assessment's facts and its person's circumstances, as stored
    (blank levels become None, unanswered carer questions False, no triggers an empty tuple)."""
    return Case(
        ref=ref,
        points=tuple(points),
        client_group=client_group,
        informal_support=informal_support or None,
        carer_assessed=bool(carer_assessed),
        carer_able_and_willing=bool(carer_able_and_willing),
        carer_impact=carer_impact or None,
        existing_weekly_cost=existing_weekly_cost,
        needs_increased=needs_increased,
        triggers=tuple(triggers or ()),
    )


def case_for_assessment(assessment: Assessment) -> Case:
    """The engine's case: the points and triggers of every chosen answer, the informal-support
    facts of the assessment, and the person's group, existing package and needs flag."""
    answers = list(
        Answer.objects.filter(assessment=assessment)
        .select_related("option")
        .prefetch_related("option__triggers")
    )
    person = assessment.person
    return case_from_facts(
        ref=person.reference,
        points=(a.option.points for a in answers),
        client_group=person.client_group,
        informal_support=assessment.informal_support,
        carer_assessed=assessment.carer_assessed,
        carer_able_and_willing=assessment.carer_able_and_willing,
        carer_impact=assessment.carer_impact,
        existing_weekly_cost=person.existing_weekly_cost_gbp,
        needs_increased=person.needs_increased,
        triggers=(t.code for a in answers for t in a.option.triggers.all()),
    )


def example_case(points: Decimal = EXAMPLE_POINTS) -> Case:
    """The rules page's worked example: an older person with `points` and nothing else."""
    return Case(points=(points,), client_group=ClientGroup.OLDER_PEOPLE)


# A stored policy's names for the engine's plain numbers (the rest are named alike).
_STORED_NAME = {
    "price_per_point": "price_per_point_gbp",
    "minimum_weekly": "minimum_weekly_gbp",
    "panel_threshold_weekly": "panel_threshold_weekly_gbp",
}


def policy_fields(policy: Policy) -> dict:
    """The other way: a stored policy's calculation fields for an engine Policy (the demo's
    policy starts from the spec's; calibration will draft a policy from a fitted one). Maps
    and bands as the engine's JSON form holds them; plain numbers as Decimal."""
    fields = {_STORED_NAME.get(name, name): value for name, value in policy_to_dict(policy).items()}
    for name in (*_STORED_NAME.values(), "weeks_per_year"):
        fields[name] = Decimal(fields[name])
    return fields
