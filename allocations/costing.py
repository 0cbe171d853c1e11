"""The support plan's costing: weekly equivalents, the plan's weekly, yearly and one-off cost
against the indicative budget, how the budget is split between ways of managing it, and the
reasons a plan must go to the panel. Computes only; nothing here saves."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from allocations.engine import round2
from allocations.models import Management, PlanLine, RasPolicy, SupportPlan
from allocations.selectors.budgets import gbp
from allocations.selectors.plans import live_lines

# Weekly equivalents: exact fractions, rounded only when a total is stated.
WEEKLY_FACTOR = {
    PlanLine.Frequency.WEEK: (Decimal(1), Decimal(1), ""),
    PlanLine.Frequency.FOUR_WEEKS: (Decimal(1), Decimal(4), "÷ 4"),
    PlanLine.Frequency.MONTH: (Decimal(12), Decimal(52), "× 12 ÷ 52"),
    PlanLine.Frequency.YEAR: (Decimal(1), Decimal(52), "÷ 52"),
}


def line_cost(line: PlanLine) -> Decimal:
    """The cost per occurrence: quantity × unit cost (exact, pennies when quantities are)."""
    return line.quantity * line.unit_cost_gbp


def line_weekly(line: PlanLine) -> Decimal | None:
    """The exact weekly equivalent, or None for a one-off item (kept out of weekly figures)."""
    if line.frequency == PlanLine.Frequency.ONE_OFF:
        return None
    times, per, _ = WEEKLY_FACTOR[PlanLine.Frequency(line.frequency)]
    return line_cost(line) * times / per


def line_weekly_text(line: PlanLine) -> str:
    """How the weekly figure was reached, e.g. '£400.00 a month × 12 ÷ 52 = £92.31 a week'."""
    cost = round2(line_cost(line))
    if line.frequency == PlanLine.Frequency.ONE_OFF:
        return f"£{cost:,} once (not in the weekly cost)"
    times, per, how = WEEKLY_FACTOR[PlanLine.Frequency(line.frequency)]
    label = PlanLine.Frequency(line.frequency).label
    if not how:
        return f"£{cost:,} {label}"
    return f"£{cost:,} {label} {how} = £{round2(line_weekly(line)):,} a week"


@dataclass(frozen=True)
class PlanCosts:
    weekly: Decimal
    annual: Decimal
    one_off: Decimal
    indicative_weekly: Decimal
    difference: Decimal
    difference_percent: Decimal | None
    tolerance_percent: Decimal
    outside_tolerance: bool


def plan_costs(plan: SupportPlan, lines: list[PlanLine] | None = None) -> PlanCosts:
    """The plan's weekly cost (exact line figures added, rounded once), yearly cost, one-off
    items, and the difference from the indicative budget in £ and %."""
    lines = live_lines(plan) if lines is None else lines
    policy = plan.indicative_budget.policy
    weekly = round2(sum((w for w in map(line_weekly, lines) if w is not None), Decimal(0)))
    one_off = round2(
        sum(
            (line_cost(x) for x in lines if x.frequency == PlanLine.Frequency.ONE_OFF),
            Decimal(0),
        )
    )
    indicative = plan.indicative_budget.indicative_weekly_gbp
    difference = weekly - indicative
    percent = round2(difference / indicative * 100) if indicative else None
    tolerance = policy.plan_tolerance_percent
    # Exact comparison (not the rounded percentage): |difference| > tolerance% of indicative.
    outside = abs(difference) * 100 > tolerance * indicative if indicative else weekly > 0
    return PlanCosts(
        weekly=weekly,
        annual=round2(weekly * policy.weeks_per_year),
        one_off=one_off,
        indicative_weekly=indicative,
        difference=difference,
        difference_percent=percent,
        tolerance_percent=tolerance,
        outside_tolerance=outside,
    )


def management_split(plan: SupportPlan, weekly: Decimal) -> dict[str, Decimal]:
    """The weekly amount under each way of managing the budget. A single way takes the
    whole; a mix uses the amounts entered, which must add up (checked on submission)."""
    fields = {
        Management.DIRECT_PAYMENT: "direct_payment_weekly_gbp",
        Management.COUNCIL_MANAGED: "council_managed_weekly_gbp",
        Management.INDIVIDUAL_SERVICE_FUND: "isf_weekly_gbp",
    }
    if plan.management == Management.MIXED:
        return {name: getattr(plan, name) for name in fields.values()}
    return {
        name: (weekly if way == plan.management else Decimal(0)) for way, name in fields.items()
    }


def panel_reasons(
    *, costs: PlanCosts, policy: RasPolicy, risk_referral: bool, risk_reasons: str = ""
) -> list[str]:
    """Why a plan must go to the risk enablement panel (empty: a team manager authorises)."""
    reasons = []
    threshold = policy.panel_threshold_weekly_gbp
    if costs.weekly >= threshold:
        reasons.append(f"The plan costs {gbp(costs.weekly)} a week: at or above {gbp(threshold)}.")
    if costs.indicative_weekly >= threshold:
        reasons.append(
            f"The indicative budget is {gbp(costs.indicative_weekly)} a week: at or above "
            f"{gbp(threshold)}."
        )
    benchmark = policy.residential_benchmark_annual_gbp
    if costs.annual >= benchmark:
        reasons.append(
            f"The plan costs {gbp(costs.annual)} a year: at or above the residential care "
            f"benchmark of {gbp(benchmark)}."
        )
    limit = costs.indicative_weekly * (1 + costs.tolerance_percent / 100)
    if costs.weekly > limit:
        reasons.append(
            f"The plan exceeds the indicative budget by more than the "
            f"{costs.tolerance_percent.normalize():f}% tolerance."
        )
    if risk_referral:
        reasons.append(f"Referred by the worker for risk reasons: {risk_reasons.strip()}")
    return reasons
