"""Affordability: the price per point a weekly budget pays for, a sensitivity table over a range
of prices, and scale-up from the sample to the caseload (issue 11).

Every total is the engine's: each sample case is calculated under the policy's rules (factors,
contingency bands, minimum) at the price in question, with no informal support and — unless
`transitional` is asked for, when its current cost is its existing package and the policy's
transitional rule applies — no existing package, exactly as `fitting.policy_allocator` does.
The total still never falls as the price rises (the transitional rule only ever holds an
allocation at the case's fixed current cost, or the higher of that and the RAS figure).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from allocations.calibration.fitting import WIDE, statistics
from allocations.calibration.samples import SampleCase
from allocations.engine import Case, Policy, Result, calculate, round2, validate_policy

PENNY = Decimal("0.01")
HIGHEST_PRICE_PENNIES = 100_000  # £1000 a point: far above any council's price
ZERO = Decimal(0)


class BudgetImpossible(Exception):
    """No price from £0.00 to £1000.00 a point meets the budget. `lowest_total` and
    `highest_total` are the nearest achievable totals (at £0.00 and at £1000.00)."""

    def __init__(self, message: str, *, lowest_total: Decimal, highest_total: Decimal):
        self.lowest_total = lowest_total
        self.highest_total = highest_total
        super().__init__(message)


@dataclass(frozen=True)
class SensitivityRow:
    """At `price` a point: the sample's total weekly and annual indicative budgets, the
    contingency the council retains each week, the share within ±20% of current cost (0..1,
    4 dp) and how many would get less than their current package. Given scale-up weights,
    `projected_*` are the same three totals for the whole caseload (each case × its client
    group's weight, to the penny); None otherwise."""

    price: Decimal
    total_weekly: Decimal
    total_annual: Decimal
    contingency_weekly: Decimal
    within_20: Decimal
    fewer: int
    projected_weekly: Decimal | None = None
    projected_annual: Decimal | None = None
    projected_contingency_weekly: Decimal | None = None


class _Pricer:
    """The engine's results for the sample at any price. Cases with the same points and client
    group (and, under the transitional rule, the same current cost) are calculated once and
    counted, so bisection stays quick on a large sample."""

    def __init__(self, cases: Sequence[SampleCase], policy: Policy, transitional: bool = False):
        validate_policy(policy)
        self.policy = policy
        self.transitional = transitional
        self.counts = Counter(self.key(case) for case in cases)

    def key(self, case: SampleCase) -> tuple[Decimal, str, Decimal | None]:
        """(points, client group, the existing package the engine is given: the case's current
        cost under the transitional rule, else none)."""
        return case.points, case.client_group, case.weekly_cost if self.transitional else None

    def results(self, price: Decimal) -> dict[tuple[Decimal, str, Decimal | None], Result]:
        priced = dataclasses.replace(self.policy, price_per_point=price)
        return {
            key: calculate(
                priced,
                Case(points=(key[0],), client_group=key[1], existing_weekly_cost=key[2]),
                policy_checked=True,
            )
            for key in self.counts
        }

    def total(self, price: Decimal, scale: Decimal | Mapping[str, Decimal]) -> Decimal:
        """Σ indicative weekly × scale (the case's client group's weight, given a mapping)."""
        with localcontext(WIDE):
            total = ZERO
            for key, result in self.results(price).items():
                weight = scale[key[1]] if isinstance(scale, Mapping) else scale
                total += result.indicative_weekly * self.counts[key] * weight
            return total


def solve_price(
    cases: Sequence[SampleCase],
    policy: Policy,
    budget_weekly: Decimal,
    *,
    scale: Decimal | Mapping[str, Decimal] = Decimal(1),
    transitional: bool = False,
) -> Decimal:
    """The highest price in whole pennies at which the sample's total indicative weekly budget
    under `policy`'s rules, × `scale`, is not above `budget_weekly`: the total closest to the
    budget without passing it. `scale` is one weight for every case or, from `scale_up`, a
    weight per client group (the caseload's spend from the sample's).

    The total never falls as the price rises (marginal contingency keeps more need from giving
    less money), so bisection on integer pennies finds it exactly. BudgetImpossible, naming the
    nearest achievable totals, when even £0.00 is over the budget or £1000.00 under it.
    InvalidPolicy / InvalidCase (ValueErrors) as the engine raises them."""
    pricer = _Pricer(cases, policy, transitional)
    if isinstance(scale, Mapping):
        missing = sorted({case.client_group for case in cases} - set(scale))
        if missing:
            raise ValueError(f"The scale has no weight for {', '.join(missing)}.")

    def total(pennies: int) -> Decimal:
        return pricer.total(Decimal(pennies) * PENNY, scale)

    low, high = 0, HIGHEST_PRICE_PENNIES
    lowest, highest = total(low), total(high)
    if lowest > budget_weekly or highest < budget_weekly:
        raise BudgetImpossible(
            f"No price per point meets a weekly budget of £{round2(budget_weekly)}: the total "
            f"runs from £{round2(lowest)} a week at £0.00 a point to £{round2(highest)} at "
            f"£{Decimal(high) * PENNY} a point.",
            lowest_total=round2(lowest),
            highest_total=round2(highest),
        )
    # Invariant: total(low) <= budget < total(high), unless the budget is met at £1000 itself.
    if highest == budget_weekly:
        return Decimal(high) * PENNY
    while high - low > 1:
        middle = (low + high) // 2
        if total(middle) <= budget_weekly:
            low = middle
        else:
            high = middle
    return Decimal(low) * PENNY


def sample_total(
    cases: Sequence[SampleCase],
    policy: Policy,
    price: Decimal,
    *,
    scale: Decimal | Mapping[str, Decimal] = Decimal(1),
    transitional: bool = False,
) -> Decimal:
    """Σ indicative weekly × scale at `price` under `policy`, to the penny: what solve_price
    compares with the budget, e.g. to show the total its price spends."""
    return round2(_Pricer(cases, policy, transitional).total(price, scale))


def _sum(
    results: Mapping[tuple[Decimal, str, Decimal | None], Result],
    counts: Mapping[tuple[Decimal, str, Decimal | None], int],
    figure: str,
    scale: Mapping[str, Decimal] | None = None,
) -> Decimal:
    """Σ the results' `figure` (pennies each) × how many cases share it × (with `scale`) their
    client group's weight, unrounded."""
    with localcontext(WIDE):
        return sum(
            (
                getattr(result, figure) * counts[key] * (scale[key[1]] if scale is not None else 1)
                for key, result in results.items()
            ),
            ZERO,
        )


def sensitivity(
    cases: Sequence[SampleCase],
    policy: Policy,
    prices: Sequence[Decimal],
    *,
    scale: Mapping[str, Decimal] | None = None,
    transitional: bool = False,
) -> list[SensitivityRow]:
    """One row per price, in the order given, for the sample under `policy`'s rules; with
    `scale` (scale_up's weights by client group), each row's totals projected to the caseload
    too."""
    pricer = _Pricer(cases, policy, transitional)
    rows = []
    for price in prices:
        results = pricer.results(price)
        allocations = [results[pricer.key(case)].indicative_weekly for case in cases]
        stats = statistics(cases, allocations)
        counts = pricer.counts
        projected = {}
        if scale is not None:
            projected = {
                "projected_weekly": round2(_sum(results, counts, "indicative_weekly", scale)),
                "projected_annual": round2(_sum(results, counts, "annual", scale)),
                "projected_contingency_weekly": round2(
                    _sum(results, counts, "contingency_weekly", scale)
                ),
            }
        rows.append(
            SensitivityRow(
                price=price,
                total_weekly=_sum(results, counts, "indicative_weekly"),
                total_annual=_sum(results, counts, "annual"),
                contingency_weekly=_sum(results, counts, "contingency_weekly"),
                within_20=stats.within_20,
                fewer=stats.fewer,
                **projected,
            )
        )
    return rows


def scale_up(
    cases: Sequence[SampleCase],
    caseload_counts: Mapping[str, int],
    *,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Decimal]:
    """The weight of a sample case per client group: people in the caseload ÷ cases in the
    sample (unrounded). ValueError for a sample group the caseload counts do not give, or a
    caseload group the sample has no case of (its spend could not be projected); its message
    names the groups by `labels` (their codes when none is given)."""
    in_sample = Counter(case.client_group for case in cases)

    def named(groups: set[str]) -> str:
        return ", ".join(sorted((labels or {}).get(group, group) for group in groups))

    missing = set(in_sample) - set(caseload_counts)
    if missing:
        raise ValueError(f"The caseload counts give no figure for {named(missing)}.")
    unsampled = {group for group, n in caseload_counts.items() if n and group not in in_sample}
    if unsampled:
        raise ValueError(
            f"The sample has no case of {named(unsampled)}, so its spend cannot be projected."
        )
    with localcontext(WIDE):
        return {
            group: Decimal(caseload_counts[group]) / Decimal(in_sample[group])
            for group in sorted(in_sample)
        }


def projected_weekly(
    cases: Sequence[SampleCase], allocations: Sequence[Decimal], weights: Mapping[str, Decimal]
) -> Decimal:
    """The caseload's total weekly spend projected from the sample's allocations (one per case)
    and scale_up's weights, to the penny."""
    with localcontext(WIDE):
        return round2(
            sum(
                (weights[c.client_group] * a for c, a in zip(cases, allocations, strict=True)),
                ZERO,
            )
        )
