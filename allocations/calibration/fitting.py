"""Fitting the price per point to a sample, and how well a price fits (issue 11).

Every figure is computed in Decimal (a 50-digit context, whatever the caller's), so a fit on a
small sample matches the hand working exactly. Prices, intercepts and statistics come back
rounded to 4 decimal places, half up; allocations to pennies (the engine's round2).
"""

from __future__ import annotations

import dataclasses
import statistics as pystatistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from allocations.calibration.samples import SampleCase
from allocations.engine import Case, Policy, calculate, round2, validate_policy

METHODS = ("ratio", "origin", "intercept", "median")
METHOD_NAMES = {
    "ratio": "Ratio of totals (total cost ÷ total points)",
    "origin": "Least squares through the origin",
    "intercept": "Least squares with an intercept",
    "median": "Median of per-case ratios",
}
POINTS_BANDS: tuple[tuple[int, int | None], ...] = ((0, 50), (50, 100), (100, 200), (200, None))

WIDE = Context(prec=50)
ZERO = Decimal(0)
FOUR_PLACES = Decimal("0.0001")


def round4(value: Decimal) -> Decimal:
    """A price or statistic for display: 4 decimal places, half up."""
    return value.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP, context=WIDE)


@dataclass(frozen=True)
class Fit:
    """A fitted price per point (4 dp). `intercept` (£ a week, 4 dp) only for "intercept";
    `excluded_zero_points` counts the cases "median" left out for having no points."""

    method: str
    price_per_point: Decimal
    intercept: Decimal | None = None
    excluded_zero_points: int = 0


@dataclass(frozen=True)
class Stats:
    """How allocations compare with current cost over some cases (all rounded to 4 dp).

    `r2` = 1 − SS_res/SS_tot of allocation against cost (None for fewer than two cases or when
    every cost is the same); `correlation` = Pearson's r (None when either side does not vary);
    `mape` = mean of |allocation − cost| ÷ cost over cases with cost > 0, as a fraction (None
    when there are none); `within_10` / `within_20` = the share of cases (0..1) with
    |allocation − cost| ≤ 10% / 20% of cost; `fewer` / `more` = how many would get less / more
    than their current package; `mean_difference` = mean(allocation − cost) in £.
    `price_per_point` is the price fitted on these cases alone, when the caller gives one."""

    n: int
    price_per_point: Decimal | None
    r2: Decimal | None
    correlation: Decimal | None
    mape: Decimal | None
    within_10: Decimal
    within_20: Decimal
    fewer: int
    more: int
    mean_difference: Decimal


@dataclass(frozen=True)
class Report:
    """One method's fit and its statistics overall, by client group (sorted) and by band of
    points (every band, in order, empty ones with n = 0)."""

    method: str
    fit: Fit
    overall: Stats
    by_group: dict[str, Stats]
    by_band: dict[str, Stats]


def fit_price(cases: Sequence[SampleCase], method: str) -> Fit:
    """The price per point `method` fits to the cases. ValueError, in plain words, for an
    unknown method or when no case can be used (no points at all, or for "intercept" fewer
    than two different point scores)."""
    if method not in METHODS:
        raise ValueError(f"Unknown method '{method}': choose one of {', '.join(METHODS)}.")
    with localcontext(WIDE):
        points = [case.points for case in cases]
        costs = [case.weekly_cost for case in cases]
        if method == "ratio":
            total_points = sum(points, ZERO)
            if total_points == 0:
                raise ValueError("The ratio of totals needs at least one case with points.")
            return Fit(method, round4(sum(costs, ZERO) / total_points))
        if method == "origin":
            squares = sum((p * p for p in points), ZERO)
            if squares == 0:
                raise ValueError("Least squares needs at least one case with points.")
            products = sum((p * c for p, c in zip(points, costs, strict=True)), ZERO)
            return Fit(method, round4(products / squares))
        if method == "intercept":
            n = len(cases)
            if n < 2 or len(set(points)) < 2:
                raise ValueError(
                    "Least squares with an intercept needs cases with at least two different "
                    "point scores."
                )
            mean_p = sum(points, ZERO) / n
            mean_c = sum(costs, ZERO) / n
            sxy = sum(((p - mean_p) * (c - mean_c) for p, c in zip(points, costs, strict=True)))
            sxx = sum(((p - mean_p) ** 2 for p in points), ZERO)
            slope = sxy / sxx
            return Fit(method, round4(slope), intercept=round4(mean_c - slope * mean_p))
        ratios = [c / p for p, c in zip(points, costs, strict=True) if p > 0]
        if not ratios:
            raise ValueError("The median ratio needs at least one case with points.")
        return Fit(
            method,
            round4(pystatistics.median(ratios)),
            excluded_zero_points=len(cases) - len(ratios),
        )


