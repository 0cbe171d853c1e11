"""Changing a plan line in the browser: the form with the line's current values, a mistake
summarised at the top of the form with a link to the field, then the change saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD, make_plan

pytestmark = pytest.mark.django_db(transaction=True)


def _open_line(page, live_server, plan):
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.goto(live_server.url + reverse("allocations:plan_detail", args=[plan.pk]))
    assert "1 hour × £118.00 per week" in page.locator("main").inner_text()
    page.get_by_role("link", name="Change Personal assistant").click()
    page.get_by_role("heading", name="Change a line of the support plan").wait_for()


def test_a_worker_changes_a_line_after_a_mistake(
    page, live_server, submitted_a, person_a, worker_a
):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason="Fewer hours.")
    _open_line(page, live_server, plan)
    quantity = page.get_by_label("Quantity")
    assert quantity.input_value() == "1.00"  # the line's current values
    assert page.locator("#id_line-unit").input_value() == "hour"

    quantity.fill("-14")
    page.get_by_role("button", name="Save the changes").click()

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    summary.wait_for()
    summary.get_by_role("link", name="Quantity: Ensure this value").click()
    assert page.url.endswith("#id_line-quantity")
    assert quantity.input_value() == "-14"  # what was typed is kept

    quantity.fill("14")
    page.get_by_label("Unit cost (£)").fill("8.00")
    page.get_by_role("button", name="Save the changes").click()
    page.get_by_text("Line changed.").wait_for()
    main = page.locator("main").inner_text()
    assert (
        "14 hours × £8.00 per week" in main and "1 hour × £118.00" not in main.split("History")[0]
    )
    assert plan.lines.live().get().quantity == 14


def test_the_line_page_with_errors_has_no_serious_accessibility_violations(
    axe_page, live_server, submitted_a, person_a, worker_a
):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason="Fewer hours.")
    page = axe_page
    _open_line(page, live_server, plan)
    assert axe_violations(page) == [], "the line's page"
    page.get_by_label("Description").fill("")
    page.get_by_role("button", name="Save the changes").click()
    page.get_by_text("There is a problem").wait_for()
    assert axe_violations(page) == [], "the line's page with errors"
