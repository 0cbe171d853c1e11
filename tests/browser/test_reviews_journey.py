"""Reviews (issue 13): a review coming due shows on the worker's "My work"; the worker starts it
(with its reassessment) and records that nothing needs to change; the person's page shows the
next review. The pages have no serious accessibility violations."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from allocations.selectors.reviews import add_months
from allocations.services.plans import plan_agree_by_panel, plan_submit
from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD, make_plan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agreed_a(submitted_a, person_a, worker_a, panel_chair):
    """Edith's plan, approved by the panel with conditions and a review in a week's time."""
    plan = make_plan(person_a, worker_a, weekly="120.00", risk_referral=True, risk_reasons="Falls.")
    plan = plan_submit(actor=worker_a, plan=plan)
    return plan_agree_by_panel(
        actor=panel_chair,
        plan=plan,
        review_date=timezone.localdate() + datetime.timedelta(days=7),
        conditions="Review the night support in a week.",
    )


def test_a_worker_starts_a_review_from_my_work_and_records_no_change(
    axe_page, live_server, agreed_a
):
    page = axe_page
    today = timezone.localdate()
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.goto(live_server.url + reverse("panels:my_work"))
    due = page.locator("#reviews-due")
    due_on = (today + datetime.timedelta(days=7)).strftime("%-d %b %Y")
    assert "Edith Atkinson" in due.inner_text() and f"due {due_on}" in due.inner_text()
    assert axe_violations(page) == [], "my work"

    due.get_by_role("link", name="Start the review for Edith Atkinson").click()
    page.get_by_role("heading", name="Start a review for Edith Atkinson").wait_for()
    assert axe_violations(page) == [], "start a review"
    page.get_by_label("Why is the review starting?").fill("The panel's review of night support.")
    page.get_by_label("Who supports the person at the reassessment").select_option("family")
    page.get_by_role("button", name="Start the review").click()
    page.get_by_text("Review started, with a reassessment.").wait_for()
    assert "in progress" in page.locator("dd", has_text="Assessment started").inner_text()
    assert axe_violations(page) == [], "review page"

    page.get_by_label("No change: the agreed budget stays until the next review").check()
    page.get_by_label("Reasons").fill("Night support works well; no falls since.")
    page.get_by_role("button", name="Record the outcome").click()
    page.get_by_text("Review outcome recorded.").wait_for()
    # Decided today + the policy's 12 months.
    next_on = add_months(today, 12).strftime("%-d %b %Y")
    assert page.locator("#next-review").inner_text() == next_on

    page.get_by_role("link", name="Edith Atkinson").first.click()
    reviews = page.locator("#reviews")
    assert f"Next review due {next_on}" in reviews.inner_text()
    assert "Night support works well" in reviews.get_by_role("table").inner_text()
    assert (
        "Edith Atkinson"
        not in page.goto(live_server.url + reverse("panels:my_work"))
        .text()
        .split('id="reviews-due"')[1]
        .split("</ul>")[0]
    )
