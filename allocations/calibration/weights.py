"""Suggested section weights: what the sample says a point in each section is worth (issue 11).

A non-negative least-squares fit (SciPy's `optimize.nnls`) of current weekly cost on points by
section, through the origin like the single price it is compared with: cost ≈ Σ wₛ · pointsₛ,
every wₛ ≥ 0. k-fold cross-validation (folds shuffled with NumPy's `default_rng(seed)`)
predicts each case from a fit on the other folds, so the out-of-sample R² and within-±20%
share show how much of the in-sample fit is overfitting. Floats stay inside this module: the
weights come back as Decimals (4 dp), the predictions as pennies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from scipy.optimize import nnls

from allocations.calibration.fitting import fit_price, fitted_allocation, round4, statistics
from allocations.calibration.samples import SampleCase
from allocations.engine import round2

# A section's weight within this share of the overall price is "about right".
TOLERANCE = Decimal("0.10")
# Out-of-sample R² this far below in-sample says the weights are fitted to noise.
OVERFIT_GAP = Decimal("0.05")


@dataclass(frozen=True)
class WeightsFit:
    """£ a point per section code (4 dp), in the sample's column order; R² and within-±20%
    share in sample and out of sample (4 dp); the same four figures for one price through the
    origin cross-validated on the same folds (`single_*`), the like-for-like comparison that
    shows what the extra weights buy; the folds and seed that reproduce them; and the findings
    in plain words."""

    weights: dict[str, Decimal]
    in_sample_r2: Decimal | None
    out_of_sample_r2: Decimal | None
    in_sample_within_20: Decimal
    out_of_sample_within_20: Decimal
    folds: int
    seed: int
    findings: list[str]
    single_in_sample_r2: Decimal | None = None
    single_out_of_sample_r2: Decimal | None = None
    single_in_sample_within_20: Decimal | None = None
    single_out_of_sample_within_20: Decimal | None = None


def _sections(cases: Sequence[SampleCase]) -> list[str]:
    seen: dict[str, None] = {}
    for case in cases:
        seen.update(dict.fromkeys(case.section_points))
    return list(seen)


def _predictions(matrix: np.ndarray, weights: np.ndarray) -> list[Decimal]:
    return [round2(Decimal(repr(float(value)))) for value in matrix @ weights]


def _money(value: Decimal) -> str:
    return f"£{value.quantize(Decimal('0.01'))}"


def fit_weights(
    cases: Sequence[SampleCase],
    *,
    folds: int = 5,
    seed: int = 0,
    titles: Mapping[str, str] | None = None,
) -> WeightsFit:
    """Fit the section weights and cross-validate them. ValueError, in plain words, when the
    sample has no points by section, fewer cases than folds, or fewer than two folds. The
    same cases, folds and seed always give the same figures. `titles` ({section code: title})
    names the sections in the findings."""
    sections = _sections(cases)
    if not sections:
        raise ValueError(
            "The sample has no points by section (points_<section> columns): "
            "section weights cannot be fitted."
        )
    if folds < 2:
        raise ValueError("Cross-validation needs at least 2 folds.")
    if len(cases) < folds:
        raise ValueError(f"Cross-validation with {folds} folds needs at least {folds} cases.")
    matrix = np.array(
        [[float(case.section_points.get(code, 0)) for code in sections] for case in cases]
    )
    costs = np.array([float(case.weekly_cost) for case in cases])

    weights, _ = nnls(matrix, costs)
    in_sample = statistics(cases, _predictions(matrix, weights))

    held_out = np.empty(len(cases))
    # One price through the origin on the same folds: Σ points × cost ÷ Σ points² of the
    # training cases, times each held-out case's points.
    points = matrix.sum(axis=1)
    single_held_out = np.empty(len(cases))
    order = np.random.default_rng(seed).permutation(len(cases))
    for fold in np.array_split(order, folds):
        training = np.setdiff1d(order, fold)
        fold_weights, _ = nnls(matrix[training], costs[training])
        held_out[fold] = matrix[fold] @ fold_weights
        squares = float(points[training] @ points[training])
        price = float(points[training] @ costs[training]) / squares if squares else 0.0
        single_held_out[fold] = points[fold] * price
    out_of_sample = statistics(cases, [round2(Decimal(repr(float(v)))) for v in held_out])
    single_out = statistics(cases, [round2(Decimal(repr(float(v)))) for v in single_held_out])
    try:
        single_fit = fit_price(cases, "origin")
        single_in = statistics(cases, [fitted_allocation(single_fit, c.points) for c in cases])
    except ValueError:
        single_in = None

    by_section = {
        code: round4(Decimal(repr(float(w)))) for code, w in zip(sections, weights, strict=True)
    }
    return WeightsFit(
        weights=by_section,
        in_sample_r2=in_sample.r2,
        out_of_sample_r2=out_of_sample.r2,
        in_sample_within_20=in_sample.within_20,
        out_of_sample_within_20=out_of_sample.within_20,
        folds=folds,
        seed=seed,
        findings=_findings(cases, by_section, in_sample.r2, out_of_sample.r2, titles or {}),
        single_in_sample_r2=single_in.r2 if single_in else None,
        single_out_of_sample_r2=single_out.r2,
        single_in_sample_within_20=single_in.within_20 if single_in else None,
        single_out_of_sample_within_20=single_out.within_20,
    )


def _named(code: str, titles: Mapping[str, str]) -> str:
    """A section as people know it: its title and code, or its code alone."""
    return f"'{titles[code]}' ({code})" if code in titles else f"'{code}'"


def _findings(
    cases: Sequence[SampleCase],
    weights: dict[str, Decimal],
    in_sample_r2: Decimal | None,
    out_of_sample_r2: Decimal | None,
    titles: Mapping[str, str],
) -> list[str]:
    """Plain words: each section against the single price through the origin (the like-for-like
    comparison: one weight for every section), then a warning if the fit does not carry over."""
    try:
        overall = fit_price(cases, "origin").price_per_point
    except ValueError:
        overall = None
    findings = []
    for code, weight in weights.items():
        name = _named(code, titles)
        scored = any(case.section_points.get(code, 0) > 0 for case in cases)
        if not scored:
            findings.append(f"Section {name}: no case in the sample scored in it, so no finding.")
        elif overall is None or overall == 0:
            findings.append(f"Section {name} is worth {_money(weight)} a point.")
        elif weight == 0:
            findings.append(
                f"Section {name} is worth £0.00 a point against {_money(overall)} overall: "
                "the sample finds no cost that its points explain, so it is over-weighted."
            )
        elif weight > overall * (1 + TOLERANCE):
            findings.append(
                f"Section {name} is worth {_money(weight)} a point against {_money(overall)} "
                "overall: the sample says it is under-weighted."
            )
        elif weight < overall * (1 - TOLERANCE):
            findings.append(
                f"Section {name} is worth {_money(weight)} a point against {_money(overall)} "
                "overall: the sample says it is over-weighted."
            )
        else:
            findings.append(
                f"Section {name} is worth {_money(weight)} a point against {_money(overall)} "
                "overall: about right."
            )
    if (
        in_sample_r2 is not None
        and out_of_sample_r2 is not None
        and in_sample_r2 - out_of_sample_r2 > OVERFIT_GAP
    ):
        findings.append(
            f"Out of sample the weights explain less (R² {out_of_sample_r2} against "
            f"{in_sample_r2} in sample): part of the fit is the sample's noise, so treat the "
            "weights with caution."
        )
    return findings
