"""The support plan and panel part of `manage.py seed_demo`: plans at every stage, a panel
meeting with an agenda, a decision, and agreed budgets; then 18 months of history for the
reports (seed_history)."""

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
from panels.services import (
    attendance_record,
    meeting_create,
    meeting_substitute_add,
    panel_decide,
    referral_schedule,
)

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


PANEL_ROOM = "Committee Room 2, County Hall"
# A panel member who stands in when a member cannot sit (not one of the demo's logins).
SUBSTITUTE = ("panel.member3", "Joseph", "Adeyemi")


def _substitute_member():
    from django.contrib.auth.models import Group

    from assessments.demo import DEMO_PASSWORD
    from assessments.models import User
    from assessments.roles import Role

    username, first, last = SUBSTITUTE
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(
            username=username, first_name=first, last_name=last, email=f"{username}@example.org"
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=Role.PANEL_MEMBER.label))
    return user


def _meetings(users) -> tuple[PanelMeeting, PanelMeeting]:
    """Today's meeting, under way (it began within the last hour or so, arranged a week ago),
    and next week's."""
    from assessments.demo import demo_clock

    chair = users["panel.chair"]
    members = [users["panel.member"], users["panel.member2"]]
    now = timezone.localtime()
    began = (now - datetime.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    began = began if began.date() == now.date() else now.replace(hour=0, minute=0)
    with demo_clock(now - datetime.timedelta(days=7)):
        today = meeting_create(
            actor=chair,
            date=now.date(),
            time=began.time().replace(second=0, microsecond=0),
            place=PANEL_ROOM,
            chair=chair,
            members=members,
        )
    next_week = meeting_create(
        actor=chair,
        date=now.date() + datetime.timedelta(days=7),
        time=datetime.time(10, 0),
        place=PANEL_ROOM,
        chair=chair,
        members=members,
    )
    return today, next_week


def seed_plans(users) -> None:
    """Plans at every stage; today's panel meeting (a member sent apologies, a substitute
    sits in her place, and it approves the south team's plan with conditions) and next
    week's meeting with the north team's plan waiting on its agenda."""
    if SupportPlan.objects.exists():
        return
    chair = users["panel.chair"]
    today_meeting, next_meeting = _meetings(users)
    attendance_record(
        actor=chair,
        meeting=today_meeting,
        member=users["panel.member2"],
        status="apologies",
        reason="On annual leave",
    )
    meeting_substitute_add(
        actor=chair,
        meeting=today_meeting,
        member=_substitute_member(),
        reason="Fatima Begum sent apologies: a substitute keeps the panel quorate.",
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
            meeting = today_meeting if team == "south" else next_meeting
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


# --- History: a year and a half of people reaching agreed budgets ---------------------------

HISTORY_PEOPLE = 36
HISTORY_REFERENCE = "ASC-2{:05d}"
# Why an agreed budget differs from the indicative figure (the plan's cost is what it is).
_DIFFERENCE_REASONS = [
    "Costed with the person and their family from local prices.",
    "Fewer day centre sessions: she prefers a weekly club run by her church.",
    "Night support added after two falls; the family covers weekends.",
    "The personal assistant's rate is higher in a rural area.",
    "Shared support with a housemate keeps the cost down.",
]
# How the history's budgets are managed, in proportion (a mix splits 60/40 DP/council).
_MANAGEMENT = ["direct_payment"] * 4 + ["council_managed"] * 3 + ["individual_service_fund"] * 2
_MANAGEMENT += ["mixed"]


def _history_person(index: int, rng, teams, worker, today):
    """A person whose story starts on their assessment day (person_create runs on the
    demo's clock, so their record is as old as their first assessment)."""
    from assessments.demo import (
        _AGES,
        _FAMILY,
        _GIVEN,
        _STREETS,
        _TOWNS,
        _postcode,
        demo_addressing,
    )
    from assessments.models import ClientGroup, Ethnicity, Sex
    from assessments.services.people import person_create

    team_code = "north" if index % 2 == 0 else "south"
    group = list(ClientGroup)[index % len(ClientGroup)]
    low, high = _AGES[group]
    born = today - datetime.timedelta(days=rng.randint(low, high) * 365 + 100)
    town, area = _TOWNS[team_code]
    given_name = _GIVEN[(index * 3 + 1) % len(_GIVEN)]
    return person_create(
        actor=worker,
        data={
            "reference": HISTORY_REFERENCE.format(index + 1),
            **demo_addressing(index, given_name),
            "given_name": given_name,
            "family_name": _FAMILY[(index * 11 + 5) % len(_FAMILY)],
            "date_of_birth": born,
            "client_group": group,
            "team": teams[team_code],
            "address_line_1": f"{rng.randint(1, 180)} {rng.choice(_STREETS)}",
            "town": town,
            "postcode": _postcode(rng, area),
            # Most had a traditional package before (its cost is what the reports compare).
            "existing_weekly_cost_gbp": (
                Decimal(rng.randrange(15000, 70000)) / 100 if rng.random() < 0.7 else None
            ),
            "needs_increased": False,
            # A few people's sex or ethnicity is not recorded (blank).
            "sex": rng.choice([Sex.FEMALE, Sex.MALE] * 4 + [""]),
            "ethnicity": rng.choice(
                [Ethnicity.WHITE] * 5
                + [Ethnicity.ASIAN, Ethnicity.ASIAN, Ethnicity.BLACK, Ethnicity.MIXED]
                + [Ethnicity.OTHER, ""]
            ),
        },
    )


def _history_plan(plan, worker, rng, budget) -> SupportPlan:
    """Lines near the indicative figure (sometimes above or below it, with a reason) and a
    way of managing the money."""
    factor = rng.choice(["1", "1", "1", "0.9", "0.95", "1.05", "1.08", "1.2"])
    plan = _cover(plan, worker, budget.indicative_weekly_gbp * Decimal(factor))
    weekly = plan_costs(plan).weekly
    management = rng.choice(_MANAGEMENT)
    data = {"management": management}
    if management == "mixed":
        direct = (weekly * Decimal("0.6")).quantize(Decimal("0.01"))
        data.update(
            direct_payment_weekly_gbp=direct,
            council_managed_weekly_gbp=weekly - direct,
            isf_weekly_gbp=Decimal("0"),
        )
    if plan_costs(plan).difference:
        data["difference_reason"] = rng.choice(_DIFFERENCE_REASONS)
    return plan_update(actor=worker, plan=plan, data=data)


def _history_meeting(users, day: datetime.date, meetings: dict) -> PanelMeeting:
    """The panel meets on the 15th of each month (the first one after `day`)."""
    meets = day.replace(day=15)
    if meets < day:
        meets = (meets + datetime.timedelta(days=31)).replace(day=15)
    if meets not in meetings:
        chair = users["panel.chair"]
        meetings[meets] = PanelMeeting.objects.filter(date=meets).first() or meeting_create(
            actor=chair,
            date=meets,
            time=datetime.time(13, 30),  # arranged by 11:00 that day at the latest
            place=PANEL_ROOM,
            chair=chair,
            members=[users["panel.member"], users["panel.member2"]],
        )
    return meetings[meets]


def _history_agree(users, plan, worker, manager, rng, day, meetings, today) -> bool:
    """Submit the plan on `day`; a team manager authorises it two days later, or the panel
    decides at its next meeting (left waiting if that is still to come). True when agreed."""
    from assessments.demo import demo_clock, demo_moment

    plan = plan_submit(actor=worker, plan=plan)
    if plan.status == SupportPlan.Status.AWAITING_AUTHORISATION:
        when = min(day + datetime.timedelta(days=2), today)
        with demo_clock(demo_moment(when, 15)):
            plan_authorise(actor=manager, plan=plan)
        return True
    chair = users["panel.chair"]
    meeting = _history_meeting(users, day, meetings)
    referral = PanelReferral.objects.get(plan=plan)
    referral_schedule(actor=chair, referral=referral, meeting=meeting)
    if meeting.date >= today:
        return False  # waiting for the next meeting
    declined = rng.random() < 0.2
    with demo_clock(demo_moment(meeting.date, 14)):
        panel_decide(
            actor=chair,
            referral=referral,
            outcome="declined" if declined else "approved_with_conditions",
            reasons=(
                "The plan does not show why a lower-cost way of meeting the needs would not work."
                if declined
                else "Meets eligible needs safely; the person prefers to stay at home."
            ),
            conditions="" if declined else "Review the night support after three months.",
            review_date=None if declined else meeting.date + datetime.timedelta(days=90),
        )
    return not declined


def seed_history(users) -> None:
    """People assessed month by month over the last 18 months, each through the services on
    the demo's clock (assessments.demo.demo_clock), so the records carry real dates: most reach
    an agreed budget (more of them, and sooner, as the months go on, so take-up rises); some
    wait at each stage; a few agreed budgets were later replaced (ended) at a review; plans go
    to the panel, which approves or declines them; budgets are managed every way."""
    import random

    from allocations.models import IndicativeBudget
    from assessments.demo import (
        HISTORY_DAYS,
        _answer_all,
        _complete,
        demo_clock,
        demo_moment,
        history_start,
    )
    from assessments.models import Person, Team
    from assessments.services.assessments import (
        assessment_save_informal_support,
        assessment_start,
    )

    if Person.objects.filter(reference=HISTORY_REFERENCE.format(1)).exists():
        return
    rng = random.Random(12)
    teams = {team.code: team for team in Team.objects.all()}
    today = timezone.localdate()
    start = history_start()
    span = (today - start).days
    meetings: dict = {}
    for index in range(HISTORY_PEOPLE):
        team = "north" if index % 2 == 0 else "south"
        worker, manager = users[f"sw.{team}"], users[f"tm.{team}"]
        # Assessments spread evenly from the history's first fortnight to last week.
        assessed = start + datetime.timedelta(days=14 + index * (span - 21) // HISTORY_PEOPLE)
        recent = (today - assessed).days
        with demo_clock(demo_moment(assessed, 9)):
            person = _history_person(index, rng, teams, worker, today)
            assessment = assessment_start(actor=worker, person=person, supported_by="self")
            need = 0.2 + 0.6 * rng.random()
            if index >= HISTORY_PEOPLE - 2:
                # Still being assessed: a few sections answered.
                _answer_all(assessment, worker, rng, need=need, sections=3)
                continue
            if index >= HISTORY_PEOPLE - 4:
                # Every answer given; the eligibility decision still to record.
                assessment = _answer_all(assessment, worker, rng, need=need)
                assessment_save_informal_support(
                    actor=worker,
                    assessment=assessment,
                    lock_version=assessment.lock_version,
                    informal_support="none",
                    carer_assessed=None,
                    carer_able_and_willing=None,
                    carer_impact="",
                )
                continue
            _complete(assessment, worker, rng, need=need)
        budget = IndicativeBudget.objects.filter(
            person=person, status=IndicativeBudget.Status.CURRENT
        ).first()
        if budget is None:
            continue
        # Earlier in the history people took longer to move to a personal budget (many kept
        # their traditional package for months); later, most agree one within weeks.
        quick = rng.random() < 0.2 + 0.75 * index / HISTORY_PEOPLE
        delay = rng.randint(14, 35) if quick else rng.randint(90, HISTORY_DAYS // 2)
        planned = assessed + datetime.timedelta(days=delay)
        # Still on their way when the agreement would come after today: some have no plan
        # yet, some a plan being written (since a week after their assessment), some a plan
        # submitted to a manager or the panel.
        waiting = index % 3 if planned > today - datetime.timedelta(days=3) else None
        if waiting is not None:
            if waiting == 0 or recent < 10:
                continue
            planned = assessed + datetime.timedelta(days=7)
        with demo_clock(demo_moment(planned, 11)):
            plan = _history_plan(plan_start(actor=worker, person=person), worker, rng, budget)
            if waiting is not None:
                if waiting == 2:
                    plan_submit(actor=worker, plan=plan)
                continue
            agreed = _history_agree(users, plan, worker, manager, rng, planned, meetings, today)
        # A few budgets agreed early on were reviewed later and replaced (the first one ended).
        review = planned + datetime.timedelta(days=200)
        if agreed and index % 7 == 3 and review < today - datetime.timedelta(days=7):
            with demo_clock(demo_moment(review, 11)):
                plan = _history_plan(plan_start(actor=worker, person=person), worker, rng, budget)
                _history_agree(users, plan, worker, manager, rng, review, meetings, today)


def seed_record_openings(users) -> None:
    """A week of record openings (issue 13), so the auditor's access log has something to
    filter: each team's worker and manager opened some of their team's people over the last
    few working days. PersonAccess is append-only, so this runs once (while no opening by a
    demo worker exists)."""
    from assessments.demo import demo_clock, demo_moment
    from assessments.models import Person, PersonAccess
    from assessments.services.people import person_access_record

    openers = [users[name] for name in ("sw.north", "tm.north", "sw.south", "tm.south")]
    if PersonAccess.objects.filter(user__in=openers).exists():
        return
    today = timezone.localdate()
    for offset, opener in enumerate(openers):
        people = Person.objects.filter(team=opener.team).order_by("reference")[offset : offset + 3]
        for days_ago, person in enumerate(people, start=1):
            with demo_clock(demo_moment(today - datetime.timedelta(days=days_ago), 9 + offset)):
                person_access_record(
                    user=opener,
                    person=person,
                    page=PersonAccess.Page.DETAIL,
                    path=f"/people/{person.pk}/",
                )
