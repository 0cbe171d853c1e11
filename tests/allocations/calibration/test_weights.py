"""Suggested section weights: a non-negative fit with k-fold cross-validation. No database."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from allocations.calibration.samples import SampleCase
from allocations.calibration.weights import fit_weights

D = Decimal


def case(ref: str, cost: str, **sections: str) -> SampleCase:
    points = {code: D(value) for code, value in sections.items()}
    return SampleCase(
        ref, "older_people", sum(points.values(), D(0)), D(cost), section_points=points
    )


# Cost is exactly £7 a mobility point and £3 a meals point.
EXACT = [
    case("A", "70", mobility="10", meals="0"),
    case("B", "30", mobility="0", meals="10"),
    case("C", "100", mobility="10", meals="10"),
    case("D", "50", mobility="5", meals="5"),
    case("E", "140", mobility="20", meals="0"),
    case("F", "60", mobility="0", meals="20"),
]


def noisy_sample(n: int = 60, seed: int = 3) -> list[SampleCase]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        a, b, c = (rng.randint(0, 30) for _ in range(3))
        cost = D(7 * a + 3 * b + 5 * c + rng.randint(-40, 40)).max(D(0))
        cases.append(case(f"N{i}", str(cost), mobility=str(a), meals=str(b), home=str(c)))
    return cases


def test_an_exact_sample_gives_its_weights_and_the_plain_word_findings():
    fit = fit_weights(EXACT, folds=3, seed=0)

    assert fit.weights == {"mobility": D("7.0000"), "meals": D("3.0000")}
    # Every fold's training cases span both sections, so out of sample is exact too.
    assert (fit.in_sample_r2, fit.out_of_sample_r2) == (D("1.0000"), D("1.0000"))
    assert (fit.in_sample_within_20, fit.out_of_sample_within_20) == (D("1.0000"), D("1.0000"))
    assert (fit.folds, fit.seed) == (3, 0)
    # The single price through the origin: Σ points·cost / Σ points²
    #   = (700 + 300 + 2000 + 500 + 2800 + 1200) / (100 + 100 + 400 + 100 + 400 + 400)
    #   = 7500 / 1500 = £5.00
    assert fit.findings == [
        "Section 'mobility' is worth £7.00 a point against £5.00 overall: "
        "the sample says it is under-weighted.",
        "Section 'meals' is worth £3.00 a point against £5.00 overall: "
        "the sample says it is over-weighted.",
    ]


def test_the_findings_name_sections_by_their_titles_when_known():
    fit = fit_weights(EXACT, folds=3, seed=0, titles={"mobility": "Getting about"})

    assert fit.findings[0].startswith("Section 'Getting about' (mobility) is worth £7.00")
    # A section no questionnaire names keeps its code.
    assert fit.findings[1].startswith("Section 'meals' is worth £3.00")


def test_weights_are_never_negative():
    # Meals points go with lower cost: least squares would give meals a negative weight.
    cases = [
        case("A", "100", mobility="10", meals="0"),
        case("B", "90", mobility="10", meals="5"),
        case("C", "200", mobility="20", meals="0"),
        case("D", "170", mobility="20", meals="10"),
    ]

    fit = fit_weights(cases, folds=2)

    assert fit.weights["meals"] == D("0.0000")
    assert fit.weights["mobility"] > 0
    assert any("'meals' is worth £0.00" in finding for finding in fit.findings)


def test_cross_validation_is_reproducible_with_a_seed():
    cases = noisy_sample()

    first = fit_weights(cases, folds=5, seed=11)
    again = fit_weights(cases, folds=5, seed=11)
    others = {fit_weights(cases, folds=5, seed=seed).out_of_sample_r2 for seed in range(1, 6)}

    assert first == again
    # In-sample figures do not depend on the folds; out-of-sample ones may.
    assert fit_weights(cases, seed=99).weights == first.weights
    assert len(others | {first.out_of_sample_r2}) > 1
    # Held-out cases are predicted less well than the cases a fit has seen.
    assert first.out_of_sample_r2 <= first.in_sample_r2


def test_a_sample_without_section_points_is_refused():
    plain = [SampleCase("A", "older_people", D("10"), D("60"))] * 5

    with pytest.raises(ValueError, match="no points by section"):
        fit_weights(plain)


@pytest.mark.parametrize(("folds", "message"), [(1, "at least 2 folds"), (7, "at least 7 cases")])
def test_folds_must_be_possible(folds, message):
    with pytest.raises(ValueError, match=message):
        fit_weights(EXACT, folds=folds)


def test_a_section_nobody_scored_in_has_no_finding():
    cases = [case(c.reference, str(c.weekly_cost), **c.section_points, bathing="0") for c in EXACT]

    fit = fit_weights(cases, folds=3)

    assert (
        fit.findings[-1] == "Section 'bathing': no case in the sample scored in it, so no finding."
    )


def test_one_price_is_cross_validated_on_the_same_folds_beside_the_weights():
    # Costs exactly 12 × s1 + 6 × s2; points 1, 1, 4, 4, 4; costs 12, 6, 36, 42, 30.
    cases = [
        case("W1", "12", s1="1", s2="0"),
        case("W2", "6", s1="0", s2="1"),
        case("W3", "36", s1="2", s2="2"),
        case("W4", "42", s1="3", s2="1"),
        case("W5", "30", s1="1", s2="3"),
    ]
    # Five folds of five cases: each case is predicted from the other four, whatever the seed.
    fit = fit_weights(cases, folds=5, seed=0)

    # In sample, one price through the origin: Σ p·c = 450, Σ p² = 50, £9 a point; predictions
    # 9, 9, 36, 36, 36; residuals 3, −3, 0, 6, −6, SS_res = 90; mean cost 25.2, SS_tot =
    # 13.2² + 19.2² + 10.8² + 16.8² + 4.8² = 964.8; R² = 1 − 90 ÷ 964.8 = 0.90672 → 0.9067.
    # Within 20%: W3, W4 (6 of 42) and W5 (6 of 30, exactly 20%): 3 of 5.
    assert (fit.single_in_sample_r2, fit.single_in_sample_within_20) == (
        D("0.9067"),
        D("0.6000"),
    )
    # Leaving each out: W1 438 ÷ 49 = 8.9388 → 8.94; W2 444 ÷ 49 → 9.06; W3 306 ÷ 34 = 9 →
    # 36.00; W4 282 ÷ 34 × 4 = 33.18; W5 330 ÷ 34 × 4 = 38.82. Residuals 3.06, 3.06, 0, 8.82,
    # 8.82: SS_res = 2 × 9.3636 + 2 × 77.7924 = 174.312; R² = 1 − 174.312 ÷ 964.8 = 0.81933.
    # Within 20%: only W3.
    assert (fit.single_out_of_sample_r2, fit.single_out_of_sample_within_20) == (
        D("0.8193"),
        D("0.2000"),
    )
    # The weights, fitted on any four of these cases, predict the fifth exactly.
    assert (fit.out_of_sample_r2, fit.out_of_sample_within_20) == (D("1.0000"), D("1.0000"))
