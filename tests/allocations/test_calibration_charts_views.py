"""A calibration run's charts (issue 11): each an SVG behind the run's door (readers 200,
everyone else 403, anonymous to the login page, 404 for a chart the run has not), shown on the
run page as images with alt text beside tables of their figures, under the site's CSP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.urls import reverse

from allocations.services.calibration import calibration_run, sample_load
from tests.allocations.test_calibration_services import GOOD_CSV

READERS = ["ras_admin", "senior_manager", "auditor"]
OTHERS = ["worker_a", "manager_a", "panel_member", "panel_chair"]
CHARTS = ["fit", "spread", "sensitivity"]


@pytest.fixture
def run(ras_admin, policy):
    sample = sample_load(actor=ras_admin, name="Desk sample", data=GOOD_CSV, filename="desk.csv")
    return calibration_run(
        actor=ras_admin, sample=sample, method="all", policy=policy, budget=Decimal("500.00")
    )


def _url(run, name):
    return reverse("allocations:calibration_chart", args=[run.pk, name])


@pytest.mark.django_db
@pytest.mark.parametrize("who", READERS)
def test_readers_get_each_chart_as_svg(client, request, who, run):
    client.force_login(request.getfixturevalue(who))
    for name in CHARTS:
        response = client.get(_url(run, name))
        assert response.status_code == 200, name
        assert response["Content-Type"] == "image/svg+xml"
        ET.fromstring(response.content)  # well-formed
        assert "script-src 'none'" in response["Content-Security-Policy"]
        assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", OTHERS)
def test_everyone_else_is_refused_the_charts(client, request, who, run):
    client.force_login(request.getfixturevalue(who))
    assert client.get(_url(run, "fit")).status_code == 403


@pytest.mark.django_db
def test_the_charts_need_a_login(client, run):
    response = client.get(_url(run, "fit"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_an_unknown_chart_or_run_is_404_and_a_run_without_a_budget_has_no_sensitivity(
    client, ras_admin, run
):
    client.force_login(ras_admin)
    assert client.get(_url(run, "pie")).status_code == 404
    assert (
        client.get(reverse("allocations:calibration_chart", args=[999999, "fit"])).status_code
        == 404
    )
    unbudgeted = calibration_run(actor=ras_admin, sample=run.sample, method="ratio")
    assert client.get(_url(unbudgeted, "sensitivity")).status_code == 404
    assert client.get(_url(unbudgeted, "spread")).status_code == 200


@pytest.mark.django_db
def test_the_run_page_shows_the_charts_with_alt_text_and_data_tables(client, auditor, run):
    client.force_login(auditor)
    response = client.get(reverse("allocations:calibration_run", args=[run.pk]))
    page = response.content.decode()

    for name in CHARTS:
        assert f'src="{_url(run, name)}"' in page
    assert 'alt="Scatter chart of the sample&#x27;s 3 cases' in page
    assert "Box plots of each case" in page and "Line chart of the sample" in page
    assert page.count("<details") >= 3
    assert "<caption>The fitted lines" in page
    assert "<caption>Allocation − current cost" in page
    assert "<caption>Total weekly spend at each price" in page
    assert "Client group: Older people" in page and "Points: 0–49" in page
    assert "older_people" not in page  # client groups by their labels, never their codes
    # The page keeps the site's policy: nothing inline, images only from this site.
    policy = response["Content-Security-Policy"]
    assert "img-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in page and " style=" not in page


@pytest.mark.django_db
def test_a_run_of_every_method_draws_the_spread_for_the_ratio_of_totals(client, ras_admin, run):
    client.force_login(ras_admin)
    page = client.get(reverse("allocations:calibration_run", args=[run.pk])).content.decode()
    # The run fitted every method, so the spread is drawn for the ratio of totals.
    assert "Allocation less current cost (Ratio of totals)" in page
