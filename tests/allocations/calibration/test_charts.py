"""The calibration charts (issue 11): valid SVG with one group per series, labelled axes and
a legend, the same bytes for the same input, and the figures a box plot draws."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal as D

from allocations.calibration import charts

SVG = "{http://www.w3.org/2000/svg}"
POINTS = [D(10), D(20), D(30)]
COSTS = [D("100.00"), D("200.00"), D("330.00")]
LINES = [
    charts.Line("ratio", "Ratio of totals", D("10.5")),
    charts.Line("origin", "Least squares through the origin", D("10.7857")),
    charts.Line("intercept", "Least squares with an intercept", D("11.5"), D("-13.3333")),
    charts.Line("median", "Median ratio", D("10")),
]


def _parse(svg: bytes) -> tuple[set[str], str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    ids = {g.get("id") for g in root.iter(f"{SVG}g") if g.get("id")}
    text = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    return ids, text


def test_the_fit_chart_has_the_cases_and_one_line_per_method_with_labelled_axes():
    ids, text = _parse(charts.fit_chart(POINTS, COSTS, LINES))

    assert {"cases", "line-ratio", "line-origin", "line-intercept", "line-median"} <= ids
    assert len([i for i in ids if i.startswith("line-")]) == 4
    assert "RAS points" in text and "Weekly cost or allocation (£)" in text
    assert "Ratio of totals: £10.5 a point" in text  # the legend
    assert "Cases (current cost)" in text


def test_the_fit_chart_draws_only_the_methods_it_is_given():
    ids, _ = _parse(charts.fit_chart(POINTS, COSTS, LINES[:1]))
    assert [i for i in ids if i.startswith("line-")] == ["line-ratio"]


def test_the_same_input_gives_the_same_bytes():
    assert charts.fit_chart(POINTS, COSTS, LINES) == charts.fit_chart(POINTS, COSTS, LINES)
    groups = {"older_people": [D("-5"), D("3")], "learning_disability": [D("1.5")]}
    bands = {"0–49": [D("-5"), D("3"), D("1.5")], "50–99": []}
    assert charts.spread_chart(groups, bands) == charts.spread_chart(groups, bands)
    sensitivity = ([D("8"), D("10")], [D("400"), D("500")], D("450"))
    assert charts.sensitivity_chart(*sensitivity) == charts.sensitivity_chart(*sensitivity)
    assert b"<dc:date>" not in charts.fit_chart(POINTS, COSTS, LINES)


def test_the_spread_chart_has_a_box_panel_by_group_and_by_band_skipping_empty_bands():
    groups = {"learning_disability": [D("1.5")], "older_people": [D("-5"), D("3")]}
    bands = {"0–49": [D("-5"), D("3"), D("1.5")], "50–99": []}
    ids, text = _parse(charts.spread_chart(groups, bands))

    assert {"by-group", "by-band"} <= ids
    assert "older_people" in text and "0–49" in text and "50–99" not in text
    assert "Allocation − current cost (£ a week)" in text


def test_the_sensitivity_chart_has_the_spend_and_the_budget_line():
    ids, text = _parse(charts.sensitivity_chart([D("8"), D("10")], [D("400"), D("500")], D("450")))
    assert {"spend", "budget"} <= ids
    assert "Price per point (£)" in text and "Weekly budget £450" in text


def test_spread_gives_the_five_figures_a_box_plot_draws():
    # Sorted -5, 1, 3, 7: by linear interpolation Q1 sits a quarter of the way along
    # (position 0.75: -5 + 0.75 × 6 = -0.5), the median halfway between 1 and 3 (2), Q3 at
    # position 2.25 (3 + 0.25 × 4 = 4).
    summary = charts.spread([D(3), D(-5), D(7), D(1)])
    assert summary == charts.Spread(4, D("-5.00"), D("-0.50"), D("2.00"), D("4.00"), D("7.00"))
    assert charts.spread([D("2.5")]) == charts.Spread(
        1, D("2.50"), D("2.50"), D("2.50"), D("2.50"), D("2.50")
    )
    assert charts.spread([]) is None


def test_the_alt_texts_say_what_the_charts_show():
    assert "3 cases" in charts.fit_alt(3, LINES) and "£10.5 a point" in charts.fit_alt(3, LINES)
    assert "older_people median £-1.00" in charts.spread_alt(
        "Ratio of totals", {"older_people": [D("-5"), D("3")]}
    )
    assert "budget of £450" in charts.sensitivity_alt([D("8")], [D("400")], D("450"))
