"""The support plan pages (allocations/views/plans.py): the plan page and one POST-only view
per action, each with its permission matrix; the forms; constant queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from allocations.models import SupportPlan
from allocations.services.plans import (
    LINE_NOT_ON_PLAN,
    NO_LINES,
    PLAN_LOCKED,
    plan_informal_add,
    plan_line_add,
    plan_submit,
)
from allocations.views.plans import NOT_YET
from tests.factories import make_plan, plan_line

pytestmark = pytest.mark.django_db
Status = SupportPlan.Status
# Every difference from the indicative budget (£120 for person_a) needs its reason.
FEWER_HOURS = "Two hours fewer suit her."


# --- pages -----------------------------------------------------------------------------------


def test_plan_page_permission_matrix(
    client, submitted_a, person_a, worker_a, worker_b, auditor, manager_a
):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
    url = reverse("allocations:plan_detail", args=[plan.pk])
    assert client.get(url).status_code == 302
    client.force_login(worker_b)
    assert client.get(url).status_code == 404
    assert client.post(reverse("allocations:plan_start", args=[person_a.pk])).status_code == 404
    client.force_login(auditor)
    page = client.get(url)
    assert page.status_code == 200 and "Add the line" not in page.text
    submit = reverse("allocations:plan_submit", args=[plan.pk])
    client.post(submit)
    plan.refresh_from_db()
    assert plan.status == Status.DRAFT
    client.force_login(worker_a)
    assert "Add the line" in client.get(url).text
    client.post(submit)
    plan.refresh_from_db()
    assert plan.status == Status.AWAITING_AUTHORISATION
    assert "Authorise the plan" not in client.get(url).text
    client.force_login(manager_a)
    assert "Authorise the plan" in client.get(url).text
    client.post(reverse("allocations:plan_authorise", args=[plan.pk]))
    plan.refresh_from_db()
    assert plan.status == Status.AGREED
    page = client.get(reverse("assessments:person_detail", args=[person_a.pk])).text
    assert "£118.00 a week" in page and "The council's contribution" in page


def test_adding_a_line_in_the_browser_form(client, submitted_a, person_a, worker_a):
    client.force_login(worker_a)
    client.post(reverse("allocations:plan_start", args=[person_a.pk]))
    plan = SupportPlan.objects.get()
    url = reverse("allocations:plan_detail", args=[plan.pk])
    add = reverse("allocations:plan_line_add", args=[plan.pk])
    bad = client.post(add, {"line-category": "pa_hours", "line-quantity": "-1"})
    assert bad.status_code == 200 and plan.lines.count() == 0
    client.post(
        add,
        {
            "line-category": "home_care",
            "line-description": "Morning calls",
            "line-provider": "Caring Hands",
            "line-quantity": "7",
            "line-unit": "hour",
            "line-unit_cost_gbp": "24.80",
            "line-frequency": "week",
            "line-meets_outcomes": ["nutrition", "hygiene"],
            "line-meets_sections": ["s2"],
        },
    )
    line = plan.lines.get()
    assert (line.meets_outcomes, line.meets_sections) == (["nutrition", "hygiene"], ["s2"])
    page = client.get(url).text
    assert 'id="plan-weekly">£173.60<' in page
    assert "Areas: Section 2" in page


def test_plan_page_queries_do_not_grow_with_lines(
    client, submitted_a, person_a, worker_a, django_assert_max_num_queries
):
    plan = make_plan(person_a, worker_a, weekly="10.00")
    client.force_login(worker_a)
    url = reverse("allocations:plan_detail", args=[plan.pk])
    client.get(url)
    with django_assert_max_num_queries(30) as one_line:
        client.get(url)
    for n in range(9):
        plan_line_add(actor=worker_a, plan=plan, data=plan_line(weekly="1.00", description=f"L{n}"))
    with django_assert_max_num_queries(len(one_line.captured_queries)):
        assert "L8" in client.get(url).text


def test_informal_support_can_be_removed_while_writing(client, submitted_a, person_a, worker_a):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
    item = plan_informal_add(actor=worker_a, plan=plan, outcome="hygiene", who="Anne", what="x")
    client.force_login(worker_a)
    # An id that is not a number is not a URL; one that is not on the plan is refused.
    not_a_number = f"/plans/{plan.pk}/informal/not-a-number/remove/"
    assert client.post(not_a_number).status_code == 404
    refused = client.post(
        reverse("allocations:plan_line_remove", args=[plan.pk, 999999]), follow=True
    )
    assert LINE_NOT_ON_PLAN in refused.text
    assert plan.informal.count() == 1 and plan.lines.count() == 1
    client.post(reverse("allocations:plan_informal_remove", args=[plan.pk, item.pk]))
    assert plan.informal.live().count() == 0
    # Ended, not deleted: kept with who ended it and when, and in the history.
    item.refresh_from_db()
    assert item.ended_by == worker_a and item.ended_at is not None
    assert item.history.latest().history_type == "~"
    assert item.history.latest().history_user == worker_a


# --- one view per action: the permission matrix -------------------------------------------------


def _line(plan):
    return [plan.pk, plan.lines.live().get().pk]


def _item(plan):
    item = plan_informal_add(
        actor=plan.created_by, plan=plan, outcome="hygiene", who="Anne", what="Bathing"
    )
    return [plan.pk, item.pk]


SETTINGS = {
    "management": "direct_payment",
    "direct_payment_weekly_gbp": "0",
    "council_managed_weekly_gbp": "0",
    "isf_weekly_gbp": "0",
    "contribution_weekly_gbp": "5",
    "difference_reason": FEWER_HOURS,
}
LINE = {
    "line-category": "home_care",
    "line-description": "Evening call",
    "line-quantity": "1",
    "line-unit": "hour",
    "line-unit_cost_gbp": "2.00",
    "line-frequency": "week",
}
INFORMAL = {"informal-outcome": "nutrition", "informal-who": "Bob (son)", "informal-what": "Cooks"}

# url name: (waiting for a team manager?, url args, data, right role, wrong role, wrong team,
# what the right role's post did).
ACTIONS = {
    "plan_settings": (
        False,
        lambda plan: [plan.pk],
        SETTINGS,
        "worker_a",
        "auditor",
        "worker_b",
        lambda plan: plan.contribution_weekly_gbp == Decimal("5"),
    ),
    "plan_line_add": (
        False,
        lambda plan: [plan.pk],
        LINE,
        "worker_a",
        "auditor",
        "worker_b",
        lambda plan: plan.lines.live().count() == 2,
    ),
    "plan_line_remove": (
        False,
        _line,
        {},
        "worker_a",
        "auditor",
        "worker_b",
        lambda plan: plan.lines.live().count() == 0,
    ),
    "plan_informal_add": (
        False,
        lambda plan: [plan.pk],
        INFORMAL,
        "worker_a",
        "auditor",
        "worker_b",
        lambda plan: plan.informal.live().get().who == "Bob (son)",
    ),
    "plan_informal_remove": (
        False,
        _item,
        {},
        "worker_a",
        "auditor",
        "worker_b",
        lambda plan: not plan.informal.live().exists(),
    ),
    "plan_submit": (
        False,
        lambda plan: [plan.pk],
        {},
        "worker_a",
        "auditor",
        "worker_b",
        lambda plan: plan.is_awaiting_authorisation,
    ),
    "plan_authorise": (
        True,
        lambda plan: [plan.pk],
        {},
        "manager_a",
        "worker_a",
        "manager_b",
        lambda plan: plan.status == Status.AGREED,
    ),
    "plan_return": (
        True,
        lambda plan: [plan.pk],
        {"comments": "Name the provider."},
        "manager_a",
        "auditor",
        "manager_b",
        lambda plan: plan.is_returned and plan.returned_comments == "Name the provider.",
    ),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_each_plan_action_view_permission_matrix(
    client, request, submitted_a, person_a, worker_a, name
):
    waiting, args, data, right, wrong_role, wrong_team, done = ACTIONS[name]
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
    url = reverse(f"allocations:{name}", args=args(plan))
    if waiting:
        plan = plan_submit(actor=worker_a, plan=plan)
    before = plan.history.count()

    response = client.post(url, data)  # login required
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(request.getfixturevalue(wrong_team))
    assert client.post(url, data).status_code == 404
    client.force_login(request.getfixturevalue(wrong_role))
    assert client.post(url, data).status_code == 403
    client.force_login(request.getfixturevalue(right))
    assert client.get(url).status_code == 405
    plan.refresh_from_db()
    assert plan.history.count() == before  # nothing changed so far

    response = client.post(url, data)
    assert response.status_code == 302 and response.url == reverse(
        "allocations:plan_detail", args=[plan.pk]
    )
    plan.refresh_from_db()
    assert done(plan)
    assert plan.history.latest().history_user == request.getfixturevalue(right)


def test_the_plan_page_itself_is_get_only(client, submitted_a, person_a, worker_a):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
    client.force_login(worker_a)
    url = reverse("allocations:plan_detail", args=[plan.pk])
    assert client.post(url, {"action": "submit"}).status_code == 405
    plan.refresh_from_db()
    assert plan.status == Status.DRAFT


def test_invalid_input_shows_the_plan_page_with_the_errors(
    client, submitted_a, person_a, worker_a, manager_a
):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
    client.force_login(worker_a)
    response = client.post(
        reverse("allocations:plan_informal_add", args=[plan.pk]), {"informal-outcome": "x"}
    )
    assert response.status_code == 200
    assert {"outcome", "who", "what"} <= set(response.context["informal_form"].errors)
    assert not plan.informal.exists()
    plan = plan_submit(actor=worker_a, plan=plan)
    client.force_login(manager_a)
    response = client.post(reverse("allocations:plan_return", args=[plan.pk]), {"comments": ""})
    assert response.status_code == 200
    assert "comments" in response.context["comments_form"].errors
    assert "Return to the worker" in response.text
    plan.refresh_from_db()
    assert plan.is_awaiting_authorisation


def test_an_incomplete_plan_is_refused_with_each_problem(client, submitted_a, person_a, worker_a):
    client.force_login(worker_a)
    client.post(reverse("allocations:plan_start", args=[person_a.pk]))
    plan = SupportPlan.objects.get()
    page = client.post(reverse("allocations:plan_submit", args=[plan.pk]))
    # One summary at the top of the page, each problem linked to what to change.
    assert page.status_code == 200 and "<title>Error: Support plan" in page.text
    summary = page.text.split('id="submit-problems"')[1].split("</div>")[0]
    assert "There is a problem" in summary and NOT_YET in summary
    assert f'<a class="alert-link" href="#add-line">{NO_LINES}</a>' in summary
    assert 'href="#needs">No plan line or named informal support meets' in summary
    assert '<details class="border rounded p-3" id="add-line" open>' in page.text
    plan.refresh_from_db()
    assert plan.status == Status.DRAFT


def test_a_refused_submission_links_each_setting_to_its_field(
    client, submitted_a, person_a, worker_a
):
    plan = make_plan(
        person_a,
        worker_a,
        weekly="118.00",
        management="mixed",
        direct_payment_weekly_gbp=Decimal("100"),
        contribution_weekly_gbp=Decimal("500"),
    )
    client.force_login(worker_a)
    page = client.post(reverse("allocations:plan_submit", args=[plan.pk])).text
    summary = page.split('id="submit-problems"')[1].split("</div>")[0]
    assert 'href="#id_direct_payment_weekly_gbp">The amounts for each way' in summary
    assert 'href="#id_contribution_weekly_gbp">The person&#x27;s contribution cannot' in summary
    assert 'href="#id_difference_reason">The plan differs' in summary
    assert 'id="id_difference_reason"' in page  # the field the link goes to is on the page


def test_a_move_the_plan_cannot_make_is_refused_with_its_message(
    client, submitted_a, person_a, worker_a
):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
    plan = plan_submit(actor=worker_a, plan=plan)
    client.force_login(worker_a)
    page = client.post(reverse("allocations:plan_submit", args=[plan.pk]), follow=True)
    locked = PLAN_LOCKED.format(status=Status.AWAITING_AUTHORISATION.label.lower())
    assert [str(m) for m in page.context["messages"]] == [locked]
    assert page.redirect_chain == [(reverse("allocations:plan_detail", args=[plan.pk]), 302)]


@pytest.mark.parametrize(
    ("weekly", "button", "reason"),
    [
        ("118.00", "Submit the plan to a team manager for authorisation", None),
        # The policy's panel threshold is £600.00 a week.
        ("650.00", "Submit the plan to the risk enablement panel", "£650.00 a week: at or above"),
    ],
)
def test_the_submit_button_says_where_the_plan_will_go_before_it_is_pressed(
    client, submitted_a, person_a, worker_a, weekly, button, reason
):
    plan = make_plan(person_a, worker_a, weekly=weekly, difference_reason="Fits the person")
    client.force_login(worker_a)

    page = client.get(reverse("allocations:plan_detail", args=[plan.pk])).content.decode()

    assert f'<button type="submit" class="btn btn-success">{button}</button>' in page
    assert (reason is not None) == ("goes to the risk enablement panel:" in page)
    if reason:
        assert reason in page
    # Nothing was submitted by looking.
    plan.refresh_from_db()
    assert plan.status == SupportPlan.Status.DRAFT
