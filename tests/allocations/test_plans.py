"""Support plans: weekly equivalents, routing at every threshold, coverage, the split,
authorisation and the agreed budget."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from allocations.costing import PlanCosts, line_weekly, line_weekly_text, panel_reasons
from allocations.models import AgreedBudget, PlanLine, SupportPlan
from allocations.services.plans import (
    NOT_YOUR_OWN,
    PlanIncomplete,
    PlanStateError,
    plan_authorise,
    plan_informal_add,
    plan_line_add,
    plan_return,
    plan_start,
    plan_submit,
    plan_update,
)
from tests.factories import make_plan, plan_line

pytestmark = pytest.mark.django_db
Status = SupportPlan.Status
# Every difference from the indicative budget (£120 for person_a) needs its reason.
FEWER_HOURS = "Two hours fewer suit her."


@pytest.mark.parametrize(
    ("frequency", "cost", "weekly", "text"),
    [
        ("week", "45.00", Decimal("45.00"), "£45.00 per week"),
        ("four_weeks", "100.00", Decimal("25"), "£100.00 per 4 weeks ÷ 4 = £25.00 a week"),
        (
            "month",
            "400.00",
            Decimal("400") * 12 / 52,
            "£400.00 per month × 12 ÷ 52 = £92.31 a week",
        ),
        ("year", "520.00", Decimal("10"), "£520.00 per year ÷ 52 = £10.00 a week"),
        ("one_off", "85.00", None, "£85.00 once (not in the weekly cost)"),
    ],
)
def test_weekly_equivalents_are_exact_and_stated(frequency, cost, weekly, text):
    line = PlanLine(quantity=Decimal("1"), unit_cost_gbp=Decimal(cost), frequency=frequency)
    assert line_weekly(line) == weekly
    assert line_weekly_text(line) == text


def _costs(weekly, indicative, tolerance="10", annual=None):
    weekly, indicative = Decimal(weekly), Decimal(indicative)
    return PlanCosts(
        weekly=weekly,
        annual=Decimal(annual) if annual else weekly * 52,
        one_off=Decimal(0),
        indicative_weekly=indicative,
        difference=weekly - indicative,
        difference_percent=None,
        tolerance_percent=Decimal(tolerance),
        outside_tolerance=False,
    )


# Spec policy: panel at £600 a week, residential benchmark £42,000 a year, tolerance 10%.
@pytest.mark.parametrize(
    ("weekly", "indicative", "annual", "expected"),
    [
        ("599.99", "599.99", "30000", []),
        ("600.00", "599.99", "30000", ["plan costs £600.00"]),
        ("600.01", "599.99", "30000", ["plan costs £600.01"]),
        ("500.00", "600.00", "26000", ["indicative budget is £600.00", "plan costs"]),
        ("500.00", "599.99", "26000", []),
        ("500.00", "550.00", "41999.99", []),
        ("500.00", "550.00", "42000.00", ["residential care benchmark"]),
        ("500.00", "550.00", "42000.01", ["residential care benchmark"]),
        ("110.00", "100.00", "5720", []),  # exactly 10% over: within tolerance
        ("110.01", "100.00", "5720.52", ["more than the 10% tolerance"]),
        ("109.99", "100.00", "5719.48", []),
    ],
)
def test_routing_rules_at_and_either_side_of_each_threshold(
    policy, weekly, indicative, annual, expected
):
    reasons = panel_reasons(
        costs=_costs(weekly, indicative, annual=annual), policy=policy, risk_referral=False
    )
    text = " ".join(reasons)
    if not expected:
        assert reasons == []
    for fragment in expected:
        if fragment == "plan costs":
            continue
        assert fragment in text


def test_indicative_at_threshold_routes_even_when_plan_is_lower(policy):
    reasons = panel_reasons(costs=_costs("500", "600"), policy=policy, risk_referral=False)
    assert len(reasons) == 1 and "indicative budget is £600.00" in reasons[0]


def test_risk_referral_routes_with_its_reasons(policy):
    reasons = panel_reasons(
        costs=_costs("50", "60"), policy=policy, risk_referral=True, risk_reasons="Falls at night"
    )
    assert reasons == ["Referred by the worker for risk reasons: Falls at night"]


# --- the whole workflow -----------------------------------------------------------------------


def test_plan_under_threshold_goes_to_the_team_manager(submitted_a, person_a, worker_a, manager_a):
    plan = make_plan(
        person_a,
        worker_a,
        weekly="118.00",
        difference_reason=FEWER_HOURS,
        contribution_weekly_gbp=Decimal("20"),
    )
    plan = plan_submit(actor=worker_a, plan=plan)
    assert (plan.status, plan.routing_reasons) == (Status.AWAITING_AUTHORISATION, [])
    with pytest.raises(PermissionDenied):
        plan_authorise(actor=worker_a, plan=plan)  # a social worker cannot authorise
    agreed = plan_authorise(actor=manager_a, plan=plan)
    plan.refresh_from_db()
    assert plan.status == Status.AGREED
    assert (agreed.weekly_gbp, agreed.contribution_weekly_gbp, agreed.council_weekly_gbp) == (
        Decimal("118.00"),
        Decimal("20.00"),
        Decimal("98.00"),
    )
    assert agreed.direct_payment_weekly_gbp == Decimal("118.00")
    assert agreed.annual_gbp == Decimal("6136.00")
    assert agreed.agreed_by == manager_a and agreed.agreed_how == "team manager"
    assert plan.history.latest().history_user == manager_a
    assert agreed.history.get().history_user == manager_a


def test_nobody_authorises_a_plan_they_wrote(submitted_a, person_a, manager_a):
    plan = make_plan(person_a, manager_a, weekly="118.00", difference_reason=FEWER_HOURS)
    plan = plan_submit(actor=manager_a, plan=plan)
    with pytest.raises(PermissionDenied, match=NOT_YOUR_OWN):
        plan_authorise(actor=manager_a, plan=plan)
    with pytest.raises(PermissionDenied, match=NOT_YOUR_OWN):
        plan_return(actor=manager_a, plan=plan, comments="x")


def test_returned_plan_is_changed_and_submitted_again(submitted_a, person_a, worker_a, manager_a):
    plan = plan_submit(
        actor=worker_a,
        plan=make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS),
    )
    with pytest.raises(ValidationError):
        plan_return(actor=manager_a, plan=plan, comments=" ")
    plan = plan_return(actor=manager_a, plan=plan, comments="Add the provider's name")
    assert (plan.status, plan.returned_comments) == (Status.RETURNED, "Add the provider's name")
    plan = plan_update(actor=worker_a, plan=plan, data={"contribution_weekly_gbp": Decimal("5")})
    plan = plan_submit(actor=worker_a, plan=plan)
    assert plan.status == Status.AWAITING_AUTHORISATION
    statuses = [h.status for h in plan.history.order_by("history_id")]
    assert statuses[-4:] == [
        "awaiting_authorisation",
        "returned",
        "returned",
        "awaiting_authorisation",
    ]


def test_illegal_transitions(submitted_a, person_a, worker_a, manager_a):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
    with pytest.raises(PlanStateError):
        plan_authorise(actor=manager_a, plan=plan)  # still a draft
    plan = plan_submit(actor=worker_a, plan=plan)
    with pytest.raises(PlanStateError):
        plan_line_add(actor=worker_a, plan=plan, data=plan_line(weekly="1"))  # submitted: locked
    with pytest.raises(PlanStateError):
        plan_submit(actor=worker_a, plan=plan)
    plan_authorise(actor=manager_a, plan=plan)
    with pytest.raises(PlanStateError):
        plan_return(actor=manager_a, plan=plan, comments="too late")
    with pytest.raises(PlanStateError, match="already has a support plan in progress"):
        plan_start(actor=worker_a, person=person_a) and plan_start(actor=worker_a, person=person_a)


def test_a_new_agreed_budget_ends_the_previous_one(submitted_a, person_a, worker_a, manager_a):
    first = plan_authorise(
        actor=manager_a,
        plan=plan_submit(
            actor=worker_a,
            plan=make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS),
        ),
    )
    second = plan_authorise(
        actor=manager_a,
        plan=plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120.00")),
    )
    first.refresh_from_db()
    assert (first.status, second.status) == (AgreedBudget.Status.ENDED, AgreedBudget.Status.CURRENT)
    assert first.ended_at is not None


def test_submission_refused_per_unmet_need(submitted_a, person_a, worker_a):
    from allocations.services.plans import plan_line_add

    plan = plan_start(actor=worker_a, person=person_a)
    plan_update(actor=worker_a, plan=plan, data={"difference_reason": FEWER_HOURS})
    plan_line_add(actor=worker_a, plan=plan, data=plan_line(weekly="118", outcomes=["nutrition"]))
    with pytest.raises(PlanIncomplete) as caught:
        plan_submit(actor=worker_a, plan=plan)
    assert caught.value.problems == [
        "No plan line or named informal support meets this eligible need: Maintaining "
        "personal hygiene."
    ]
    plan_informal_add(
        actor=worker_a, plan=plan, outcome="hygiene", who="Anne (daughter)", what="Helps bathe"
    )
    assert plan_submit(actor=worker_a, plan=plan).status == Status.AWAITING_AUTHORISATION


def test_a_mixed_split_must_add_up(submitted_a, person_a, worker_a):
    plan = make_plan(
        person_a,
        worker_a,
        weekly="118.00",
        difference_reason=FEWER_HOURS,
        management="mixed",
        direct_payment_weekly_gbp=Decimal("100"),
        council_managed_weekly_gbp=Decimal("17.99"),
    )
    with pytest.raises(PlanIncomplete) as caught:
        plan_submit(actor=worker_a, plan=plan)
    assert caught.value.problems == [
        "The amounts for each way of managing the budget add up to £117.99 a week, but the "
        "plan costs £118.00 a week."
    ]
    plan_update(actor=worker_a, plan=plan, data={"council_managed_weekly_gbp": Decimal("18")})
    plan = plan_submit(actor=worker_a, plan=plan)
    assert plan.status == Status.AWAITING_AUTHORISATION


def test_a_difference_beyond_tolerance_needs_a_reason(submitted_a, person_a, worker_a):
    plan = make_plan(person_a, worker_a, weekly="100.00")  # 16.67% under £120
    with pytest.raises(PlanIncomplete) as caught:
        plan_submit(actor=worker_a, plan=plan)
    assert "differs from the indicative budget by -16.67%" in caught.value.problems[0]
    plan_update(actor=worker_a, plan=plan, data={"difference_reason": "Day centre is free"})
    assert plan_submit(actor=worker_a, plan=plan).status == Status.AWAITING_AUTHORISATION


def test_over_tolerance_goes_to_panel(submitted_a, person_a, worker_a):
    plan = make_plan(person_a, worker_a, weekly="132.01", difference_reason="More hours")
    plan = plan_submit(actor=worker_a, plan=plan)
    assert plan.status == Status.AT_PANEL
    assert plan.referrals.get().reasons == plan.routing_reasons


def test_contribution_cannot_exceed_the_cost(submitted_a, person_a, worker_a):
    plan = make_plan(
        person_a,
        worker_a,
        weekly="118.00",
        difference_reason=FEWER_HOURS,
        contribution_weekly_gbp=Decimal("118.01"),
    )
    with pytest.raises(PlanIncomplete, match="contribution cannot be more"):
        plan_submit(actor=worker_a, plan=plan)


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
    client.post(url, {"action": "submit"})
    plan.refresh_from_db()
    assert plan.status == Status.DRAFT
    client.force_login(worker_a)
    assert "Add the line" in client.get(url).text
    client.post(url, {"action": "submit"})
    plan.refresh_from_db()
    assert plan.status == Status.AWAITING_AUTHORISATION
    assert "Authorise the plan" not in client.get(url).text
    client.force_login(manager_a)
    assert "Authorise the plan" in client.get(url).text
    client.post(url, {"action": "authorise"})
    plan.refresh_from_db()
    assert plan.status == Status.AGREED
    page = client.get(reverse("assessments:person_detail", args=[person_a.pk])).text
    assert "£118.00 a week" in page and "The council's contribution" in page


def test_adding_a_line_in_the_browser_form(client, submitted_a, person_a, worker_a):
    client.force_login(worker_a)
    client.post(reverse("allocations:plan_start", args=[person_a.pk]))
    plan = SupportPlan.objects.get()
    url = reverse("allocations:plan_detail", args=[plan.pk])
    bad = client.post(
        url, {"action": "add_line", "line-category": "pa_hours", "line-quantity": "-1"}
    )
    assert bad.status_code == 200 and plan.lines.count() == 0
    client.post(
        url,
        {
            "action": "add_line",
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


def test_a_manager_who_edited_the_plan_cannot_authorise_it(
    submitted_a, person_a, worker_a, manager_a
):
    plan = plan_submit(
        actor=worker_a,
        plan=make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS),
    )
    plan = plan_return(actor=manager_a, plan=plan, comments="Add a provider")
    # Returning is not writing; editing is.
    plan = plan_update(actor=manager_a, plan=plan, data={"difference_reason": "Edited by TM"})
    plan = plan_submit(actor=worker_a, plan=plan)
    with pytest.raises(PermissionDenied, match=NOT_YOUR_OWN):
        plan_authorise(actor=manager_a, plan=plan)


def test_informal_support_can_be_removed_while_writing(client, submitted_a, person_a, worker_a):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
    item = plan_informal_add(actor=worker_a, plan=plan, outcome="hygiene", who="Anne", what="x")
    client.force_login(worker_a)
    url = reverse("allocations:plan_detail", args=[plan.pk])
    client.post(url, {"action": "remove_informal", "item": "not-a-number"})
    client.post(url, {"action": "remove_line", "line": "999999"})
    assert plan.informal.count() == 1 and plan.lines.count() == 1
    client.post(url, {"action": "remove_informal", "item": item.pk})
    assert plan.informal.live().count() == 0
    # Ended, not deleted: kept with who ended it and when, and in the history.
    item.refresh_from_db()
    assert item.ended_by == worker_a and item.ended_at is not None
    assert item.history.latest().history_type == "~"
    assert item.history.latest().history_user == worker_a
