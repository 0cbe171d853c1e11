"""Support plan services (allocations/services/plans.py): routing a submitted plan, coverage,
the split, authorisation, the agreed budget; every legal and illegal move of the plan's
workflow, with its history rows; the panel's decision on a referred plan."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from allocations.models import AgreedBudget, SupportPlan
from allocations.services.plans import (
    NOT_YOUR_OWN,
    ONLY_REFERRED_AGREED,
    ONLY_REFERRED_RETURNED,
    ONLY_THE_PANEL_DECIDES,
    ONLY_WAITING_AUTHORISED,
    ONLY_WAITING_RETURNED,
    OWN_TEAM_ONLY,
    PLAN_LOCKED,
    ROLE_CANNOT_PLAN,
    PlanIncomplete,
    PlanStateError,
    plan_agree_by_panel,
    plan_authorise,
    plan_close_for_person,
    plan_informal_add,
    plan_line_add,
    plan_return,
    plan_return_by_panel,
    plan_start,
    plan_submit,
    plan_update,
)
from assessments.workflows import IllegalTransition
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


# --- each move of the plan's workflow, and its history row --------------------------------------

REVIEW = datetime.date(2027, 3, 1)


def _latest(plan: SupportPlan):
    """The plan's newest history row: (status, who, why)."""
    row = plan.history.latest()
    return row.status, row.history_user, row.history_change_reason


def _waiting(person, worker):
    return plan_submit(
        actor=worker,
        plan=make_plan(person, worker, weekly="118.00", difference_reason=FEWER_HOURS),
    )


def _at_panel(person, worker):
    # More than the 10% tolerance over the £120 indicative budget: the panel.
    return plan_submit(
        actor=worker, plan=make_plan(person, worker, weekly="132.01", difference_reason="More")
    )


def test_plan_error_is_the_one_illegal_transition():
    assert issubclass(PlanStateError, IllegalTransition)


def test_draft_to_awaiting_authorisation_and_to_at_panel(submitted_a, person_a, worker_a):
    plan = _waiting(person_a, worker_a)
    assert _latest(plan) == (Status.AWAITING_AUTHORISATION, worker_a, "submitted")
    plan_close_for_person(actor=worker_a, person_id=person_a.pk, reason="Moved away.")
    plan = _at_panel(person_a, worker_a)
    assert _latest(plan) == (Status.AT_PANEL, worker_a, "submitted")


def test_awaiting_authorisation_to_agreed_and_to_returned(
    submitted_a, person_a, worker_a, manager_a
):
    plan = _waiting(person_a, worker_a)
    plan = plan_return(actor=manager_a, plan=plan, comments="Name the provider.")
    assert _latest(plan) == (Status.RETURNED, manager_a, "returned")
    assert (plan.decided_by, plan.returned_comments) == (manager_a, "Name the provider.")
    plan = plan_submit(actor=worker_a, plan=plan)  # returned → awaiting authorisation
    assert _latest(plan) == (Status.AWAITING_AUTHORISATION, worker_a, "submitted")
    plan_authorise(actor=manager_a, plan=plan)
    plan.refresh_from_db()
    assert _latest(plan) == (Status.AGREED, manager_a, "agreed")


def test_at_panel_to_agreed_and_to_returned_by_the_panel_chair(
    submitted_a, person_a, worker_a, panel_chair
):
    plan = _at_panel(person_a, worker_a)
    agreed = plan_agree_by_panel(
        actor=panel_chair, plan=plan, review_date=REVIEW, conditions="Falls sensor"
    )
    plan.refresh_from_db()
    assert _latest(plan) == (Status.AGREED, panel_chair, "agreed")
    assert (agreed.agreed_how, agreed.conditions, agreed.review_date) == (
        "risk enablement panel",
        "Falls sensor",
        REVIEW,
    )
    plan = _at_panel(person_a, worker_a)  # the next plan
    plan = plan_return_by_panel(actor=panel_chair, plan=plan, comments="Deferred: costs.")
    assert _latest(plan) == (Status.RETURNED, panel_chair, "returned")
    assert (plan.decided_by, plan.returned_comments) == (panel_chair, "Deferred: costs.")


def test_returned_to_at_panel(submitted_a, person_a, worker_a, manager_a):
    plan = plan_return(actor=manager_a, plan=_waiting(person_a, worker_a), comments="Risks?")
    plan = plan_update(
        actor=worker_a, plan=plan, data={"risk_referral": True, "risk_reasons": "Falls at night."}
    )
    plan = plan_submit(actor=worker_a, plan=plan)
    assert _latest(plan) == (Status.AT_PANEL, worker_a, "submitted")
    assert plan.referrals.get().reasons == plan.routing_reasons


