"""The dashboard's charts (issue 12): each drawn from its table as SVG (readable without colour:
its series named by id, hatched or marked), served with the filters under a CSP of its own,
shown on the dashboard as an <img> whose alt text says the figures, and not shown at all when
its table is missing or empty. Suppressed rows are left out of the fairness chart."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from allocations.reports.charts import CHARTS
from allocations.reports.tables import SUPPRESSED, Column, Kind, Marked, Table

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"
URL = reverse("allocations:reports")


@pytest.fixture(autouse=True)
def _today():
    when = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo("Europe/London"))
    with time_machine.travel(when, tick=False):
        yield


TAKE_UP = Table(
    "take-up-by-month",
    "Take-up by month",
    (
        Column("month", "Month"),
        Column("supported", "Receiving support", Kind.COUNT),
        Column("agreed", "With an agreed budget", Kind.COUNT),
        Column("take_up_percent", "Take-up", Kind.PERCENT),
        Column("direct_payment", "Direct payment", Kind.COUNT),
        Column("direct_payment_percent", "Direct payment share", Kind.PERCENT),
        Column("target_percent", "Target", Kind.PERCENT),
    ),
    [
        ("2026-10", 10, 2, Decimal("20.0"), 1, Decimal("10.0"), Decimal("30.0")),
        ("2026-11", 10, 3, Decimal("30.0"), 1, Decimal("10.0"), Decimal("30.0")),
    ],
)
PIPELINE = Table(
    "pipeline-by-stage",
    "People at each stage",
    (
        Column("stage", "Stage"),
        Column("people", "People", Kind.COUNT),
        Column("oldest_since", "Oldest since", Kind.DATE),
        Column("oldest_days", "Days", Kind.DAYS),
    ),
    [
        ("Assessment in progress", 4, datetime.date(2026, 11, 1), 30),
        ("Awaiting eligibility", 0, None, None),
        ("Agreed", 1234, datetime.date(2026, 1, 5), 330),
    ],
)
MONEY = Table(
    "money-comparison",
    "Indicative, agreed and traditional",
    (
        Column("group", "Group"),
        Column("people", "People", Kind.COUNT),
        Column("indicative", "Indicative", Kind.MONEY),
        Column("agreed", "Agreed", Kind.MONEY),
        Column("traditional", "Traditional", Kind.MONEY),
    ),
    [("Everyone with all three", 12, Decimal("294.55"), Decimal("300.94"), Decimal("310.84"))],
)
_FAIR_COLUMNS = (
    Column("group", "Client group"),
    Column("people", "People", Kind.COUNT),
    Column("agreed_to_indicative", "Agreed ÷ indicative", Kind.RATIO),
)
FAIRNESS = Table(
    "fairness-client-group",
    "Fairness by client group",
    _FAIR_COLUMNS,
    [
        ("Older people", 20, Decimal("1.02")),
        ("Learning disability", 8, Marked(Decimal("1.25"), "higher")),
        ("Mental health", SUPPRESSED, SUPPRESSED),
        ("Whole service", 31, Decimal("1.08")),
    ],
)
ALL = [TAKE_UP, PIPELINE, MONEY, FAIRNESS]


def _chart(client, slug, **params):
    return client.get(reverse("allocations:report_chart", args=[slug]), params)


def _ids(svg: bytes) -> set[str]:
    return {e.get("id") for e in ET.fromstring(svg).iter() if e.get("id")}


def _texts(svg: bytes) -> str:
    return " ".join("".join(e.itertext()) for e in ET.fromstring(svg).iter(f"{SVG}text"))


def test_each_chart_is_served_as_svg_under_its_own_csp(client, senior_manager, only_sections):
    only_sections({"all": ALL})
    client.force_login(senior_manager)
    expected = {
        "take-up-by-month": {"take-up", "target"},
        "pipeline-by-stage": {"people"},
        "money-comparison": {"indicative", "agreed", "traditional"},
        "fairness-client-group": {"groups", "whole-service"},
    }
    for slug, series in expected.items():
        response = _chart(client, slug)
        assert response.status_code == 200, slug
        assert response["Content-Type"] == "image/svg+xml"
        assert "default-src 'none'" in response["Content-Security-Policy"]
        assert series <= _ids(response.content), slug
    # Readable without colour: the bars are hatched, the lines marked and styled.
    assert b"<pattern" in _chart(client, "money-comparison").content


def test_the_same_table_draws_the_same_bytes():
    chart = CHARTS["take-up-by-month"]
    assert chart.draw(TAKE_UP) == chart.draw(TAKE_UP)


def test_the_dashboard_shows_each_chart_with_its_figures_in_words(
    client, senior_manager, only_sections
):
    only_sections({"all": ALL})
    client.force_login(senior_manager)
    page = client.get(URL, {"client_group": "older_people"}).content.decode()
    query = "start=2026-01-01&amp;end=2026-12-01&amp;client_group=older_people"
    assert (
        f'<img class="img-fluid" src="/reports/chart/take-up-by-month.svg?{query}" '
        'alt="Line chart of take-up by month from 2026-10 to 2026-11: 20.0% in 2026-10 and '
        '30.0% in 2026-11, against a target of 30.0% (dashed line)."'
    ) in page
    assert (
        'alt="Bar chart of the number of people at each stage: Assessment in progress 4; '
        'Awaiting eligibility 0; Agreed 1,234."'
    ) in page
    assert (
        "indicative £294.55, agreed £300.94, traditional £310.84" in page
    )  # the seeds' Leicestershire figures
    # The table stays beside each chart.
    assert page.count("<img ") == 4
    assert page.count("<table ") == 4


def test_the_fairness_chart_leaves_out_suppressed_groups(client, senior_manager, only_sections):
    only_sections({"fairness": [FAIRNESS]})
    client.force_login(senior_manager)
    svg = _chart(client, "fairness-client-group").content
    texts = _texts(svg)
    assert "Older people" in texts and "Learning disability" in texts
    assert "Mental health" not in texts
    assert "Whole service (1.08)" in texts
    assert CHARTS["fairness-client-group"].alt(FAIRNESS) == (
        "Bar chart of the average agreed budget ÷ indicative budget by client group: Older "
        "people 1.02; Learning disability 1.25; whole service 1.08. 1 group(s) held back as too "
        "small to show."
    )


def test_a_chart_whose_table_is_missing_or_empty_is_not_shown(
    client, senior_manager, only_sections
):
    empty_take_up = Table(TAKE_UP.slug, TAKE_UP.caption, TAKE_UP.columns, [])
    all_suppressed = Table(
        FAIRNESS.slug,
        FAIRNESS.caption,
        _FAIR_COLUMNS,
        [("Mental health", SUPPRESSED, SUPPRESSED), ("Whole service", 3, SUPPRESSED)],
    )
    only_sections({"some": [empty_take_up, all_suppressed]})
    client.force_login(senior_manager)
    page = client.get(URL).content.decode()
    assert "<img " not in page
    assert "Take-up by month</strong>: nothing to show for these filters." in page
    for slug in ("take-up-by-month", "fairness-client-group", "pipeline-by-stage"):
        assert _chart(client, slug).status_code == 404, slug
    assert _chart(client, "no-such-chart").status_code == 404


def test_a_team_manager_gets_no_chart_of_another_team(
    client, manager_a, team_a, team_b, only_sections
):
    only_sections({"all": ALL})
    client.force_login(manager_a)
    assert _chart(client, "pipeline-by-stage", team=team_a.pk).status_code == 200
    assert _chart(client, "pipeline-by-stage", team=team_b.pk).status_code == 403


def test_a_month_with_no_take_up_figure_is_a_gap_not_a_zero():
    # October: nobody receiving support, so no take-up figure; November 30.0%.
    gap = Table(
        TAKE_UP.slug,
        TAKE_UP.caption,
        TAKE_UP.columns,
        [
            ("2026-10", 0, 0, None, 0, None, Decimal("30.0")),
            ("2026-11", 10, 3, Decimal("30.0"), 1, Decimal("10.0"), Decimal("30.0")),
        ],
    )
    chart = CHARTS["take-up-by-month"]
    assert chart.usable(gap)
    assert "take-up" in _ids(chart.draw(gap))
    assert chart.alt(gap).startswith(
        "Line chart of take-up by month from 2026-10 to 2026-11: no figure in 2026-10 and "
        "30.0% in 2026-11"
    )
    none_at_all = Table(TAKE_UP.slug, TAKE_UP.caption, TAKE_UP.columns, [gap.rows[0]])
    assert not chart.usable(none_at_all)
