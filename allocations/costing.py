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


@dataclass(frozen=True)
class Managed:
    """How a weekly budget is managed, and what the person is paid as a direct payment.

    The person's assessed contribution comes off the direct payment first: the council pays
    the direct payment net of it (the person puts their contribution into the same account).
    Whatever of the contribution the direct payment cannot absorb, the person pays towards the
    support the council or a provider arranges (`contribution_to_services_weekly`)."""

    direct_payment_weekly: Decimal  # gross: the part of the cost taken as a direct payment
    council_managed_weekly: Decimal
    isf_weekly: Decimal
    contribution_weekly: Decimal
    direct_payment_net_weekly: Decimal  # paid to the person: the gross less their contribution
    contribution_to_services_weekly: Decimal

    @property
    def contribution_off_direct_payment_weekly(self) -> Decimal:
        """The part of the contribution taken off the direct payment."""
        return self.direct_payment_weekly - self.direct_payment_net_weekly


def managed_amounts(
    *, direct_payment: Decimal, council_managed: Decimal, isf: Decimal, contribution: Decimal
) -> Managed:
    """The split with the direct payment net of the contribution (never below nothing), to the
    penny (spec/ras-calculation.md's round2)."""
    net = max(Decimal(0), direct_payment - contribution)
    return Managed(
        direct_payment_weekly=round2(direct_payment),
        council_managed_weekly=round2(council_managed),
        isf_weekly=round2(isf),
        contribution_weekly=round2(contribution),
        direct_payment_net_weekly=round2(net),
        contribution_to_services_weekly=round2(contribution - (direct_payment - net)),
    )


def plan_managed(plan: SupportPlan, weekly: Decimal) -> Managed:
    """The plan's split of its weekly cost (management_split) with its contribution."""
    split = management_split(plan, weekly)
    return managed_amounts(
        direct_payment=split["direct_payment_weekly_gbp"],
        council_managed=split["council_managed_weekly_gbp"],
        isf=split["isf_weekly_gbp"],
        contribution=plan.contribution_weekly_gbp,
    )


def agreed_managed(agreed) -> Managed:
    """An agreed budget's stored split with its stored contribution."""
    return managed_amounts(
        direct_payment=agreed.direct_payment_weekly_gbp,
        council_managed=agreed.council_managed_weekly_gbp,
        isf=agreed.isf_weekly_gbp,
        contribution=agreed.contribution_weekly_gbp,
    )


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
