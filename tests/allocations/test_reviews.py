"""Reviews (issue 13, Care Act s.27): when an agreed budget falls due for review (the policy's
interval, or the panel's date), starting a review (with its reassessment) and recording its
outcome, the reviews due on "My work", and a person's page. Dates are fixed by travelling
forward to 31 Jan 2031, so each one below is worked by hand."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, InternalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from allocations.models import AgreedBudget, RasPolicy, Review
from allocations.selectors.reviews import (
    add_months,
    next_review_for_person,
    reviews_due,
)
from allocations.services.plans import plan_agree_by_panel, plan_authorise, plan_submit
from allocations.services.policies import policy_approve
from allocations.services.reviews import (
    ALREADY_DECIDED,
    ALREADY_OPEN,
    BUDGET_NO_LONGER_CURRENT,
    CHOOSE_OUTCOME,
    ONLY_CURRENT_REVIEWED,
    OWN_TEAM_ONLY,
    REASON_NEEDED,
    ROLE_CANNOT_REVIEW,
    ReviewStateError,
    review_decide,
    review_start,
)
from assessments.models import Assessment
from assessments.workflows import IllegalTransition
from tests.factories import (
    POLICY_FORM,
    date_parts,
    make_budgeted_person,
    make_plan,
    make_policy,
)

pytestmark = pytest.mark.django_db

AGREED_ON = datetime.date(2031, 1, 31)


def at(day: datetime.date, hour: int = 10):
    """Travel to `day` (tick=False: every 'now' is that moment)."""
    return time_machine.travel(
        timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour))), tick=False
    )


def agree(person, worker, manager, *, on: datetime.date = AGREED_ON) -> AgreedBudget:
    """The person's plan of £120 a week (their indicative figure: no reason needed), written
    by `worker` and authorised by `manager` on `on`."""
    with at(on):
        plan = plan_submit(actor=worker, plan=make_plan(person, worker, weekly="120.00"))
        return plan_authorise(actor=manager, plan=plan)


@pytest.fixture
def agreed_a(submitted_a, person_a, worker_a, manager_a):
    return agree(person_a, worker_a, manager_a)


def six_monthly(ras_admin, senior_manager):
    """An approved policy reviewing every 6 months, in force from 1 Jan 2031."""
    policy = make_policy(
        ras_admin, name="Six-monthly reviews", effective_from=datetime.date(2031, 1, 1)
    )
    policy.review_interval_months = 6
    policy.save()
    return policy_approve(actor=senior_manager, policy=policy)


# --- the review due date ----------------------------------------------------------------------


def test_months_are_added_as_calendars_count_them():
    assert add_months(datetime.date(2031, 1, 31), 12) == datetime.date(2032, 1, 31)
    assert add_months(datetime.date(2031, 1, 31), 6) == datetime.date(2031, 7, 31)
    # 31 Jan + 1 month: February has no 31st, so its last day (2032 is a leap year).
    assert add_months(datetime.date(2031, 1, 31), 1) == datetime.date(2031, 2, 28)
    assert add_months(datetime.date(2032, 1, 31), 1) == datetime.date(2032, 2, 29)
    # 30 Nov 2031 + 3 months crosses the year into February 2032: no 30th, so the 29th.
    assert add_months(datetime.date(2031, 11, 30), 3) == datetime.date(2032, 2, 29)
    assert add_months(datetime.date(2031, 12, 15), 1) == datetime.date(2032, 1, 15)


def test_a_team_managers_agreement_is_reviewed_after_the_policys_default_12_months(agreed_a):
    # The spec policy keeps the default interval: 31 Jan 2031 + 12 months.
    assert agreed_a.review_date == datetime.date(2032, 1, 31)


def test_the_policy_in_force_sets_the_interval(
    submitted_a, person_a, worker_a, manager_a, ras_admin, senior_manager
):
    six_monthly(ras_admin, senior_manager)
    agreed = agree(person_a, worker_a, manager_a)
    # 31 Jan 2031 + 6 months = 31 Jul 2031.
    assert agreed.review_date == datetime.date(2031, 7, 31)


def test_the_panels_date_overrides_the_policy(
    submitted_a, person_a, worker_a, panel_chair, ras_admin, senior_manager
):
    six_monthly(ras_admin, senior_manager)
    with at(AGREED_ON):
        plan = make_plan(
            person_a, worker_a, weekly="120.00", risk_referral=True, risk_reasons="Falls."
        )
        plan = plan_submit(actor=worker_a, plan=plan)
        # Approved with conditions: the panel reviews the night support after three months.
        agreed = plan_agree_by_panel(
            actor=panel_chair,
            plan=plan,
            review_date=datetime.date(2031, 4, 30),
            conditions="Review the night support after three months.",
        )
    assert agreed.review_date == datetime.date(2031, 4, 30)  # not 31 Jul 2031 (6 months)
    assert next_review_for_person(person_a).review_due == datetime.date(2031, 4, 30)


def test_a_policy_version_sets_its_interval_in_the_form(client, ras_admin):
    client.force_login(ras_admin)
    data = {**POLICY_FORM, **date_parts("effective_from", "2031-04-01")}
    client.post(reverse("allocations:policy_create"), data)  # left empty: the default
    client.post(
        reverse("allocations:policy_create"),
        {**data, "name": "Six-monthly", "review_interval_months": "6"},
    )
    assert dict(RasPolicy.objects.values_list("name", "review_interval_months")) == {
        POLICY_FORM["name"]: 12,
        "Six-monthly": 6,
    }
    bad = client.post(reverse("allocations:policy_create"), {**data, "review_interval_months": "0"})
    assert bad.status_code == 200 and RasPolicy.objects.count() == 2


# --- starting a review ------------------------------------------------------------------------


def test_a_worker_starts_a_review_and_its_reassessment(agreed_a, person_a, worker_a):
    with at(datetime.date(2032, 1, 10)):
        review = review_start(actor=worker_a, agreed=agreed_a, reason="Annual review due.")
    assert review.is_open and review.started_by == worker_a
    assert review.reason == "Annual review due."
    reassessment = review.reassessment
    assert (reassessment.person_id, reassessment.status) == (person_a.pk, Assessment.Status.DRAFT)
    assert reassessment.started_by == worker_a
    # The history row names who started it.
    row = review.history.get()
    assert (row.history_user, row.history_change_reason) == (worker_a, "review started")


def test_a_review_uses_the_reassessment_already_in_progress(agreed_a, person_a, manager_a):
    from assessments.services.assessments import assessment_start

    draft = assessment_start(actor=manager_a, person=person_a, supported_by="self")
    review = review_start(actor=manager_a, agreed=agreed_a, reason="Her needs changed.")
    assert review.reassessment == draft
    assert Assessment.objects.filter(person=person_a, status="draft").count() == 1


def test_who_may_start_a_review(
    agreed_a, worker_b, manager_b, auditor, panel_chair, senior_manager, worker_a
):
    for outsider in (worker_b, manager_b):
        with pytest.raises(PermissionDenied, match=OWN_TEAM_ONLY):
            review_start(actor=outsider, agreed=agreed_a, reason="x")
    for role in (auditor, panel_chair, senior_manager):
        with pytest.raises(PermissionDenied, match=ROLE_CANNOT_REVIEW):
            review_start(actor=role, agreed=agreed_a, reason="x")
    with pytest.raises(ValidationError) as refusal:
        review_start(actor=worker_a, agreed=agreed_a, reason="  ")
    assert refusal.value.message_dict == {"reason": [REASON_NEEDED]}
    assert not Review.objects.exists()


def test_one_open_review_per_agreed_budget(agreed_a, worker_a, manager_a):
    review_start(actor=worker_a, agreed=agreed_a, reason="Due.")
    with pytest.raises(ReviewStateError, match=ALREADY_OPEN):
        review_start(actor=manager_a, agreed=agreed_a, reason="Also due.")
    assert Review.objects.count() == 1


def test_the_database_refuses_a_second_open_review(agreed_a, worker_a):
    review_start(actor=worker_a, agreed=agreed_a, reason="Due.")
    with pytest.raises(IntegrityError, match="review_one_open"), transaction.atomic():
        Review.objects.create(agreed_budget=agreed_a, reason="Bypass", started_by=worker_a)


def test_an_ended_budget_is_not_reviewed(agreed_a, worker_a):
    review = review_start(actor=worker_a, agreed=agreed_a, reason="Due.")
    review_decide(actor=worker_a, review=review, outcome="close", reason="Moved away.")
    with pytest.raises(ReviewStateError, match=ONLY_CURRENT_REVIEWED):
        review_start(actor=worker_a, agreed=agreed_a, reason="Again.")


# --- the outcome ------------------------------------------------------------------------------


def test_no_change_keeps_the_budget_and_moves_the_next_review_on(agreed_a, person_a, worker_a):
    with at(datetime.date(2032, 2, 3)):  # three days overdue
        review = review_start(actor=worker_a, agreed=agreed_a, reason="Annual review.")
        review = review_decide(
            actor=worker_a, review=review, outcome="no_change", reason="Support still right."
        )
    # Decided 3 Feb 2032 + the policy's 12 months = 3 Feb 2033.
    assert review.next_review_date == datetime.date(2033, 2, 3)
    assert (review.outcome, review.outcome_reason, review.decided_by) == (
        "no_change",
        "Support still right.",
        worker_a,
    )
    agreed_a.refresh_from_db()
    # The agreed budget stays as agreed (its own date unchanged); the review moves the date.
    assert agreed_a.status == AgreedBudget.Status.CURRENT
    assert agreed_a.review_date == datetime.date(2032, 1, 31)
    assert next_review_for_person(person_a).review_due == datetime.date(2033, 2, 3)
    # The reassessment nobody needed is withdrawn, with the review's reason.
    review.reassessment.refresh_from_db()
    assert review.reassessment.status == Assessment.Status.WITHDRAWN
    assert "Support still right." in review.reassessment.withdrawn_reason
    assert review.history.latest().history_change_reason == "decided: no change"


def test_close_ends_the_agreed_budget_with_the_reason(agreed_a, manager_a):
    with at(datetime.date(2031, 6, 1)):
        review = review_start(actor=manager_a, agreed=agreed_a, reason="Moving to a care home.")
        review_decide(
            actor=manager_a, review=review, outcome="close", reason="Moved to a care home."
        )
    agreed_a.refresh_from_db()
    assert agreed_a.status == AgreedBudget.Status.ENDED and agreed_a.ended_at is not None
    last = agreed_a.history.latest()
    assert (last.history_user, last.history_change_reason) == (
        manager_a,
        "closed at review: Moved to a care home.",
    )
    review.refresh_from_db()
    assert review.next_review_date is None


def test_reassess_lets_the_reassessment_go_on(agreed_a, person_a, worker_a):
    review = review_start(actor=worker_a, agreed=agreed_a, reason="Needs have grown.")
    review_decide(actor=worker_a, review=review, outcome="reassess", reason="More help at night.")
    review.reassessment.refresh_from_db()
    assert review.reassessment.status == Assessment.Status.DRAFT
    agreed_a.refresh_from_db()
    assert agreed_a.status == AgreedBudget.Status.CURRENT  # until a new plan is agreed
    assert next_review_for_person(person_a).reassessing


def test_an_outcome_needs_a_choice_and_reasons_and_is_recorded_once(
    agreed_a, worker_a, worker_b, auditor
):
    review = review_start(actor=worker_a, agreed=agreed_a, reason="Due.")
    with pytest.raises(ValidationError) as refusal:
        review_decide(actor=worker_a, review=review, outcome="maybe", reason="")
    assert refusal.value.message_dict == {"outcome": [CHOOSE_OUTCOME], "reason": [REASON_NEEDED]}
    with pytest.raises(PermissionDenied, match=OWN_TEAM_ONLY):
        review_decide(actor=worker_b, review=review, outcome="no_change", reason="x")
    with pytest.raises(PermissionDenied, match=ROLE_CANNOT_REVIEW):
        review_decide(actor=auditor, review=review, outcome="no_change", reason="x")
    review_decide(actor=worker_a, review=review, outcome="reassess", reason="Needs changed.")
    with pytest.raises(ReviewStateError, match=ALREADY_DECIDED):
        review_decide(actor=worker_a, review=review, outcome="close", reason="x")


def test_no_change_is_refused_once_a_new_plan_replaced_the_budget(
    agreed_a, person_a, worker_a, manager_a
):
    review = review_start(actor=worker_a, agreed=agreed_a, reason="Due.")
    # The reassessment led to a new agreement meanwhile (here simply a new plan).
    agree(person_a, worker_a, manager_a, on=datetime.date(2031, 3, 1))
    with pytest.raises(ReviewStateError, match=re.escape(BUDGET_NO_LONGER_CURRENT)):
        review_decide(actor=worker_a, review=review, outcome="no_change", reason="x")
    review_decide(actor=worker_a, review=review, outcome="reassess", reason="New plan agreed.")


def test_a_decided_review_never_reopens(agreed_a, worker_a):
    review = review_start(actor=worker_a, agreed=agreed_a, reason="Due.")
    review = review_decide(actor=worker_a, review=review, outcome="reassess", reason="x")
    review.status = Review.Status.OPEN
    with pytest.raises(IllegalTransition):
        review.save()


# --- reviews due on "My work" -----------------------------------------------------------------


@pytest.fixture
def team_a_reviews(agreed_a, worker_a, manager_a, worker_b, manager_b):
    """Four agreed budgets, 12-monthly: person_a agreed 31 Jan 2031 (due 31 Jan 2032); two
    more of team A agreed 10 Jan 2031 (due 10 Jan 2032) and 1 Mar 2031 (due 1 Mar 2032); one
    of team B agreed 10 Jan 2031."""
    early = make_budgeted_person(actor=worker_a, family_name="Early")
    late = make_budgeted_person(actor=worker_a, family_name="Late")
    other = make_budgeted_person(actor=worker_b, family_name="Other")
    return {
        "a": agreed_a,
        "early": agree(early, worker_a, manager_a, on=datetime.date(2031, 1, 10)),
        "late": agree(late, worker_a, manager_a, on=datetime.date(2031, 3, 1)),
        "other": agree(other, worker_b, manager_b, on=datetime.date(2031, 1, 10)),
    }


def test_reviews_due_and_overdue_for_the_team_oldest_first(
    team_a_reviews, worker_a, manager_a, auditor, panel_chair
):
    # On 20 Jan 2032: Early (10 Jan) is 10 days overdue; person_a (31 Jan) is due in 11 days;
    # Late (1 Mar) is 41 days away, beyond the 28 days; Other is team B's.
    today = datetime.date(2032, 1, 20)
    for user in (worker_a, manager_a):
        due = reviews_due(user=user, today=today)
        assert [(a.pk, a.review_due, a.overdue) for a in due] == [
            (team_a_reviews["early"].pk, datetime.date(2032, 1, 10), True),
            (team_a_reviews["a"].pk, datetime.date(2032, 1, 31), False),
        ]
    # 28 days before 1 Mar 2032 is 2 Feb 2032 (February 2032 has 29 days: 1 Feb + 29 = 1 Mar).
    on_2_feb = reviews_due(user=worker_a, today=datetime.date(2032, 2, 2))
    assert team_a_reviews["late"] in on_2_feb
    assert team_a_reviews["late"] not in reviews_due(user=worker_a, today=datetime.date(2032, 2, 1))
    for user in (auditor, panel_chair):
        assert reviews_due(user=user, today=today) == []


def test_a_review_that_changed_nothing_sets_when_the_budget_is_next_due(
    agreed_a, worker_a, ras_admin, senior_manager
):
    """Due by the review's date, not the agreement's, whichever is sooner: reviewed early
    under a six-monthly policy, the budget agreed for review on 31 Jan 2032 is due on
    1 Sep 2031."""
    six_monthly(ras_admin, senior_manager)
    with at(datetime.date(2031, 3, 1)):
        review = review_start(actor=worker_a, agreed=agreed_a, reason="Early review.")
        review_decide(actor=worker_a, review=review, outcome="no_change", reason="All well.")
    assert reviews_due(user=worker_a, today=datetime.date(2031, 8, 3)) == []
    due = reviews_due(user=worker_a, today=datetime.date(2031, 8, 4))  # 28 days before
    assert [(a.pk, a.review_due) for a in due] == [(agreed_a.pk, datetime.date(2031, 9, 1))]
    # Reviewed again on 1 Sep 2031, next due 1 Mar 2032: off the list until 28 days before,
    # though the agreement's own date (31 Jan 2032) has come.
    with at(datetime.date(2031, 9, 1)):
        review = review_start(actor=worker_a, agreed=agreed_a, reason="Six-monthly review.")
        review_decide(actor=worker_a, review=review, outcome="no_change", reason="All well.")
    assert reviews_due(user=worker_a, today=datetime.date(2032, 1, 31)) == []
    assert [a.review_due for a in reviews_due(user=worker_a, today=datetime.date(2032, 2, 2))] == [
        datetime.date(2032, 3, 1)
    ]


def test_a_started_review_leaves_the_due_list(team_a_reviews, worker_a):
    review_start(actor=worker_a, agreed=team_a_reviews["early"], reason="Due.")
    due = reviews_due(user=worker_a, today=datetime.date(2032, 1, 20))
    assert [a.pk for a in due] == [team_a_reviews["a"].pk]


def test_my_work_lists_reviews_due_in_constant_queries(
    client, team_a_reviews, worker_a, manager_a, django_assert_num_queries
):
    url = reverse("panels:my_work")
    with at(datetime.date(2032, 1, 20)):
        client.force_login(worker_a)  # a session of that day
        with CaptureQueriesContext(connection) as two:
            page = client.get(url).content.decode()
        page = page[page.index('id="reviews-due"') :]  # the list of reviews due
        assert page.index(team_a_reviews["early"].person.full_name) < page.index(
            team_a_reviews["a"].person.full_name
        )
        assert "overdue" in page and "10 Jan 2032" in page and "31 Jan 2032" in page
        assert team_a_reviews["other"].person.full_name not in page
    # Late comes due too on 2 Feb: one more row, not one more query.
    with at(datetime.date(2032, 2, 2)):
        client.force_login(worker_a)
        with CaptureQueriesContext(connection) as three:
            page = client.get(url).content.decode()
        assert team_a_reviews["late"].person.full_name in page
    assert len(three) == len(two)


def test_my_work_shows_the_oldest_reviews_due_up_to_the_boxs_limit(
    client, team_a_reviews, worker_a, monkeypatch
):
    import panels.home

    monkeypatch.setattr(panels.home, "BOX_LIMIT", 2)
    with at(datetime.date(2032, 2, 2)):
        client.force_login(worker_a)
        page = client.get(reverse("panels:my_work")).content.decode()
    page = page[page.index('id="reviews-due"') :]
    page = page[: page.index("</ul>")]
    # Three are due; the two that fell due first are listed.
    assert team_a_reviews["early"].person.full_name in page
    assert team_a_reviews["a"].person.full_name in page
    assert team_a_reviews["late"].person.full_name not in page


# --- pages ------------------------------------------------------------------------------------


def test_start_page_permission_matrix(client, agreed_a, worker_a, worker_b, auditor, panel_member):
    url = reverse("allocations:review_start", args=[agreed_a.pk])
    assert client.get(url).status_code == 302  # login
    client.force_login(worker_b)
    assert client.get(url).status_code == 404  # another team's person
    assert client.post(url, {"reason": "x", "supported_by": "self"}).status_code == 404
    client.force_login(panel_member)
    assert client.get(url).status_code == 404
    client.force_login(auditor)
    assert client.get(url).status_code == 403  # sees the person, does not review
    assert client.post(url, {"reason": "x", "supported_by": "self"}).status_code == 403
    assert not Review.objects.exists()
    client.force_login(worker_a)
    page = client.get(url)
    assert page.status_code == 200 and "31 Jan 2032" in page.content.decode()
    empty = client.post(url, {"reason": "", "supported_by": "self"})
    assert empty.status_code == 200 and not Review.objects.exists()
    response = client.post(url, {"reason": "Annual review.", "supported_by": "family"})
    review = Review.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("allocations:review_detail", args=[review.pk])
    assert review.reassessment.supported_by == "family"
    again = client.post(url, {"reason": "Twice.", "supported_by": "self"})
    assert ALREADY_OPEN in again.content.decode() and Review.objects.count() == 1


def test_review_page_permission_matrix(client, agreed_a, worker_a, worker_b, auditor, manager_a):
    review = review_start(actor=worker_a, agreed=agreed_a, reason="Annual review.")
    url = reverse("allocations:review_detail", args=[review.pk])
    decide = {"outcome": "no_change", "reason": "All well."}
    assert client.get(url).status_code == 302
    client.force_login(worker_b)
    assert client.get(url).status_code == 404
    assert client.post(url, decide).status_code == 404
    client.force_login(auditor)
    page = client.get(url)
    assert page.status_code == 200 and "Record the outcome" not in page.content.decode()
    assert client.post(url, decide).status_code == 403
    client.force_login(manager_a)
    assert "Record the outcome" in client.get(url).content.decode()
    with at(datetime.date(2032, 1, 31)):
        client.force_login(manager_a)
        assert client.post(url, decide).status_code == 302
        page = client.get(url).content.decode()
    review.refresh_from_db()
    assert (review.outcome, review.decided_by, review.next_review_date) == (
        "no_change",
        manager_a,
        datetime.date(2033, 1, 31),  # 31 Jan 2032 + 12 months
    )
    assert "31 Jan 2033" in page and "All well." in page


def test_person_page_shows_the_next_review_and_the_reviews(client, agreed_a, person_a, worker_a):
    client.force_login(worker_a)
    url = reverse("assessments:person_detail", args=[person_a.pk])
    page = client.get(url).content.decode()
    assert "Next review due <strong>31 Jan 2032</strong>" in page
    assert reverse("allocations:review_start", args=[agreed_a.pk]) in page
    with at(datetime.date(2032, 2, 3)):
        client.force_login(worker_a)
        review = review_start(actor=worker_a, agreed=agreed_a, reason="Annual review.")
        page = client.get(url).content.decode()
        assert "overdue" in page and "A review is in progress" in page
        review_decide(actor=worker_a, review=review, outcome="no_change", reason="All well.")
        page = client.get(url).content.decode()
    assert "Next review due <strong>3 Feb 2033</strong>" in page
    assert "Annual review." in page and "All well." in page and "No change" in page


# --- kept by PostgreSQL -----------------------------------------------------------------------


def test_postgresql_keeps_a_review(agreed_a, worker_a):
    def refused(sql, *params):
        with (
            pytest.raises(InternalError, match="Review"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)

    review = review_start(actor=worker_a, agreed=agreed_a, reason="Annual review.")
    refused("UPDATE allocations_review SET reason = 'Rewritten' WHERE id = %s", review.pk)
    refused("DELETE FROM allocations_review WHERE id = %s", review.pk)
    review_decide(actor=worker_a, review=review, outcome="reassess", reason="Needs changed.")
    refused("UPDATE allocations_review SET outcome_reason = 'Other' WHERE id = %s", review.pk)
    review.refresh_from_db()
    assert (review.reason, review.outcome_reason) == ("Annual review.", "Needs changed.")


def test_the_review_pages_are_logged_as_openings_of_the_persons_record(
    client, agreed_a, person_a, worker_a
):
    from assessments.models import PersonAccess

    client.force_login(worker_a)
    client.get(reverse("allocations:review_start", args=[agreed_a.pk]))
    review = review_start(actor=worker_a, agreed=agreed_a, reason="Annual review due.")
    client.get(reverse("allocations:review_detail", args=[review.pk]))
    logged = PersonAccess.objects.filter(page=PersonAccess.Page.REVIEW)
    assert (
        list(logged.values_list("user__username", "person_id")) == [("worker.a", person_a.pk)] * 2
    )
