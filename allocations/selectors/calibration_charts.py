"""Reads for a calibration run's charts (issue 11): the figures each chart plots, from the
run's stored results and its sample's cases, and the chart as SVG. The door is the run's
(`run_get_for_user`); the drawing is pure, in `allocations/calibration/charts.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from allocations.adapter import engine_policy
from allocations.calibration import charts
from allocations.calibration.fitting import (
    METHODS,
    POINTS_BANDS,
    Fit,
    band_label,
    fitted_allocation,
    in_band,
    policy_allocator,
)
from allocations.calibration.samples import SampleCase
from allocations.models import CalibrationRun
from allocations.services.calibration import sample_cases

SHORT_NAMES = {
    "ratio": "Ratio of totals",
    "origin": "Least squares through the origin",
    "intercept": "Least squares with an intercept",
    "median": "Median ratio",
}


@dataclass(frozen=True)
class Chart:
    """One chart of a run: its name (in its URL), heading, alt text and the rows of the data
    table beside it (`columns` heads them; each row's first cell heads the row)."""

    name: str
    heading: str
    alt: str
    caption: str
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]


def _lines(run: CalibrationRun) -> list[charts.Line]:
    methods = run.results.get("methods") or {}
    return [
        charts.Line(
            key=name,
            label=SHORT_NAMES[name],
            price_per_point=Decimal(methods[name]["fit"]["price_per_point"]),
            intercept=Decimal(methods[name]["fit"].get("intercept") or 0),
        )
        for name in METHODS
        if name in methods
    ]


def _sensitivity(run: CalibrationRun) -> tuple[list[Decimal], list[Decimal], Decimal] | None:
    affordability = run.results.get("affordability") or {}
    rows = affordability.get("sensitivity")
    if not rows:
        return None
    return (
        [Decimal(row["price"]) for row in rows],
        [Decimal(row["total_weekly"]) for row in rows],
        Decimal(affordability["budget_weekly"]),
    )


def _differences(
    run: CalibrationRun, cases: Sequence[SampleCase], line: charts.Line
) -> list[Decimal]:
    """allocation − current cost per case, as the run's statistics compared them: the fitted
    line, or what the run's policy would pay at the fitted price."""
    if run.policy is not None:
        allocate = policy_allocator(engine_policy(run.policy))
        return [allocate(case, line.price_per_point) - case.weekly_cost for case in cases]
    fit = Fit(line.key, line.price_per_point, line.intercept)
    return [fitted_allocation(fit, case.points) - case.weekly_cost for case in cases]


def _grouped(cases: Sequence[SampleCase], differences: Sequence[Decimal]):
    by_group: dict[str, list[Decimal]] = {}
    for case, difference in zip(cases, differences, strict=True):
        by_group.setdefault(case.client_group, []).append(difference)
    by_band: dict[str, list[Decimal]] = {}
    for lower, upper in POINTS_BANDS:
        by_band[band_label(lower, upper)] = [
            d
            for case, d in zip(cases, differences, strict=True)
            if in_band(case.points, lower, upper)
        ]
    return dict(sorted(by_group.items())), by_band


def _spread_line(run: CalibrationRun, lines: list[charts.Line]) -> charts.Line:
    """The run's own method when it fitted one; otherwise the first fitted, ratio first."""
    return next((line for line in lines if line.key == run.method), lines[0])


def run_charts(run: CalibrationRun) -> list[Chart]:
    """Every chart the run has, with its alt text and data table (reads the sample's cases
    once, for the spread)."""
    found: list[Chart] = []
    lines = _lines(run)
    if lines:
        found.append(
            Chart(
                name="fit",
                heading="Points against current cost",
                alt=charts.fit_alt(run.sample.row_count, lines),
                caption="The fitted lines: allocation = intercept + price × points",
                columns=("Method", "Price per point (£)", "Intercept (£ a week)"),
                rows=[(line.label, line.price_per_point, line.intercept) for line in lines],
            )
        )
        line = _spread_line(run, lines)
        cases = sample_cases(run.sample)
        by_group, by_band = _grouped(cases, _differences(run, cases, line))
        rows = [
            (f"{kind}: {label}", *_spread_cells(values))
            for kind, groups in (("Client group", by_group), ("Points", by_band))
            for label, values in groups.items()
        ]
        found.append(
            Chart(
                name="spread",
                heading=f"Allocation less current cost ({line.label})",
                alt=charts.spread_alt(line.label, by_group),
                caption="Allocation − current cost (£ a week): the five figures of each box",
                columns=(
                    "Cases",
                    "n",
                    "Lowest",
                    "Lower quartile",
                    "Median",
                    "Upper quartile",
                    "Highest",
                ),
                rows=rows,
            )
        )
    sensitivity = _sensitivity(run)
    if sensitivity is not None:
        prices, totals, budget = sensitivity
        found.append(
            Chart(
                name="sensitivity",
                heading="Spend against price per point",
                alt=charts.sensitivity_alt(prices, totals, budget),
                caption=f"Total weekly spend at each price (the budget is £{budget} a week)",
                columns=("Price per point (£)", "Total weekly (£)", "Against budget (£)"),
                rows=[(p, t, t - budget) for p, t in zip(prices, totals, strict=True)],
            )
        )
    return found


def _spread_cells(values: Sequence[Decimal]) -> tuple[object, ...]:
    summary = charts.spread(values)
    if summary is None:
        return (0, "—", "—", "—", "—", "—")
    return (
        summary.n,
        summary.lowest,
        summary.lower_quartile,
        summary.median,
        summary.upper_quartile,
        summary.highest,
    )


def run_chart_svg(run: CalibrationRun, name: str) -> bytes | None:
    """The chart `name` of the run as SVG, or None when the run has no such chart: the fit
    and the spread when a method was fitted, the sensitivity curve when a budget was solved
    for."""
    if name in ("fit", "spread"):
        lines = _lines(run)
        if not lines:
            return None
        cases = sample_cases(run.sample)
        if name == "fit":
            points = [c.points for c in cases]
            return charts.fit_chart(points, [c.weekly_cost for c in cases], lines)
        by_group, by_band = _grouped(cases, _differences(run, cases, _spread_line(run, lines)))
        return charts.spread_chart(by_group, by_band)
    sensitivity = _sensitivity(run) if name == "sensitivity" else None
    return None if sensitivity is None else charts.sensitivity_chart(*sensitivity)
