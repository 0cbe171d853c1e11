"""The affordability solver, the sensitivity table and scale-up, on the spec's policy. No
database."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from allocations.calibration.affordability import (
    BudgetImpossible,
    SensitivityRow,
    projected_weekly,
    sample_total,
    scale_up,
    sensitivity,
    solve_price,
)
from allocations.calibration.samples import SampleCase
from allocations.engine.examples import SPEC_POLICY

D = Decimal


def case(ref: str, points: str, cost: str, group: str = "older_people") -> SampleCase:
    return SampleCase(ref, group, D(points), D(cost))


# Two older people, both inside the first contingency band (5%) at these prices:
#   at £3.00: 10 × 3 = 30.00 − 1.50 = 28.50;  20 × 3 = 60.00 − 3.00 = 57.00;  total 85.50
#   at £3.01: 30.10 − 1.505 → 1.51 = 28.59;   60.20 − 3.01 = 57.19;          total 85.78
SMALL = [case("A", "10", "30"), case("B", "20", "57")]

# The fitting tests' sample; at £6.10 the spec policy pays 57.95 + 114.80 + 186.17 + 246.56
# = 605.48 (learning disability's factor 1.10 and the second band reached).
SAMPLE = [
    case("A", "10", "60"),
    case("B", "20", "110"),
    case("C", "30", "190", "learning_disability"),
    case("D", "40", "250", "learning_disability"),
]


@pytest.mark.parametrize(
    ("budget", "price"),
    [
        ("85.50", "3.00"),  # met exactly, to the penny
        ("85.77", "3.00"),  # £3.01 would pass it by a penny
        ("85.78", "3.01"),
    ],
)
def test_the_solver_finds_the_price_closest_to_and_not_above_the_budget(budget, price):
    assert solve_price(SMALL, SPEC_POLICY, D(budget)) == D(price)


def test_the_solver_hits_the_budget_to_the_penny_on_the_spec_policy():
    assert sample_total(SAMPLE, SPEC_POLICY, D("6.10")) == D("605.48")
    assert solve_price(SAMPLE, SPEC_POLICY, D("605.48")) == D("6.10")
    # A penny less and £6.10 is over budget: £6.09, whose total is below it.
    assert solve_price(SAMPLE, SPEC_POLICY, D("605.47")) == D("6.09")
    assert sample_total(SAMPLE, SPEC_POLICY, D("6.09")) <= D("605.47")


def test_the_solver_scales_the_sample_to_the_caseload():
    # Twice the caseload: twice the spend at £3.00.
    assert solve_price(SMALL, SPEC_POLICY, D("171.00"), scale=D(2)) == D("3.00")
    weights = scale_up(SMALL, {"older_people": 6})
    assert weights == {"older_people": D(3)}
    assert solve_price(SMALL, SPEC_POLICY, D("256.50"), scale=weights) == D("3.00")


def test_an_impossible_budget_is_refused_with_the_nearest_totals():
    with_a_floor = dataclasses.replace(SPEC_POLICY, minimum_weekly=D("50"))

    # Even at £0.00 a point each case gets the £50 minimum: £100.00 for the two.
    with pytest.raises(BudgetImpossible) as caught:
        solve_price(SMALL, with_a_floor, D("99.99"))
    assert caught.value.lowest_total == D("100.00")
    assert "£99.99" in str(caught.value)
    assert "£100.00 a week at £0.00 a point" in str(caught.value)

    # At £1000 a point: 10,000.00 − (5 + 20 + 26% × 9,700) = 7,453.00 and
    # 20,000.00 − (5 + 20 + 26% × 19,700) = 14,853.00; together 22,306.00.
    with pytest.raises(BudgetImpossible) as caught:
        solve_price(SMALL, SPEC_POLICY, D("1000000"))
    assert caught.value.highest_total == D("22306.00")
    assert "£22306.00 at £1000.00 a point" in str(caught.value)


def test_the_budget_met_exactly_at_the_highest_price_is_that_price():
    assert solve_price(SMALL, SPEC_POLICY, D("22306.00")) == D("1000.00")


def test_sensitivity_table_by_hand():
    rows = sensitivity(SMALL, SPEC_POLICY, [D("3.00"), D("3.01")])

    # At £3.00: 28.50 + 57.00 = 85.50 a week; × 52 = 1482.00 + 2964.00 = 4446.00 a year;
    # contingency 1.50 + 3.00 = 4.50; both within 20% of 30 and 57; A gets less (28.50 < 30).
    # At £3.01: 28.59 + 57.19 = 85.78; 1486.68 + 2973.88 = 4460.56; contingency 1.51 + 3.01.
    assert rows == [
        SensitivityRow(D("3.00"), D("85.50"), D("4446.00"), D("4.50"), D("1.0000"), 1),
        SensitivityRow(D("3.01"), D("85.78"), D("4460.56"), D("4.52"), D("1.0000"), 1),
    ]


def test_scale_up_weights_each_group_and_projects_the_spend():
    weights = scale_up(SAMPLE, {"older_people": 100, "learning_disability": 10, "mental_health": 0})

    # 100 older people for the sample's 2; 10 people with a learning disability for 2.
    assert weights == {"learning_disability": D(5), "older_people": D(50)}
    # (60 + 110) × 50 + (190 + 250) × 5 = 8500 + 2200 = 10700
    allocations = [c.weekly_cost for c in SAMPLE]
    assert projected_weekly(SAMPLE, allocations, weights) == D("10700.00")


def test_scale_up_refuses_groups_it_cannot_weight():
    with pytest.raises(ValueError, match="no figure for learning_disability"):
        scale_up(SAMPLE, {"older_people": 10})
    with pytest.raises(ValueError, match="no case of mental_health"):
        scale_up(SAMPLE, {"older_people": 10, "learning_disability": 1, "mental_health": 5})


def test_sensitivity_rows_are_projected_to_the_caseload_by_hand():
    # One older person (10 points, £30 now) standing for 5 people in the caseload, one person
    # with a learning disability (20 points, £57 now) standing for 2.
    cases = [case("A", "10", "30"), case("B", "20", "57", "learning_disability")]
    weights = scale_up(cases, {"older_people": 5, "learning_disability": 2})
    assert weights == {"learning_disability": D(2), "older_people": D(5)}

    (row,) = sensitivity(cases, SPEC_POLICY, [D("3.00")], scale=weights)

    # At £3.00: A 10 × 3 = 30.00 − 5% 1.50 = 28.50 (× 52 = 1482.00 a year);
    # B 20 × 3 = 60.00 × 1.10 = 66.00 − 5% 3.30 = 62.70 (× 52 = 3260.40).
    # The sample: 28.50 + 62.70 = 91.20 a week, 4742.40 a year, contingency 1.50 + 3.30 = 4.80.
    # The caseload: 28.50 × 5 + 62.70 × 2 = 142.50 + 125.40 = 267.90 a week;
    # 1482.00 × 5 + 3260.40 × 2 = 7410.00 + 6520.80 = 13930.80 a year;
    # contingency 1.50 × 5 + 3.30 × 2 = 7.50 + 6.60 = 14.10 a week.
    # Both within 20% (28.50 of 30; 62.70 of 57: 5.70 ≤ 11.40); A gets less.
    assert row == SensitivityRow(
        D("3.00"),
        D("91.20"),
        D("4742.40"),
        D("4.80"),
        D("1.0000"),
        1,
        projected_weekly=D("267.90"),
        projected_annual=D("13930.80"),
        projected_contingency_weekly=D("14.10"),
    )
    # The solver, given the caseload's weekly budget, finds the same £3.00 with these weights.
    assert solve_price(cases, SPEC_POLICY, D("267.90"), scale=weights) == D("3.00")
    assert solve_price(cases, SPEC_POLICY, D("267.89"), scale=weights) == D("2.99")


def test_scale_up_names_the_groups_by_their_labels_when_given():
    labels = {"mental_health": "Mental health"}
    with pytest.raises(ValueError, match="no case of Mental health,"):
        scale_up(
            SAMPLE,
            {"older_people": 10, "learning_disability": 1, "mental_health": 5},
            labels=labels,
        )


HIGHER_OF = dataclasses.replace(SPEC_POLICY, transitional_rule="higher_of")


def test_under_the_transitional_rule_the_current_cost_is_the_existing_package():
    # "higher_of": at £3.00 A's RAS figure 28.50 is below its £30 package, so 30.00; B's 57.00
    # equals its £57 package (not strictly higher), so 57.00: 87.00. At £3.01 A stays at 30.00
    # and B's RAS figure is 57.19: 87.19. So £87.00 is met at £3.00, and no more.
    assert sample_total(SMALL, HIGHER_OF, D("3.00"), transitional=True) == D("87.00")
    assert sample_total(SMALL, HIGHER_OF, D("3.01"), transitional=True) == D("87.19")
    assert solve_price(SMALL, HIGHER_OF, D("87.00"), transitional=True) == D("3.00")
    # Without the rule, the same budget buys more: 85.78 at £3.01 (worked above) is under it.
    assert solve_price(SMALL, HIGHER_OF, D("87.00")) > D("3.00")

    # "existing_package" (the spec policy): everyone keeps their current cost at any price, so
    # the total is 30 + 57 = 87.00 throughout, nobody gets less and all are within 20%.
    rows = sensitivity(SMALL, SPEC_POLICY, [D("1.00"), D("9.00")], transitional=True)
    assert [(r.total_weekly, r.fewer, r.within_20) for r in rows] == [
        (D("87.00"), 0, D("1.0000")),
        (D("87.00"), 0, D("1.0000")),
    ]
