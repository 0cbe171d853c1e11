"""A social worker's journey with a person's record, in a real browser."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assessments.models import Person
from tests.browser.conftest import axe_violations, fill_date, log_in
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_creates_finds_and_edits_a_person_and_sees_the_history(
    page, live_server, worker_a, worker_b
):
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("Council reference").fill("asc-900001")
    page.get_by_label("First name").fill("Winifred")
    page.get_by_label("Last name").fill("Oyelaran")
    fill_date(page, "Date of birth", "9", "5", "1941")
    page.get_by_label("Client group").select_option(label="Older people")
    page.get_by_label("Current weekly package cost (£)").fill("212.50")
    page.get_by_label("Address line 1").fill("14 Mill Lane")
    page.get_by_label("Town or city").fill("Northby")
    page.get_by_label("Postcode").fill("nb3 4xy")
    page.get_by_role("button", name="Save").click()

    page.get_by_role("heading", name="Winifred Oyelaran").wait_for()
    assert "Winifred Oyelaran has been added." in page.locator("main").inner_text()
    assert "ASC-900001" in page.locator("main").inner_text()

    # Find them again by searching.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    page.get_by_label("Search by name, reference or date of birth").fill("oyelaran")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Oyelaran, Winifred").click()

    # Change their record and see the change in the history panel.
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Needs have increased").check()
    page.get_by_role("button", name="Save").click()
    history = page.locator("#history")
    history.get_by_text("Needs have increased: No → Yes").wait_for()
    assert "Changed by Worker.A" in history.inner_text()
    assert "Created by Worker.A" in history.inner_text()

    # A worker from the other team cannot open the record.
    person = Person.objects.get(reference="ASC-900001")
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, "worker.b", TEST_PASSWORD)
    response = page.goto(live_server.url + reverse("assessments:person_detail", args=[person.pk]))
    assert response.status == 404
    page.goto(f"{live_server.url}/people/?q=oyelaran")
    assert "No one matches" in page.locator("main").inner_text()


def test_bad_input_shows_messages_beside_the_fields(page, live_server, worker_a):
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.goto(live_server.url + reverse("assessments:person_create"))
    page.get_by_label("Council reference").fill("ASC-1")
    page.get_by_label("First name").fill("Test")
    page.get_by_label("Last name").fill("Person")
    fill_date(page, "Date of birth", "1", "1", "2999")
    page.get_by_label("Client group").select_option(label="Mental health")
    page.get_by_label("Current weekly package cost (£)").fill("-3")
    page.get_by_label("Address line 1").fill("1 Road")
    page.get_by_label("Town or city").fill("Town")
    page.get_by_label("Postcode").fill("NB1 1AA")
    # The browser's own min check would stop the form; test the server's answer.
    page.locator("form.person-form, form").last.evaluate("f => f.noValidate = true")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Nothing has been saved").wait_for()
    assert (
        "Date of birth must be today or in the past."
        in page.locator("#error_1_id_date_of_birth").inner_text()
    )
    assert (
        "The weekly cost cannot be negative."
        in page.locator("#error_1_id_existing_weekly_cost_gbp").inner_text()
    )
    assert Person.objects.count() == 0


def test_pages_have_no_serious_accessibility_violations(axe_page, live_server, person_a):
    page = axe_page
    page.goto(f"{live_server.url}/accounts/login/")
    assert axe_violations(page) == [], "login page"

    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    assert axe_violations(page) == [], "my work"
    page.goto(f"{live_server.url}/people/")
    assert axe_violations(page) == [], "people list"

    page.goto(live_server.url + reverse("assessments:person_detail", args=[person_a.pk]))
    assert axe_violations(page) == [], "person page"

    page.goto(live_server.url + reverse("assessments:person_create"))
    assert axe_violations(page) == [], "add a person form"

    # The scan is real: an image without a text alternative is reported.
    page.evaluate("document.querySelector('main').append(document.createElement('img'))")
    assert "image-alt" in [v["id"] for v in axe_violations(page)]


def test_keyboard_alone_reaches_the_search_and_a_record(page, live_server, person_a):
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.goto(f"{live_server.url}/people/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    # From the main content, Tab reaches the "Add a person" button, then the search box.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_q"
    page.keyboard.type("Atkinson")
    page.keyboard.press("Enter")
    page.wait_for_url("**/people/?q=Atkinson*")
    link = page.get_by_role("link", name="Atkinson, Edith")
    link.focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Edith Atkinson").wait_for()
