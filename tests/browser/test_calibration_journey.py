"""A RAS administrator loads a calibration sample, fits it and adopts the fitted price as a
draft policy version, which waits for someone else's approval (issue 11)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from allocations.models import CalibrationRun, CalibrationSample, RasPolicy
from tests.allocations.test_calibration_services import BAD_CSV, GOOD_CSV
from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _file(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": data}


def test_ras_administrator_loads_fits_and_adopts_a_price_as_a_draft(
    page, live_server, ras_admin, policy
):
    log_in(page, live_server, "ras.admin", TEST_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calibration").click()

    # A bad file is refused whole, its problems listed by row.
    page.get_by_label("Name of the sample").first.fill("Desk sample")
    page.get_by_label("Sample file (CSV or XLSX)").set_input_files(_file("bad.csv", BAD_CSV))
    page.get_by_role("button", name="Load the sample").click()
    refusal = page.get_by_role("table", name=re.compile("Why the file was refused"))
    assert "points" in refusal.inner_text()
    assert not CalibrationSample.objects.exists()

    page.get_by_label("Name of the sample").first.fill("Desk sample")
    page.get_by_label("Sample file (CSV or XLSX)").set_input_files(_file("desk.csv", GOOD_CSV))
    page.get_by_role("button", name="Load the sample").click()
    page.get_by_role("heading", name="Desk sample").wait_for()

    page.get_by_label("Method").select_option("ratio")
    page.get_by_label("As this policy would pay").select_option(str(policy.pk))
    page.get_by_role("button", name="Fit", exact=True).click()
    page.get_by_role("heading", name="Ratio of totals (total cost ÷ total points)").wait_for()
    # The charts load as images under the page's own CSP, each named in words.
    page.get_by_role("img", name=re.compile("Scatter chart of the sample's 3 cases")).wait_for()
    page.wait_for_load_state("load")
    loaded = (
        "[...document.querySelectorAll('figure img')].map(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.evaluate(f"() => {loaded}") == [True, True]
    run = CalibrationRun.objects.get()
    assert (run.created_by, run.policy) == (ras_admin, policy)

    page.get_by_role("button", name=re.compile(r"Adopt £10\.50* a point as a draft")).click()
    page.get_by_text("Someone other than you must approve it").wait_for()
    draft = RasPolicy.objects.get(status=RasPolicy.Status.DRAFT)
    assert draft.price_per_point_gbp == Decimal("10.50")
    assert draft.created_by == ras_admin


def test_the_calibration_pages_pass_axe(axe_page, live_server, ras_admin, policy):
    from allocations.services.calibration import calibration_run, sample_load

    sample = sample_load(actor=ras_admin, name="Desk", data=GOOD_CSV, filename="desk.csv")
    run = calibration_run(
        actor=ras_admin, sample=sample, method="all", policy=policy, budget=Decimal("500")
    )
    log_in(axe_page, live_server, "ras.admin", TEST_PASSWORD)
    for path in ("/calibration/", f"/calibration/{sample.pk}/", f"/calibration/runs/{run.pk}/"):
        axe_page.goto(f"{live_server.url}{path}")
        assert axe_violations(axe_page) == [], path
