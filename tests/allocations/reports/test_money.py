"""Money (allocations/reports/money.py): commitment against the council's budget, contingency,
management options, indicative vs agreed vs traditional cost for the same people, and the
largest differences; each figure against a hand-made caseload worked by hand below.

The caseload: the spec policy (£4.88 a point, learning disability ×1.10, contingency 5% up
to £100, 52 weeks a year); every assessment scores 8 points, so the RAS figure is
8 × 4.88 = 39.04 − 1.95 contingency = £37.09 for an older person, and 42.94 − 2.15 = £40.79
for a person with a learning disability. With a traditional package and needs not increased,
the indicative budget is that package's cost (the transitional rule); the contingency the
RAS kept back is stored either way. Budgets are agreed on 15 September 2026 (British Summer
Time) unless said otherwise; the period is September 2026.

  person  team   group  package  indicative  agreed  contrib.  council  how managed        cont.
  P1      North  older  120.00   120.00      118.00  20.00     98.00    direct payment      1.95
  P2      North  LD      50.00*   40.79       44.00   4.00     40.00    DP 14, CM 10, ISF 20 2.15
  P3      North  older  none      37.09       37.09   0        37.09    council-managed     1.95
  P4      South  older  200.00*   37.09       36.00   0        36.00    ISF                 1.95
  P5      North  older   80.00    80.00       82.02   0        82.02    direct payment      1.95
  P6      South  older  none      37.09       37.09   0        37.09    direct payment      1.95
  (* needs increased, so the RAS figure is the indicative budget)

P5's first budget, £75.00 agreed on 20 August, ended when £82.02 was agreed on 20 September:
it is not in force on 30 September. P6's budget was agreed at 00:30 on 1 October (BST),
23:30 on 30 September in UTC: not in force at the end of 30 September, London time.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from allocations.models import AgreedBudget, ReportSettings
from allocations.reports import money
from allocations.reports.money import (
    AGREED_TOTAL,
    BUDGET,
    COMMITTED,
    CONTINGENCY,
    CONTRIBUTIONS,
    HEADROOM,
    NOT_SET,
    SECTION,
    SHARE_COMMITTED,
    WHOLE_SCOPE,
    money_tables,
)
from allocations.reports.scope import ReportScope, report_scope_for_user
from allocations.reports.tables import report_section
from allocations.services.plans import plan_authorise, plan_submit
from tests.factories import make_budgeted_person, make_plan

pytestmark = pytest.mark.django_db

SEPTEMBER = (datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))
D = Decimal


def at(day: datetime.date, hour: int = 10, minute: int = 0):
    """A moment, London time, to travel to."""
    return time_machine.travel(
        timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute))),
        tick=False,
    )


def agree(person, worker, manager, *, weekly: str, **settings) -> AgreedBudget:
    """A support plan of one line costing `weekly`, submitted and authorised."""
    plan = plan_submit(actor=worker, plan=make_plan(person, worker, weekly=weekly, **settings))
    return plan_authorise(actor=manager, plan=plan)


def budgeted(worker, **overrides):
    return make_budgeted_person(actor=worker, **overrides)


@pytest.fixture
def caseload(policy, questionnaire, worker_a, worker_b, manager_a, manager_b):
    """The six people of the module docstring, by name."""
    people = {}
    with at(datetime.date(2026, 8, 20)):
        people["P5"] = budgeted(worker_a, existing_weekly_cost_gbp=D("80.00"))
        agree(people["P5"], worker_a, manager_a, weekly="75.00", difference_reason="Fewer days")
    with at(datetime.date(2026, 9, 15)):
        people["P1"] = budgeted(worker_a, existing_weekly_cost_gbp=D("120.00"))
        agree(
            people["P1"],
            worker_a,
            manager_a,
            weekly="118.00",
            contribution_weekly_gbp=D("20"),
            difference_reason="Two hours fewer suit her.",
        )
        people["P2"] = budgeted(
            worker_a,
            existing_weekly_cost_gbp=D("50.00"),
            needs_increased=True,
            client_group="learning_disability",
        )
        agree(
            people["P2"],
            worker_a,
            manager_a,
            weekly="44.00",
            contribution_weekly_gbp=D("4"),
            management="mixed",
            direct_payment_weekly_gbp=D("14"),
            council_managed_weekly_gbp=D("10"),
            isf_weekly_gbp=D("20"),
            difference_reason="A day centre costs more than the RAS allows.",
        )
        people["P3"] = budgeted(worker_a, existing_weekly_cost_gbp=None)
        agree(people["P3"], worker_a, manager_a, weekly="37.09", management="council_managed")
        people["P4"] = budgeted(
            worker_b, existing_weekly_cost_gbp=D("200.00"), needs_increased=True
        )
        agree(
            people["P4"],
            worker_b,
            manager_b,
            weekly="36.00",
            management="individual_service_fund",
            difference_reason="A cheaper provider.",
        )
    with at(datetime.date(2026, 9, 20)):
        agree(
            people["P5"], worker_a, manager_a, weekly="82.02", difference_reason="Transport added"
        )
    with at(datetime.date(2026, 10, 1), hour=0, minute=30):
        people["P6"] = budgeted(worker_b, existing_weekly_cost_gbp=None)
        agree(people["P6"], worker_b, manager_b, weekly="37.09")
    return people


def set_budget(amount: str, actor) -> None:
    """The annual budget as a RAS administrator sets it (the one settings row)."""
    ReportSettings(
        pk=ReportSettings.SINGLETON_PK, annual_budget_gbp=D(amount), updated_by=actor
    ).save()


def tables(scope: ReportScope) -> dict:
    return {table.slug: table for table in money_tables(scope)}


def rows(table) -> dict:
    return {row[0]: row[1:] for row in table.rows}


def september(**filters) -> dict:
    return tables(ReportScope(*SEPTEMBER, **filters))


# --- the section --------------------------------------------------------------------------------


def test_the_section_is_registered_in_its_place():
    assert report_section("money") is SECTION
    assert (SECTION.title, SECTION.order) == ("Money", 30)


def test_no_agreed_budgets_gives_zeros_and_no_averages(db):
    t = september()
    assert rows(t["money-commitment"])[COMMITTED] == (D("0"), D("0"))
    assert str(rows(t["money-commitment"])[COMMITTED][1]) == "0.00"  # pounds and pence
    assert rows(t["money-by-option"])["Direct payment"] == (D("0"), D("0"), None)
    assert t["money-comparison"].rows[0] == (WHOLE_SCOPE, 0, None, None, None)
    assert t["money-largest-differences"].rows == []


# --- commitment ---------------------------------------------------------------------------------


def test_commitment_of_the_budgets_in_force_at_the_end_without_a_budget_set(caseload):
    table = september()["money-commitment"]
    assert [c.key for c in table.columns] == ["measure", "weekly", "annual"]
    # In force on 30 September: P1–P5 (P5's second budget); not P5's first (ended on 20
    # September) nor P6's (agreed on 1 October, London time).
    # Council: 98 + 40 + 37.09 + 36 + 82.02 = 293.11 a week; × 52 = 15,241.72 a year.
    # Contributions: 20 + 4 = 24.00 a week; a year 16,489.72 − 15,241.72 = 1,248.00 (24 × 52).
    # Agreed budgets: 118 + 44 + 37.09 + 36 + 82.02 = 317.11; their stored annual figures
    # 6,136 + 2,288 + 1,928.68 + 1,872 + 4,265.04 = 16,489.72.
    # Contingency: 1.95 + 2.15 + 1.95 + 1.95 + 1.95 = 9.95 a week; × 52 = 517.40.
    assert table.rows == [
        (COMMITTED, D("293.11"), D("15241.72")),
        (CONTRIBUTIONS, D("24.00"), D("1248.00")),
        (AGREED_TOTAL, D("317.11"), D("16489.72")),
        (CONTINGENCY, D("9.95"), D("517.40")),
        (BUDGET, None, NOT_SET),
        (HEADROOM, None, NOT_SET),
        (SHARE_COMMITTED, None, NOT_SET),
    ]
    assert str(table.rows[0][2]) == "15241.72"  # pounds and pence, not 15241.7200
    assert table.notes[0].startswith("5 people had an agreed personal budget in force")
    assert "no budget has been set yet" in table.notes[-1]


def test_commitment_against_the_budget_the_council_set(caseload, ras_admin):
    set_budget("20000.00", ras_admin)
    table = september()["money-commitment"]
    # Headroom 20,000 − 15,241.72 = 4,758.28; share 15,241.72 ÷ 20,000 = 76.2086% → 76.2%.
    assert table.rows[4:] == [
        (BUDGET, None, D("20000.00")),
        (HEADROOM, None, D("4758.28")),
        (SHARE_COMMITTED, None, "76.2%"),
    ]
    assert "no budget has been set" not in table.notes[-1]


def test_a_budget_overspent_shows_negative_headroom(caseload, ras_admin):
    set_budget("15000.00", ras_admin)
    table = september()["money-commitment"]
    # 15,000 − 15,241.72 = −241.72; 15,241.72 ÷ 15,000 = 101.61% → 101.6%.
    assert rows(table)[HEADROOM] == (None, D("-241.72"))
    assert rows(table)[SHARE_COMMITTED] == (None, "101.6%")


def test_an_agreed_budget_ended_before_the_end_is_not_counted(caseload):
    # On 10 September only P5's first budget (£75.00, agreed 20 August) was in force.
    on_10th = tables(ReportScope(SEPTEMBER[0], datetime.date(2026, 9, 10)))
    assert rows(on_10th["money-commitment"])[COMMITTED] == (D("75.00"), D("3900.00"))
    # On 30 September it had ended (20 September): P5 counts once, at £82.02 (the 293.11 above
    # is 98 + 40 + 37.09 + 36 + 82.02; with the £75.00 as well it would be 368.11).
    assert rows(september()["money-commitment"])[COMMITTED][0] == D("293.11")


def test_the_end_of_the_day_is_london_time(caseload):
    # P6's budget, agreed at 00:30 BST on 1 October (23:30 UTC on 30 September), is not in
    # force at the end of 30 September, London time (5 people, council 293.11 a week)...
    end_of_september = september()["money-commitment"]
    assert end_of_september.notes[0].startswith("5 people")
    assert rows(end_of_september)[COMMITTED][0] == D("293.11")
    # ...and is at the end of 1 October: 293.11 + 37.09 = 330.20 a week, 6 people.
    first = tables(ReportScope(SEPTEMBER[0], datetime.date(2026, 10, 1)))
    assert rows(first["money-commitment"])[COMMITTED][0] == D("330.20")
    assert first["money-commitment"].notes[0].startswith("6 people")


def test_a_budget_awaiting_a_managers_decision_is_not_in_force(caseload, worker_a, manager_a):
    # A lower budget for P1 (needs unchanged) waits for a manager; £118.00 stays in force.
    with at(datetime.date(2026, 9, 25)):
        waiting = agree(caseload["P1"], worker_a, manager_a, weekly="110.00", difference_reason="x")
    assert waiting.status == AgreedBudget.Status.AWAITING_DECISION
    assert rows(september()["money-commitment"])[AGREED_TOTAL][0] == D("317.11")


def test_a_lower_budget_ended_while_waiting_never_counted(caseload, worker_a, manager_a):
    # P1's lower £110.00 waits from 25 September; on 27 September a new plan of £119.00 is
    # agreed: it ends both the £118.00 and the £110.00 (which was never in force).
    with at(datetime.date(2026, 9, 25)):
        waiting = agree(caseload["P1"], worker_a, manager_a, weekly="110.00", difference_reason="x")
    with at(datetime.date(2026, 9, 27)):
        agree(caseload["P1"], worker_a, manager_a, weekly="119.00", difference_reason="y")
    waiting.refresh_from_db()
    assert waiting.status == AgreedBudget.Status.ENDED
    # On 26 September P1 counts once, at £118.00: 317.11, 5 people (not 427.11, 6).
    on_26th = tables(ReportScope(SEPTEMBER[0], datetime.date(2026, 9, 26)))["money-commitment"]
    assert rows(on_26th)[AGREED_TOTAL][0] == D("317.11")
    assert on_26th.notes[0].startswith("5 people")
    # On 30 September at £119.00: 317.11 − 118 + 119 = 318.11.
    assert rows(september()["money-commitment"])[AGREED_TOTAL][0] == D("318.11")


def test_an_adopted_lower_budget_counts_from_its_adoption(caseload, worker_a, manager_a):
    from allocations.decisions import ADOPT
    from allocations.services.plans import agreed_budget_decide

    with at(datetime.date(2026, 9, 25)):
        waiting = agree(caseload["P1"], worker_a, manager_a, weekly="110.00", difference_reason="x")
    with at(datetime.date(2026, 9, 28)):
        agreed_budget_decide(actor=manager_a, agreed=waiting, decision=ADOPT, reason="Agreed")
    # On 27 September still £118.00 (317.11); on 30 September £110.00: 317.11 − 8 = 309.11.
    on_27th = tables(ReportScope(SEPTEMBER[0], datetime.date(2026, 9, 27)))["money-commitment"]
    assert rows(on_27th)[AGREED_TOTAL][0] == D("317.11")
    assert rows(september()["money-commitment"])[AGREED_TOTAL][0] == D("309.11")


# --- filters --------------------------------------------------------------------------------------


def test_team_filter(caseload, team_a, team_b):
    north = september(team_ids=(team_a.pk,))
    # North: P1, P2, P3, P5. Council 98 + 40 + 37.09 + 82.02 = 257.11; × 52 = 13,369.72.
    assert rows(north["money-commitment"])[COMMITTED] == (D("257.11"), D("13369.72"))
    # South: P4 only (P6 was agreed after the end): 36.00, all an ISF.
    south = september(team_ids=(team_b.pk,))
    assert rows(south["money-commitment"])[COMMITTED] == (D("36.00"), D("1872.00"))
    assert south["money-commitment"].notes[0].startswith("1 person had")
    assert rows(south["money-by-option"])["Individual service fund"] == (
        D("36.00"),
        D("1872.00"),
        D("100.0"),
    )
    assert [r[0] for r in south["money-largest-differences"].rows] == [caseload["P4"].reference]


def test_a_team_manager_sees_their_own_team(caseload, manager_b):
    scope = report_scope_for_user(manager_b, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert rows(tables(scope)["money-commitment"])[COMMITTED][0] == D("36.00")


def test_client_group_filter(caseload):
    ld = september(client_group="learning_disability")
    # P2 alone: council 40.00 (× 52 = 2,080.00), contingency 2.15.
    assert rows(ld["money-commitment"])[COMMITTED] == (D("40.00"), D("2080.00"))
    assert rows(ld["money-commitment"])[CONTINGENCY] == (D("2.15"), D("111.80"))
    # Only the group asked for, after the whole scope.
    assert ld["money-comparison"].rows == [
        (WHOLE_SCOPE, 1, D("40.79"), D("44.00"), D("50.00")),
        ("Learning disability", 1, D("40.79"), D("44.00"), D("50.00")),
    ]


# --- management options ------------------------------------------------------------------------


def test_by_management_option(caseload):
    table = september()["money-by-option"]
    assert [c.key for c in table.columns] == ["option", "weekly", "annual", "share_percent"]
    # Direct payment: P1 118 + P2 14 + P5 82.02 = 214.02 (× 52 = 11,129.04), 214.02 ÷ 317.11
    # = 67.49% → 67.5. Council-managed: P2 10 + P3 37.09 = 47.09 (2,448.68), 14.8497% → 14.8.
    # ISF: P2 20 + P4 36 = 56.00 (2,912.00), 17.659% → 17.7. Together 317.11, 16,489.72.
    assert table.rows == [
        ("Direct payment", D("214.02"), D("11129.04"), D("67.5")),
        ("Council-managed", D("47.09"), D("2448.68"), D("14.8")),
        ("Individual service fund", D("56.00"), D("2912.00"), D("17.7")),
        (money.ALL_OPTIONS, D("317.11"), D("16489.72"), D("100.0")),
    ]


# --- the same people: indicative, agreed, traditional -------------------------------------------


def test_comparison_for_the_same_people(caseload):
    table = september()["money-comparison"]
    assert [c.key for c in table.columns] == [
        "group",
        "people",
        "indicative",
        "agreed",
        "traditional",
    ]
    # Counted: P1, P2, P4, P5 (P3 has no traditional package; P6's budget is not in force).
    # Indicative (120 + 40.79 + 37.09 + 80) ÷ 4 = 277.88 ÷ 4 = 69.47.
    # Agreed (118 + 44 + 36 + 82.02) ÷ 4 = 280.02 ÷ 4 = 70.005 → 70.01 (half up, not 70.00).
    # Traditional (120 + 50 + 200 + 80) ÷ 4 = 112.50.
    # Older people P1, P4, P5: 237.09 ÷ 3 = 79.03; 236.02 ÷ 3 = 78.673 → 78.67;
    # 400 ÷ 3 = 133.333 → 133.33. Learning disability P2 alone.
    assert table.rows == [
        (WHOLE_SCOPE, 4, D("69.47"), D("70.01"), D("112.50")),
        ("Older people", 3, D("79.03"), D("78.67"), D("133.33")),
        ("Physical disability", 0, None, None, None),
        ("Learning disability", 1, D("40.79"), D("44.00"), D("50.00")),
        ("Mental health", 0, None, None, None),
        ("Sensory impairment", 0, None, None, None),
    ]
    assert any(note.startswith("Left out: 1 person with an agreed budget") for note in table.notes)


# --- largest differences -------------------------------------------------------------------------


def test_largest_differences_biggest_either_way_first_with_the_reason(caseload, team_a, team_b):
    table = september()["money-largest-differences"]
    p = {name: person.reference for name, person in caseload.items()}
    # P2 +3.21 (44 − 40.79), P5 +2.02 (82.02 − 80), P1 −2.00, P4 −1.09; P3 agreed its
    # indicative budget exactly, so is not listed.
    assert table.rows == [
        (
            p["P2"],
            team_a.name,
            D("40.79"),
            D("44.00"),
            D("3.21"),
            "A day centre costs more than the RAS allows.",
        ),
        (p["P5"], team_a.name, D("80.00"), D("82.02"), D("2.02"), "Transport added"),
        (p["P1"], team_a.name, D("120.00"), D("118.00"), D("-2.00"), "Two hours fewer suit her."),
        (p["P4"], team_b.name, D("37.09"), D("36.00"), D("-1.09"), "A cheaper provider."),
    ]


def test_largest_differences_keeps_the_top_ten(caseload, worker_a, manager_a):
    with at(datetime.date(2026, 9, 16)):
        for _ in range(7):
            # Older people, no package: 37.09 indicative, 40.00 agreed, +2.91 each.
            agree(
                budgeted(worker_a, existing_weekly_cost_gbp=None),
                worker_a,
                manager_a,
                weekly="40.00",
                difference_reason="More",
            )
    differences = september()["money-largest-differences"].values("difference")
    # 11 people differ; the ten largest: 3.21, seven of 2.91, 2.02, −2.00 (−1.09 drops off).
    assert differences == [D("3.21")] + [D("2.91")] * 7 + [D("2.02"), D("-2.00")]


# --- queries ------------------------------------------------------------------------------------


def test_constant_queries_as_people_grow(caseload, worker_a, manager_a, django_assert_num_queries):
    # The report settings, the sums, the comparison by group, the largest differences.
    with django_assert_num_queries(4):
        money_tables(ReportScope(*SEPTEMBER))
    with at(datetime.date(2026, 9, 16)):
        for _ in range(3):
            agree(
                budgeted(worker_a, existing_weekly_cost_gbp=D("60")),
                worker_a,
                manager_a,
                weekly="60.00",
            )
    with django_assert_num_queries(4):
        grown = tables(ReportScope(*SEPTEMBER))
    assert grown["money-commitment"].notes[0].startswith("8 people")
