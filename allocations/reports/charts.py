"""The reports' charts, drawn as SVG by matplotlib from the Tables the dashboard shows beside
them (issue 12): one set of figures, however it is shown.

As calibration's charts (allocations/calibration/charts.py): a `Figure` of its own with the Agg
backend, a fixed size, text kept as text, a fixed `svg.hashsalt` and no date, so the same table
gives the same bytes. Readable without colour: each series has its own hatch, marker or line
style and a legend; each series' group carries an id (`take-up`, `target`, `indicative`…) so a
test can find it. Each chart's figures are said in words (`alt`) for the `<img>`'s alt text,
and the table stays beside it for screen-reader users.

A chart is drawn only from a table that has rows to draw (`Chart.usable`); suppressed cells and
rows are left out, never drawn as zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import matplotlib
from matplotlib.figure import Figure

from allocations.charting import chart_rc, figure_svg, new_figure
from allocations.reports.fairness import WHOLE_SERVICE
from allocations.reports.tables import Table, plain

RC = chart_rc("ras-reports")
HATCHES = ("//", "..", "xx", "\\\\")


def _svg(figure: Figure) -> bytes:
    return figure_svg(figure, RC)


def _figure() -> tuple[Figure, object]:
    figure, (axes,) = new_figure(RC)
    return figure, axes


def _number(cell) -> float | None:
    value = plain(cell)
    return None if value is None else float(value)


def _nan(cell) -> float:
    value = _number(cell)
    return float("nan") if value is None else value


def _has(table: Table, *keys: str) -> bool:
    names = {c.key for c in table.columns}
    return all(k in names for k in keys)


# --- Take-up by month against the target --------------------------------------------------


def take_up_usable(table: Table) -> bool:
    return (
        bool(table.rows)
        and _has(table, "month", "take_up_percent", "target_percent")
        and any(_number(v) is not None for v in table.values("take_up_percent"))
    )


def take_up_chart(table: Table) -> bytes:
    """Take-up (solid line, round markers) and the target (dashed line, square markers) by
    month, 0–100%."""
    months = [str(m) for m in table.values("month")]
    xs = list(range(len(months)))  # months as labels, not parsed as dates
    with matplotlib.rc_context(RC):
        figure, axes = _figure()
        axes.plot(
            xs,
            [_nan(v) for v in table.values("take_up_percent")],
            marker="o",
            linestyle="-",
            color="C0",
            label="Take-up",
            gid="take-up",
        )
        axes.plot(
            xs,
            [_nan(v) for v in table.values("target_percent")],
            marker="s",
            linestyle="--",
            color="black",
            label="Target",
            gid="target",
        )
        axes.set_xticks(xs, months)
        axes.set_ylim(0, 100)
        axes.set_xlabel("Month")
        axes.set_ylabel("People with an agreed budget (%)")
        axes.set_title("Take-up of personal budgets by month, against the target")
        axes.tick_params(axis="x", labelrotation=45)
        figure.legend(loc="outside lower center", ncols=2, fontsize="small")
        return _svg(figure)


def _percent_text(cell) -> str:
    value = plain(cell)
    return "no figure" if value is None else f"{value}%"


def take_up_alt(table: Table) -> str:
    months = table.values("month")
    take_up = table.values("take_up_percent")
    target = table.values("target_percent")
    return (
        f"Line chart of take-up by month from {months[0]} to {months[-1]}: "
        f"{_percent_text(take_up[0])} in {months[0]} and {_percent_text(take_up[-1])} in "
        f"{months[-1]}, against a target of {_percent_text(target[-1])} (dashed line)."
    )


# --- Pipeline by stage ---------------------------------------------------------------------


def pipeline_usable(table: Table) -> bool:
    return bool(table.rows) and _has(table, "stage", "people")


def pipeline_chart(table: Table) -> bytes:
    """People at each stage as hatched horizontal bars, the first stage at the top, each bar
    labelled with its number."""
    stages = [str(s) for s in table.values("stage")]
    people = [_number(v) or 0 for v in table.values("people")]
    with matplotlib.rc_context(RC):
        figure, axes = _figure()
        bars = axes.barh(
            stages, people, color="C0", edgecolor="black", hatch="//", label="People", gid="people"
        )
        axes.bar_label(bars, labels=[f"{int(p):,}" for p in people], padding=3)
        axes.invert_yaxis()  # the first stage at the top, as the table lists them
        axes.margins(x=0.12)  # room for the labels at the bars' ends
        axes.set_xlabel("People")
        axes.set_title("People at each stage")
        return _svg(figure)


def pipeline_alt(table: Table) -> str:
    parts = "; ".join(
        f"{stage} {plain(people) or 0:,}"
        for stage, people in zip(table.values("stage"), table.values("people"), strict=True)
    )
    return f"Bar chart of the number of people at each stage: {parts}."


# --- Indicative vs agreed vs traditional -----------------------------------------------------

MONEY_SERIES = (
    ("indicative", "Indicative budget", "//"),
    ("agreed", "Agreed budget", ".."),
    ("traditional", "Traditional package", "xx"),
)


def money_usable(table: Table) -> bool:
    return (
        bool(table.rows)
        and _has(table, "group", *(k for k, _, _ in MONEY_SERIES))
        and any(_number(row) is not None for row in table.values("agreed"))
    )


def money_chart(table: Table) -> bytes:
    """For each group, three bars side by side (indicative, agreed, traditional: average £ a
    week), each series with its own hatch."""
    groups = [str(g) for g in table.values("group")]
    width = 0.27
    with matplotlib.rc_context(RC):
        figure, axes = _figure()
        for index, (key, label, hatch) in enumerate(MONEY_SERIES):
            xs = [i + (index - 1) * width for i in range(len(groups))]
            axes.bar(
                xs,
                [_nan(v) for v in table.values(key)],
                width=width,
                color=f"C{index}",
                edgecolor="black",
                hatch=hatch,
                label=label,
                gid=key,
            )
        axes.set_xticks(range(len(groups)), groups)
        axes.set_ylabel("Average £ a week")
        axes.set_title("Indicative, agreed and traditional package cost, for the same people")
        figure.legend(loc="outside lower center", ncols=3, fontsize="small")
        return _svg(figure)


def _money_text(cell) -> str:
    value = plain(cell)
    return "no figure" if value is None else f"£{Decimal(value):,.2f}"


def money_alt(table: Table) -> str:
    parts = "; ".join(
        f"{group}: indicative {_money_text(i)}, agreed {_money_text(a)}, "
        f"traditional {_money_text(t)}"
        for group, i, a, t in zip(
            table.values("group"),
            table.values("indicative"),
            table.values("agreed"),
            table.values("traditional"),
            strict=True,
        )
    )
    return (
        "Bar chart of the average weekly indicative budget, agreed budget and traditional "
        f"package cost: {parts}."
    )


# --- Agreed ÷ indicative by client group -----------------------------------------------------


def _fairness_rows(table: Table) -> list[tuple[str, Decimal]]:
    """(group, agreed ÷ indicative) for the groups whose figure is shown: suppressed or empty
    cells are left out; the whole service's row too (drawn as a line)."""
    return [
        (str(group), plain(ratio))
        for group, ratio in zip(
            table.values("group"), table.values("agreed_to_indicative"), strict=True
        )
        if plain(ratio) is not None and str(group) != WHOLE_SERVICE
    ]


