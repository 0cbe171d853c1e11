"""A senior manager sees what a draft questionnaire version would do to everyone's budget
before publishing it, and follows the link to the full impact (issue 11)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from assessments.models import AnswerOption
from assessments.services.questionnaires import questionnaire_copy_to_draft
from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD, make_budgeted_person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def draft(questionnaire, policy, worker_a, ras_admin):
    """One older person, 8 points now: 8 × 4.88 = 39.04, less 5% (1.95) = 37.09. The draft
    makes s1_q1's "some help" worth 4: 10 points × 4.88 = 48.80, less 5% (2.44) = 46.36."""
    make_budgeted_person(actor=worker_a, existing_weekly_cost_gbp=None)
    version = questionnaire_copy_to_draft(actor=ras_admin, version=questionnaire)
    option = AnswerOption.objects.get(question__version=version, question__code="s1_q1", order=2)
    option.points = Decimal("4")
    option.save()
    return version


def test_the_publisher_sees_the_impact_then_the_full_page(page, live_server, draft, senior_manager):
    log_in(page, live_server, "senior.manager", TEST_PASSWORD)
    page.goto(live_server.url + reverse("assessments:questionnaire_detail", args=[draft.pk]))
    impact = page.get_by_role("region", name="Impact before publishing")
    assert impact.locator("#impact-weekly-now").inner_text() == "£37.09"
    assert impact.locator("#impact-weekly-new").inner_text() == "£46.36"
    assert page.get_by_role("button", name="Publish").is_visible()
    impact.get_by_role("link", name="The full impact").click()
    page.get_by_role("heading", name="What Test SAQ, version 2 would do").wait_for()
    biggest = page.get_by_role("table", name="The biggest changes").inner_text()
    assert "£37.09" in biggest and "£46.36" in biggest and "£9.27" in biggest


def test_the_impact_pages_have_no_serious_accessibility_violations(
    axe_page, live_server, draft, senior_manager
):
    page = axe_page
    log_in(page, live_server, "senior.manager", TEST_PASSWORD)
    page.goto(live_server.url + reverse("assessments:questionnaire_detail", args=[draft.pk]))
    assert axe_violations(page) == [], "draft questionnaire with its impact"
    page.goto(live_server.url + reverse("allocations:questionnaire_impact", args=[draft.pk]))
    assert axe_violations(page) == [], "questionnaire impact"