@pytest.mark.parametrize("start", ["draft", "returned", "awaiting_authorisation", "at_panel"])
def test_every_open_plan_can_close(submitted_a, person_a, worker_a, manager_a, start):
    if start == "at_panel":
        plan = _at_panel(person_a, worker_a)
    else:
        plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
        if start != "draft":
            plan = plan_submit(actor=worker_a, plan=plan)
        if start == "returned":
            plan = plan_return(actor=manager_a, plan=plan, comments="Check it.")
    assert plan.status == start
    closed = plan_close_for_person(actor=manager_a, person_id=person_a.pk, reason="Moved away.")
    assert (closed.pk, closed.is_closed) == (plan.pk, True)
    assert _latest(closed) == (Status.CLOSED, manager_a, "closed: no indicative budget is due")


def test_the_team_manager_cannot_move_a_plan_at_the_panel(
    submitted_a, person_a, worker_a, manager_a
):
    plan = _at_panel(person_a, worker_a)
    with pytest.raises(PlanStateError, match=ONLY_WAITING_AUTHORISED) as refused:
        plan_authorise(actor=manager_a, plan=plan)
    assert isinstance(refused.value, IllegalTransition)
    with pytest.raises(PlanStateError, match=ONLY_WAITING_RETURNED):
        plan_return(actor=manager_a, plan=plan, comments="No.")
    plan.refresh_from_db()
    assert _latest(plan) == (Status.AT_PANEL, worker_a, "submitted")


def test_the_panel_cannot_move_a_plan_not_referred_to_it(
    submitted_a, person_a, worker_a, panel_chair
):
    plan = _waiting(person_a, worker_a)
    with pytest.raises(PlanStateError, match=ONLY_REFERRED_AGREED):
        plan_agree_by_panel(actor=panel_chair, plan=plan, review_date=REVIEW)
    with pytest.raises(PlanStateError, match=ONLY_REFERRED_RETURNED):
        plan_return_by_panel(actor=panel_chair, plan=plan, comments="No.")
    plan.refresh_from_db()
    assert _latest(plan) == (Status.AWAITING_AUTHORISATION, worker_a, "submitted")


@pytest.mark.parametrize("end", ["agreed", "closed"])
def test_an_agreed_or_closed_plan_moves_no_more(submitted_a, person_a, worker_a, manager_a, end):
    plan = _waiting(person_a, worker_a)
    if end == "agreed":
        plan_authorise(actor=manager_a, plan=plan)
    else:
        plan_close_for_person(actor=manager_a, person_id=person_a.pk, reason="Moved away.")
    plan.refresh_from_db()
    rows = plan.history.count()
    with pytest.raises(PlanStateError, match=ONLY_WAITING_AUTHORISED):
        plan_authorise(actor=manager_a, plan=plan)
    with pytest.raises(
        PlanStateError, match=PLAN_LOCKED.format(status=plan.get_status_display().lower())
    ):
        plan_submit(actor=worker_a, plan=plan)
    with pytest.raises(IllegalTransition):  # any other path that saves: the model's guard
        plan.status = Status.DRAFT
        plan.save()
    assert plan.history.count() == rows


def test_only_the_panel_chair_decides_for_the_panel(
    submitted_a, person_a, worker_a, manager_a, panel_member, senior_manager
):
    plan = _at_panel(person_a, worker_a)
    for actor in (manager_a, panel_member, senior_manager):
        with pytest.raises(PermissionDenied, match=ONLY_THE_PANEL_DECIDES):
            plan_agree_by_panel(actor=actor, plan=plan, review_date=REVIEW)
        with pytest.raises(PermissionDenied, match=ONLY_THE_PANEL_DECIDES):
            plan_return_by_panel(actor=actor, plan=plan, comments="No.")
    plan.refresh_from_db()
    assert plan.status == Status.AT_PANEL


def test_plan_services_check_the_role_and_the_team_rule(
    submitted_a, person_a, worker_a, worker_b, manager_b, ras_admin, auditor
):
    plan = make_plan(person_a, worker_a, weekly="118.00", difference_reason=FEWER_HOURS)
    for actor in (ras_admin, auditor):  # whole-service roles that do not write plans
        with pytest.raises(PermissionDenied, match=ROLE_CANNOT_PLAN):
            plan_update(actor=actor, plan=plan, data={"difference_reason": "x"})
    with pytest.raises(PermissionDenied, match=OWN_TEAM_ONLY):
        plan_update(actor=worker_b, plan=plan, data={"difference_reason": "x"})
    with pytest.raises(PermissionDenied, match=OWN_TEAM_ONLY):
        plan_start(actor=worker_b, person=person_a)
    plan = plan_submit(actor=worker_a, plan=plan)
    with pytest.raises(PermissionDenied, match=OWN_TEAM_ONLY):
        plan_authorise(actor=manager_b, plan=plan)
    with pytest.raises(PermissionDenied, match=OWN_TEAM_ONLY):
        plan_return(actor=manager_b, plan=plan, comments="No.")
    plan.refresh_from_db()
    assert plan.status == Status.AWAITING_AUTHORISATION
