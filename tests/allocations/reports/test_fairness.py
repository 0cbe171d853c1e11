"""The fairness tables (issue 12) against small hand-made sets: each figure worked by hand in
the comments. People and their budgets are written directly (the figures are chosen, not
calculated) except in the last tests, which go through the real plan and panel services to
pin how allocations tells a referral and a panel's decline without importing panels."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from allocations.models import AgreedBudget, IndicativeBudget, SupportPlan
from allocations.reports.fairness import (
    NOT_RECORDED,
    SECTION,
    WHOLE_SERVICE,
    age_band_on,
    fairness_tables,
)
from allocations.reports.scope import ReportScope
from allocations.reports.tables import SUPPRESSED, Marked, plain, report_section
from assessments.models import Person, age_band_for, age_on
from tests.factories import make_person

D = Decimal
# The data are made on 20 November 2026; the period is November 2026.
MADE = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)
START, END = datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)
NOVEMBER = ReportScope(start=START, end=END)


@pytest.fixture
def made_in_november():
    with time_machine.travel(MADE, tick=False):
        yield


@pytest.fixture
def cast(worker_a, worker_b, manager_a, policy, questionnaire, made_in_november):
    """Who writes the records, and the one assessment every hand-made budget names (budgets
    need one; which one does not matter to the reports)."""
    from assessments.services.assessments import assessment_start

    someone = make_person(actor=worker_a, family_name="Nobody")
    assessment = assessment_start(actor=worker_a, person=someone, supported_by="self")
    return {
        "a": worker_a,
        "b": worker_b,
        "manager": manager_a,
        "policy": policy,
        "assessment": assessment,
    }


def budget_row(
    cast, person, *, points, indicative, ras=None, status="current", replaces=None, **extra
):
    """A budget version with chosen figures. One that has ended is written waiting for a
    decision, then moved (a version cannot start ended, and the person may have a current
    one already)."""
    ended = status in ("superseded", "ended")
    budget = IndicativeBudget.objects.create(
        person=person,
        assessment=cast["assessment"],
        policy=cast["policy"],
        status="awaiting_decision" if ended else status,
        reason="Hand-made for a report test.",
        calculated_on=timezone.localdate(),
        raw_points=D(points),
        reduction_percent=D("0"),
        adjusted_points=D(points),
        gross_weekly_gbp=D(ras or indicative),
        contingency_weekly_gbp=D("0"),
        ras_weekly_gbp=D(ras or indicative),
        indicative_weekly_gbp=D(indicative),
        annual_gbp=D(indicative) * 52,
        basis="ras",
        panel_required=False,
        breakdown={},
        created_by=cast["a"],
        replaces=replaces,
    )
    if ended or extra:
        budget.status = status
        for name, value in extra.items():
            setattr(budget, name, value)
        budget.save()
    return budget


def agreed_row(cast, person, plan, *, weekly, indicative, status="current", **extra):
    weekly, indicative = D(weekly), D(indicative)
    return AgreedBudget.objects.create(
        person=person,
        plan=plan,
        status=status,
        weekly_gbp=weekly,
        annual_gbp=weekly * 52,
        direct_payment_weekly_gbp=weekly,
        council_managed_weekly_gbp=D("0"),
        isf_weekly_gbp=D("0"),
        contribution_weekly_gbp=D("0"),
        council_weekly_gbp=weekly,
        indicative_weekly_gbp=indicative,
        difference_reason="" if weekly == indicative else "More hours",
        review_date=datetime.date(2027, 11, 1),
        agreed_by=cast["manager"],
        agreed_how="team manager",
        **extra,
    )


def plan_row(cast, person, budget, *moves, routing_reasons=(), comments=""):
    """A plan saved once per status in `moves` (each save writes the history row the report
    reads)."""
    plan = SupportPlan.objects.create(
        person=person, indicative_budget=budget, created_by=cast["a"], updated_by=cast["a"]
    )
    for status in moves:
        plan.status = status
        if status == SupportPlan.Status.AT_PANEL:
            plan.routing_reasons = list(routing_reasons) or ["Referred for risk reasons."]
        if status == SupportPlan.Status.AWAITING_AUTHORISATION:
            plan.routing_reasons = []
        if status == SupportPlan.Status.RETURNED:
            plan.returned_comments = comments
        plan.save()
    return plan


def counted(
    cast,
    *,
    points,
    indicative,
    ras=None,
    traditional=None,
    agreed=None,
    referred=False,
    declined=False,
    team="a",
    **person,
):
    """A person with a current indicative budget; optionally an agreed budget in force, a plan
    referred to the panel in November, declined by it in November."""
    person.setdefault("client_group", "older_people")
    p = make_person(actor=cast[team], existing_weekly_cost_gbp=traditional, **person)
    budget = budget_row(cast, p, points=points, indicative=indicative, ras=ras)
    S = SupportPlan.Status
    moves = []
    if referred or declined:
        moves.append(S.AT_PANEL)
    if declined:
        moves.append(S.RETURNED)
        comments = "Declined by the panel: the risks are not managed."
    else:
        comments = ""
    if agreed is not None:
        if not moves or moves[-1] != S.AT_PANEL:
            moves.append(S.AWAITING_AUTHORISATION)
        moves.append(S.AGREED)
    if moves:
        plan = plan_row(cast, p, budget, *moves, comments=comments)
        if agreed is not None:
            agreed_row(cast, p, plan, weekly=agreed, indicative=indicative)
    return p


def rows(table) -> dict[str, tuple]:
    return {row[0]: row[1:] for row in table.rows}


def by_slug(tables) -> dict:
    return {t.slug: t for t in tables}


def test_section_is_registered_fifth():
    assert report_section("fairness") is SECTION
    assert SECTION.order == 50


@pytest.fixture
def two_groups(cast):
    """Ten people, all born 14 March 1950 (76 on 30 November 2026: "75–84").

    Older people, 5, all female and White: 10 points, £100 indicative and RAS figure, £200
    traditional, £110 agreed; one referred to panel in November, none declined.
    Learning disability, 5 (3 male, 2 with no sex recorded; one Asian, four White):
        points      20, 20, 20, 30, 30
        indicative 200,200,200,300,300 (and RAS figure)
        traditional 400 each
        agreed     200,200,200,300, none (4 people)
        referred   yes,yes,yes, no, no; declined: the first only."""
    for _ in range(5):
        counted(
            cast,
            points="10",
            indicative="100.00",
            traditional="200.00",
            agreed="110.00",
            referred=_ == 0,
            sex="female",
            ethnicity="white",
        )
    ld = {"client_group": "learning_disability", "traditional": "400.00"}
    counted(
        cast,
        points="20",
        indicative="200.00",
        agreed="200.00",
        referred=True,
        declined=True,
        sex="male",
        ethnicity="asian",
        **ld,
    )
    counted(
        cast,
        points="20",
        indicative="200.00",
        agreed="200.00",
        referred=True,
        sex="male",
        ethnicity="white",
        **ld,
    )
    counted(
        cast,
        points="20",
        indicative="200.00",
        agreed="200.00",
        referred=True,
        sex="male",
        ethnicity="white",
        **ld,
    )
    counted(cast, points="30", indicative="300.00", agreed="300.00", ethnicity="white", **ld)
    counted(cast, points="30", indicative="300.00", ethnicity="white", **ld)


def test_averages_ratios_shares_and_the_whole_service(two_groups):
    table = by_slug(fairness_tables(NOVEMBER))["fairness-client-group"]
    assert [c.key for c in table.columns] == [
        "group", "people", "avg_points", "avg_indicative", "avg_agreed",
        "agreed_to_indicative", "ras_to_traditional", "referred_percent", "declined_percent",
    ]  # fmt: skip
    assert [row[0] for row in table.rows] == [
        "Older people", "Learning disability", WHOLE_SERVICE
    ]  # fmt: skip
    got = {label: tuple(plain(c) for c in cells) for label, cells in rows(table).items()}
    # Older people: agreed ÷ indicative 110/100 = 1.10 each; RAS ÷ traditional 100/200 = 0.50;
    # referred 1 of 5 = 20.0%.
    assert got["Older people"] == (
        5,
        D("10.00"),
        D("100.00"),
        D("110.00"),
        D("1.10"),
        D("0.50"),
        D("20.0"),
        D("0.0"),
    )
    # Learning disability: points (20+20+20+30+30)/5 = 24; indicative 1200/5 = 240; agreed
    # over 4 people only: held back, and agreed ÷ indicative with it; RAS ÷ traditional
    # (0.5+0.5+0.5+0.75+0.75)/5 = 0.60; referred 3/5 = 60%; declined 1/5 = 20%.
    assert got["Learning disability"] == (
        5,
        D("24.00"),
        D("240.00"),
        None,
        None,
        D("0.60"),
        D("60.0"),
        D("20.0"),
    )
    ld = rows(table)["Learning disability"]
    assert ld[3] is SUPPRESSED and ld[4] is SUPPRESSED
    # Whole service, 10 people: points 170/10 = 17; indicative 1700/10 = 170; agreed over 9:
    # (5×110 + 200+200+200+300)/9 = 1450/9 = 161.111 → 161.11; agreed ÷ indicative
    # (5×1.10 + 4×1)/9 = 9.5/9 = 1.0555 → 1.06; RAS ÷ traditional (5×0.5 + 3×0.5 + 2×0.75)/10
    # = 5.5/10 = 0.55; referred 4/10 = 40%; declined 1/10 = 10%.
    assert got[WHOLE_SERVICE] == (
        10,
        D("17.00"),
        D("170.00"),
        D("161.11"),
        D("1.06"),
        D("0.55"),
        D("40.0"),
        D("10.0"),
    )


def test_marked_differences(two_groups):
    table = by_slug(fairness_tables(NOVEMBER))["fairness-client-group"]
    marks = {
        label: [c.direction if isinstance(c, Marked) else None for c in cells]
        for label, cells in rows(table).items()
    }
    # Averages and ratios: marked beyond ±10% of the whole service's figure. Points: 10 and
    # 24 against 17 ± 1.7; indicative 100 and 240 against 170 ± 17; agreed 110 against
    # 161.11 ± 16.11. Agreed ÷ indicative 1.10 against 1.06 ± 0.106: not marked. RAS ÷
    # traditional 0.50 and 0.60 against 0.55 ± 0.055: not marked (0.05 is within).
    # Shares: beyond ±5 points. Referred 20% and 60% against 40%; declined 0% and 20% against
    # 10%.
    assert marks["Older people"] == [
        None, "lower", "lower", "lower", None, None, "lower", "lower"
    ]  # fmt: skip
    assert marks["Learning disability"] == [
        None, "higher", "higher", None, None, None, "higher", "higher"
    ]  # fmt: skip
    assert marks[WHOLE_SERVICE] == [None] * 8
    # The export says so in words too.
    from allocations.reports.exports import table_csv

    csv_rows = table_csv(table).splitlines()
    assert csv_rows[0].endswith("Differs from the whole service")
    assert csv_rows[1].startswith("Older people,5,10.00,100.00,110.00,1.10,0.50,20.0,0.0,")
    assert "Average points: lower" in csv_rows[1]


def test_every_table_says_what_it_counts(two_groups):
    tables = fairness_tables(NOVEMBER)
    assert [t.slug for t in tables] == [
        "fairness-client-group", "fairness-age-band", "fairness-sex", "fairness-ethnicity"
    ]  # fmt: skip
    for table in tables:
        notes = " ".join(table.notes)
        for words in ("Who is counted", "in force at the end of the period", "fewer than 5",
                      "next-smallest", "10% of the whole service", "5 percentage points",
                      "not a decline"):  # fmt: skip
            assert words in notes, (table.slug, words)
    assert "age on the last day" in " ".join(tables[1].notes)


def test_primary_suppression_and_not_recorded(two_groups):
    table = by_slug(fairness_tables(NOVEMBER))["fairness-sex"]
    # Female 5 (the older people); male 3 and nothing recorded 2: each fewer than 5, every
    # figure held back. Two rows are held back, so neither can be worked out from the whole
    # service (10 − 5 = 5 between them): no second row is held back.
    assert [row[0] for row in table.rows] == ["Female", "Male", NOT_RECORDED, WHOLE_SERVICE]
    assert rows(table)["Female"][0] == 5
    assert rows(table)["Male"] == (SUPPRESSED,) * 8
    assert rows(table)[NOT_RECORDED] == (SUPPRESSED,) * 8
    assert rows(table)[WHOLE_SERVICE][0] == 10
    assert table.has_suppressed


def test_secondary_suppression_of_the_next_smallest_group(two_groups):
    table = by_slug(fairness_tables(NOVEMBER))["fairness-ethnicity"]
    # Asian 1: held back. White 9 would give it away (10 − 9 = 1): held back too.
    assert [row[0] for row in table.rows] == [
        "Asian or Asian British", "White", WHOLE_SERVICE
    ]  # fmt: skip
    assert rows(table)["Asian or Asian British"] == (SUPPRESSED,) * 8
    assert rows(table)["White"] == (SUPPRESSED,) * 8
    assert rows(table)[WHOLE_SERVICE][:2] == (10, D("17.00"))


def test_secondary_suppression_picks_the_smallest_shown_group(cast):
    """Older people 7, learning disability 6, mental health 5, sensory impairment 2: the
    sensory impairment row is held back (2 < 5); of the rest, mental health (5) is the
    smallest and is held back too; the other two are shown."""
    for group, n in [
        ("older_people", 7),
        ("learning_disability", 6),
        ("mental_health", 5),
        ("sensory_impairment", 2),
    ]:
        for _ in range(n):
            counted(cast, points="10", indicative="100.00", client_group=group)
    table = by_slug(fairness_tables(NOVEMBER))["fairness-client-group"]
    got = rows(table)
    assert got["Sensory impairment"] == (SUPPRESSED,) * 8
    assert got["Mental health"] == (SUPPRESSED,) * 8
    assert got["Older people"][0] == 7
    assert got["Learning disability"][0] == 6
    assert got[WHOLE_SERVICE][0] == 20
    # Nobody has an agreed budget or a traditional cost: nothing to average (not held back).
    assert got[WHOLE_SERVICE][3:6] == (None, None, None)


def test_a_small_whole_service_is_held_back_too(cast):
    for _ in range(3):
        counted(cast, points="10", indicative="100.00")
    for table in fairness_tables(NOVEMBER):
        assert table.rows[-1] == (WHOLE_SERVICE,) + (SUPPRESSED,) * 8


def test_nobody_counted(cast):
    for table in fairness_tables(NOVEMBER):
        assert table.rows == [(WHOLE_SERVICE, 0) + (None,) * 7]


def test_who_is_counted(cast):
    """Counted: five people with a budget current at the end. Not counted: a budget ended (not
    eligible) in November, and one first made in December. A superseded version and a lower
    figure awaiting a decision do not count twice; an agreed budget ended before the end, or
    waiting for a decision, is not in force."""
    people = [counted(cast, points="10", indicative="100.00", agreed="100.00") for _ in range(5)]
    # The first person's earlier version was superseded in October: not counted again.
    budget_row(
        cast,
        people[0],
        points="40",
        indicative="400.00",
        status="superseded",
        ended_at=datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC),
    )
    # The second's lower figure waits for a manager: the current one counts.
    budget_row(cast, people[1], points="10", indicative="10.00", status="awaiting_decision")
    # The third's lower agreed budget waits for a manager: their £100 stays in force.
    plan = plan_row(
        cast, people[2], people[2].budgets.get(status="current"),
        SupportPlan.Status.AWAITING_AUTHORISATION, SupportPlan.Status.AGREED,
    )  # fmt: skip
    agreed_row(
        cast, people[2], plan, weekly="10.00", indicative="100.00", status="awaiting_decision"
    )
    # Someone whose budget ended in November (not eligible any more).
    ended = make_person(actor=cast["a"])
    budget_row(
        cast,
        ended,
        points="50",
        indicative="500.00",
        status="ended",
        ended_at=datetime.datetime(2026, 11, 10, tzinfo=datetime.UTC),
    )
    # Someone whose first budget was made on 1 December, after the period.
    with time_machine.travel(datetime.datetime(2026, 12, 1, 9, tzinfo=datetime.UTC)):
        budget_row(cast, make_person(actor=cast["a"]), points="50", indicative="500.00")
    whole = rows(by_slug(fairness_tables(NOVEMBER))["fairness-client-group"])[WHOLE_SERVICE]
    # Five people, 10 points and £100 each; agreed £100 each (the £10 is not in force).
    assert [plain(c) for c in whole[:5]] == [5, D("10.00"), D("100.00"), D("100.00"), D("1.00")]
    # In December the late budget counts too: 6 people, (50 + 5×10)/6 = 16.67 points.
    december = ReportScope(start=START, end=datetime.date(2026, 12, 31))
    whole = rows(by_slug(fairness_tables(december))["fairness-client-group"])[WHOLE_SERVICE]
    assert [plain(c) for c in whole[:3]] == [6, D("16.67"), D("166.67")]


def test_a_referral_before_the_period_does_not_count(cast):
    with time_machine.travel(datetime.datetime(2026, 10, 15, 12, tzinfo=datetime.UTC)):
        early = [counted(cast, points="10", indicative="100.00", declined=True) for _ in range(2)]
    assert early
    for _ in range(3):
        counted(cast, points="10", indicative="100.00", referred=True)
    whole = rows(by_slug(fairness_tables(NOVEMBER))["fairness-client-group"])[WHOLE_SERVICE]
    # 3 of 5 referred in November (60%); the two referred and declined in October are not.
    assert whole[6:] == (D("60.0"), D("0.0"))
    october = ReportScope(start=datetime.date(2026, 10, 1), end=END)
    whole = rows(by_slug(fairness_tables(october))["fairness-client-group"])[WHOLE_SERVICE]
    # From October: all 5 referred (100%), 2 declined (40%).
    assert whole[6:] == (D("100.0"), D("40.0"))


def test_team_and_client_group_filters(cast, team_a, team_b):
    """Team A: 5 older people (10 points) and 5 with a learning disability (20 points); team
    B: 5 older people (40 points)."""
    for _ in range(5):
        counted(cast, points="10", indicative="100.00")
        counted(cast, points="20", indicative="200.00", client_group="learning_disability")
        counted(cast, points="40", indicative="400.00", team="b")
    every = rows(by_slug(fairness_tables(NOVEMBER))["fairness-client-group"])
    # Every team: older people (5×10 + 5×40)/10 = 25 points; whole (50+100+200)/15 = 23.33.
    assert plain(every["Older people"][1]) == D("25.00")
    assert plain(every[WHOLE_SERVICE][1]) == D("23.33")
    team = ReportScope(start=START, end=END, team_ids=(team_a.pk,))
    got = rows(by_slug(fairness_tables(team))["fairness-client-group"])
    # Team A only: older people 10, whole service (50+100)/10 = 15.
    assert plain(got["Older people"][1]) == D("10.00")
    assert got[WHOLE_SERVICE][0] == 10
    assert plain(got[WHOLE_SERVICE][1]) == D("15.00")
    group = ReportScope(start=START, end=END, client_group="learning_disability")
    tables = by_slug(fairness_tables(group))
    assert [r[0] for r in tables["fairness-client-group"].rows] == [
        "Learning disability", WHOLE_SERVICE
    ]  # fmt: skip
    assert [r[:2] for r in tables["fairness-sex"].rows] == [(NOT_RECORDED, 5), (WHOLE_SERVICE, 5)]


def test_a_team_manager_sees_their_own_team(cast, manager_a, team_a, senior_manager):
    """Team A: 5 people of 10 points; team B: 5 of 30. A team manager's scope (their team
    only) gives 5 people and 10 points; a senior manager's, 10 people and (50+150)/10 = 20."""
    from allocations.reports.scope import report_scope_for_user

    for _ in range(5):
        counted(cast, points="10", indicative="100.00")
        counted(cast, points="30", indicative="300.00", team="b")
    for user, people, points in [(manager_a, 5, "10.00"), (senior_manager, 10, "20.00")]:
        scope = report_scope_for_user(user, start=START, end=END)
        whole = rows(fairness_tables(scope)[0])[WHOLE_SERVICE]
        assert (whole[0], plain(whole[1])) == (people, D(points))


