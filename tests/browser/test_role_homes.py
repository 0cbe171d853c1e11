"""Each role's home (issue 13), in a real browser: every role logs in and lands on the boxes
their work starts from; the menu fits on one line at 1280 px and folds behind its toggler on a
390 px phone; the support plan page does not overflow the phone's width; the auditor filters
the access log. No serious accessibility violations."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocations.services.plans import plan_authorise, plan_submit
from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD, make_plan

pytestmark = pytest.mark.django_db(transaction=True)

# Each role's username (tests/conftest.py) and the box headings its home must show.
HOMES = {
    "worker.a": ["Assessments in progress", "Plans returned to me", "Budgets waiting for a plan"],
    "manager.a": ["My team's caseload by stage", "Plans awaiting my authorisation"],
    "panel.chair": ["My panel meetings"],
    "panel.member": ["My panel meetings"],
    "ras.admin": ["Drafts awaiting a second person"],
    "senior.manager": ["Drafts awaiting a second person", "Reports"],
    "auditor": ["Search records", "Reports"],
}
# Boxes of one role that must never show, empty, on another's home.
NOT_FOR = {
    "worker.a": ["Plans awaiting my authorisation", "My panel meetings"],
    "panel.member": ["Plans returned to me", "Assessments in progress"],
    "auditor": ["My panel meetings", "Plans awaiting my authorisation"],
}

# Each menu item (and the user's name and "Log out"): its top edge and height, and the menu's
# line height. On one line, all tops agree and no item is two lines tall.
MENU_ITEMS = """() => {
    const links = [...document.querySelectorAll('#main-nav .nav-link')]
        .filter(link => link.offsetParent !== null);
    return {
        tops: links.map(link => link.getBoundingClientRect().top),
        heights: links.map(link => link.getBoundingClientRect().height),
        line: parseFloat(getComputedStyle(links[0]).lineHeight),
    };
}"""


def menu_on_one_line(page) -> bool:
    menu = page.evaluate(MENU_ITEMS)
    return (
        max(menu["tops"]) - min(menu["tops"]) < menu["line"] / 2
        and max(menu["heights"]) < 2 * menu["line"]
    )


@pytest.fixture
def cast(
    worker_a, manager_a, panel_chair, panel_member, ras_admin, senior_manager, auditor, team_a
):
    """Everyone logs in with TEST_PASSWORD."""


@pytest.fixture
def long_plan(submitted_a, person_a, worker_a, manager_a):
    """A plan with a long unbroken description, waiting for the team manager."""
    plan = make_plan(
        person_a,
        worker_a,
        weekly="120.00",
        difference_reason="Supercalifragilisticexpialidocious" * 3,
    )
    return plan_submit(actor=worker_a, plan=plan)


def test_each_role_lands_on_its_own_home_with_the_menu_on_one_line(
    axe_page, live_server, cast, long_plan
):
    page = axe_page
    for username, headings in HOMES.items():
        page.context.clear_cookies()
        log_in(page, live_server, username, TEST_PASSWORD)
        page.get_by_role("heading", name="My work", level=1).wait_for()
        for heading in headings:
            assert page.get_by_role("heading", name=heading, exact=True).is_visible(), (
                username,
                heading,
            )
        for heading in NOT_FOR.get(username, []):
            assert page.get_by_role("heading", name=heading, exact=True).count() == 0, (
                username,
                heading,
            )
        assert menu_on_one_line(page), f"{username}'s menu wraps at 1280 px"
        # The user's name sits apart from the menu, with their team a click away.
        page.locator("#user-menu").click()
        page.locator("#user-team").wait_for()
        page.keyboard.press("Escape")
        if username in ("worker.a", "auditor"):
            assert axe_violations(page) == [], f"{username}'s home"

    page.context.clear_cookies()
    log_in(page, live_server, "manager.a", TEST_PASSWORD)
    badge = page.get_by_role("link", name="My work 1 waiting")  # the plan to authorise
    assert badge.is_visible()


def test_on_a_phone_the_menu_folds_and_the_plan_page_fits(
    page, live_server, cast, long_plan, manager_a
):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    my_work = page.get_by_role("link", name="My work")
    assert not my_work.is_visible()
    page.get_by_role("button", name="Show menu").click()
    my_work.wait_for()
    plan_url = live_server.url + reverse("allocations:plan_detail", args=[long_plan.pk])
    page.goto(plan_url)
    page.get_by_role("heading", name="Support plan for Edith Atkinson").wait_for()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the plan page is {width} px wide on a 390 px phone"
    # Agreed, the plan also shows the personal budget statement.
    plan_authorise(actor=manager_a, plan=long_plan)
    page.goto(plan_url)
    page.get_by_role("heading", name="Personal budget statement").wait_for()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the agreed plan's page is {width} px wide on a 390 px phone"


def test_the_auditor_searches_and_filters_the_access_log(axe_page, live_server, cast, person_a):
    page = axe_page
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.goto(live_server.url + reverse("assessments:person_detail", args=[person_a.pk]))
    page.context.clear_cookies()
    log_in(page, live_server, "auditor", TEST_PASSWORD)
    page.get_by_label("Name, council reference, date of birth, or a record's number").fill(
        "Atkinson"
    )
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Edith Atkinson").wait_for()
    assert axe_violations(page) == [], "search"
    page.get_by_role("link", name="The access log: who opened whose record").click()
    page.get_by_label("Who opened the record").select_option(label="Worker.A (worker.a)")
    page.get_by_role("button", name="Show").click()
    log = page.locator("#access-log")
    assert "1 opening" in log.inner_text() and "Edith Atkinson" in log.inner_text()
    assert axe_violations(page) == [], "access log"
