"""The allocations part of `manage.py seed_demo`: RAS policies, indicative budgets, a lower
figure awaiting a manager, and a calibration sample of the demo caseload with one run (plans,
the panel and letters are seeded by panels.demo)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from allocations.adapter import policy_fields
from allocations.engine.examples import SPEC_POLICY
from allocations.models import CalibrationSample, IndicativeBudget, RasPolicy
from allocations.services.budgets import budget_for_assessment, budget_recalculate
from allocations.services.policies import policy_approve, policy_create_draft
from assessments.demo import demo_clock, demo_moment, history_start
from assessments.models import Assessment, Person
from assessments.services.people import person_update

# The worked-example policy of spec/ras-calculation.md (allocations/engine/examples.py). A
# policy cannot take effect before the day it is approved, so the demo's is in force from the
# day the demo is loaded.
POLICY_2026 = {
    "name": "2026/27 rates",
    "notes": "Price per point set for affordability after the desktop sample (see seeds).",
    "effective_from": datetime.date.today(),  # noqa: DTZ011 - the demo's own day
    **policy_fields(SPEC_POLICY),
    "plan_tolerance_percent": Decimal("10"),
    "residential_benchmark_annual_gbp": Decimal("42000"),
}
# Last year's rates, in force from the start of the demo's history (approved then, under the
# demo's clock) until the 2026/27 rates take over: the history's budgets were priced with it.
POLICY_2025 = {
    **POLICY_2026,
    "name": "2025/26 rates",
    "notes": "The first year's rates, from the desktop sample.",
    "price_per_point_gbp": Decimal("4.70"),
}
# A draft mid-year uplift, in force from the day the demo is loaded once a second person
# approves it: then the RAS administrator can preview and apply it to everyone's budget.
POLICY_2027 = {
    **POLICY_2026,
    "name": "Mid-year uplift (draft)",
    "notes": "Proposed 3% uplift in the price per point, for approval by a senior manager.",
    "effective_from": datetime.date.today(),  # noqa: DTZ011 - the demo's own day
    "price_per_point_gbp": Decimal("5.03"),
}


def seed_allocations(users) -> None:
    admin, senior = users["ras.admin"], users["senior.manager"]
    if not RasPolicy.objects.filter(name=POLICY_2025["name"]).exists():
        start = history_start()
        with demo_clock(demo_moment(start, 9)):
            policy = policy_create_draft(actor=admin, data={**POLICY_2025, "effective_from": start})
            policy_approve(actor=senior, policy=policy)
    if not RasPolicy.objects.filter(name=POLICY_2026["name"]).exists():
        policy = policy_create_draft(actor=admin, data=POLICY_2026)
        policy_approve(actor=senior, policy=policy)
    if not RasPolicy.objects.filter(name=POLICY_2027["name"]).exists():
        policy_create_draft(actor=admin, data=POLICY_2027)

    # Budgets for submitted, eligible assessments that have none yet (the assessments were
    # submitted before the policies existed on a fresh database).
    for assessment in (
        Assessment.objects.filter(
            status__in=[Assessment.Status.SUBMITTED, Assessment.Status.SUPERSEDED],
            eligibility__eligible=True,
            budgets__isnull=True,
        )
        .select_related("person")
        .order_by("submitted_at")
    ):
        # Worked out when the assessment was submitted, as it would have been had the
        # policy existed (the demo's clock: the history is dated).
        with demo_clock(assessment.submitted_at):
            budget_for_assessment(
                actor=assessment.submitted_by,
                assessment=assessment,
                on_date=assessment.assessment_date,
                reason="Assessment submitted",
            )

    # One lower figure waiting for a manager: a protected package cost corrected downwards.
    if not IndicativeBudget.objects.filter(
        status=IndicativeBudget.Status.AWAITING_DECISION
    ).exists():
        person = (
            Person.objects.filter(
                team__code="north",
                budgets__status=IndicativeBudget.Status.CURRENT,
                budgets__basis=IndicativeBudget.Basis.EXISTING_PACKAGE,
            )
            .order_by("reference")
            .first()
        )
        if person is not None:
            person_update(
                actor=users["sw.north"],
                person=person,
                data={"existing_weekly_cost_gbp": person.existing_weekly_cost_gbp - 40},
            )
            budget_recalculate(
                actor=admin,
                person=person,
                reason="Package cost corrected after the provider's invoice",
            )


CALIBRATION_SAMPLE = "Demo caseload"


def seed_calibration(users) -> None:
    """A sample built from the demo caseload by the RAS administrator, fitted by every method
    as the policy in force would pay: the calibration pages have something to show."""
    # Imported here: the fitting code (NumPy, SciPy, openpyxl) loads when the demo is seeded,
    # not in every process that starts Django (this module is imported by AppConfig.ready).
    from allocations.services.calibration import ALL, calibration_run, sample_from_caseload

    if CalibrationSample.objects.filter(name=CALIBRATION_SAMPLE).exists():
        return
    admin = users["ras.admin"]
    sample = sample_from_caseload(actor=admin, name=CALIBRATION_SAMPLE)
    policy = RasPolicy.objects.filter(name=POLICY_2026["name"]).first()
    calibration_run(actor=admin, sample=sample, method=ALL, policy=policy)


REPORT_TARGET_REASON = "Targets for 2026/27 agreed at the adult social care board"


def seed_reports(users) -> None:
    """The reports' targets (NI 130's 30% take-up; an annual budget a little above what the
    demo's agreed budgets commit, so the headroom shows) set by the RAS administrator, and one
    members' pack for the last twelve months issued by the senior manager. Registered last (by
    panels, after the panel's history), so the pack counts everything the demo made."""
    from allocations.models import AgreedBudget, ReportPack, ReportSettings
    from allocations.reports.filters import default_period
    from allocations.reports.scope import report_scope_for_user
    from allocations.services.report_packs import report_pack_issue
    from allocations.services.report_settings import report_settings_update

    if not ReportSettings.objects.exists():
        weekly = sum(
            AgreedBudget.objects.filter(status=AgreedBudget.Status.CURRENT).values_list(
                "council_weekly_gbp", flat=True
            ),
            Decimal("0"),
        )
        # 15% above a year's commitment, rounded up to the next £10,000.
        budget = -(-(weekly * 52 * Decimal("1.15")) // 10_000) * 10_000
        report_settings_update(
            actor=users["ras.admin"],
            data={"take_up_target_percent": Decimal("30"), "annual_budget_gbp": budget},
            reason=REPORT_TARGET_REASON,
        )
    if not ReportPack.objects.exists():
        senior = users["senior.manager"]
        start, end = default_period(timezone.localdate())
        report_pack_issue(actor=senior, scope=report_scope_for_user(senior, start=start, end=end))


def seed_reviews(users) -> None:
    """Reviews (issue 13) for the north team's "My work": one review due within four weeks, one
    overdue and one done (no change, a month ago), among people with no assessment in
    progress. The demo's agreed budgets span its 18 months of history, so some fall due by
    themselves; where none does, a review that changed nothing is dated back (demo_clock) to
    set the next date. Called by seed_reports, the last demo step; runs once."""
    from allocations.models import AgreedBudget, Review
    from allocations.selectors.reviews import DUE_WITHIN_DAYS, add_months, with_review_due

    if Review.objects.exists():
        return
    worker = users["sw.north"]
    today = timezone.localdate()
    candidates = list(
        with_review_due(
            AgreedBudget.objects.filter(
                status=AgreedBudget.Status.CURRENT, person__team__code="north"
            ).exclude(person__assessments__status=Assessment.Status.DRAFT)
        )
        .select_related("person")
        .order_by("agreed_at", "pk")
    )
    used: set[int] = set()

    def unused(test):
        found = next((b for b in candidates if b.pk not in used and test(b)), None)
        if found is not None:
            used.add(found.pk)
        return found

    def review_done(agreed, day: datetime.date, why: str) -> None:
        from allocations.services.reviews import review_decide, review_start

        with demo_clock(demo_moment(day, 11)):
            review = review_start(actor=worker, agreed=agreed, reason=why)
        with demo_clock(demo_moment(day, 15)):
            review_decide(
                actor=worker,
                review=review,
                outcome=Review.Outcome.NO_CHANGE,
                reason="Visited at home: the support still meets their outcomes and they are "
                "happy with it.",
            )

    year_ago = add_months(today, -12)
    if unused(lambda b: b.review_due < today) is None:
        overdue_from = year_ago - datetime.timedelta(days=10)
        agreed = unused(lambda b: b.agreed_at.date() < overdue_from)
        if agreed is not None:  # reviewed a year and ten days ago: ten days overdue now
            review_done(agreed, overdue_from, "Annual review")
    due_window = today + datetime.timedelta(days=DUE_WITHIN_DAYS)
    if unused(lambda b: today <= b.review_due <= due_window) is None:
        due_from = year_ago + datetime.timedelta(days=14)
        agreed = unused(lambda b: b.agreed_at.date() < due_from)
        if agreed is not None:  # reviewed 50 weeks ago: due in a fortnight
            review_done(agreed, due_from, "Annual review")
    month_ago = today - datetime.timedelta(days=30)
    agreed = unused(lambda b: b.agreed_at.date() < month_ago)
    if agreed is not None:
        review_done(agreed, month_ago, "Review brought forward after a fall at home")


MIXED_PLAN_REASON = (
    "Costed with her and her son from local prices; she manages her personal assistant "
    "herself, the council books the day centre and the respite home holds her short breaks."
)


def seed_mixed_plan(users) -> None:
    """A north team plan managed three ways (a direct payment for a personal assistant, the
    day centre council-managed, short breaks as an individual service fund) with an assessed
    contribution, written line by line (one line changed after it was added), submitted and
    authorised by the team manager: the plan page and the statement letter show the direct
    payment paid net of the contribution. Runs once, after panels' plans and before its
    letters (so the statement is issued with the others)."""
    from allocations.costing import plan_costs
    from allocations.engine import round2
    from allocations.models import PlanLine, SupportPlan
    from allocations.selectors.plans import eligible_needs
    from allocations.services.plans import (
        plan_authorise,
        plan_line_add,
        plan_line_update,
        plan_start,
        plan_submit,
        plan_update,
    )

    if SupportPlan.objects.filter(difference_reason=MIXED_PLAN_REASON).exists():
        return
    worker, manager = users["sw.north"], users["tm.north"]
    budget = (
        IndicativeBudget.objects.filter(
            status=IndicativeBudget.Status.CURRENT,
            person__team__code="north",
            person__plans__isnull=True,
            indicative_weekly_gbp__gte=Decimal("200"),
            indicative_weekly_gbp__lt=Decimal("500"),
        )
        .exclude(person__assessments__status=Assessment.Status.DRAFT)
        .select_related("person")
        .order_by("person__reference")
        .first()
    )
    if budget is None:
        return
    plan = plan_start(actor=worker, person=budget.person)
    needs = eligible_needs(plan)
    day_centre, nights = Decimal("90.00"), Decimal("570.00")  # 2 × £45; 6 × £95 a year
    hours = ((budget.indicative_weekly_gbp - day_centre - nights / 52) / Decimal("16.50")).quantize(
        Decimal("1")
    )
    lines = [
        ("pa_hours", "Personal assistant", "Direct employ", hours, "hour", "16.50", "week"),
        ("day_opportunities", "Day centre", "Oak Day Centre", 2, "session", "45.00", "week"),
        ("short_breaks", "Respite stays", "Rowan House", 6, "night", "95.00", "year"),
    ]
    added = []
    for index, (category, what, provider, quantity, unit, cost, often) in enumerate(lines):
        data = {
            "category": category,
            "description": what,
            "provider": provider,
            "quantity": Decimal(quantity),
            "unit": unit,
            "unit_cost_gbp": Decimal(cost),
            "frequency": often,
            "meets_outcomes": needs[index :: len(lines)],
        }
        # The personal assistant was first costed at an agency's rate, then changed.
        first = {**data, "unit_cost_gbp": Decimal("21.00")} if index == 0 else data
        added.append(plan_line_add(actor=worker, plan=plan, data=first))
        if index == 0:
            plan_line_update(actor=worker, plan=plan, line_id=added[0].pk, data=data)
    lines_now = list(plan.lines.live())
    costs = plan_costs(plan, lines_now)
    direct = next(x for x in lines_now if x.category == PlanLine.Category.PA_HOURS)
    direct_weekly = round2(direct.quantity * direct.unit_cost_gbp)
    plan = plan_update(
        actor=worker,
        plan=plan,
        data={
            "management": "mixed",
            "direct_payment_weekly_gbp": direct_weekly,
            "council_managed_weekly_gbp": day_centre,
            "isf_weekly_gbp": costs.weekly - direct_weekly - day_centre,
            "contribution_weekly_gbp": Decimal("35.50"),
            "difference_reason": MIXED_PLAN_REASON,
        },
    )
    plan_authorise(actor=manager, plan=plan_submit(actor=worker, plan=plan))
