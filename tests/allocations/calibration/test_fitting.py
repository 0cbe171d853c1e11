"""The four price methods and the statistics, against figures worked by hand. No database."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from allocations.calibration.fitting import (
    METHODS,
    POINTS_BANDS,
    Fit,
    Stats,
    band_label,
    fit_price,
    fit_report,
    policy_allocator,
    statistics,
)
from allocations.calibration.samples import SampleCase
from allocations.engine.examples import SPEC_POLICY

D = Decimal


def case(ref: str, points: str, cost: str, group: str = "older_people") -> SampleCase:
    return SampleCase(ref, group, D(points), D(cost))


# The hand-worked sample: two older people, two people with a learning disability.
#   points 10, 20, 30, 40; costs 60, 110, 190, 250.
SAMPLE = [
    case("A", "10", "60"),
    case("B", "20", "110"),
    case("C", "30", "190", "learning_disability"),
    case("D", "40", "250", "learning_disability"),
]


def test_ratio_of_totals():
    # Σcost / Σpoints = (60 + 110 + 190 + 250) / (10 + 20 + 30 + 40) = 610 / 100 = 6.1
    assert fit_price(SAMPLE, "ratio") == Fit("ratio", D("6.1000"))


def test_least_squares_through_the_origin():
    # Σ points·cost = 600 + 2200 + 5700 + 10000 = 18500
    # Σ points²     = 100 + 400 + 900 + 1600 = 3000
    # 18500 / 3000 = 6.16666… → 6.1667
    assert fit_price(SAMPLE, "origin") == Fit("origin", D("6.1667"))


def test_least_squares_with_an_intercept():
    # mean points 25, mean cost 152.5
    # points − 25: −15, −5, 5, 15;  cost − 152.5: −92.5, −42.5, 37.5, 97.5
    # Sxy = 1387.5 + 212.5 + 187.5 + 1462.5 = 3250;  Sxx = 225 + 25 + 25 + 225 = 500
    # slope = 3250 / 500 = 6.5;  intercept = 152.5 − 6.5 × 25 = −10
    assert fit_price(SAMPLE, "intercept") == Fit("intercept", D("6.5000"), D("-10.0000"))


def test_median_of_per_case_ratios():
    # 60/10 = 6, 110/20 = 5.5, 190/30 = 6.333…, 250/40 = 6.25
    # sorted 5.5, 6, 6.25, 6.333…: median (6 + 6.25) / 2 = 6.125
    assert fit_price(SAMPLE, "median") == Fit("median", D("6.1250"), excluded_zero_points=0)


def test_the_median_excludes_and_counts_cases_with_no_points():
    cases = [case("Z", "0", "50"), case("A", "10", "60"), case("B", "20", "100")]
    # Z has no points: left out and counted. 60/10 = 6, 100/20 = 5: median 5.5.
    assert fit_price(cases, "median") == Fit("median", D("5.5000"), excluded_zero_points=1)
    # The other methods keep it: ratio (50 + 60 + 100) / 30 = 7
    assert fit_price(cases, "ratio").price_per_point == D("7.0000")


@pytest.mark.parametrize("method", METHODS)
def test_no_usable_case_is_refused_in_plain_words(method):
    with pytest.raises(ValueError, match="needs"):
        fit_price([case("Z", "0", "50")], method)


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="Unknown method 'guess'"):
        fit_price(SAMPLE, "guess")


def test_statistics_of_the_ratio_fit_by_hand():
    # At £6.10 a point the allocations are 61, 122, 183, 244;
    # allocation − cost: +1, +12, −7, −6.
    report = fit_report(SAMPLE, "ratio")

    # SS_res = 1 + 144 + 49 + 36 = 230
    # SS_tot = 92.5² + 42.5² + 37.5² + 97.5² = 8556.25 + 1806.25 + 1406.25 + 9506.25 = 21275
    # R² = 1 − 230 / 21275 = 0.98919 → 0.9892
    # The allocations are a straight line in points, so r = Sxy / √(Sxx·Syy)
    #   = 3250 / √(500 × 21275) = 3250 / 3261.518 = 0.99647 → 0.9965
    # MAPE = (1/60 + 12/110 + 7/190 + 6/250) / 4 = (0.016667 + 0.109091 + 0.036842 + 0.024) / 4
    #      = 0.046650 → 0.0466 (0.04664987…)
    # within 10%: |1| ≤ 6 yes, |12| ≤ 11 no, |7| ≤ 19 yes, |6| ≤ 25 yes → 3/4
    # within 20%: |12| ≤ 22 too → 4/4
    # fewer: C and D; more: A and B; mean difference (1 + 12 − 7 − 6) / 4 = 0
    assert report.overall == Stats(
        n=4,
        price_per_point=D("6.1000"),
        r2=D("0.9892"),
        correlation=D("0.9965"),
        mape=D("0.0466"),
        within_10=D("0.7500"),
        within_20=D("1.0000"),
        fewer=2,
        more=2,
        mean_difference=D("0.0000"),
    )


def test_statistics_of_the_intercept_fit_by_hand():
    # −10 + 6.5 × points: 55, 120, 185, 250; allocation − cost: −5, +10, −5, 0
    # SS_res = 25 + 100 + 25 + 0 = 150; R² = 1 − 150 / 21275 = 0.99295 → 0.9929
    # within 10%: 5 ≤ 6, 10 ≤ 11, 5 ≤ 19, 0 ≤ 25 → all; one exactly right: neither fewer nor more
    overall = fit_report(SAMPLE, "intercept").overall

    assert (overall.r2, overall.within_10, overall.fewer, overall.more) == (
        D("0.9929"),
        D("1.0000"),
        2,
        1,
    )
    assert overall.mean_difference == D("0.0000")


def test_statistics_by_client_group_by_hand():
    by_group = fit_report(SAMPLE, "ratio").by_group

    assert list(by_group) == ["learning_disability", "older_people"]
    # Older people (A, B): their own ratio 170 / 30 = 5.6667; at the overall £6.10 a point
    # differences +1, +12. Mean cost 85: SS_tot = 25² + 25² = 1250; SS_res = 1 + 144 = 145;
    # R² = 1 − 145/1250 = 0.884. MAPE (1/60 + 12/110) / 2 = 0.062879 → 0.0629.
    # Within 10%: A only; within 20%: both. Both get more; mean difference 13 / 2 = 6.5.
    assert by_group["older_people"] == Stats(
        n=2,
        price_per_point=D("5.6667"),
        r2=D("0.8840"),
        correlation=D("1.0000"),  # two points always lie on a line
        mape=D("0.0629"),
        within_10=D("0.5000"),
        within_20=D("1.0000"),
        fewer=0,
        more=2,
        mean_difference=D("6.5000"),
    )
    # Learning disability (C, D): own ratio 440 / 70 = 6.2857; differences −7, −6.
    # Mean cost 220: SS_tot = 30² + 30² = 1800; SS_res = 49 + 36 = 85; R² = 1 − 85/1800 = 0.95278.
    # Both within 10%; both get less; mean difference −6.5.
    learning = by_group["learning_disability"]
    assert (learning.price_per_point, learning.r2, learning.within_10) == (
        D("6.2857"),
        D("0.9528"),
        D("1.0000"),
    )
    assert (learning.fewer, learning.more, learning.mean_difference) == (2, 0, D("-6.5000"))


def test_statistics_by_band_of_points_by_hand():
    # Bands 0–24 (A, B) and 25+ (C, D): the same cases as the groups above.
    by_band = fit_report(SAMPLE, "ratio", bands=((0, 25), (25, None))).by_band

    assert list(by_band) == ["0–24", "25+"]
    assert by_band["0–24"].r2 == D("0.8840")
    assert by_band["0–24"].more == 2
    assert by_band["25+"].fewer == 2
    assert by_band["25+"].mean_difference == D("-6.5000")


def test_the_default_bands_report_every_band_even_when_empty():
    by_band = fit_report(SAMPLE, "ratio").by_band

    assert [band_label(lower, upper) for lower, upper in POINTS_BANDS] == list(by_band)
    assert list(by_band) == ["0–49", "50–99", "100–199", "200+"]
    assert by_band["0–49"].n == 4
    assert by_band["200+"] == Stats(0, None, None, None, None, D(0), D(0), 0, 0, D(0))


def test_a_band_is_lower_inclusive_upper_exclusive():
    cases = [case("A", "49.5", "300"), case("B", "50", "300"), case("C", "200", "1200")]

    by_band = fit_report(cases, "ratio").by_band

    assert [stats.n for stats in by_band.values()] == [1, 1, 0, 1]


def test_a_cost_of_zero_is_within_range_only_when_the_allocation_is_zero_and_not_in_the_mape():
    cases = [case("A", "0", "0"), case("B", "10", "0"), case("C", "10", "100")]

    stats = statistics(cases, [D("0"), D("5"), D("110")])

    # A: exactly right; B: £5 over nothing; C: 10% over (within 10%, and the only MAPE case).
    assert (stats.within_10, stats.within_20) == (D("0.6667"), D("0.6667"))
    assert stats.mape == D("0.1000")
    assert (stats.fewer, stats.more) == (0, 2)


def test_ratios_that_cannot_be_computed_are_none():
    same_cost = [case("A", "10", "100"), case("B", "20", "100")]

    stats = statistics(same_cost, [D("100"), D("100")])

    assert (stats.r2, stats.correlation, stats.mape) == (None, None, D("0.0000"))
    with pytest.raises(ValueError, match="one allocation per case"):
        statistics(same_cost, [D("1")])


def test_the_policy_allocator_runs_the_engine_at_the_given_price():
    allocate = policy_allocator(SPEC_POLICY)

    # The spec's first worked example: an older person with 40 points at £4.88 → £180.68.
    assert allocate(case("A", "40", "0"), D("4.88")) == D("180.68")
    # Learning disability, 130 points, factor 1.10, no informal support:
    # gross 130 × 4.88 × 1.1 = 697.84; contingency 5 + 20 + 26% × 397.84 = 128.4384 → 128.44;
    # 697.84 − 128.44 = 569.40
    assert allocate(case("B", "130", "0", "learning_disability"), D("4.88")) == D("569.40")


def test_as_the_policy_would_pay_uses_the_policy_at_the_fitted_price():
    report = fit_report(SAMPLE, "ratio", allocate=policy_allocator(SPEC_POLICY))

    # At £6.10: A's 61.00 less 5% contingency = 57.95; B's 122.00 less 5 + 10% × 22 = 114.80;
    # C's 30 × 6.10 × 1.10 = 201.30 less 5 + 10.13 = 186.17; D's 268.40 less 5 + 16.84 = 246.56.
    allocations = [D("57.95"), D("114.80"), D("186.17"), D("246.56")]
    assert report.overall == statistics(SAMPLE, allocations, price=D("6.1000"))
    assert report.overall.fewer == 3


def test_as_the_policy_would_pay_with_its_transitional_rule():
    # The current cost is the existing package. "existing_package" (the spec policy) pays it
    # whatever the price; "higher_of" pays the higher of it and the RAS figure.
    higher_of = dataclasses.replace(SPEC_POLICY, transitional_rule="higher_of")
    keeps = policy_allocator(SPEC_POLICY, transitional=True)
    higher = policy_allocator(higher_of, transitional=True)

    # 40 points at £4.88: the RAS figure is £180.68 (the spec's first worked example).
    assert keeps(case("A", "40", "150"), D("4.88")) == D("150")
    assert higher(case("A", "40", "150"), D("4.88")) == D("180.68")
    assert higher(case("A", "40", "200"), D("4.88")) == D("200")
    # Without the rule, the package is not the engine's to see.
    assert policy_allocator(SPEC_POLICY)(case("A", "40", "150"), D("4.88")) == D("180.68")

    # At £6.10 (worked above) the RAS figures are 57.95, 114.80, 186.17 and 246.56 against
    # costs of 60, 110, 190 and 250: "higher_of" pays 60.00, 114.80, 190.00 and 250.00, so
    # nobody gets less, B gets 4.80 more (4.4%, within 10%) and the mean difference is
    # 4.80 ÷ 4 = 1.20.
    report = fit_report(SAMPLE, "ratio", allocate=higher)
    assert (report.overall.fewer, report.overall.more) == (0, 1)
    assert report.overall.within_10 == D("1.0000")
    assert report.overall.mean_difference == D("1.2000")


def test_a_client_group_the_policy_does_not_know_is_refused_naming_the_field():
    allocate = policy_allocator(SPEC_POLICY)

    with pytest.raises(ValueError, match="client_group"):
        allocate(case("A", "10", "60", "martians"), D("5"))
