"""Hand-worked edge cases of spec/ras-calculation.md: band edges, half-up rounding, the floor, the
panel threshold, transitional protection, the carer rule, client-group factors and points.

Unless a test says otherwise the policy is POLICY: £1.00 a point (so gross = points for a group
with factor 1), 52 weeks, bands 5% to £100, 10% to £300, 26% above, no floor, panel at £600,
no protection.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from allocations.engine import (
    Band,
    Case,
    calculate,
    case_from_dict,
    policy_from_dict,
    result_to_dict,
    round2,
)
from tests.allocations.engine.policies import SPEC_POLICY

D = Decimal

# The spec's policy at £1 a point (so points read as pounds), with a 50% informal-support
# level for the rounding cases, and no protection of existing packages.
POLICY = replace(
    SPEC_POLICY,
    price_per_point=D("1.00"),
    informal_support_reductions={**SPEC_POLICY.informal_support_reductions, "half": D("50")},
    protect_existing_packages=False,
)

# No contingency at all, so ras = gross: keeps the panel and annual arithmetic to one step.
NO_CONTINGENCY = replace(POLICY, contingency_bands=(Band(up_to=None, rate=D("0")),))


def run(points, policy=POLICY, client_group="older_people", **case):
    if not isinstance(points, (list, tuple)):
        points = [points]
    return calculate(
        policy, Case(points=tuple(D(p) for p in points), client_group=client_group, **case)
    )


def banker(value: Decimal) -> Decimal:
    """What Python's default (banker's) rounding would give — the answer the engine must not."""
    return value.quantize(D("0.01"), rounding=ROUND_HALF_EVEN)


# --- Contingency band edges --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "contingency", "ras", "in_bands"),
    [
        # 0: nothing in any band → 0.00 retained, ras 0.00.
        ("0", "0.00", "0.00", ("0", "0", "0")),
        # 100.00 sits wholly in band 1: 5% × 100 = 5.00 → ras 95.00.
        ("100.00", "5.00", "95.00", ("100", "0", "0")),
        # 100.01: 5% × 100 + 10% × 0.01 = 5.001 → 5.00 → ras 95.01.
        ("100.01", "5.00", "95.01", ("100", "0.01", "0")),
        # 300.00: 5% × 100 + 10% × 200 = 25.00 → ras 275.00 (nothing yet at 26%).
        ("300.00", "25.00", "275.00", ("100", "200", "0")),
        # 300.01: 25 + 26% × 0.01 = 25.0026 → 25.00 → ras 275.01 (marginal: a whole-package
        # 26% would have retained 78.00 and paid less for more need).
        ("300.01", "25.00", "275.01", ("100", "200", "0.01")),
    ],
)
def test_contingency_band_edges(gross, contingency, ras, in_bands):
    result = run(gross)

    assert result.gross_weekly == D(gross)
    assert result.contingency_weekly == D(contingency)
    assert result.ras_weekly == D(ras)
    assert tuple(s.amount_in_band for s in result.contingency_by_band) == tuple(
        D(x) for x in in_bands
    )


def test_each_band_starts_where_the_one_before_ends():
    result = run("500")

    assert [(s.lower, s.upper) for s in result.contingency_by_band] == [
        (D("0"), D("100")),
        (D("100"), D("300")),
        (D("300"), None),
    ]


# --- Half-up rounding where banker's rounding would differ ---------------------------------------


@pytest.mark.parametrize(
    ("price", "points", "exact_gross", "gross", "contingency", "ras"),
    [
        # 0.5 × 4.85 = 2.425 → 2.43 (banker's: 2.42); 5% × 2.43 = 0.1215 → 0.12; ras 2.31.
        ("4.85", "0.5", "2.425", "2.43", "0.12", "2.31"),
        # 7.5 × 4.87 = 36.525 → 36.53 (banker's: 36.52); 5% × 36.53 = 1.8265 → 1.83; ras 34.70.
        ("4.87", "7.5", "36.525", "36.53", "1.83", "34.70"),
    ],
)
def test_gross_on_a_half_penny_rounds_up(price, points, exact_gross, gross, contingency, ras):
    assert banker(D(exact_gross)) != D(gross)  # the case really tells the two roundings apart

    result = run(points, policy=replace(POLICY, price_per_point=D(price)))

    assert result.gross_weekly == D(gross)
    assert result.contingency_weekly == D(contingency)
    assert result.ras_weekly == D(ras)


@pytest.mark.parametrize(
    ("gross", "exact_contingency", "contingency", "ras"),
    [
        # 5% × 0.10 = 0.005 → 0.01 (banker's: 0.00); ras 0.09.
        ("0.10", "0.005", "0.01", "0.09"),
        # 5% × 100 + 10% × 0.05 = 5.005 → 5.01 (banker's: 5.00); ras 95.04.
        ("100.05", "5.005", "5.01", "95.04"),
        # 5% × 100 + 10% × 200 + 26% × 0.25 = 25.065 → 25.07 (banker's: 25.06); ras 275.18.
        ("300.25", "25.065", "25.07", "275.18"),
    ],
)
def test_contingency_on_a_half_penny_rounds_up(gross, exact_contingency, contingency, ras):
    assert banker(D(exact_contingency)) != D(contingency)

    result = run(gross)

    assert sum(s.retained for s in result.contingency_by_band) == D(exact_contingency)
    assert result.contingency_weekly == D(contingency)
    assert result.ras_weekly == D(ras)


def test_contingency_is_rounded_once_after_summing_the_bands():
    # Bands 5% to 100.07, 5% above; gross 200.14:
    # 5% × 100.07 + 5% × 100.07 = 5.0035 + 5.0035 = 10.007 → 10.01; ras 200.14 − 10.01 = 190.13.
    # Rounding each band first would give 5.00 + 5.00 = 10.00.
    policy = replace(
        POLICY,
        contingency_bands=(Band(up_to=D("100.07"), rate=D("5")), Band(up_to=None, rate=D("5"))),
    )
    result = run("200.14", policy=policy)

    assert [s.retained for s in result.contingency_by_band] == [D("5.0035"), D("5.0035")]
    assert result.contingency_weekly == D("10.01")
    assert result.ras_weekly == D("190.13")


def test_adjusted_points_are_kept_exact_and_shown_half_up():
    # 24.69 points, carer assessed/able/willing, "half" (50%) × "low" (1) = 50% reduction:
    # adjusted = 24.69 × 0.5 = 12.345 exactly, shown 12.35 (banker's: 12.34).
    # At £2.00 a point gross = 12.345 × 2 = 24.69 — had adjusted been rounded first to 12.35 it
    # would be 24.70. Contingency 5% × 24.69 = 1.2345 → 1.23; ras 23.46.
    policy = replace(POLICY, price_per_point=D("2.00"))
    result = run(
        "24.69",
        policy=policy,
        informal_support="half",
        carer_impact="low",
        carer_assessed=True,
        carer_able_and_willing=True,
    )

    assert result.adjusted_points == D("12.345")
    assert result.gross_weekly == D("24.69")
    assert result.contingency_weekly == D("1.23")
    assert result.ras_weekly == D("23.46")
    shown = result_to_dict(result)
    assert shown["adjusted_points"] == "12.35"
    assert shown["reduction_percent"] == "50.00"


def test_annual_on_a_half_penny_rounds_up():
    # No contingency, 52.5 weeks: 10.01 × 52.5 = 525.525 → 525.53 (banker's: 525.52).
    assert banker(D("525.525")) == D("525.52")

    result = run("10.01", policy=replace(NO_CONTINGENCY, weeks_per_year=D("52.5")))

    assert result.indicative_weekly == D("10.01")
    assert result.annual == D("525.53")


@pytest.mark.parametrize(
    ("value", "rounded"),
    [("0.005", "0.01"), ("2.675", "2.68"), ("2.665", "2.67"), ("2.6649", "2.66"), ("7", "7.00")],
)
def test_round2_is_half_up(value, rounded):
    assert str(round2(D(value))) == rounded


# --- The minimum_weekly floor --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "contingency", "ras", "annual"),
    [
        # Floor 47.50 throughout; 47.50 × 52 = 2470.00.
        # 0 points: gross 0.00, contingency 0.00, 0.00 < 47.50 → 47.50.
        ("0", "0.00", "47.50", "2470.00"),
        # 40: contingency 5% × 40 = 2.00; 40 − 2 = 38.00 < 47.50 → 47.50.
        ("40", "2.00", "47.50", "2470.00"),
        # 50: contingency 2.50; 50 − 2.50 = 47.50, exactly the floor → 47.50.
        ("50", "2.50", "47.50", "2470.00"),
        # 50.01: contingency 2.5005 → 2.50; 50.01 − 2.50 = 47.51 > 47.50 → 47.51;
        # 47.51 × 52 = 2470.52.
        ("50.01", "2.50", "47.51", "2470.52"),
        # 60: contingency 3.00; 57.00; 57 × 52 = 2964.00.
        ("60", "3.00", "57.00", "2964.00"),
    ],
)
def test_minimum_weekly_floor(points, contingency, ras, annual):
    result = run(points, policy=replace(POLICY, minimum_weekly=D("47.50")))

    assert result.contingency_weekly == D(contingency)
    assert result.ras_weekly == D(ras)
    assert (result.indicative_weekly, result.basis) == (D(ras), "ras")
    assert result.annual == D(annual)


def test_protected_package_below_the_floor_is_still_the_indicative_amount():
    # Step 7 takes the existing cost as it is: ras = max(47.50, 60 − 3) = 57.00, but a protected
    # package of 30.00 stays 30.00; annual 30 × 52 = 1560.00.
    policy = replace(POLICY, minimum_weekly=D("47.50"), protect_existing_packages=True)
    result = run("60", policy=policy, existing_weekly_cost=D("30.00"))

    assert result.ras_weekly == D("57.00")
    assert (result.indicative_weekly, result.basis) == (D("30.00"), "existing_package")
    assert result.annual == D("1560.00")


# --- Panel threshold ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "panel"),
    [
        # No contingency, so indicative = points × £1.
        ("599.99", False),  # below 600
        ("600", True),  # exactly at: "at or above" → panel
        ("600.01", True),  # above
    ],
)
def test_panel_threshold(points, panel):
    result = run(points, policy=NO_CONTINGENCY)

    assert result.indicative_weekly == D(points)
    assert result.panel_required is panel


@pytest.mark.parametrize(
    ("existing", "points", "panel"),
    [
        # Protected 600.00 package, ras only 100.00: the indicative amount (600.00) decides.
        ("600.00", "100", True),
        # Protected 599.99 package, ras 700.00: indicative 599.99 < 600 → no panel.
        ("599.99", "700", False),
    ],
)
def test_panel_goes_by_the_indicative_amount(existing, points, panel):
    policy = replace(NO_CONTINGENCY, protect_existing_packages=True)
    result = run(points, policy=policy, existing_weekly_cost=D(existing))

    assert result.ras_weekly == D(points)
    assert (result.indicative_weekly, result.basis) == (D(existing), "existing_package")
    assert result.panel_required is panel


# --- Transitional protection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protect", "existing", "needs_increased", "indicative", "basis", "annual"),
    [
        # 75 points: contingency 5% × 75 = 3.75; ras 71.25 in every row.
        # Protected, needs not increased → the existing 50.00; 50 × 52 = 2600.00.
        (True, "50.00", False, "50.00", "existing_package", "2600.00"),
        # Protection holds an existing package above the RAS figure too; 90 × 52 = 4680.00.
        (True, "90.00", False, "90.00", "existing_package", "4680.00"),
        # Needs increased → the RAS figure; 71.25 × 52 = 3705.00.
        (True, "50.00", True, "71.25", "ras", "3705.00"),
        # Protection off → the RAS figure.
        (False, "50.00", False, "71.25", "ras", "3705.00"),
        (False, "90.00", True, "71.25", "ras", "3705.00"),
        # No existing package → the RAS figure.
        (True, None, False, "71.25", "ras", "3705.00"),
    ],
)
def test_existing_package_protection(protect, existing, needs_increased, indicative, basis, annual):
    policy = replace(POLICY, protect_existing_packages=protect)
    result = run(
        "75",
        policy=policy,
        existing_weekly_cost=None if existing is None else D(existing),
        needs_increased=needs_increased,
    )

    assert result.ras_weekly == D("71.25")
    assert (result.indicative_weekly, result.basis) == (D(indicative), basis)
    assert result.annual == D(annual)


# --- Informal support: only when the carer is assessed AND able and willing ---------------------


@pytest.mark.parametrize(
    ("assessed", "able", "reduction", "adjusted"),
    [
        # "some" (10%) × "moderate" (0.5) = 5%: 100 × 0.95 = 95.
        (True, True, "5", "95"),
        # Any other combination: no reduction, 100 points stay 100.
        (True, False, "0", "100"),
        (False, True, "0", "100"),
        (False, False, "0", "100"),
    ],
)
def test_reduction_needs_carer_assessed_and_able_and_willing(assessed, able, reduction, adjusted):
    result = run(
        "100",
        informal_support="some",
        carer_impact="moderate",
        carer_assessed=assessed,
        carer_able_and_willing=able,
    )

    assert result.reduction_percent == D(reduction)
    assert result.adjusted_points == D(adjusted)
    assert result.gross_weekly == D(adjusted)  # £1 a point, factor 1


@pytest.mark.parametrize(
    ("level", "impact", "reduction", "adjusted"),
    [
        # "most" 30% × "low" 1 = 30%: 100 × 0.70 = 70.
        ("most", "low", "30", "70"),
        # "substantial" 20% × "moderate" 0.5 = 10%: 100 × 0.90 = 90.
        ("substantial", "moderate", "10", "90"),
        # "most" 30% × "high" 0 = 0%: a carer under high strain takes nothing off.
        ("most", "high", "0", "100"),
        # "none" 0% × "low" 1 = 0%.
        ("none", "low", "0", "100"),
        # No informal support recorded at all: nothing to reduce.
        (None, "low", "0", "100"),
    ],
)
def test_reduction_is_level_times_carer_impact(level, impact, reduction, adjusted):
    result = run(
        "100",
        informal_support=level,
        carer_impact=impact,
        carer_assessed=True,
        carer_able_and_willing=True,
    )

    assert result.reduction_percent == D(reduction)
    assert result.adjusted_points == D(adjusted)


# --- Client-group factors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_group", "factor", "gross"),
    [
        # Not listed in client_group_factors → factor 1: 100 × 1.00 × 1 = 100.00.
        ("older_people", "1", "100.00"),
        ("mental_health", "1", "100.00"),
        # Listed: 100 × 1.00 × 1.10 = 110.00.
        ("learning_disability", "1.10", "110.00"),
        # A group the policy adds by giving it a factor: 100 × 1.25 = 125.00.
        ("acquired_brain_injury", "1.25", "125.00"),
    ],
)
def test_client_group_factor(client_group, factor, gross):
    policy = replace(
        POLICY,
        client_group_factors={"learning_disability": D("1.10"), "acquired_brain_injury": D("1.25")},
    )
    result = run("100", policy=policy, client_group=client_group)

    assert result.client_group_factor == D(factor)
    assert result.gross_weekly == D(gross)


# --- Points --------------------------------------------------------------------------------------


def test_decimal_points_from_a_weighted_question():
    # 7.5 + 2.5 + 10 = 20 points; at £4.88: 20 × 4.88 = 97.60; 5% × 97.60 = 4.88; ras 92.72.
    result = run(["7.5", "2.5", "10"], policy=replace(POLICY, price_per_point=D("4.88")))

    assert result.raw_points == D("20")
    assert result.gross_weekly == D("97.60")
    assert result.contingency_weekly == D("4.88")
    assert result.ras_weekly == D("92.72")


@pytest.mark.parametrize(
    "points",
    [
        ["10", "12", "18"],  # a list of decimal strings
        [10, 12, 18],  # a list of JSON numbers
        ["7.5", "32.5"],  # decimals
        "40",  # a total as a string
        40,  # a total as a number
        ["40"],  # a total in a list
    ],
)
def test_points_as_a_total_or_a_list(points):
    # Every form comes to 40 points: gross 40.00, contingency 5% × 40 = 2.00, ras 38.00.
    result = calculate(POLICY, case_from_dict({"points": points, "client_group": "older_people"}))

    assert result.raw_points == D("40")
    assert result.gross_weekly == D("40.00")
    assert result.ras_weekly == D("38.00")


def test_python_floats_are_read_as_written_not_as_their_binary_value():
    # A float 4.85 is really 4.8499999999999996447…; 0.5 × that would round to 2.42. Read as
    # written: 0.5 × 4.85 = 2.425 → 2.43; contingency 10% × 2.43 = 0.243 → 0.24; ras 2.19.
    assert round2(Decimal(0.5) * Decimal(4.85)) == D("2.42")
    policy = policy_from_dict(
        {
            "price_per_point": 4.85,
            "weeks_per_year": 52.0,
            "contingency_bands": [{"up_to": None, "rate": 10.0}],
        }
    )
    result = calculate(policy, case_from_dict({"points": [0.5], "client_group": "older_people"}))

    assert policy.price_per_point == D("4.85")
    assert result.gross_weekly == D("2.43")
    assert result.contingency_weekly == D("0.24")
    assert result.ras_weekly == D("2.19")


def test_no_answers_means_no_points():
    result = calculate(POLICY, case_from_dict({"points": [], "client_group": "older_people"}))

    assert (result.raw_points, result.gross_weekly, result.ras_weekly) == (D("0"),) * 3
