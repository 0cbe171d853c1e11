"""A social worker submits an assessment and sees the indicative budget explained."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD, complete_assessment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ready_a(draft_a, worker_a, policy):
    return complete_assessment(draft_a, worker_a)


def test_worker_submits_and_sees_the_budget_and_how_it_was_worked_out(page, live_server, ready_a):
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.goto(live_server.url + reverse("assessments:assessment_summary", args=[ready_a.pk]))
    page.get_by_role("button", name="Submit the assessment").click()
    page.get_by_text("The assessment has been submitted.").wait_for()

    page.get_by_role("link", name="Edith Atkinson").click()
    budget = page.locator("#budget")
    budget.get_by_role("heading", name="Indicative budget").wait_for()
    assert budget.locator("#indicative-weekly").inner_text() == "£120.00"
    table = budget.get_by_role("table", name="How this figure was worked out")
    text = table.inner_text()
    assert "8.00 points × £4.88 a point" in text
    assert "£39.04" in text and "− £1.95" in text and "£37.09" in text
    assert "Based on the cost of the current support" in text
    assert "£82.91 more than the RAS figure of £37.09" in text
    assert "£6,240.00" in text


def test_budget_and_policy_pages_have_no_serious_accessibility_violations(
    axe_page, live_server, ready_a, worker_a, ras_admin, policy
):
    from assessments.services.assessments import assessment_submit

    assessment_submit(actor=worker_a, assessment=ready_a, lock_version=ready_a.lock_version)
    page = axe_page
    page.goto(live_server.url + reverse("allocations:rules"))
    assert axe_violations(page) == [], "rules"
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.goto(live_server.url + reverse("assessments:person_detail", args=[ready_a.person_id]))
    assert axe_violations(page) == [], "person page with budget"
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, "ras.admin", TEST_PASSWORD)
    page.goto(live_server.url + reverse("allocations:policy_detail", args=[policy.pk]))
    assert axe_violations(page) == [], "policy"
    page.goto(live_server.url + reverse("allocations:policy_create"))
    assert axe_violations(page) == [], "policy form"
