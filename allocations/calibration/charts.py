"""Calibration's charts, drawn as SVG by matplotlib (issue 11).

Pure, like the rest of `allocations/calibration/`: plain numbers in (Decimals from a run's
stored results and its sample's cases), SVG bytes out; no Django. Drawn on a `Figure` of its
own (no pyplot state) with the Agg backend, at a fixed size, with text kept as text, a fixed
`svg.hashsalt` and no date in the metadata, so the same input gives the same bytes.

Readable without colour: every series has its own marker or line style, the axes are labelled
in £ and each chart has a legend. Each series' group carries an id (`cases`, `line-<key>`,
`budget`…) so a test can count them. The figures the charts plot are also summarised in
words (`*_alt`) for the `<img>`'s alt text.
"""

from __future__ import annotations

import statistics as pystatistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from allocations.charting import chart_rc, figure_svg, new_figure
from allocations.engine import round2  # pure: pennies, half up

RC = chart_rc("ras-calibration")
LINE_STYLES = ("-", "--", "-.", ":")
LINE_MARKERS = ("s", "^", "D", "v")


@dataclass(frozen=True)
class Line:
    """A fitted line: allocation = intercept + price × points. `key` names it in the SVG."""

    key: str
    label: str
    price_per_point: Decimal
    intercept: Decimal = Decimal(0)


@dataclass(frozen=True)
class Spread:
    """The five figures a box plot draws, to the penny (quartiles by linear interpolation,
    as matplotlib's box plot computes them)."""

    n: int
    lowest: Decimal
    lower_quartile: Decimal
    median: Decimal
    upper_quartile: Decimal
    highest: Decimal


def spread(values: Sequence[Decimal]) -> Spread | None:
    """The five-figure summary of `values`, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        q1 = median = q3 = ordered[0]
    else:
        q1, median, q3 = pystatistics.quantiles(ordered, n=4, method="inclusive")
    return Spread(
        n=len(ordered),
        lowest=round2(ordered[0]),
        lower_quartile=round2(q1),
        median=round2(median),
        upper_quartile=round2(q3),
        highest=round2(ordered[-1]),
    )


def _svg(figure: Figure) -> bytes:
    return figure_svg(figure, RC)


def _figure(ncols: int = 1) -> tuple[Figure, list]:
    return new_figure(RC, ncols)


def fit_chart(points: Sequence[Decimal], costs: Sequence[Decimal], lines: Sequence[Line]) -> bytes:
    """A scatter of the cases (points against current weekly cost) with each fitted line
    drawn across the sample's range of points, in its own line style and marker."""
    with matplotlib.rc_context(RC):
        figure, (axes,) = _figure()
        axes.scatter(
            [float(p) for p in points],
            [float(c) for c in costs],
            marker="o",
            facecolors="none",
            edgecolors="#444444",
            label="Cases (current cost)",
            gid="cases",
        )
        top = float(max(points, default=Decimal(0))) or 1.0
        for index, line in enumerate(lines):
            xs = [0.0, top / 2, top]
            ys = [float(line.intercept) + float(line.price_per_point) * x for x in xs]
            axes.plot(
                xs,
                ys,
                linestyle=LINE_STYLES[index % len(LINE_STYLES)],
                marker=LINE_MARKERS[index % len(LINE_MARKERS)],
                color=f"C{index}",
                label=f"{line.label}: £{line.price_per_point} a point",
                gid=f"line-{line.key}",
            )
        axes.set_xlabel("RAS points")
        axes.set_ylabel("Weekly cost or allocation (£)")
        axes.set_title("Points against current weekly cost, with each fitted price")
        axes.legend(loc="upper left", fontsize="small")
        return _svg(figure)


def fit_alt(n: int, lines: Sequence[Line]) -> str:
    fitted = "; ".join(
        f"{line.label} at £{line.price_per_point} a point"
        + (f" plus £{line.intercept}" if line.intercept else "")
        for line in lines
    )
    return (
        f"Scatter chart of the sample's {n} cases, RAS points across against current weekly "
        f"cost in pounds up, with the fitted lines: {fitted or 'none'}."
    )


