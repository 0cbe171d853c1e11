"""A social worker completes the whole default questionnaire with the keyboard alone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from assessments.demo import DEMO_PASSWORD
from assessments.models import AnswerOption, Assessment, Person, QuestionnaireVersion
from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def tab_to(page, predicate: str, limit: int = 400) -> None:
    """Press Tab until the focused element satisfies the JS predicate `el => ...`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(({predicate}))(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element matching {predicate}")


def activate(page) -> None:
    """Press Enter on the focused link or button and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_worker_completes_the_default_questionnaire_with_the_keyboard_only(page, live_server):
    call_command("seed_demo", quiet_logins=True)
    person = (
        Person.objects.filter(team__code="north", assessments__isnull=True)
        .order_by("reference")
        .first()
    )
    questionnaire = QuestionnaireVersion.objects.get(status="published")
    expected_total = sum(
        AnswerOption.objects.filter(question__version=questionnaire, order=2).values_list(
            "points", flat=True
        ),
        Decimal("0"),
    )

    log_in(page, live_server, "sw.north", DEMO_PASSWORD)
    page.goto(live_server.url + reverse("assessments:person_detail", args=[person.pk]))
    tab_to(page, "el => el.textContent.trim() === 'Start an assessment'")
    activate(page)
    tab_to(page, "el => el.type === 'radio'")
    page.keyboard.press("Space")  # the person on their own
    tab_to(page, "el => el.textContent.trim() === 'Start the assessment'")
    activate(page)

    sections = questionnaire.sections.count()
    for number in range(1, sections + 1):
        assert page.locator("#progress-label").inner_text() == (f"Section {number} of {sections}")
        questions = page.locator("fieldset[id^='question-']").count()
        for _ in range(questions):
            # Tab into the next unanswered radio group; the arrow key picks its second answer.
            tab_to(
                page,
                "el => el.type === 'radio' && !document.querySelector("
                "`input[name='${el.name}']:checked`)",
            )
            page.keyboard.press("ArrowDown")
        if number == 1:
            # The running total follows the answers chosen, before anything is saved.
            first_section = AnswerOption.objects.filter(
                question__section__version=questionnaire, question__section__order=1, order=2
            ).values_list("points", flat=True)
            expected = sum(first_section, Decimal("0"))
            assert Decimal(page.locator("#running-total").inner_text()) == expected
        tab_to(page, "el => el.textContent.trim() === 'Save and continue'")
        activate(page)

    page.get_by_role("heading", name="Informal support").wait_for()
    tab_to(page, "el => el.name === 'informal_support'")
    page.keyboard.press("Space")  # no unpaid support
    tab_to(page, "el => el.textContent.trim() === 'Save and continue'")
    activate(page)

    page.get_by_role("heading", name="Eligibility", exact=True).wait_for()
    tab_to(page, "el => el.name === 'impairment_or_illness'")
    page.keyboard.press("Space")  # yes
    for outcome in ("nutrition", "hygiene", "toilet"):
        tab_to(page, f"el => el.name === 'outcome_{outcome}'")
        page.keyboard.press("Space")  # unable without help
    tab_to(page, "el => el.name === 'significant_impact'")
    page.keyboard.press("Space")  # yes
    tab_to(page, "el => el.name === 'reasons'")
    page.keyboard.type("Needs help with meals, washing and the toilet every day.")
    tab_to(page, "el => el.textContent.trim() === 'Save and continue'")
    activate(page)

    page.get_by_role("heading", name=f"Check your answers: {person.full_name}").wait_for()
    assert "Eligible for care and support" in page.locator("#eligibility-result").inner_text()
    tab_to(page, "el => el.textContent.trim() === 'Submit the assessment'")
    activate(page)

    page.get_by_text("The assessment has been submitted.").wait_for()
    assert Decimal(page.locator("#total-points").inner_text()) == expected_total
    assessment = Assessment.objects.get(person=person)
    assert assessment.status == Assessment.Status.SUBMITTED
    assert assessment.answers.count() == questionnaire.questions.count()


def test_assessment_pages_have_no_serious_accessibility_violations(axe_page, live_server, draft_a):
    page = axe_page
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    for number, name in [(1, "section"), (3, "informal support"), (4, "eligibility")]:
        page.goto(
            live_server.url + reverse("assessments:assessment_step", args=[draft_a.pk, number])
        )
        assert axe_violations(page) == [], name
    page.goto(live_server.url + reverse("assessments:assessment_summary", args=[draft_a.pk]))
    assert axe_violations(page) == [], "summary"
    page.goto(
        live_server.url
        + reverse("assessments:questionnaire_detail", args=[draft_a.questionnaire_id])
    )
    assert axe_violations(page) == [], "questionnaire"
