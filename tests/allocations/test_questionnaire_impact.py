"""Issue 11, impact before approval: a draft questionnaire version's effect on everyone's
current budget before it is published — each person's answers scored as the draft would score
them (same question code, option at the same order), under the policy in force, every other
fact as now; the policy impact's rows, tallies and CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from allocations.models import IndicativeBudget
from allocations.selectors import repricing
from allocations.selectors.repricing import (
    NO_POLICY_FOR_IMPACT,
    NOT_QUESTIONNAIRE_IMPACT_READER,
    ImpactUnavailable,
    policy_impact,
    questionnaire_impact,
)
from assessments.models import AnswerOption, Question
from assessments.services.assessments import assessment_start, assessment_submit
from assessments.services.people import person_update
from assessments.services.questionnaires import questionnaire_copy_to_draft, questionnaire_publish
from tests.factories import complete_assessment, make_person

pytestmark = pytest.mark.django_db
Status = IndicativeBudget.Status

NORTH, SOUTH = "North Locality Team", "South Locality Team"

# Each person's answers (the option at this index of every question: 0, 2 or 5 points) and
# the other facts of their assessment and circumstances.
ANN = {
    "option_index": 1,
    "informal_support": "some",
    "carer_assessed": True,
    "carer_able_and_willing": True,
    "carer_impact": "moderate",
}
BEN = {"option_index": 2}
CY = {"option_index": 0}


def _assess(person, worker, answers: dict):
    draft = assessment_start(actor=worker, person=person, supported_by="self")
    ready = complete_assessment(draft, worker, **answers)
    return assessment_submit(actor=worker, assessment=ready, lock_version=ready.lock_version)


@pytest.fixture
def people(policy, questionnaire, worker_a, worker_b):
    """Three people assessed on version 1 (4 questions s1_q1, s1_q2, s2_q1, s2_q2; options
    worth 0, 2 and 5), budgets under the spec policy (£4.88 a point, learning disability
    ×1.10, contingency 5% to £100 then 10% to £300, marginally; an existing package kept).

    Ann, older, North: "some help" everywhere = 8 points; some informal support from an
    assessed carer, able and willing, moderate impact: 10% × 0.5 = 5% off → 7.6 points ×
    4.88 = 37.088 → 37.09, less 5% (1.8545 → 1.85) = 35.24 a week.
    Ben, learning disability, North: "lots of help" everywhere = 20 points × 4.88 × 1.10 =
    107.36; contingency 100 × 5% + 7.36 × 10% = 5.736 → 5.74 → 101.62 a week.
    Cy, older, South: "no help" everywhere = 0 points, an existing package of £50.00 kept
    (transitional protection) → 50.00 a week."""
    ann = make_person(actor=worker_a, existing_weekly_cost_gbp=None, given_name="Ann")
    ben = make_person(
        actor=worker_a,
        existing_weekly_cost_gbp=None,
        client_group="learning_disability",
        given_name="Ben",
    )
    cy = make_person(actor=worker_b, existing_weekly_cost_gbp=Decimal("50.00"), given_name="Cy")
    for person, worker, answers in ((ann, worker_a, ANN), (ben, worker_a, BEN), (cy, worker_b, CY)):
        _assess(person, worker, answers)
    weekly = {
        b.person_id: b.indicative_weekly_gbp
        for b in IndicativeBudget.objects.filter(status=Status.CURRENT)
    }
    assert [weekly[p.pk] for p in (ann, ben, cy)] == [
        Decimal("35.24"),
        Decimal("101.62"),
        Decimal("50.00"),
    ]
    return SimpleNamespace(ann=ann, ben=ben, cy=cy)


def _option(version, code: str, order: int) -> AnswerOption:
    return AnswerOption.objects.get(question__version=version, question__code=code, order=order)


def _reprice(option: AnswerOption, points: str) -> None:
    option.points = Decimal(points)
    option.save()


@pytest.fixture
def draft(questionnaire, ras_admin):
    """Version 2, a draft copy of version 1 (by the RAS administrator) with two options
    re-weighted: s1_q1 "some help" 2 → 4 points, s2_q2 "lots of help" 5 → 3 points."""
    version = questionnaire_copy_to_draft(actor=ras_admin, version=questionnaire)
    _reprice(_option(version, "s1_q1", 2), "4")
    _reprice(_option(version, "s2_q2", 3), "3")
    return version


def _by_person(preview):
    return {row.person_id: row for row in preview.rows}


def test_a_drafts_impact_worked_by_hand(people, draft, senior_manager):
    """Ann: 2 + 4 more on s1_q1 = 10 points, less 5% = 9.5 × 4.88 = 46.36, less 5% (2.318 →
    2.32) = 44.04 (up 8.80). Ben: 20 − 2 on s2_q2 = 18 points × 4.88 × 1.10 = 96.624 → 96.62,
    less 5% (4.831 → 4.83) = 91.79 (down 9.83; fewer points, so no manager's decision). Cy:
    still 0 points, still the £50.00 package (same)."""
    impact = questionnaire_impact(user=senior_manager, version=draft)
    rows = _by_person(impact)
    ann, ben, cy = rows[people.ann.pk], rows[people.ben.pk], rows[people.cy.pk]
    assert (ann.result.raw_points, ann.result.indicative_weekly) == (10, Decimal("44.04"))
    assert (ben.result.raw_points, ben.result.indicative_weekly) == (18, Decimal("91.79"))
    assert (cy.result.raw_points, cy.result.indicative_weekly) == (0, Decimal("50.00"))
    assert (ann.change, ben.change, cy.change) == (Decimal("8.80"), Decimal("-9.83"), 0)
    assert not ben.flagged
    # The triggers their budgets recorded are kept (Ben's "lots of help" carries one).
    assert ben.result.triggers == ("dfg",)

    total = impact.total
    assert (total.people, total.up, total.same, total.down, total.errors) == (3, 1, 1, 1, 0)
    assert total.weekly_now == Decimal("186.86")  # 35.24 + 101.62 + 50.00
    assert total.weekly_new == Decimal("185.83")  # 44.04 + 91.79 + 50.00
    assert total.weekly_difference == Decimal("-1.03")
    assert total.annual_difference == Decimal("-1.03") * 52
    assert (total.weekly_gain, total.weekly_loss) == (Decimal("8.80"), Decimal("-9.83"))
    north, south = impact.by_team[NORTH], impact.by_team[SOUTH]
    assert (north.people, north.up, north.down, north.weekly_difference) == (
        2,
        1,
        1,
        Decimal("-1.03"),
    )
    assert (south.people, south.same) == (1, 1)
    assert impact.by_client_group["Learning disability"].weekly_loss == Decimal("-9.83")
    assert impact.largest_changes(1)[0].person_id == people.ben.pk
    assert (impact.needs_reassessment, impact.with_unanswered) == (0, 0)
    assert impact.policy.name == "Spec example"  # the policy in force
    assert not IndicativeBudget.objects.filter(status=Status.CURRENT, raw_points=10).exists()


def test_the_impact_is_what_reassessing_them_on_the_published_draft_gives(
    people, draft, senior_manager, worker_a, worker_b
):
    """Publish the draft, reassess the same three people giving the same answers and facts:
    budget_for_assessment (run on submit) gives each the figure the preview said."""
    impact = questionnaire_impact(user=senior_manager, version=draft)
    published = questionnaire_publish(actor=senior_manager, version=draft)
    assert published.is_published
    for person, worker, answers in (
        (people.ann, worker_a, ANN),
        (people.ben, worker_a, BEN),
        (people.cy, worker_b, CY),
    ):
        assessment = _assess(person, worker, answers)
        assert assessment.questionnaire_id == draft.pk
    new = {b.person_id: b for b in IndicativeBudget.objects.filter(assessment__questionnaire=draft)}
    assert set(new) == {people.ann.pk, people.ben.pk, people.cy.pk}
    for row in impact.rows:
        assert row.result.indicative_weekly == new[row.person_id].indicative_weekly_gbp
        assert row.result.annual == new[row.person_id].annual_gbp
        assert row.result.raw_points == new[row.person_id].raw_points
    assert impact.total.weekly_new == sum(b.indicative_weekly_gbp for b in new.values())
    assert impact.total.annual_new == sum(b.annual_gbp for b in new.values())


def test_an_identical_draft_is_a_re_pricing_of_the_same_people(
    people, questionnaire, ras_admin, policy, senior_manager
):
    copy = questionnaire_copy_to_draft(actor=ras_admin, version=questionnaire)
    impact = questionnaire_impact(user=senior_manager, version=copy)
    same = policy_impact(user=senior_manager, policy=policy)
    assert [(r.person_id, r.result) for r in impact.rows] == [
        (r.person_id, r.result) for r in same.rows
    ]
    assert impact.total == same.total
    assert (impact.total.people, impact.total.same) == (3, 3)


def test_an_answer_to_a_question_the_draft_removed_needs_reassessment(
    people, draft, senior_manager
):
    Question.objects.get(version=draft, code="s2_q2").delete()
    impact = questionnaire_impact(user=senior_manager, version=draft)
    # Everyone answered s2_q2: nobody's figure is guessed.
    assert {row.error for row in impact.rows} == {
        "needs reassessment: question s2_q2 is not in the draft"
    }
    assert (impact.total.people, impact.total.errors, impact.needs_reassessment) == (3, 3, 3)
    assert impact.total.weekly_new == 0 and impact.largest_changes() == []
    assert impact.scoring.removed_questions == ["s2_q2"]


def test_an_answer_the_draft_has_no_option_for_needs_reassessment(people, draft, senior_manager):
    """Only Ben chose "lots of help" (option 3) on s1_q1; the draft drops it. Ann and Cy are
    worked out as before (44.04 and 50.00)."""
    _option(draft, "s1_q1", 3).delete()
    impact = questionnaire_impact(user=senior_manager, version=draft)
    rows = _by_person(impact)
    assert rows[people.ben.pk].result is None
    assert rows[people.ben.pk].error == (
        "needs reassessment: their answer to question s1_q1 (option 3) is not in the draft"
    )
    assert rows[people.ann.pk].result.indicative_weekly == Decimal("44.04")
    assert (impact.total.errors, impact.needs_reassessment, impact.total.up) == (1, 1, 1)
    assert impact.total.weekly_new == Decimal("94.04")  # 44.04 + 50.00
    assert impact.scoring.missing_options == [("s1_q1", 3)]


def test_a_new_question_nobody_answered_scores_0_and_is_counted(
    client, people, draft, senior_manager
):
    section = draft.sections.get(code="s2")
    question = Question.objects.create(section=section, order=3, code="s2_q3", text="New?")
    AnswerOption.objects.create(question=question, order=1, label="Yes", points=Decimal("9"))
    impact = questionnaire_impact(user=senior_manager, version=draft)
    assert [row.unanswered for row in impact.rows] == [1, 1, 1]
    assert impact.with_unanswered == 3
    assert impact.scoring.new_questions == ["s2_q3"]
    # Scored 0: the figures are the hand-worked ones without it.
    assert impact.total.weekly_new == Decimal("185.83")

    client.force_login(senior_manager)
    page = client.get(reverse("allocations:questionnaire_impact", args=[draft.pk])).text
    assert "3 people</strong> never answered some of this version" in page
    assert "New questions: s2_q3." in page


def test_the_portable_path_scores_the_draft_as_the_sql_does(
    people, draft, senior_manager, monkeypatch
):
    _option(draft, "s1_q1", 3).delete()
    Question.objects.get(version=draft, code="s1_q2").delete()
    Question.objects.get(version=draft, code="s2_q1").delete()
    by_sql = questionnaire_impact(user=senior_manager, version=draft).rows
    monkeypatch.setattr(repricing, "connection", SimpleNamespace(vendor="sqlite"))
    portable = questionnaire_impact(user=senior_manager, version=draft).rows
    assert portable == by_sql
    rows = {row.person_id: row for row in by_sql}
    # The first and the last reason, alphabetically, and how many more.
    assert rows[people.ben.pk].error == (
        "needs reassessment: question s1_q2 is not in the draft; "
        "their answer to question s1_q1 (option 3) is not in the draft and 1 more"
    )
    assert rows[people.ann.pk].error == (
        "needs reassessment: question s1_q2 is not in the draft; question s2_q1 is not in the draft"
    )


@pytest.mark.parametrize("extra", [0, 7])
def test_the_impact_is_a_constant_number_of_queries(
    extra, people, draft, worker_b, senior_manager, django_assert_num_queries
):
    for _ in range(extra):
        _assess(make_person(actor=worker_b, existing_weekly_cost_gbp=None), worker_b, BEN)
    senior_manager.has_perm("allocations.view_raspolicy")  # permissions cached, as in a request
    # The policy in force; the draft's questions and options; the options of the versions in
    # use; then (PostgreSQL) a savepoint, SET LOCAL jit = off, the one query, the release.
    with django_assert_num_queries(7):
        impact = questionnaire_impact(user=senior_manager, version=draft)
    assert impact.total.people == 3 + extra


def test_no_policy_in_force_is_said_plainly(client, questionnaire, ras_admin, senior_manager):
    version = questionnaire_copy_to_draft(actor=ras_admin, version=questionnaire)
    with pytest.raises(ImpactUnavailable, match=NO_POLICY_FOR_IMPACT):
        questionnaire_impact(user=senior_manager, version=version)
    client.force_login(senior_manager)
    page = client.get(reverse("assessments:questionnaire_detail", args=[version.pk]))
    assert escape(NO_POLICY_FOR_IMPACT) in page.text
    response = client.get(reverse("allocations:questionnaire_impact", args=[version.pk]))
    assert response.status_code == 302
    assert response.url == reverse("assessments:questionnaire_detail", args=[version.pk])


def test_the_csv_lists_everyone_with_errors(client, people, draft, auditor):
    _option(draft, "s1_q1", 3).delete()
    client.force_login(auditor)
    url = reverse("allocations:questionnaire_impact", args=[draft.pk])
    response = client.get(url, {"format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="impact-questionnaire-{draft.pk}.csv"' in response["Content-Disposition"]
    rows = {r["reference"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert set(rows) == {people.ann.reference, people.ben.reference, people.cy.reference}
    ann, ben = rows[people.ann.reference], rows[people.ben.reference]
    assert (ann["current_weekly"], ann["new_weekly"], ann["change"]) == ("35.24", "44.04", "up")
    assert (ben["new_weekly"], ben["change"]) == ("", "error")
    assert ben["error"] == (
        "needs reassessment: their answer to question s1_q1 (option 3) is not in the draft"
    )


@pytest.mark.parametrize("role", ["ras_admin", "senior_manager", "auditor"])
def test_ras_administrators_senior_managers_and_auditors_see_the_impact(
    client, people, draft, role, request
):
    client.force_login(request.getfixturevalue(role))
    page = client.get(reverse("allocations:questionnaire_impact", args=[draft.pk]))
    assert page.status_code == 200
    text = page.text
    assert 'id="impact-people">3<' in text
    assert 'id="impact-weekly-new">£185.83<' in text
    assert NORTH in text and "The biggest changes" in text and "Learning disability" in text
    assert "as if they were reassessed on Test SAQ, version 2" in text
    detail = client.get(reverse("assessments:questionnaire_detail", args=[draft.pk])).text
    assert "Impact before publishing" in detail
    assert reverse("allocations:questionnaire_impact", args=[draft.pk]) in detail


@pytest.mark.parametrize("role", ["worker_a", "manager_a", "panel_member", "panel_chair"])
def test_team_and_panel_roles_are_refused_the_impact(client, people, draft, role, request):
    user = request.getfixturevalue(role)
    client.force_login(user)
    url = reverse("allocations:questionnaire_impact", args=[draft.pk])
    assert client.get(url).status_code == 403
    assert client.get(url + "?format=csv").status_code == 403
    detail = client.get(reverse("assessments:questionnaire_detail", args=[draft.pk]))
    assert detail.status_code == 200
    assert "impact-summary" not in detail.text and url not in detail.text
    with pytest.raises(PermissionDenied, match=NOT_QUESTIONNAIRE_IMPACT_READER):
        questionnaire_impact(user=user, version=draft)


def test_anonymous_visitors_are_sent_to_log_in(client, draft):
    response = client.get(reverse("allocations:questionnaire_impact", args=[draft.pk]))
    assert response.status_code == 302 and "login" in response.url


def test_no_such_version_is_404(client, auditor):
    client.force_login(auditor)
    url = reverse("allocations:questionnaire_impact", args=[999999])
    assert client.get(url).status_code == 404


def test_the_publisher_sees_the_impact_above_the_publish_button(
    client, people, draft, senior_manager
):
    client.force_login(senior_manager)
    page = client.get(reverse("assessments:questionnaire_detail", args=[draft.pk])).text
    assert "Publish</button>" in page
    assert page.index("Impact before publishing") < page.index("Publish</button>")
    assert 'id="impact-weekly-now">£186.86<' in page
    assert 'id="impact-weekly-new">£185.83<' in page
    assert 'id="impact-up">1<' in page and 'id="impact-down">1<' in page
    assert 'id="impact-weekly-gain">£8.80<' in page and 'id="impact-weekly-loss">−£9.83<' in page
    assert "under Spec example, the policy in force today" in page
    assert "impact-needs-reassessment" not in page and "impact-unanswered" not in page
    # Publishing is as before.
    response = client.post(reverse("assessments:questionnaire_publish", args=[draft.pk]))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published


def test_a_published_versions_page_shows_no_impact(client, people, questionnaire, senior_manager):
    client.force_login(senior_manager)
    page = client.get(reverse("assessments:questionnaire_detail", args=[questionnaire.pk])).text
    assert "Impact before publishing" not in page and "impact-summary" not in page


def test_the_detail_page_notes_those_who_need_reassessing(client, people, draft, ras_admin):
    Question.objects.get(version=draft, code="s2_q2").delete()
    client.force_login(ras_admin)
    page = client.get(reverse("assessments:questionnaire_detail", args=[draft.pk])).text
    assert "3 people</strong> gave an answer this version has no place for" in page
    assert "Questions in use that this version removes: s2_q2." in page


def _count_previews(monkeypatch) -> list:
    """Count the times the rows are worked out (each impact preview works them out once)."""
    calls: list = []
    real = repricing.repricing_pages

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(repricing, "repricing_pages", counted)
    return calls


def test_a_drafts_page_keeps_its_summary_until_what_it_reads_changes(
    client, people, draft, senior_manager, worker_b, monkeypatch
):
    calls = _count_previews(monkeypatch)
    client.force_login(senior_manager)
    url = reverse("assessments:questionnaire_detail", args=[draft.pk])
    assert 'id="impact-weekly-new">£185.83<' in client.get(url).text
    assert 'id="impact-weekly-new">£185.83<' in client.get(url).text
    assert len(calls) == 1  # the second visit read the kept summary

    # Cy's existing package rises to £60.00, kept under the draft: 185.83 + 10.00.
    person_update(
        actor=worker_b, person=people.cy, data={"existing_weekly_cost_gbp": Decimal("60.00")}
    )
    assert 'id="impact-weekly-new">£195.83<' in client.get(url).text
    # The draft changes again, s1_q1 "some help" 4 → 6: Ann 12 points, less 5% = 11.4 × 4.88 =
    # 55.632 → 55.63, less 5% (2.7815 → 2.78) = 52.85, 8.81 more than 44.04: 204.64.
    _reprice(_option(draft, "s1_q1", 2), "6")
    assert 'id="impact-weekly-new">£204.64<' in client.get(url).text
    assert len(calls) == 3


def test_a_draft_policys_page_keeps_its_summary_until_what_it_reads_changes(
    client, people, ras_admin, senior_manager, monkeypatch
):
    """A draft at £5.00 a point: Ann 7.6 × 5.00 = 38.00, less 5% = 36.10; Ben 20 × 5.00 ×
    1.10 = 110.00, less 5.00 + 1.00 = 104.00; Cy keeps 50.00: 190.10. Edited to £6.00: Ann
    45.60 − 2.28 = 43.32; Ben 132.00 − (5.00 + 3.20) = 123.80; Cy 50.00: 217.12."""
    from allocations.services.policies import policy_update_draft
    from tests.factories import make_policy

    policy = make_policy(
        ras_admin,
        name="Draft",
        effective_from=timezone.localdate(),
        price_per_point_gbp=Decimal("5.00"),
    )
    calls = _count_previews(monkeypatch)
    client.force_login(senior_manager)
    url = reverse("allocations:policy_detail", args=[policy.pk])
    assert 'id="impact-weekly-new">£190.10<' in client.get(url).text
    assert 'id="impact-weekly-new">£190.10<' in client.get(url).text
    assert len(calls) == 1
    policy_update_draft(actor=ras_admin, policy=policy, data={"price_per_point_gbp": Decimal("6")})
    assert 'id="impact-weekly-new">£217.12<' in client.get(url).text
    assert len(calls) == 2