def fitted_allocation(fit: Fit, points: Decimal) -> Decimal:
    """The fitted allocation for a points score, to the penny: intercept + price × points."""
    with localcontext(WIDE):
        return round2((fit.intercept or ZERO) + fit.price_per_point * points)


def statistics(
    cases: Sequence[SampleCase], allocations: Sequence[Decimal], *, price: Decimal | None = None
) -> Stats:
    """The statistics of `allocations` (one per case, in order) against the cases' current
    weekly cost. No cases gives n = 0 with every share and mean 0 and every ratio None."""
    if len(cases) != len(allocations):
        raise ValueError("statistics needs one allocation per case.")
    n = len(cases)
    if n == 0:
        return Stats(0, price, None, None, None, ZERO, ZERO, 0, 0, ZERO)
    with localcontext(WIDE):
        costs = [case.weekly_cost for case in cases]
        differences = [a - c for a, c in zip(allocations, costs, strict=True)]
        mean_c = sum(costs, ZERO) / n
        mean_a = sum(allocations, ZERO) / n
        ss_tot = sum(((c - mean_c) ** 2 for c in costs), ZERO)
        ss_res = sum((d * d for d in differences), ZERO)
        ss_a = sum(((a - mean_a) ** 2 for a in allocations), ZERO)
        r2 = round4(1 - ss_res / ss_tot) if n >= 2 and ss_tot > 0 else None
        if n >= 2 and ss_tot > 0 and ss_a > 0:
            covariance = sum(
                ((a - mean_a) * (c - mean_c) for a, c in zip(allocations, costs, strict=True)),
                ZERO,
            )
            correlation = round4(covariance / (ss_a * ss_tot).sqrt())
        else:
            correlation = None
        errors = [abs(d) / c for d, c in zip(differences, costs, strict=True) if c > 0]
        mape = round4(sum(errors, ZERO) / len(errors)) if errors else None
        within_10 = sum(1 for d, c in zip(differences, costs, strict=True) if abs(d) * 10 <= c)
        within_20 = sum(1 for d, c in zip(differences, costs, strict=True) if abs(d) * 5 <= c)
        return Stats(
            n=n,
            price_per_point=price,
            r2=r2,
            correlation=correlation,
            mape=mape,
            within_10=round4(Decimal(within_10) / n),
            within_20=round4(Decimal(within_20) / n),
            fewer=sum(1 for d in differences if d < 0),
            more=sum(1 for d in differences if d > 0),
            mean_difference=round4(sum(differences, ZERO) / n),
        )


def band_label(lower: int, upper: int | None) -> str:
    """ "0–49" for (0, 50) (a band holds lower ≤ points < upper), "200+" for (200, None)."""
    return f"{lower}+" if upper is None else f"{lower}–{upper - 1}"


def in_band(points: Decimal, lower: int, upper: int | None) -> bool:
    """Whether `points` fall in the band [lower, upper) (upper None: no top)."""
    return points >= lower and (upper is None or points < upper)


