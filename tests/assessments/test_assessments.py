"""The assessment a social worker completes with a person: transitions, conflicts, pages."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from assessments.models import Answer, Assessment, PersonAccess
from assessments.services.assessments import (
    ALREADY_OPEN,
    ELIGIBILITY_MISSING,
    INFORMAL_SUPPORT_MISSING,
    NO_PUBLISHED_QUESTIONNAIRE,
    AssessmentIncomplete,
    AssessmentLocked,
    assessment_save_informal_support,
    assessment_save_section,
    assessment_start,
    assessment_submit,
    assessment_withdraw,
)
from assessments.services.concurrency import ConcurrentEdit
from assessments.services.questionnaires import questionnaire_retire
from assessments.workflows import IllegalTransition
from tests.factories import answer_everything, complete_assessment, make_person

pytestmark = pytest.mark.django_db
Status = Assessment.Status


def _options(section):
    return {q.code: list(q.options.all()) for q in section.questions.prefetch_related("options")}


# --- starting --------------------------------------------------------------------------------


def test_start_uses_the_published_questionnaire(draft_a, questionnaire, worker_a):
    assert draft_a.status == Status.DRAFT
    assert draft_a.questionnaire == questionnaire
    assert draft_a.started_by == worker_a
    assert draft_a.history.get().history_user == worker_a


def test_one_open_assessment_per_person(draft_a, worker_a, person_a):
    with pytest.raises(AssessmentLocked, match="already has an assessment in progress"):
        assessment_start(actor=worker_a, person=person_a, supported_by="self")
    # The database holds the rule too, whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.create(
            person=person_a,
            questionnaire=draft_a.questionnaire,
            supported_by="self",
            started_by=worker_a,
            updated_by=worker_a,
        )
    assert ALREADY_OPEN.format(person="x")


def test_start_needs_a_published_questionnaire(person_a, worker_a, ras_admin, questionnaire):
    questionnaire_retire(actor=ras_admin, version=questionnaire)
    with pytest.raises(AssessmentLocked) as caught:
        assessment_start(actor=worker_a, person=person_a, supported_by="self")
    assert str(caught.value) == NO_PUBLISHED_QUESTIONNAIRE


def test_start_is_refused_to_other_teams_and_read_only_roles(
    person_a, worker_b, auditor, questionnaire
):
    for actor in (worker_b, auditor):
        with pytest.raises(PermissionDenied):
            assessment_start(actor=actor, person=person_a, supported_by="self")
    assert not Assessment.objects.exists()


# --- saving ----------------------------------------------------------------------------------


def test_save_section_part_way_and_history(draft_a, worker_a, manager_a):
    section = draft_a.questionnaire.sections.first()
    options = _options(section)
    q1 = section.questions.get(code="s1_q1")
    saved = assessment_save_section(
        actor=worker_a,
        assessment=draft_a,
        section=section,
        answers={q1.pk: (options["s1_q1"][2].pk, "Seen at home visit")},
        lock_version=draft_a.lock_version,
    )
    assert saved.lock_version == draft_a.lock_version + 1
    answer = Answer.objects.get()
    assert (answer.option.points, answer.evidence) == (Decimal("5"), "Seen at home visit")
    assessment_save_section(
        actor=manager_a,
        assessment=saved,
        section=section,
        answers={q1.pk: (options["s1_q1"][1].pk, "")},
        lock_version=saved.lock_version,
    )
    history = list(answer.history.order_by("history_id"))
    assert [(h.history_user, h.option_id) for h in history] == [
        (worker_a, options["s1_q1"][2].pk),
        (manager_a, options["s1_q1"][1].pk),
    ]


def test_an_option_from_another_question_is_refused(draft_a, worker_a):
    section = draft_a.questionnaire.sections.first()
    options = _options(section)
    q1 = section.questions.get(code="s1_q1")
    with pytest.raises(ValidationError):
        assessment_save_section(
            actor=worker_a,
            assessment=draft_a,
            section=section,
            answers={q1.pk: (options["s1_q2"][0].pk, "")},
            lock_version=draft_a.lock_version,
        )
    assert not Answer.objects.exists()


def test_second_save_from_a_stale_page_is_refused_naming_who_changed_it(
    draft_a, worker_a, manager_a
):
    section = draft_a.questionnaire.sections.first()
    options = _options(section)
    q1 = section.questions.get(code="s1_q1")
    loaded = draft_a.lock_version  # both open the page at this version
    assessment_save_section(
        actor=manager_a,
        assessment=draft_a,
        section=section,
        answers={q1.pk: (options["s1_q1"][1].pk, "")},
        lock_version=loaded,
    )
    with pytest.raises(ConcurrentEdit, match="Manager.A changed this assessment at"):
        assessment_save_section(
            actor=worker_a,
            assessment=draft_a,
            section=section,
            answers={q1.pk: (options["s1_q1"][2].pk, "")},
            lock_version=loaded,
        )
    assert Answer.objects.get().option == options["s1_q1"][1]


def test_informal_support_needs_the_carer_answers(draft_a, worker_a):
    with pytest.raises(ValidationError) as caught:
        assessment_save_informal_support(
            actor=worker_a,
            assessment=draft_a,
            lock_version=draft_a.lock_version,
            informal_support="some",
            carer_assessed=True,
            carer_able_and_willing=None,
            carer_impact="",
        )
    assert set(caught.value.message_dict) == {"carer_able_and_willing", "carer_impact"}
    saved = assessment_save_informal_support(
        actor=worker_a,
        assessment=draft_a,
        lock_version=draft_a.lock_version,
        informal_support="none",
        carer_assessed=True,
        carer_able_and_willing=True,
        carer_impact="high",
    )
    assert (saved.carer_assessed, saved.carer_impact) == (None, "")


# --- submitting, superseding, withdrawing ----------------------------------------------------


def test_submit_names_each_unanswered_question(draft_a, worker_a):
    section = draft_a.questionnaire.sections.first()
    options = _options(section)
    q1 = section.questions.get(code="s1_q1")
    draft = assessment_save_section(
        actor=worker_a,
        assessment=draft_a,
        section=section,
        answers={q1.pk: (options["s1_q1"][0].pk, "")},
        lock_version=draft_a.lock_version,
    )
    with pytest.raises(AssessmentIncomplete) as caught:
        assessment_submit(actor=worker_a, assessment=draft, lock_version=draft.lock_version)
    assert caught.value.problems == [
        "Not answered: “Question 1.2?” (Section 1).",
        "Not answered: “Question 2.1?” (Section 2).",
        "Not answered: “Question 2.2?” (Section 2).",
        INFORMAL_SUPPORT_MISSING,
        ELIGIBILITY_MISSING,
    ]
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_submit_locks_the_assessment(draft_a, worker_a):
    ready = complete_assessment(draft_a, worker_a)
    submitted = assessment_submit(actor=worker_a, assessment=ready, lock_version=ready.lock_version)
    assert (submitted.status, submitted.submitted_by) == (Status.SUBMITTED, worker_a)
    assert submitted.history.latest().history_user == worker_a
    section = submitted.questionnaire.sections.first()
    with pytest.raises(AssessmentLocked, match="has been submitted"):
        assessment_save_section(
            actor=worker_a,
            assessment=submitted,
            section=section,
            answers={},
            lock_version=submitted.lock_version,
        )
    with pytest.raises(AssessmentLocked):
        assessment_submit(actor=worker_a, assessment=submitted, lock_version=submitted.lock_version)
    with pytest.raises(AssessmentLocked):
        assessment_withdraw(actor=worker_a, assessment=submitted, reason="Oops")


def test_reassessment_supersedes_the_previous_one(draft_a, worker_a, person_a):
    first = complete_assessment(draft_a, worker_a)
    first = assessment_submit(actor=worker_a, assessment=first, lock_version=first.lock_version)
    second = assessment_start(actor=worker_a, person=person_a, supported_by="self")
    first.refresh_from_db()
    assert first.status == Status.SUBMITTED  # still in force until the new one is submitted
    second = complete_assessment(second, worker_a)
    assessment_submit(actor=worker_a, assessment=second, lock_version=second.lock_version)
    first.refresh_from_db()
    assert (first.status, first.superseded_by) == (Status.SUPERSEDED, second)
    assert first.answers.count() == 4  # still readable
    with pytest.raises(IllegalTransition):
        Assessment.WORKFLOW.move(first, Status.SUBMITTED)
    first.status = Status.SUBMITTED  # the same move by a plain save (the admin, a script)
    with pytest.raises(IllegalTransition):
        first.save()


def test_withdraw_keeps_the_assessment_with_its_reason(draft_a, worker_a, person_a):
    with pytest.raises(ValidationError):
        assessment_withdraw(actor=worker_a, assessment=draft_a, reason=" ")
    withdrawn = assessment_withdraw(actor=worker_a, assessment=draft_a, reason="Wrong person")
    assert (withdrawn.status, withdrawn.withdrawn_reason) == (Status.WITHDRAWN, "Wrong person")
    # A new assessment can start once the draft is withdrawn.
    assert assessment_start(actor=worker_a, person=person_a, supported_by="self").is_draft


# --- pages: permission matrix ----------------------------------------------------------------


def _urls(assessment):
    return {
        "summary": reverse("assessments:assessment_summary", args=[assessment.pk]),
        "step": reverse("assessments:assessment_step", args=[assessment.pk, 1]),
        "submit": reverse("assessments:assessment_submit", args=[assessment.pk]),
        "withdraw": reverse("assessments:assessment_withdraw", args=[assessment.pk]),
        "start": reverse("assessments:assessment_start", args=[assessment.person_id]),
    }


def test_anonymous_is_sent_to_login(client, draft_a):
    for url in _urls(draft_a).values():
        assert client.get(url).status_code == 302


def test_other_team_gets_404_everywhere(client, draft_a, worker_b):
    client.force_login(worker_b)
    for name, url in _urls(draft_a).items():
        method = client.post if name == "submit" else client.get
        assert method(url).status_code == 404, name


@pytest.mark.parametrize("role", ["auditor", "senior_manager", "ras_admin"])
def test_read_only_roles_read_but_cannot_change(client, draft_a, role, request):
    client.force_login(request.getfixturevalue(role))
    urls = _urls(draft_a)
    summary = client.get(urls["summary"])
    assert summary.status_code == 200
    assert "Submit the assessment" not in summary.text
    assert client.get(urls["step"]).status_code == 403
    assert client.post(urls["step"], {"lock_version": 1}).status_code == 403
    assert client.post(urls["submit"], {"lock_version": 1}).status_code == 403
    assert client.get(urls["withdraw"]).status_code == 403
    assert client.get(urls["start"]).status_code == 403


def test_worker_starts_an_assessment_from_the_persons_page(
    client, person_a, worker_a, questionnaire
):
    client.force_login(worker_a)
    page = client.get(reverse("assessments:person_detail", args=[person_a.pk])).text
    assert "Start an assessment" in page
    response = client.post(
        reverse("assessments:assessment_start", args=[person_a.pk]), {"supported_by": "advocate"}
    )
    assessment = Assessment.objects.get()
    assert response.url == reverse("assessments:assessment_step", args=[assessment.pk, 1])
    assert assessment.supported_by == "advocate"
    page = client.get(reverse("assessments:person_detail", args=[person_a.pk])).text
    assert "Resume the assessment" in page
    assert "Start a reassessment" not in page


def test_section_page_shows_progress_points_and_fieldsets(client, draft_a, worker_a):
    client.force_login(worker_a)
    page = client.get(reverse("assessments:assessment_step", args=[draft_a.pk, 2])).text
    assert "Section 2 of 2" in page  # then informal support and eligibility
    assert page.count("<fieldset") == 2
    assert "<legend" in page and "1. Question 2.1?" in page
    assert "(5 points)" in page
    assert re.search(r'id="running-total"[^>]*>0<', page)
    assert PersonAccess.objects.filter(page="assessment").count() == 1


def test_save_and_continue_then_back_then_exit(client, draft_a, worker_a):
    client.force_login(worker_a)
    section = draft_a.questionnaire.sections.get(order=1)
    options = _options(section)
    q1, q2 = section.questions.all()
    url = reverse("assessments:assessment_step", args=[draft_a.pk, 1])
    data = {
        "lock_version": draft_a.lock_version,
        f"q_{q1.pk}": options["s1_q1"][2].pk,
        f"evidence_{q1.pk}": "From the GP letter",
        f"q_{q2.pk}": options["s1_q2"][1].pk,
        "action": "next",
    }
    response = client.post(url, data)
    assert response.url == reverse("assessments:assessment_step", args=[draft_a.pk, 2])
    page = client.get(response.url).text
    assert re.search(r'id="running-total"[^>]*>7<', page)
    step2 = reverse("assessments:assessment_step", args=[draft_a.pk, 2])
    back = client.post(step2, {"lock_version": draft_a.lock_version + 1, "action": "back"})
    assert back.url == url
    exit_ = client.post(url, {**data, "lock_version": draft_a.lock_version + 2, "action": "exit"})
    assert exit_.url == reverse("assessments:person_detail", args=[draft_a.person_id])


def test_evidence_without_an_answer_is_shown_beside_the_field(client, draft_a, worker_a):
    client.force_login(worker_a)
    q1 = draft_a.questionnaire.sections.get(order=1).questions.first()
    url = reverse("assessments:assessment_step", args=[draft_a.pk, 1])
    response = client.post(
        url, {"lock_version": draft_a.lock_version, f"evidence_{q1.pk}": "A note", "action": "next"}
    )
    assert response.status_code == 200
    assert "Choose an answer before adding an evidence note." in response.text
    assert f'id="id_evidence_{q1.pk}_error"' in response.text
    assert not Answer.objects.exists()


def test_conflicting_save_shows_who_and_keeps_what_was_typed(client, draft_a, worker_a, manager_a):
    section = draft_a.questionnaire.sections.get(order=1)
    options = _options(section)
    q1 = section.questions.get(code="s1_q1")
    url = reverse("assessments:assessment_step", args=[draft_a.pk, 1])
    stale = draft_a.lock_version
    # The manager saves first, in another browser.
    client.force_login(manager_a)
    client.post(url, {"lock_version": stale, f"q_{q1.pk}": options["s1_q1"][1].pk})
    # The worker saves from the page they loaded before.
    client.force_login(worker_a)
    typed = {
        "lock_version": stale,
        f"q_{q1.pk}": options["s1_q1"][2].pk,
        f"evidence_{q1.pk}": "My careful note",
        "action": "next",
    }
    response = client.post(url, typed)
    assert response.status_code == 200
    assert "Manager.A changed this assessment at" in response.text
    assert "My careful note" in response.text
    assert f'value="{options["s1_q1"][2].pk}" data-points="5" checked' in response.text
    assert "Latest saved answer: Some help" in response.text
    assert Answer.objects.get().option == options["s1_q1"][1]
    # Saving again, now knowingly, works.
    again = client.post(
        url, {**typed, "lock_version": response.context["form"].data["lock_version"]}
    )
    assert again.status_code == 302
    assert Answer.objects.get().option == options["s1_q1"][2]


def test_summary_lists_answers_with_change_links_and_submit_refusal(client, draft_a, worker_a):
    client.force_login(worker_a)
    summary_url = reverse("assessments:assessment_summary", args=[draft_a.pk])
    page = client.get(summary_url).text
    assert page.count("Not answered") >= 4
    assert reverse("assessments:assessment_step", args=[draft_a.pk, 2]) in page
    response = client.post(
        reverse("assessments:assessment_submit", args=[draft_a.pk]),
        {"lock_version": draft_a.lock_version},
        follow=True,
    )
    assert "Not answered: “Question 1.1?” (Section 1)." in response.text
    assert "Not answered: “Question 2.2?” (Section 2)." in response.text
    draft_a.refresh_from_db()
    assert draft_a.status == Status.DRAFT


def test_submitted_assessment_is_read_only_with_who_and_when(client, draft_a, worker_a):
    ready = complete_assessment(draft_a, worker_a)
    client.force_login(worker_a)
    response = client.post(
        reverse("assessments:assessment_submit", args=[ready.pk]),
        {"lock_version": ready.lock_version},
        follow=True,
    )
    assert "The assessment has been submitted." in response.text
    assert "by Worker.A" in response.text and 'id="submitted"' in response.text
    assert 'id="total-points">8<' in response.text  # four answers of 2 points
    assert "Eligible for care and support" in response.text
    assert "Submit the assessment" not in response.text
    step = client.get(reverse("assessments:assessment_step", args=[ready.pk, 1]))
    assert step.url == reverse("assessments:assessment_summary", args=[ready.pk])


def test_section_page_queries_do_not_grow_with_questions(
    client, worker_a, ras_admin, person_a, django_assert_max_num_queries
):
    from tests.factories import make_published_questionnaire

    def queries_for(questions):
        from assessments.models import QuestionnaireVersion

        QuestionnaireVersion.objects.filter(status="published").update(status="retired")
        make_published_questionnaire(ras_admin, questions=questions, title=f"Q{questions}")
        person = make_person(actor=worker_a)
        assessment = assessment_start(actor=worker_a, person=person, supported_by="self")
        answer_everything(assessment, worker_a)
        client.force_login(worker_a)
        url = reverse("assessments:assessment_step", args=[assessment.pk, 1])
        client.get(url)
        with django_assert_max_num_queries(30) as counted:
            client.get(url)
        return len(counted.captured_queries)

    assert queries_for(2) == queries_for(12)


def test_leaving_an_incomplete_eligibility_page_is_allowed_with_a_warning(
    client, draft_a, worker_a
):
    client.force_login(worker_a)
    url = reverse("assessments:assessment_step", args=[draft_a.pk, 4])
    response = client.post(url, {"lock_version": draft_a.lock_version, "action": "back"})
    assert response.url == reverse("assessments:assessment_step", args=[draft_a.pk, 3])
    response = client.post(
        url, {"lock_version": draft_a.lock_version, "action": "exit"}, follow=True
    )
    assert "“Eligibility” was not saved: it was not complete." in response.text
    from assessments.models import EligibilityDetermination

    assert not EligibilityDetermination.objects.exists()


def test_resume_opens_the_first_step_with_something_to_do(client, draft_a, worker_a):
    from tests.factories import answer_everything

    answer_everything(draft_a, worker_a)
    client.force_login(worker_a)
    page = client.get(reverse("assessments:person_detail", args=[draft_a.person_id])).text
    assert reverse("assessments:assessment_step", args=[draft_a.pk, 3]) in page


def test_resume_step_is_the_first_section_with_a_question_unanswered(
    draft_a, worker_a, django_assert_num_queries
):
    from assessments.selectors.assessments import assessment_resume_step
    from assessments.services.assessments import (
        assessment_save_informal_support,
        assessment_save_section,
    )

    sections = list(draft_a.questionnaire.sections.all())
    assert len(sections) >= 2
    with django_assert_num_queries(1):
        assert assessment_resume_step(assessment=draft_a) == 1
    # All of the first section but one question of the second: the second.
    first, second = sections[0], sections[1]
    for section, questions in ((first, None), (second, 1)):
        chosen = list(section.questions.prefetch_related("options"))[:questions]
        draft_a = assessment_save_section(
            actor=worker_a,
            assessment=draft_a,
            section=section,
            answers={q.pk: (q.options.all()[0].pk, "") for q in chosen},
            lock_version=draft_a.lock_version,
        )
    assert len(list(second.questions.all())) > 1
    assert assessment_resume_step(assessment=draft_a) == 2
    # Every question answered: informal support, then (once recorded) eligibility.
    draft_a = answer_everything(draft_a, worker_a)
    assert assessment_resume_step(assessment=draft_a) == len(sections) + 1
    draft_a = assessment_save_informal_support(
        actor=worker_a,
        assessment=draft_a,
        lock_version=draft_a.lock_version,
        informal_support="none",
        carer_assessed=None,
        carer_able_and_willing=None,
        carer_impact="",
    )
    assert assessment_resume_step(assessment=draft_a) == len(sections) + 2
