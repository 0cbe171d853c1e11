"""A plan's costing (allocations/costing.py): weekly equivalents stated exactly, and the panel
rules at and either side of each threshold."""

from __future__ import annotations

from decimal import Decimal

import pytest

from allocations.costing import PlanCosts, line_weekly, line_weekly_text, panel_reasons
from allocations.models import PlanLine

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("frequency", "cost", "weekly", "text"),
    [
        ("week", "45.00", Decimal("45.00"), "£45.00 per week"),
        ("four_weeks", "100.00", Decimal("25"), "£100.00 per 4 weeks ÷ 4 = £25.00 a week"),
        (
            "month",
            "400.00",
            Decimal("400") * 12 / 52,
            "£400.00 per month × 12 ÷ 52 = £92.31 a week",
        ),
        ("year", "520.00", Decimal("10"), "£520.00 per year ÷ 52 = £10.00 a week"),
        ("one_off", "85.00", None, "£85.00 once (not in the weekly cost)"),
    ],
)
def test_weekly_equivalents_are_exact_and_stated(frequency, cost, weekly, text):
    line = PlanLine(quantity=Decimal("1"), unit_cost_gbp=Decimal(cost), frequency=frequency)
    assert line_weekly(line) == weekly
    assert line_weekly_text(line) == text


def _costs(weekly, indicative, tolerance="10", annual=None):
    weekly, indicative = Decimal(weekly), Decimal(indicative)
    return PlanCosts(
        weekly=weekly,
        annual=Decimal(annual) if annual else weekly * 52,
        one_off=Decimal(0),
        indicative_weekly=indicative,
        difference=weekly - indicative,
        difference_percent=None,
        tolerance_percent=Decimal(tolerance),
        outside_tolerance=False,
    )


# Spec policy: panel at £600 a week, residential benchmark £42,000 a year, tolerance 10%.
@pytest.mark.parametrize(
    ("weekly", "indicative", "annual", "expected"),
    [
        ("599.99", "599.99", "30000", []),
        ("600.00", "599.99", "30000", ["plan costs £600.00"]),
        ("600.01", "599.99", "30000", ["plan costs £600.01"]),
        ("500.00", "600.00", "26000", ["indicative budget is £600.00", "plan costs"]),
        ("500.00", "599.99", "26000", []),
        ("500.00", "550.00", "41999.99", []),
        ("500.00", "550.00", "42000.00", ["residential care benchmark"]),
        ("500.00", "550.00", "42000.01", ["residential care benchmark"]),
        ("110.00", "100.00", "5720", []),  # exactly 10% over: within tolerance
        ("110.01", "100.00", "5720.52", ["more than the 10% tolerance"]),
        ("109.99", "100.00", "5719.48", []),
    ],
)
def test_routing_rules_at_and_either_side_of_each_threshold(
    policy, weekly, indicative, annual, expected
):
    reasons = panel_reasons(
        costs=_costs(weekly, indicative, annual=annual), policy=policy, risk_referral=False
    )
    text = " ".join(reasons)
    if not expected:
        assert reasons == []
    for fragment in expected:
        if fragment == "plan costs":
            continue
        assert fragment in text


def test_indicative_at_threshold_routes_even_when_plan_is_lower(policy):
    reasons = panel_reasons(costs=_costs("500", "600"), policy=policy, risk_referral=False)
    assert len(reasons) == 1 and "indicative budget is £600.00" in reasons[0]


def test_risk_referral_routes_with_its_reasons(policy):
    reasons = panel_reasons(
        costs=_costs("50", "60"), policy=policy, risk_referral=True, risk_reasons="Falls at night"
    )
    assert reasons == ["Referred by the worker for risk reasons: Falls at night"]
