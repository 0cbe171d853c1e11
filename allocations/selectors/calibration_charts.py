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
    Fit,
    differences_by_group_and_band,
    fitted_allocation,
    policy_allocator,
)
from allocations.models import CalibrationRun
from allocations.services.calibration import sample_cases
from assessments.models import ClientGroup

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


def _sensitivity(
    run: CalibrationRun,
) -> tuple[list[Decimal], list[Decimal], Decimal | None, bool] | None:
    """(prices, total weekly spend at each, the weekly budget or None, whether the totals are
    the caseload's): the prices the run was asked for when it was, else those around the price
    meeting its budget; the projected whole-caseload spend when the run was scaled up (its
    budget is the caseload's), the sample's otherwise."""
    affordability = run.results.get("affordability") or {}
    chosen = run.results.get("sensitivity") or {}
    if chosen.get("rows"):
        rows, scaled = chosen["rows"], bool(chosen.get("scaled"))
    elif affordability.get("sensitivity"):
        rows, scaled = affordability["sensitivity"], bool(affordability.get("scaled"))
    else:
        return None
    scaled = scaled and rows[0].get("projected_weekly") is not None
    total = "projected_weekly" if scaled else "total_weekly"
    budget = affordability.get("budget_weekly")
    return (
        [Decimal(row["price"]) for row in rows],
        [Decimal(row[total]) for row in rows],
        Decimal(budget) if budget is not None else None,
        scaled,
    )


def _labelled(by_group: dict[str, list[Decimal]]) -> dict[str, list[Decimal]]:
    """The client groups by their labels, as a person reads them, in the same order."""
    labels = dict(ClientGroup.choices)
    return {labels.get(code, code): values for code, values in by_group.items()}


def _spread(
    run: CalibrationRun, lines: list[charts.Line]
) -> tuple[charts.Line, dict[str, list[Decimal]], dict[str, list[Decimal]]]:
    """The spread chart's line and allocation − current cost by client group (by label) and by
    band of points: as the run kept them (no query), or, for a run kept before they were,
    worked out again from its sample (one query)."""
    stored = run.results.get("spread")
    if stored:
        line = next(line for line in lines if line.key == stored["method"])
        by_group = {k: [Decimal(v) for v in vs] for k, vs in stored["by_group"].items()}
        by_band = {k: [Decimal(v) for v in vs] for k, vs in stored["by_band"].items()}
        return line, _labelled(by_group), by_band
    line = next((line for line in lines if line.key == run.method), lines[0])
    cases = sample_cases(run.sample)
    if run.policy is not None:
        allocate = policy_allocator(
            engine_policy(run.policy), transitional=bool(run.results.get("transitional"))
        )
        allocations = [allocate(case, line.price_per_point) for case in cases]
    else:
        fit = Fit(line.key, line.price_per_point, line.intercept)
        allocations = [fitted_allocation(fit, case.points) for case in cases]
    by_group, by_band = differences_by_group_and_band(cases, allocations)
    return line, _labelled(by_group), by_band


def run_charts(run: CalibrationRun) -> list[Chart]:
    """Every chart the run has, with its alt text and data table: from the run's kept results
    alone (no query), but for a run kept before it held the spread's differences."""
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
        line, by_group, by_band = _spread(run, lines)
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
        prices, totals, budget, scaled = sensitivity
        whose = "the caseload's projected" if scaled else "the sample's"
        found.append(
            Chart(
                name="sensitivity",
                heading="Spend against price per point",
                alt=charts.sensitivity_alt(prices, totals, budget, whose=whose),
                caption=f"Total weekly spend at each price ({whose}"
                + (f"; the budget is £{budget} a week)" if budget is not None else ")"),
                columns=("Price per point (£)", "Total weekly (£)", "Against budget (£)"),
                rows=[
                    (p, t, t - budget if budget is not None else "—")
                    for p, t in zip(prices, totals, strict=True)
                ],
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
        if name == "spread":
            _, by_group, by_band = _spread(run, lines)
            return charts.spread_chart(by_group, by_band)
        cases = sample_cases(run.sample)
        points = [c.points for c in cases]
        return charts.fit_chart(points, [c.weekly_cost for c in cases], lines)
    sensitivity = _sensitivity(run) if name == "sensitivity" else None
    if sensitivity is None:
        return None
    prices, totals, budget, scaled = sensitivity
    whose = "the caseload's projected" if scaled else "the sample's"
    return charts.sensitivity_chart(prices, totals, budget, whose=whose)
