"""The panel in a real browser (issue 13): a member's conflict leaves the meeting below
quorum; the chair's page says why no decision can be recorded and what to do; the chair adds
a substitute on the meeting page and then records the decision."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assessments.roles import Role
from panels.models import PanelDecision
from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD, make_user
from tests.panels.helpers import held_meeting, refer

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_conflict_then_a_substitute_then_the_decision(
    page, live_server, submitted_a, person_a, worker_a, panel_chair, panel_member, panel_member2
):
    make_user("sam.sub", Role.PANEL_MEMBER, last_name="Okafor")
    meeting = held_meeting(panel_chair, [panel_member, panel_member2])
    referral = refer(person_a, worker_a, meeting, panel_chair)
    referral_url = live_server.url + reverse("panels:referral_detail", args=[referral.pk])

    log_in(page, live_server, "panel.member2", TEST_PASSWORD)
    page.goto(referral_url)
    page.get_by_label("Declare a conflict of interest").fill("She is my neighbour")
    page.get_by_role("button", name="Declare").click()
    page.get_by_text("Your conflict of interest is recorded.").wait_for()
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "panel.chair", TEST_PASSWORD)
    page.goto(referral_url)
    blocked = page.locator("#decision-blocked").inner_text()
    assert "2 member(s) without a conflict, 3 needed" in blocked
    assert "Panel.Member2 (declared: She is my neighbour)" in blocked
    assert page.get_by_role("button", name="Record the decision").count() == 0

    page.goto(live_server.url + reverse("panels:meeting_detail", args=[meeting.pk]))
    page.get_by_label("Substitute member").select_option(label="Sam.Sub Okafor")
    page.get_by_label("Why a substitute is needed").fill("A conflict left the panel short")
    page.get_by_role("button", name="Add the substitute").click()
    page.get_by_text("Sam.Sub Okafor added to the meeting as a substitute.").wait_for()
    assert "Substitute" in page.locator("#attendance").inner_text()

    page.goto(referral_url)
    assert "quorate" in page.locator("#quorum").inner_text()
    page.get_by_role("radio", name="Approved", exact=True).check()
    page.get_by_label("Reasons").fill("Safe at home.")
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text("Decision recorded: Approved.").wait_for()
    assert PanelDecision.objects.get().present == ["panel.chair", "panel.member", "sam.sub"]


def test_the_blocked_decision_and_meeting_pages_have_no_serious_accessibility_violations(
    axe_page, live_server, submitted_a, person_a, worker_a, panel_chair, panel_member, panel_member2
):
    from panels.services import conflict_declare

    make_user("sam.sub", Role.PANEL_MEMBER, last_name="Okafor")
    meeting = held_meeting(panel_chair, [panel_member, panel_member2])
    referral = refer(person_a, worker_a, meeting, panel_chair)
    conflict_declare(actor=panel_member2, referral=referral, reason="Neighbour")
    log_in(axe_page, live_server, "panel.chair", TEST_PASSWORD)
    axe_page.goto(live_server.url + reverse("panels:referral_detail", args=[referral.pk]))
    axe_page.locator("#decision-blocked").wait_for()
    assert axe_violations(axe_page) == [], "blocked decision page"
    axe_page.goto(live_server.url + reverse("panels:meeting_detail", args=[meeting.pk]))
    assert axe_violations(axe_page) == [], "meeting page"