def test_age_band_boundary_in_a_table(cast):
    """On 30 November 2026, someone born 30 November 2001 is 25 ("25–34"); someone born a day
    later is still 24 ("18–24")."""
    for _ in range(5):
        counted(cast, points="10", indicative="100.00", date_of_birth=datetime.date(2001, 11, 30))
        counted(cast, points="10", indicative="100.00", date_of_birth=datetime.date(2001, 12, 1))
    table = by_slug(fairness_tables(NOVEMBER))["fairness-age-band"]
    assert [row[:2] for row in table.rows] == [("18–24", 5), ("25–34", 5), (WHOLE_SERVICE, 10)]


@pytest.mark.parametrize(
    "day",
    [
        datetime.date(2026, 11, 30),
        datetime.date(2028, 2, 29),  # a leap day: in 2003 (not leap) the 28th is the last
        datetime.date(2027, 2, 28),  # someone born 29 February is not a year older until 1 March
        datetime.date(2027, 3, 1),
    ],
)
def test_age_band_in_the_database_matches_age_band_for(worker_a, day):
    """Birth dates either side of each band's boundaries, and 29 February births: the
    database's band is age_band_for(age_on(birth, day)) for every one."""
    births = {datetime.date(2008, 2, 29), datetime.date(2004, 2, 29), datetime.date(1940, 2, 29)}
    for years in (17, 18, 24, 25, 34, 35, 44, 45, 54, 55, 64, 65, 74, 75, 84, 85, 100):
        for shift in (-1, 0, 1):
            birth = day.replace(year=day.year - years, day=28 if day.day == 29 else day.day)
            births.add(birth + datetime.timedelta(days=shift))
            if day.month == 2 and day.day == 29:
                births.add(datetime.date(day.year - years, 3, 1) + datetime.timedelta(days=shift))
    births = {b for b in births if b <= datetime.date(2026, 11, 30)}
    for birth in births:
        make_person(actor=worker_a, date_of_birth=birth)
    got = dict(Person.objects.annotate(band=age_band_on(day)).values_list("date_of_birth", "band"))
    assert len(got) == len(births)
    for birth, band in got.items():
        assert band == age_band_for(age_on(birth, day)), (birth, day)


