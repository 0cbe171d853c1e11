"""A RAS administrator loads a calibration sample, fits it and adopts the fitted price as a
draft policy version, which waits for someone else's approval; and fits section weights and
adopts them as a draft questionnaire version whose points are re-scaled as the page said
(issue 11)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from allocations.models import CalibrationRun, CalibrationSample, RasPolicy
from assessments.models import QuestionnaireVersion
from tests.allocations.test_calibration_adopt import WEIGHTED_CSV
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


def test_ras_administrator_fits_weights_and_adopts_them_as_a_draft_questionnaire(
    page, live_server, ras_admin, questionnaire
):
    # WEIGHTED_CSV's costs are exactly £12 a point in s1 and £6 in s2; its single price
    # through the origin is 450 ÷ 50 = £9 (worked in tests/allocations/test_calibration_adopt.py).
    # So a point in s1 becomes 12 ÷ 9 = 1.3333 points and in s2 6 ÷ 9 = 0.6667; the options
    # worth 0, 2 and 5 become 0, 2.67 and 6.67 in s1, and 0, 1.33 and 3.33 in s2.
    log_in(page, live_server, "ras.admin", TEST_PASSWORD)
    page.goto(f"{live_server.url}/calibration/")
    page.get_by_label("Name of the sample").first.fill("Weighted sample")
    page.get_by_label("Sample file (CSV or XLSX)").set_input_files(
        _file("weighted.csv", WEIGHTED_CSV)
    )
    page.get_by_role("button", name="Load the sample").click()
    page.get_by_role("heading", name="Weighted sample").wait_for()

    page.get_by_label("Method").select_option("weights")
    page.get_by_role("button", name="Fit", exact=True).click()
    weights = page.get_by_role("table", name=re.compile("Suggested £ a point, by section"))
    weights.wait_for()
    assert "weight ÷ £9.0000" in weights.inner_text()
    said = {
        section: weights.locator(f'td[data-section="{section}"]').inner_text()
        for section in ("s1", "s2")
    }
    assert said == {"s1": "1.3333", "s2": "0.6667"}
    assert page.get_by_text("the sample says it is under-weighted").count() == 1

    page.get_by_role("button", name="Adopt weights as a draft questionnaire").click()
    page.get_by_text("Someone other than you must publish it").wait_for()
    draft = QuestionnaireVersion.objects.get(status=QuestionnaireVersion.Status.DRAFT)
    assert page.url == f"{live_server.url}/questionnaires/{draft.pk}/"
    assert page.locator("#version-status").inner_text() == "Draft"
    assert draft.created_by == ras_admin and draft.number == questionnaire.number + 1
    # Every question's answers, as the draft's page lists them: re-scaled as the page said.
    for section, points in (("s1", ["0", "2.67", "6.67"]), ("s2", ["0", "1.33", "3.33"])):
        tables = page.locator(f'section[aria-labelledby="s-{section}"] table')
        assert tables.count() == 2
        for index in range(2):
            cells = tables.nth(index).locator("tbody tr td:nth-child(2)").all_inner_texts()
            assert cells == points, section
    # The published version is the one in force until someone else publishes the draft.
    questionnaire.refresh_from_db()
    assert questionnaire.is_published
    assert page.get_by_role("button", name="Publish").count() == 0


def test_the_calibration_pages_pass_axe(axe_page, live_server, ras_admin, policy):
    from allocations.services.calibration import calibration_run, sample_load

    sample = sample_load(actor=ras_admin, name="Desk", data=GOOD_CSV, filename="desk.csv")
    run = calibration_run(
        actor=ras_admin, sample=sample, method="all", policy=policy, budget=Decimal("500")
    )
    weighted = sample_load(
        actor=ras_admin, name="Weighted", data=WEIGHTED_CSV, filename="weighted.csv"
    )
    weights_run = calibration_run(actor=ras_admin, sample=weighted, method="weights")
    log_in(axe_page, live_server, "ras.admin", TEST_PASSWORD)
    for path in (
        "/calibration/",
        f"/calibration/{sample.pk}/",
        f"/calibration/runs/{run.pk}/",
        f"/calibration/runs/{weights_run.pk}/",
    ):
        axe_page.goto(f"{live_server.url}{path}")
        assert axe_violations(axe_page) == [], path