def _boxes(axes, groups: Mapping[str, Sequence[Decimal]], title: str, gid: str) -> None:
    labels = [label for label, values in groups.items() if values]
    axes.boxplot(
        [[float(v) for v in groups[label]] for label in labels],
        tick_labels=labels,
        orientation="horizontal",
        showmeans=True,
        meanprops={"marker": "D", "markerfacecolor": "none", "markeredgecolor": "black"},
        medianprops={"color": "black", "linewidth": 2},
        flierprops={"marker": "x"},
    )
    axes.set_gid(gid)
    axes.invert_yaxis()  # the first group or band at the top, as the table lists them
    axes.axvline(0, color="black", linestyle=":", linewidth=1)
    axes.set_xlabel("Allocation − current cost (£ a week)")
    axes.set_title(title)


def spread_chart(
    by_group: Mapping[str, Sequence[Decimal]], by_band: Mapping[str, Sequence[Decimal]]
) -> bytes:
    """Box plots of (allocation − current cost), one box per client group (left) and per band
    of points (right); the mean is a hollow diamond, the median a thick line, zero dotted."""
    with matplotlib.rc_context(RC):
        figure, (left, right) = _figure(2)
        _boxes(left, by_group, "By client group", "by-group")
        _boxes(right, by_band, "By band of points", "by-band")
        figure.suptitle("Who would get more, and who less, than their current package")
        key = [
            Line2D([], [], color="black", linewidth=2, label="Median"),
            Line2D(
                [], [], color="black", linestyle="none", marker="D", fillstyle="none", label="Mean"
            ),
            Line2D([], [], color="black", linestyle="none", marker="x", label="Outlier"),
            Line2D([], [], color="black", linestyle=":", label="No change (£0)"),
        ]
        figure.legend(handles=key, loc="outside lower center", ncols=4, fontsize="small")
        return _svg(figure)


def spread_alt(method_label: str, by_group: Mapping[str, Sequence[Decimal]]) -> str:
    medians = "; ".join(
        f"{group} median £{summary.median}"
        for group, values in by_group.items()
        if (summary := spread(values)) is not None
    )
    return (
        f"Box plots of each case's allocation ({method_label}) minus its current weekly cost "
        f"in pounds, by client group and by band of points: {medians or 'no cases'}. "
        "Above zero gets more than now, below zero less."
    )


def sensitivity_chart(
    prices: Sequence[Decimal],
    totals: Sequence[Decimal],
    budget: Decimal | None,
    *,
    whose: str = "the sample's",
) -> bytes:
    """Total weekly spend against price per point, with the budget as a dashed line. `whose`
    says whose spend it is ("the sample's", or "the caseload's projected")."""
    with matplotlib.rc_context(RC):
        figure, (axes,) = _figure()
        axes.plot(
            [float(p) for p in prices],
            [float(t) for t in totals],
            marker="o",
            linestyle="-",
            color="C0",
            label="Total weekly spend",
            gid="spend",
        )
        if budget is not None:
            axes.axhline(
                float(budget),
                linestyle="--",
                color="black",
                label=f"Weekly budget £{budget}",
                gid="budget",
            )
        axes.set_xlabel("Price per point (£)")
        axes.set_ylabel("Total weekly spend (£)")
        axes.set_title(f"How {whose} weekly spend moves with the price per point")
        axes.legend(loc="upper left", fontsize="small")
        return _svg(figure)


def sensitivity_alt(
    prices: Sequence[Decimal],
    totals: Sequence[Decimal],
    budget: Decimal | None,
    *,
    whose: str = "the sample's",
) -> str:
    if not prices:
        return f"Line chart of {whose} total weekly spend against price per point: no prices."
    return (
        f"Line chart of {whose} total weekly spend against price per point, from "
        f"£{totals[0]} a week at £{prices[0]} a point to £{totals[-1]} at £{prices[-1]}"
        + (f", with the weekly budget of £{budget} as a dashed line." if budget else ".")
    )
