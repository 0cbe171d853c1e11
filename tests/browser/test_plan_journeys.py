"""Support plans to agreed budgets: by a team manager, and by the risk enablement panel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocations.models import AgreedBudget, SupportPlan
from tests.browser.conftest import axe_violations, fill_date, log_in
from tests.factories import TEST_PASSWORD, make_plan
from tests.panels.helpers import held_meeting

pytestmark = pytest.mark.django_db(transaction=True)


def _submit_in_browser(page, live_server, plan, *, button: str):
    """The worker submits the plan; the button has said where it will go before it is
    pressed."""
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.goto(live_server.url + reverse("allocations:plan_detail", args=[plan.pk]))
    page.get_by_role("button", name=button).click()


def test_plan_under_the_threshold_authorised_by_the_team_manager(
    page, live_server, submitted_a, person_a, worker_a, manager_a
):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason="Two hours fewer.")
    _submit_in_browser(
        page, live_server, plan, button="Submit the plan to a team manager for authorisation"
    )
    page.get_by_text("The plan has been sent to a team manager.").wait_for()
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "manager.a", TEST_PASSWORD)
    page.locator("#to-authorise").get_by_role("link", name="Edith Atkinson").click()
    page.get_by_role("button", name="Authorise the plan").click()
    page.get_by_text("The plan is authorised: the budget is agreed.").wait_for()
    statement = page.locator("#agreed-budget").first.inner_text()
    assert "£118.00 a week" in statement and "team manager" in statement
    assert AgreedBudget.objects.get().agreed_by == manager_a


def test_plan_over_the_threshold_approved_with_conditions_by_the_panel(
    page, live_server, submitted_a, person_a, worker_a, panel_chair, panel_member, panel_member2
):
    meeting = held_meeting(panel_chair, [panel_member, panel_member2])  # under way today
    plan = make_plan(person_a, worker_a, weekly="650.00", difference_reason="Night support")
    _submit_in_browser(
        page, live_server, plan, button="Submit the plan to the risk enablement panel"
    )
    page.get_by_text("The plan has been referred to the panel.").wait_for()
    assert "£650.00 a week: at or above £600.00" in page.locator("main").inner_text()
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "panel.chair", TEST_PASSWORD)
    page.goto(live_server.url + reverse("panels:meeting_detail", args=[meeting.pk]))
    page.get_by_role("button", name="Add Edith Atkinson").click()
    page.locator("#meeting-agenda").get_by_role("link", name="Edith Atkinson").click()
    assert "quorate" in page.locator("#quorum").inner_text()
    page.get_by_role("radio", name="Approved with conditions").check()
    page.get_by_label("Reasons").fill("Safe at home at a cost below residential care.")
    page.get_by_label("Conditions (when approved with conditions)").fill("Falls sensor first")
    fill_date(page, "Review date", "1", "3", "2027")
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text("Decision recorded: Approved with conditions.").wait_for()

    page.goto(live_server.url + reverse("assessments:person_detail", args=[person_a.pk]))
    statement = page.locator("#agreed-budget").inner_text()
    assert "£650.00 a week" in statement
    assert "Falls sensor first" in statement
    assert "1 March 2027" in statement
    assert "risk enablement panel" in statement
    assert SupportPlan.objects.get().status == SupportPlan.Status.AGREED


def test_plan_and_panel_pages_have_no_serious_accessibility_violations(
    axe_page, live_server, submitted_a, person_a, worker_a
):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason="Two hours fewer.")
    page = axe_page
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    assert axe_violations(page) == [], "my work"
    page.goto(live_server.url + reverse("allocations:plan_detail", args=[plan.pk]))
    assert axe_violations(page) == [], "plan"