def _whole_service(table: Table) -> Decimal | None:
    for group, ratio in zip(
        table.values("group"), table.values("agreed_to_indicative"), strict=True
    ):
        if str(group) == WHOLE_SERVICE:
            return plain(ratio)
    return None


def fairness_usable(table: Table) -> bool:
    return (
        bool(table.rows)
        and _has(table, "group", "agreed_to_indicative")
        and bool(_fairness_rows(table))
    )


def fairness_chart(table: Table) -> bytes:
    """Average agreed ÷ indicative per client group as hatched bars, the whole service as a
    dashed line and 1.0 (agreed = indicative) as a dotted one."""
    rows = _fairness_rows(table)
    whole = _whole_service(table)
    with matplotlib.rc_context(RC):
        figure, axes = _figure()
        bars = axes.barh(
            [g for g, _ in rows],
            [float(r) for _, r in rows],
            color="C0",
            edgecolor="black",
            hatch="//",
            label="Client group",
            gid="groups",
        )
        axes.bar_label(bars, labels=[f"{r:.2f}" for _, r in rows], padding=3)
        axes.invert_yaxis()
        if whole is not None:
            axes.axvline(
                float(whole),
                color="black",
                linestyle="--",
                label=f"Whole service ({whole:.2f})",
                gid="whole-service",
            )
        axes.axvline(1.0, color="grey", linestyle=":", label="Agreed = indicative (1.00)")
        axes.set_xlabel("Average agreed budget ÷ indicative budget")
        axes.set_title("Agreed ÷ indicative budget by client group")
        axes.margins(x=0.12)  # room for the labels at the bars' ends
        figure.legend(loc="outside lower center", ncols=3, fontsize="small")
        return _svg(figure)


def fairness_alt(table: Table) -> str:
    rows = _fairness_rows(table)
    whole = _whole_service(table)
    parts = "; ".join(f"{group} {ratio:.2f}" for group, ratio in rows)
    left_out = len([g for g in table.values("group") if str(g) != WHOLE_SERVICE]) - len(rows)
    return (
        f"Bar chart of the average agreed budget ÷ indicative budget by client group: {parts}"
        + (f"; whole service {whole:.2f}" if whole is not None else "")
        + (f". {left_out} group(s) held back as too small to show." if left_out else ".")
    )


# --- The registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """A chart drawn from the table of the same slug."""

    slug: str
    heading: str
    usable: Callable[[Table], bool]
    draw: Callable[[Table], bytes]
    alt: Callable[[Table], str]


CHARTS: dict[str, Chart] = {
    chart.slug: chart
    for chart in (
        Chart(
            "take-up-by-month",
            "Take-up by month, against the target",
            take_up_usable,
            take_up_chart,
            take_up_alt,
        ),
        Chart(
            "pipeline-by-stage",
            "People at each stage",
            pipeline_usable,
            pipeline_chart,
            pipeline_alt,
        ),
        Chart(
            "money-comparison",
            "Indicative, agreed and traditional package cost",
            money_usable,
            money_chart,
            money_alt,
        ),
        Chart(
            "fairness-client-group",
            "Agreed ÷ indicative budget by client group",
            fairness_usable,
            fairness_chart,
            fairness_alt,
        ),
    )
}


def chart_for(table: Table | None) -> Chart | None:
    """The chart drawn from `table`, if it has one and something to draw."""
    if table is None:
        return None
    chart = CHARTS.get(table.slug)
    if chart is None or not chart.usable(table):
        return None
    return chart