def test_one_query_whatever_the_numbers(cast, django_assert_num_queries):
    for _ in range(5):
        counted(cast, points="10", indicative="100.00", agreed="100.00", referred=True)
    with django_assert_num_queries(1):
        fairness_tables(NOVEMBER)
    for _ in range(10):
        counted(
            cast,
            points="20",
            indicative="200.00",
            client_group="mental_health",
            traditional="150.00",
            sex="male",
            ethnicity="black",
        )
    with django_assert_num_queries(1):
        tables = fairness_tables(NOVEMBER)
    assert rows(tables[0])[WHOLE_SERVICE][0] == 15


def test_referrals_and_declines_through_the_panel(
    worker_a, manager_a, panel_chair, panel_member, panel_member2, policy, questionnaire
):
    """Through the real services: five people with 8 points and a £120 package, so a £120
    indicative budget. Three plans go to the panel (£140 a week, 16.7% over: beyond the 10%
    tolerance): it declines one, defers one, approves one. A fourth plan (£120) is authorised
    by the team manager; the fifth person has no plan. Referred 3 of 5 = 60.0%; declined 1 of
    5 = 20.0% (a deferral is not a decline).

    This pins the wording allocations reads a decline by (PANEL_DECLINED_PREFIX) to the
    panel's own (panels.services.panel_decide)."""
    from allocations.services.plans import plan_authorise, plan_submit
    from panels.services import panel_decide, referral_schedule
    from tests.factories import make_budgeted_person, make_plan
    from tests.panels.helpers import held_meeting

    people = [make_budgeted_person(actor=worker_a) for _ in range(5)]
    meeting = held_meeting(panel_chair, [panel_member, panel_member2])  # under way: it decides
    decisions = [
        {"outcome": "declined"},
        {"outcome": "deferred", "information_needed": "A risk assessment."},
        {"outcome": "approved"},
    ]
    for person, decision in zip(people, decisions, strict=False):
        plan = plan_submit(
            actor=worker_a,
            plan=make_plan(person, worker_a, weekly="140.00", difference_reason="More hours"),
        )
        assert plan.status == SupportPlan.Status.AT_PANEL
        referral = referral_schedule(
            actor=panel_chair, referral=plan.referrals.get(), meeting=meeting
        )
        panel_decide(actor=panel_chair, referral=referral, reasons="Considered.", **decision)
    plan = plan_submit(actor=worker_a, plan=make_plan(people[3], worker_a, weekly="120.00"))
    assert plan.status == SupportPlan.Status.AWAITING_AUTHORISATION
    plan_authorise(actor=manager_a, plan=plan)

    today = timezone.localdate()
    scope = ReportScope(start=today, end=today)
    whole = rows(by_slug(fairness_tables(scope))["fairness-client-group"])[WHOLE_SERVICE]
    assert whole[0] == 5
    assert whole[6:] == (D("60.0"), D("20.0"))
    # Two agreed budgets (the panel's approval, the manager's): too few to average.
    assert whole[3] is SUPPRESSED


