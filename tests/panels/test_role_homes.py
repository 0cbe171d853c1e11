"""Each role's home ("My work", issue 13): the boxes each role starts its day from, no empty
boxes that belong to another role, and the menu's count of what waits, in one query."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allocations.services.budgets import budget_recalculate
from allocations.services.plans import plan_return, plan_submit
from assessments.models import Question
from assessments.roles import Role
from assessments.services.assessments import assessment_start
from assessments.services.people import person_update
from assessments.services.questionnaires import questionnaire_import, questionnaire_publish_refusal
from panels.home import questionnaires_to_publish, waiting_count, waiting_count_queryset
from tests.factories import make_person, make_plan, make_policy, make_user, questionnaire_data

pytestmark = pytest.mark.django_db

URL = reverse("panels:my_work")

# Each box's heading, as the page shows it.
ASSESSMENTS = "Assessments in progress"
RETURNED = "Plans returned to me"
BUDGETS = "Budgets waiting for a plan"
REVIEWS = "Reviews due for my team"
DECISIONS = "Decisions on my cases"
CASELOAD = "My team's caseload by stage"
TO_AUTHORISE = "Plans awaiting my authorisation"
LOWER = "Lower figures to decide"
AGENDA = "My panel meetings"
DRAFTS = "Drafts awaiting a second person"
REPORTS = 'id="reports-heading"'
RECORDS = "Search records"
ALL_BOXES = {
    ASSESSMENTS,
    RETURNED,
    BUDGETS,
    REVIEWS,
    DECISIONS,
    CASELOAD,
    TO_AUTHORISE,
    LOWER,
    AGENDA,
    DRAFTS,
    REPORTS,
    RECORDS,
}


def boxes_on(client, user) -> set[str]:
    client.force_login(user)
    page = client.get(URL).content.decode()
    return {box for box in ALL_BOXES if box in page}


def test_a_social_worker_sees_their_casework_and_nothing_of_other_roles(client, worker_a):
    assert boxes_on(client, worker_a) == {ASSESSMENTS, RETURNED, BUDGETS, REVIEWS, DECISIONS}


def test_a_team_manager_sees_the_caseload_what_to_authorise_and_lower_figures(client, manager_a):
    assert boxes_on(client, manager_a) == {ASSESSMENTS, CASELOAD, TO_AUTHORISE, LOWER, REVIEWS}


def test_panel_members_and_chairs_see_their_meetings(client, panel_member, panel_chair):
    assert boxes_on(client, panel_member) == {AGENDA}
    assert boxes_on(client, panel_chair) == {AGENDA}


def test_a_ras_administrator_sees_the_drafts_awaiting_a_second_person(client, ras_admin):
    assert boxes_on(client, ras_admin) == {DRAFTS, REPORTS}


def test_senior_managers_and_auditors_land_on_something_useful(client, senior_manager, auditor):
    assert boxes_on(client, senior_manager) == {DRAFTS, LOWER, REPORTS}
    assert boxes_on(client, auditor) == {REPORTS, RECORDS}


def test_a_user_with_two_roles_sees_both_roles_boxes(client, team_a):
    both = make_user("worker.chair", Role.SOCIAL_WORKER, team_a)
    both.groups.add(*type(both.groups.first()).objects.filter(name=Role.PANEL_CHAIR.label))
    assert boxes_on(client, both) == {
        ASSESSMENTS,
        RETURNED,
        BUDGETS,
        REVIEWS,
        DECISIONS,
        AGENDA,
    }


def test_the_worker_sees_assessments_in_progress_with_the_person_and_start(
    client, draft_a, person_a, worker_a, worker_b
):
    client.force_login(worker_a)
    page = client.get(URL).content.decode()
    box = page[page.index('id="assessments-in-progress"') :]
    assert person_a.full_name in box
    assert f"started {draft_a.started_at:%-d %b %Y}" in box
    assert reverse("assessments:assessment_summary", args=[draft_a.pk]) in box
    client.force_login(worker_b)  # another team's worker
    assert person_a.full_name not in client.get(URL).content.decode()


def test_budgets_wait_for_a_plan_until_one_is_started(client, submitted_a, person_a, worker_a):
    client.force_login(worker_a)
    page = client.get(URL).content.decode()
    assert person_a.full_name in page[page.index('id="budgets-waiting"') :]
    assert waiting_count(worker_a) == 1
    # The box lists the team's budgets; the menu counts the worker's own assessments' only.
    colleague = make_user("worker.c", Role.SOCIAL_WORKER, person_a.team)
    client.force_login(colleague)
    page = client.get(URL).content.decode()
    assert person_a.full_name in page[page.index('id="budgets-waiting"') :]
    assert waiting_count(colleague) == 0
    client.force_login(worker_a)
    plan = make_plan(person_a, worker_a, weekly="120")
    page = client.get(URL).content.decode()
    waiting = page[page.index('id="budgets-waiting"') : page.index('id="plans-in-progress"')]
    assert person_a.full_name not in waiting
    assert reverse("allocations:plan_detail", args=[plan.pk]) in page
    assert waiting_count(worker_a) == 0


def test_a_returned_plan_waits_for_its_worker_and_shows_in_the_menu(
    client, submitted_a, person_a, worker_a, manager_a
):
    plan = plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120"))
    client.force_login(manager_a)
    page = client.get(URL).content.decode()
    assert person_a.full_name in page[page.index('id="to-authorise"') :]
    assert '1<span class="visually-hidden"> waiting</span>' in page
    plan_return(actor=manager_a, plan=plan, comments="Add the day centre")
    client.force_login(worker_a)
    page = client.get(URL).content.decode()
    assert "Add the day centre" in page[page.index('id="returned"') :]
    assert '1<span class="visually-hidden"> waiting</span>' in page
    client.force_login(manager_a)
    assert 'visually-hidden"> waiting' not in client.get(URL).content.decode()


def test_the_menu_count_is_kept_a_short_while_and_my_work_always_counts_afresh(
    client, submitted_a, person_a, worker_a, manager_a, settings, time_machine
):
    import datetime

    settings.MY_WORK_COUNT_SECONDS = 30
    badge = '1<span class="visually-hidden"> waiting</span>'
    people = reverse("assessments:person_list")
    client.force_login(manager_a)
    assert 'visually-hidden"> waiting' not in client.get(people).content.decode()
    plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120"))
    # Another page within the 30 s reuses the count it had, without its query ...
    with CaptureQueriesContext(connection) as queries:
        assert 'visually-hidden"> waiting' not in client.get(people).content.decode()
    assert not any("COUNT(*) FROM (" in q["sql"] for q in queries.captured_queries)
    # ... My work counts afresh (and keeps the new count for the other pages) ...
    assert badge in client.get(URL).content.decode()
    assert badge in client.get(people).content.decode()
    # ... and after 30 s any page counts again.
    plan_return(actor=manager_a, plan=person_a.plans.get(), comments="Add the day centre")
    time_machine.move_to(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=31))
    assert 'visually-hidden"> waiting' not in client.get(people).content.decode()


def test_the_manager_sees_the_team_by_stage_oldest_first(client, submitted_a, person_a, manager_a):
    client.force_login(manager_a)
    page = client.get(URL).content.decode()
    caseload = page[page.index('id="caseload"') :]
    assert "Indicative budget issued" in caseload and person_a.full_name in caseload
    assert reverse("allocations:report_pipeline_list", args=["indicative-budget-issued"]) in page


def test_a_lower_figure_waits_for_the_manager(client, submitted_a, person_a, worker_a, manager_a):
    person_update(actor=worker_a, person=person_a, data={"existing_weekly_cost_gbp": Decimal("90")})
    budget_recalculate(actor=manager_a, person=person_a, reason="Cost corrected")
    client.force_login(manager_a)
    page = client.get(URL).content.decode()
    lower = page[page.index('id="lower-figures"') :]
    assert person_a.full_name in lower and reverse("allocations:decisions") in lower
    # The lower figure; the budget that still has no plan waits for its worker, not for them.
    assert waiting_count(manager_a) == 1
    assert waiting_count(worker_a) == 1


def test_policy_drafts_wait_for_a_second_person_not_their_author(client, ras_admin, senior_manager):
    make_policy(ras_admin, name="Uplift")
    client.force_login(ras_admin)
    page = client.get(URL).content.decode()
    assert "RAS policy: Uplift" in page and "someone else must approve it" in page
    assert waiting_count(ras_admin) == 0
    client.force_login(senior_manager)
    page = client.get(URL).content.decode()
    assert "RAS policy: Uplift" in page and "yours to approve" in page
    assert waiting_count(senior_manager) == 1


def test_questionnaire_drafts_count_for_who_may_publish_them_by_the_publish_rule(
    ras_admin, senior_manager
):
    """The home's queryset agrees with the publish service's four-eyes rule, including for
    someone who only edited one question."""
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data(title="Draft"))
    editor = make_user("ras.admin2", Role.RAS_ADMINISTRATOR)
    question = Question.objects.filter(version=draft).first()
    question.text = "Edited by a second administrator"
    question._history_user = editor
    question.save()
    for user in (ras_admin, editor, senior_manager):
        may_publish = questionnaire_publish_refusal(actor=user, version=draft) is None
        assert (draft in questionnaires_to_publish(user)) is may_publish, user
    assert waiting_count(senior_manager) == 1 and waiting_count(editor) == 0


def test_the_menu_count_is_one_query_however_much_waits(
    submitted_a, person_a, worker_a, manager_a, team_a, django_assert_num_queries
):
    manager_a.has_perm("x")  # the permissions, loaded once per request
    with django_assert_num_queries(1):
        few = waiting_count(manager_a)
    for n in range(3):
        worker = make_user(f"worker.{n}", Role.SOCIAL_WORKER, team_a)
        person = make_person(actor=worker, given_name=f"P{n}")
        assessment_start(actor=worker, person=person, supported_by="self")
    manager_a = type(manager_a).objects.get(pk=manager_a.pk)
    manager_a.has_perm("x")
    with django_assert_num_queries(1):
        assert waiting_count(manager_a) == few  # others' drafts wait for their workers


@pytest.mark.parametrize(
    "role", ["worker_a", "manager_a", "panel_chair", "senior_manager", "ras_admin"]
)
def test_the_menu_count_sql_depends_on_nothing_but_its_key(
    request, role, submitted_a, person_a, worker_a, team_a, django_assert_num_queries
):
    """The count's SQL is compiled once a day for each user (ras_site.compiled): sound
    only because building it reads nothing from the database, so what waits changing leaves
    it the same, while the next day (its dates) or other permissions change it."""
    user = request.getfixturevalue(role)
    user.has_perm("x")
    with django_assert_num_queries(0):
        before = waiting_count_queryset(user).query.sql_with_params()
    plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120"))
    for n in range(2):
        person = make_person(actor=worker_a, given_name=f"P{n}")
        assessment_start(actor=worker_a, person=person, supported_by="self")
    user = type(user).objects.get(pk=user.pk)
    user.has_perm("x")
    assert waiting_count_queryset(user).query.sql_with_params() == before


def test_the_menu_counts_by_the_day_and_the_roles_it_is_asked_on(
    submitted_a, person_a, worker_a, team_a, time_machine
):
    import datetime

    """The count's compiled SQL is kept by user, day and permissions: with the suite's check
    (COMPILED_QUERIES_CHECK), a key without the day or the roles fails here."""
    assert waiting_count(worker_a) == 1  # the budget without a plan
    # The next day's count has the next day's dates (reviews' cut-off, coming meetings).
    time_machine.move_to(datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1))
    worker_a = type(worker_a).objects.get(pk=worker_a.pk)
    assert waiting_count(worker_a) == 1
    # Moved to a role that writes no assessments, the same user has nothing waiting.
    worker_a.groups.set([Group.objects.get(name=Role.AUDITOR.label)])
    worker_a = type(worker_a).objects.get(pk=worker_a.pk)
    assert waiting_count(worker_a) == 0


def test_nothing_can_wait_for_an_auditor_so_the_menu_costs_no_query(
    auditor, django_assert_num_queries
):
    auditor.has_perm("x")
    with django_assert_num_queries(0):
        assert waiting_count(auditor) == 0


@pytest.mark.parametrize("role", ["worker_a", "manager_a", "panel_chair", "senior_manager"])
def test_each_home_takes_the_same_queries_however_much_it_lists(
    client, request, role, submitted_a, person_a, worker_a, team_a
):
    user = request.getfixturevalue(role)
    client.force_login(user)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    for n in range(3):
        person = make_person(actor=worker_a, given_name=f"P{n}")
        assessment_start(actor=worker_a, person=person, supported_by="self")
    with CaptureQueriesContext(connection) as more:
        page = client.get(URL).content.decode()
    assert len(more) == len(few)
    if role in ("worker_a", "manager_a"):
        assert "P2 " in page


def test_the_home_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_worker_without_a_team_has_nothing_waiting(client, person_a):
    teamless = make_user("teamless", Role.SOCIAL_WORKER)
    assert waiting_count(teamless) == 0
    client.force_login(teamless)
    assert client.get(URL).status_code == 200


def test_a_referral_on_the_agenda_waits_for_the_panel(
    client, referral, person_a, panel_chair, panel_member, worker_a
):
    client.force_login(panel_member)
    page = client.get(URL).content.decode()
    assert person_a.full_name in page[page.index('id="agenda"') :]
    assert waiting_count(panel_member) == 1 and waiting_count(panel_chair) == 1
    assert waiting_count(worker_a) == 0  # the worker waits for the panel, not the other way


def test_only_auditors_have_records_in_the_menu(client, worker_a, senior_manager, auditor):
    search = reverse("allocations:record_search")
    for user in (worker_a, senior_manager):
        client.force_login(user)
        assert search not in client.get(URL).content.decode()
    client.force_login(auditor)
    assert search in client.get(URL).content.decode()
