"""Take-up month by month (issue 12), against a small caseload worked by hand.

The events happen on given days (time travel, through the same services the pages use), and
the report is read on 1 August 2026, after all of them."""

from __future__ import annotations

import contextlib
import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from allocations.models import AgreedBudget, IndicativeBudget
from allocations.reports.scope import ReportScope, report_scope_for_user
from allocations.reports.takeup import SECTION, month_ends, takeup_tables
from allocations.services.plans import agreed_budget_decide, plan_authorise, plan_submit
from allocations.services.report_settings import report_settings_update
from assessments.services.assessments import assessment_start, assessment_submit
from assessments.services.history import save_as
from tests.factories import complete_assessment, make_person, make_plan

pytestmark = pytest.mark.django_db

D = datetime.date
READ_ON = D(2026, 8, 1)


# --- making a caseload on given days (also used by test_pipeline.py) ---------------------------


def moment(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@contextlib.contextmanager
def on(day: datetime.date, hour: int = 10):
    with time_machine.travel(moment(day, hour), tick=False):
        yield


def assessed(worker, day, *, eligible=True, person=None, **person_fields):
    """A person (new, of the worker's team, unless given) with an assessment submitted on
    `day` (eligible or not); eligible, they get an indicative budget (£120 a week, their
    existing package) that day."""
    with on(day):
        person = person or make_person(actor=worker, **person_fields)
        draft = assessment_start(actor=worker, person=person, supported_by="self")
        ready = complete_assessment(draft, worker, eligible=eligible)
        assessment_submit(actor=worker, assessment=ready, lock_version=ready.lock_version)
    return person


def planned(person, worker, day, **settings):
    """A draft support plan started on `day`, costing the indicative budget exactly."""
    budget = IndicativeBudget.objects.get(person=person, status="current")
    with on(day, 9):
        return make_plan(person, worker, weekly=str(budget.indicative_weekly_gbp), **settings)


def submitted(plan, worker, day):
    with on(day, 11):
        return plan_submit(actor=worker, plan=plan)


def agree(person, worker, manager, day, management="direct_payment"):
    """A plan written, submitted and authorised by the team manager on `day`."""
    plan = submitted(planned(person, worker, day, management=management), worker, day)
    with on(day, 12):
        return plan_authorise(actor=manager, plan=plan)


def end_agreed(agreed: AgreedBudget, actor, day, hour: int = 12):
    """The budget ends on `day` with no successor (as a closed case or an imported end date
    would leave it)."""
    with on(day, hour):
        AgreedBudget.WORKFLOW.move(agreed, AgreedBudget.Status.ENDED)
        agreed.ended_at = timezone.now()
        save_as(agreed, actor, reason="case closed")


def read(scope: ReportScope):
    with time_machine.travel(moment(READ_ON), tick=False):
        (table,) = takeup_tables(scope)
    return table


# --- the caseload -------------------------------------------------------------------------


@pytest.fixture
def caseload(policy, questionnaire, worker_a, worker_b, manager_a, manager_b):
    """Team A (North): P1, P2, P3, P5, P6, P8; team B (South): P4, P7. Period 1 May – 15 July.

    P1 older, eligible 10 Apr, agreed 20 Apr as a direct payment.
    P2 learning disability, eligible 10 May, agreed 5 Jun council-managed.
    P3 older, eligible 15 Apr, agreed 5 May as a direct payment; a new plan agreed 30 Jun,
       council-managed, ends the first (so from the end of 30 June: agreed, no direct payment).
    P4 (team B) older, eligible 12 Apr, agreed 25 Apr as a direct payment, ended 10 Jun.
    P5 not eligible (20 May): never receiving support.
    P6 eligible 3 May; reassessed 10 Jul and found not eligible: supported May and June only.
    P7 (team B): an assessment started, never submitted.
    P8 eligible 20 Jul: after the period ends (15 Jul), so not counted in July.
    """
    people = {}
    people["P1"] = p1 = assessed(worker_a, D(2026, 4, 10))
    agree(p1, worker_a, manager_a, D(2026, 4, 20))
    people["P2"] = p2 = assessed(worker_a, D(2026, 5, 10), client_group="learning_disability")
    agree(p2, worker_a, manager_a, D(2026, 6, 5), management="council_managed")
    people["P3"] = p3 = assessed(worker_a, D(2026, 4, 15))
    agree(p3, worker_a, manager_a, D(2026, 5, 5))
    agree(p3, worker_a, manager_a, D(2026, 6, 30), management="council_managed")
    people["P4"] = p4 = assessed(worker_b, D(2026, 4, 12))
    end_agreed(agree(p4, worker_b, manager_b, D(2026, 4, 25)), manager_b, D(2026, 6, 10))
    people["P5"] = assessed(worker_a, D(2026, 5, 20), eligible=False)
    people["P6"] = p6 = assessed(worker_a, D(2026, 5, 3))
    assessed(worker_a, D(2026, 7, 10), eligible=False, person=p6)
    with on(D(2026, 5, 1)):
        people["P7"] = p7 = make_person(actor=worker_b)
        assessment_start(actor=worker_b, person=p7, supported_by="self")
    people["P8"] = assessed(worker_a, D(2026, 7, 20))
    return people


PERIOD = {"start": D(2026, 5, 1), "end": D(2026, 7, 15)}
COLUMNS = ("month", "supported", "agreed", "take_up_percent", "direct_payment",
           "direct_payment_percent", "target_percent")  # fmt: skip


def figures(table):
    return [dict(zip(COLUMNS, row, strict=True)) for row in table.rows]


def test_the_months_of_a_period():
    # 20 Jan – 3 Mar: January to its end, February (28 days in 2026), March to the 3rd.
    assert month_ends(D(2026, 1, 20), D(2026, 3, 3)) == [
        (D(2026, 1, 1), D(2026, 1, 31)),
        (D(2026, 2, 1), D(2026, 2, 28)),
        (D(2026, 3, 1), D(2026, 3, 3)),
    ]
    assert month_ends(D(2026, 12, 5), D(2027, 1, 1)) == [
        (D(2026, 12, 1), D(2026, 12, 31)),
        (D(2027, 1, 1), D(2027, 1, 1)),
    ]


def test_take_up_for_every_team(caseload):
    table = read(ReportScope(**PERIOD))
    assert table.slug == "take-up-by-month"
    assert [c.key for c in table.columns] == list(COLUMNS)
    # May (31 May): supported P1 P2 P3 P4 P6 = 5; agreed P1 P3 P4 = 3 (60.0%); all three
    #   direct payments = 3 (60.0%).
    # June (30 Jun): supported the same 5; agreed P1, P2 (5 Jun), P3 (its council-managed
    #   budget from 30 Jun) = 3 (60.0%) — P4's ended 10 Jun; direct payment P1 only = 1 (20.0%).
    # July (as at 15 Jul, the period's end): P6 not eligible from 10 Jul, P8 only on 20 Jul:
    #   supported P1 P2 P3 P4 = 4; agreed P1 P2 P3 = 3 (75.0%); direct payment P1 = 1 (25.0%).
    # The target is the default 30%.
    # (month, supported, agreed, take-up %, direct payment, its %, target %)
    assert table.rows == [
        ("2026-05", 5, 3, Decimal("60.0"), 3, Decimal("60.0"), 30),
        ("2026-06", 5, 3, Decimal("60.0"), 1, Decimal("20.0"), 30),
        ("2026-07", 4, 3, Decimal("75.0"), 1, Decimal("25.0"), 30),
    ]
    assert any("latest submitted assessment found them eligible" in n for n in table.notes)


def test_a_budget_ending_on_the_last_day_of_a_month_is_not_in_force_at_its_end(caseload):
    # P3's direct-payment budget ended at 12:00 on 30 June, when its council-managed successor
    # was agreed. A period ending 29 June counts June as at 29 June: supported P1 P2 P3 P4 P6
    # = 5; agreed P1, P2 (5 Jun), P3 (the direct payment still) = 3 — P4's ended 10 Jun;
    # direct payment P1 and P3 = 2 (40.0%).
    (june,) = figures(read(ReportScope(start=D(2026, 6, 1), end=D(2026, 6, 29))))
    assert (june["supported"], june["agreed"], june["direct_payment"]) == (5, 3, 2)
    assert june["direct_payment_percent"] == Decimal("40.0")
    # To 30 June: the direct payment ended that day, so it is not in force at its end: 1.
    (june,) = figures(read(ReportScope(start=D(2026, 6, 1), end=D(2026, 6, 30))))
    assert (june["supported"], june["agreed"], june["direct_payment"]) == (5, 3, 1)
    # And P4 (ended 10 June) counts as agreed to 9 June, not from 10 June.
    (early,) = figures(read(ReportScope(start=D(2026, 6, 1), end=D(2026, 6, 9))))
    (late,) = figures(read(ReportScope(start=D(2026, 6, 1), end=D(2026, 6, 10))))
    # 9 June: agreed P1 P2 P3 P4 = 4; 10 June: P1 P2 P3 = 3.
    assert (early["agreed"], late["agreed"]) == (4, 3)


def test_filters_team_and_client_group(caseload, team_b):
    # Team B: P4 supported throughout; agreed (a direct payment) only in May.
    south = figures(read(ReportScope(**PERIOD, team_ids=(team_b.pk,))))
    assert [(r["supported"], r["agreed"], r["direct_payment"]) for r in south] == [
        (1, 1, 1),
        (1, 0, 0),
        (1, 0, 0),
    ]
    assert [r["take_up_percent"] for r in south] == [Decimal(100), Decimal(0), Decimal(0)]
    # Learning disability: P2 alone, supported from 10 May, agreed (council-managed) 5 June.
    ld = figures(read(ReportScope(**PERIOD, client_group="learning_disability")))
    assert [(r["supported"], r["agreed"], r["direct_payment"]) for r in ld] == [
        (1, 0, 0),
        (1, 1, 0),
        (1, 1, 0),
    ]


def test_a_team_manager_sees_their_own_team(caseload, manager_a, team_b):
    scope = report_scope_for_user(manager_a, **PERIOD)
    north = figures(read(scope))
    # Team A: P1 P2 P3 P5 P6 P8.
    # May: supported P1 P2 P3 P6 = 4; agreed P1 P3 = 2 (50.0%); direct payment 2 (50.0%).
    # June: 4; agreed P1 P2 P3 = 3 (75.0%); direct payment P1 = 1 (25.0%).
    # July: P1 P2 P3 = 3; agreed 3 (100.0%); direct payment 1 (33.3%).
    assert [
        (r["supported"], r["agreed"], r["take_up_percent"], r["direct_payment_percent"])
        for r in north
    ] == [
        (4, 2, Decimal("50.0"), Decimal("50.0")),
        (4, 3, Decimal("75.0"), Decimal("25.0")),
        (3, 3, Decimal("100.0"), Decimal("33.3")),
    ]
    with pytest.raises(PermissionDenied):
        report_scope_for_user(manager_a, **PERIOD, team_id=team_b.pk)


def test_the_target_is_the_one_set(caseload, ras_admin):
    report_settings_update(
        actor=ras_admin,
        data={"take_up_target_percent": Decimal("45.5"), "annual_budget_gbp": None},
        reason="Cabinet raised the target",
    )
    table = read(ReportScope(**PERIOD))
    assert table.values("target_percent") == [Decimal("45.5")] * 3


def test_no_one_supported_gives_no_percentages(db):
    table = read(ReportScope(start=D(2026, 5, 1), end=D(2026, 5, 31)))
    assert table.rows == [("2026-05", 0, 0, None, 0, None, Decimal("30"))]


def test_the_section_makes_two_queries_whatever_the_caseload(
    caseload, django_assert_num_queries, worker_a, manager_a
):
    assert (SECTION.slug, SECTION.order) == ("take-up", 10)
    scope = ReportScope(start=D(2026, 1, 1), end=D(2026, 7, 31), client_group="older_people")
    with django_assert_num_queries(2):  # the counts; the target
        read(scope)
    more = assessed(worker_a, D(2026, 5, 2))
    agree(more, worker_a, manager_a, D(2026, 5, 6))
    with django_assert_num_queries(2):
        table = read(scope)
    assert len(table.rows) == 7


def lower(person, worker, manager, day, management):
    """A plan for £100 a week (less than the £120 agreed, points unchanged) authorised on `day`:
    it waits for a manager's decision, the current budget staying in force."""
    with on(day, 9):
        plan = make_plan(
            person, worker, weekly="100.00", difference_reason="Fewer hours", management=management
        )
    plan = submitted(plan, worker, day)
    with on(day, 12):
        waiting = plan_authorise(actor=manager, plan=plan)
    assert waiting.status == AgreedBudget.Status.AWAITING_DECISION
    return waiting


def test_a_lower_budget_counts_from_its_adoption_and_one_overtaken_never(
    policy, questionnaire, worker_a, manager_a
):
    # M (mental health): council-managed £120 agreed 20 Apr; a lower direct payment waits
    # from 10 May and is adopted 15 Jun. 31 May: agreed, no direct payment (the waiting one is
    # not in force); 30 Jun: agreed, direct payment.
    m = assessed(worker_a, D(2026, 4, 10), client_group="mental_health")
    agree(m, worker_a, manager_a, D(2026, 4, 20), management="council_managed")
    waiting = lower(m, worker_a, manager_a, D(2026, 5, 10), "direct_payment")
    with on(D(2026, 6, 15)):
        agreed_budget_decide(actor=manager_a, agreed=waiting, decision="adopt", reason="Agreed")
    mh = figures(read(ReportScope(**PERIOD, client_group="mental_health")))
    assert [(r["agreed"], r["direct_payment"]) for r in mh] == [(1, 0), (1, 1), (1, 1)]
    # S (sensory impairment): council-managed £120 agreed 20 Apr; a lower direct payment
    # waits from 25 May; a new council-managed £120 plan agreed 5 Jun overtakes it (it ends,
    # never decided). It was never in force: 31 May, agreed but no direct payment.
    s = assessed(worker_a, D(2026, 4, 11), client_group="sensory_impairment")
    agree(s, worker_a, manager_a, D(2026, 4, 20), management="council_managed")
    overtaken = lower(s, worker_a, manager_a, D(2026, 5, 25), "direct_payment")
    agree(s, worker_a, manager_a, D(2026, 6, 5), management="council_managed")
    overtaken.refresh_from_db()
    assert overtaken.status == AgreedBudget.Status.ENDED
    si = figures(read(ReportScope(**PERIOD, client_group="sensory_impairment")))
    assert [(r["supported"], r["agreed"], r["direct_payment"]) for r in si] == [(1, 1, 0)] * 3
