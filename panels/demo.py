"""The support plan and panel part of `manage.py seed_demo`: plans at every stage, a panel
meeting with an agenda, a decision, and agreed budgets."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from allocations.costing import plan_costs
from allocations.models import IndicativeBudget, PlanLine, SupportPlan
from allocations.selectors.plans import eligible_needs
from allocations.services.plans import (
    plan_authorise,
    plan_line_add,
    plan_start,
    plan_submit,
    plan_update,
)
from panels.models import PanelMeeting, PanelReferral
from panels.services import meeting_create, panel_decide, referral_schedule

CATEGORIES = [
    (PlanLine.Category.PA_HOURS, "Personal assistant", "hour", Decimal("15.50"), "Direct employ"),
    (PlanLine.Category.HOME_CARE, "Home care visits", "hour", Decimal("24.80"), "Caring Hands Ltd"),
    (
        PlanLine.Category.DAY_OPPORTUNITIES,
        "Day centre",
        "session",
        Decimal("45.00"),
        "Oak Day Centre",
    ),
]


def _cover(plan, worker, weekly_target: Decimal) -> SupportPlan:
    """Lines meeting every eligible need, costing about `weekly_target` a week."""
    needs = eligible_needs(plan)
    per_line = weekly_target / max(len(CATEGORIES), 1)
    for index, (category, what, unit, cost, provider) in enumerate(CATEGORIES):
        hours = max(Decimal("1"), (per_line / cost).quantize(Decimal("1")))
        plan_line_add(
            actor=worker,
            plan=plan,
            data={
                "category": category,
                "description": what,
                "provider": provider,
                "quantity": hours,
                "unit": unit,
                "unit_cost_gbp": cost,
                "frequency": PlanLine.Frequency.WEEK,
                "meets_outcomes": needs[index :: len(CATEGORIES)],
            },
        )
    plan_line_add(
        actor=worker,
        plan=plan,
        data={
            "category": PlanLine.Category.EQUIPMENT,
            "description": "Shower chair",
            "provider": "Community equipment service",
            "quantity": Decimal("1"),
            "unit": "item",
            "unit_cost_gbp": Decimal("85.00"),
            "frequency": PlanLine.Frequency.ONE_OFF,
            "meets_outcomes": [],
        },
    )
    costs = plan_costs(plan)
    return plan_update(
        actor=worker,
        plan=plan,
        data={
            "difference_reason": "Costed with the person and their family from local prices."
            if costs.difference
            else "",
            "contribution_weekly_gbp": Decimal("22.40"),
        },
    )


def seed_plans(users) -> None:
    if SupportPlan.objects.exists():
        return
    chair = users["panel.chair"]
    meeting = PanelMeeting.objects.first() or meeting_create(
        actor=chair,
        date=timezone.localdate() + datetime.timedelta(days=7),
        chair=chair,
        members=[users["panel.member"], users["panel.member2"]],
    )
    for team, worker, manager in (
        ("north", users["sw.north"], users["tm.north"]),
        ("south", users["sw.south"], None),
    ):
        budgets = list(
            IndicativeBudget.objects.filter(
                person__team__code=team, status=IndicativeBudget.Status.CURRENT
            )
            .select_related("person")
            .order_by("person__reference")
        )
        low = [b for b in budgets if b.indicative_weekly_gbp < Decimal("500")]
        high = [b for b in budgets if b.indicative_weekly_gbp >= Decimal("600")]
        # A plan being written.
        if low:
            plan = plan_start(actor=worker, person=low[0].person)
            _cover(plan, worker, low[0].indicative_weekly_gbp)
        # A plan waiting for (north: then authorised by) the team manager.
        for budget in low[1:3]:
            plan = plan_start(actor=worker, person=budget.person)
            plan = _cover(plan, worker, budget.indicative_weekly_gbp)
            plan = plan_submit(actor=worker, plan=plan)
            if manager is not None and budget is low[1]:
                plan_authorise(actor=manager, plan=plan)
        # A high-cost plan at the panel; in the south team, approved with conditions.
        for budget in high[:1]:
            plan = plan_start(actor=worker, person=budget.person)
            plan = _cover(plan, worker, budget.indicative_weekly_gbp)
            plan = plan_update(
                actor=worker,
                plan=plan,
                data={"risk_reasons": "Lives alone; falls at night twice this year."},
            )
            plan = plan_submit(actor=worker, plan=plan)
            referral = PanelReferral.objects.get(plan=plan)
            referral_schedule(actor=chair, referral=referral, meeting=meeting)
            if team == "south":
                panel_decide(
                    actor=chair,
                    referral=referral,
                    outcome="approved_with_conditions",
                    reasons="Meets eligible needs safely at a cost comparable with residential "
                    "care; the person strongly prefers to stay at home.",
                    conditions="Falls sensor installed before the night support starts.",
                    review_date=timezone.localdate() + datetime.timedelta(days=90),
                )


def seed_changes(users) -> None:
    """Later events, so the demo shows the rules that keep figures honest: a lower agreed
    budget waiting for the north team manager, and a reassessment that found someone's needs
    not eligible, which ended their indicative budget (and closed their plan)."""
    import random

    from allocations.models import AgreedBudget
    from assessments.demo import _complete
    from assessments.services.assessments import assessment_start

    if AgreedBudget.objects.filter(status=AgreedBudget.Status.AWAITING_DECISION).exists():
        return
    worker, manager = users["sw.north"], users["tm.north"]
    agreed = (
        AgreedBudget.objects.filter(
            status=AgreedBudget.Status.CURRENT,
            person__team__code="north",
            agreed_how="team manager",
        )
        .select_related("person")
        .first()
    )
    if agreed is not None:
        plan = plan_start(actor=worker, person=agreed.person)
        plan = _cover(plan, worker, agreed.weekly_gbp - Decimal("40"))
        plan = plan_update(
            actor=worker,
            plan=plan,
            data={"difference_reason": "Fewer day centre sessions now she goes to a club."},
        )
        plan_authorise(actor=manager, plan=plan_submit(actor=worker, plan=plan))
    # The south team's plan being written: the person is reassessed and found not eligible.
    plan = SupportPlan.objects.filter(
        person__team__code="south", status=SupportPlan.Status.DRAFT
    ).first()
    if plan is not None:
        south = users["sw.south"]
        again = assessment_start(actor=south, person=plan.person, supported_by="family")
        _complete(again, south, random.Random(11), need=0.05, eligible=False)


def seed_letters(users) -> None:
    """Letters already issued: indicative letters for the north team, a personal budget
    statement and a panel decision letter where there are agreed budgets and decisions."""
    from allocations.models import AgreedBudget, Letter
    from allocations.services.letters import letter_issue
    from panels.models import PanelDecision

    if Letter.objects.exists():
        return
    worker = {"north": users["sw.north"], "south": users["sw.south"]}
    for budget in IndicativeBudget.objects.filter(
        status=IndicativeBudget.Status.CURRENT, person__team__code="north"
    ).select_related("person__team")[:4]:
        letter_issue(actor=worker["north"], person=budget.person, kind="indicative")
    for agreed in AgreedBudget.objects.filter(status="current").select_related("person__team"):
        letter_issue(actor=worker[agreed.person.team.code], person=agreed.person, kind="statement")
    for decision in PanelDecision.objects.select_related("referral__plan__person__team"):
        person = decision.referral.plan.person
        letter_issue(actor=worker[person.team.code], person=person, kind="panel_decision")
