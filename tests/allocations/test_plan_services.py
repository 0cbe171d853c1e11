"""Support plan services (allocations/services/plans.py): routing a submitted plan, coverage,
the split, authorisation, the agreed budget; every legal and illegal move of the plan's
workflow, with its history rows; the panel's decision on a referred plan."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from allocations.models import AgreedBudget, SupportPlan
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