def test_ras_figure_not_the_protected_indicative_budget(cast):
    """Five people whose £100 package is protected: indicative £100 (the package's cost), RAS
    figure £50. RAS ÷ traditional is 50/100 = 0.50 each (indicative ÷ traditional would be
    1.00 and hide what the RAS gives); a sixth, with no package, is left out of that average
    but counted in the others: indicative (5×100 + 80)/6 = 96.67."""
    for _ in range(5):
        counted(cast, points="10", indicative="100.00", ras="50.00", traditional="100.00")
    counted(cast, points="16", indicative="80.00")
    whole = rows(fairness_tables(NOVEMBER)[0])[WHOLE_SERVICE]
    assert [plain(c) for c in whole[:6]] == [6, D("11.00"), D("96.67"), None, None, D("0.50")]


def test_a_lower_figure_cut_short_while_waiting_never_counts(cast):
    """Five people of 10 points. The fifth's lower figure (5 points) waited from 20 November
    until a newer version (20 points) replaced both on 5 December: it never took effect. At
    the end of November: 5 people, 10 points each (not 6 rows, the lower one counted too). At
    the end of December: (4×10 + 20)/5 = 12 points."""
    people = [counted(cast, points="10", indicative="100.00") for _ in range(5)]
    fifth = people[4].budgets.get(status="current")
    fifth_of_december = datetime.datetime(2026, 12, 5, 9, tzinfo=datetime.UTC)
    budget_row(
        cast,
        people[4],
        points="5",
        indicative="50.00",
        status="superseded",
        replaces=fifth,
        ended_at=fifth_of_december,
    )
    fifth.status, fifth.ended_at = "superseded", fifth_of_december
    fifth.save()
    with time_machine.travel(fifth_of_december, tick=False):
        budget_row(cast, people[4], points="20", indicative="200.00", replaces=fifth)
    whole = rows(fairness_tables(NOVEMBER)[0])[WHOLE_SERVICE]
    assert (whole[0], plain(whole[1])) == (5, D("10.00"))
    december = ReportScope(start=START, end=datetime.date(2026, 12, 31))
    whole = rows(fairness_tables(december)[0])[WHOLE_SERVICE]
    assert (whole[0], plain(whole[1])) == (5, D("12.00"))