def fit_report(
    cases: Sequence[SampleCase],
    method: str,
    *,
    allocate: Callable[[SampleCase, Decimal], Decimal] | None = None,
    bands: Sequence[tuple[int, int | None]] = POINTS_BANDS,
) -> Report:
    """Fit `method` to the cases and compare the allocations at that price with current cost,
    overall, by client group and by band of points. The allocations are the fitted line
    (intercept + price × points, to the penny) unless `allocate(case, price)` is given, e.g.
    `policy_allocator(policy)` for "as the policy would pay". Each group's and band's
    `price_per_point` is the method's price fitted on its cases alone (None when it has no
    usable case); its other statistics are for the overall fit's allocations.
    ValueError as fit_price."""
    fit = fit_price(cases, method)
    if allocate is None:
        allocations = [fitted_allocation(fit, case.points) for case in cases]
    else:
        allocations = [allocate(case, fit.price_per_point) for case in cases]

    def stats_for(keep: Callable[[SampleCase], bool]) -> Stats:
        chosen = [(case, a) for case, a in zip(cases, allocations, strict=True) if keep(case)]
        subset = [case for case, _ in chosen]
        try:
            price = fit_price(subset, method).price_per_point
        except ValueError:
            price = None
        return statistics(subset, [a for _, a in chosen], price=price)

    return Report(
        method=method,
        fit=fit,
        overall=statistics(cases, allocations, price=fit.price_per_point),
        by_group={
            group: stats_for(lambda case, group=group: case.client_group == group)
            for group in sorted({case.client_group for case in cases})
        },
        by_band={
            band_label(lower, upper): stats_for(
                lambda case, lower=lower, upper=upper: in_band(case.points, lower, upper)
            )
            for lower, upper in bands
        },
    )


def policy_allocator(
    policy: Policy, *, transitional: bool = False
) -> Callable[[SampleCase, Decimal], Decimal]:
    """allocate(case, price): the indicative weekly budget the engine gives the case under
    `policy` at `price` a point — its client-group factors, contingency bands and minimum; no
    informal support (a sample case has none). With `transitional`, the case's current weekly
    cost is its existing package, so the policy's transitional rule applies (when the policy
    protects existing packages: "existing_package" pays that cost, "higher_of" the higher of it
    and the RAS figure); without, there is no existing package. InvalidPolicy / InvalidCase
    (ValueErrors naming the field) for a price or client group the policy refuses."""
    checked: dict[Decimal, Policy] = {}
    # Cases with the same points and client group (and, under the transitional rule, the same
    # cost) get the same budget at a price: each is calculated once (a large sample has many
    # repeats).
    known: dict[tuple[Decimal, str, Decimal | None, Decimal], Decimal] = {}

    def allocate(case: SampleCase, price: Decimal) -> Decimal:
        existing = case.weekly_cost if transitional else None
        key = (case.points, case.client_group, existing, price)
        if key in known:
            return known[key]
        priced = checked.get(price)
        if priced is None:
            priced = dataclasses.replace(policy, price_per_point=price)
            validate_policy(priced)
            checked[price] = priced
        engine_case = Case(
            points=(case.points,),
            client_group=case.client_group,
            ref=case.reference,
            existing_weekly_cost=existing,
        )
        known[key] = calculate(priced, engine_case, policy_checked=True).indicative_weekly
        return known[key]

    return allocate


def differences_by_group_and_band(
    cases: Sequence[SampleCase],
    allocations: Sequence[Decimal],
    bands: Sequence[tuple[int, int | None]] = POINTS_BANDS,
) -> tuple[dict[str, list[Decimal]], dict[str, list[Decimal]]]:
    """allocation − current cost of each case (in the cases' order), by client group (sorted
    by code; groups with no case left out) and by band of points (every band, in order)."""
    pairs = [(case, a - case.weekly_cost) for case, a in zip(cases, allocations, strict=True)]
    by_group: dict[str, list[Decimal]] = {}
    for case, difference in pairs:
        by_group.setdefault(case.client_group, []).append(difference)
    by_band = {
        band_label(lower, upper): [d for case, d in pairs if in_band(case.points, lower, upper)]
        for lower, upper in bands
    }
    return dict(sorted(by_group.items())), by_band
