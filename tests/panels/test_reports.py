"""The panel's report section (issue 12): referrals, decisions by outcome with the median days
from referral to decision, and conditions with a review coming up — against a hand-made set,
by period, team and client group, in a constant number of queries.

The set (all in 2027; referred at 10:00 on the day given, London time):
  R1 North, older person:       referred 20 Jan, approved with conditions 3 Feb (14 days),
                                review 15 Mar, "Falls sensor fitted first"
  R2 North, learning disability: referred 5 Feb, declined 15 Feb (10 days)
  R3 South, older person:       referred 10 Feb, approved with conditions 20 Feb (10 days),
                                review 10 May, "Weekly check-in call"
  R4 North, older person:       referred 12 Feb, withdrawn 14 Feb (the budget changed)
  R5 North, older person:       referred 20 Feb, approved with conditions 5 Mar (13 days),
                                review 20 Mar, "Key safe installed"
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from allocations.reports.scope import ReportScope
from allocations.reports.tables import report_section
from panels import reports
from panels.services import meeting_create, referral_withdraw
from tests.factories import make_budgeted_person
from tests.panels.helpers import at, decide, refer

pytestmark = pytest.mark.django_db
FEBRUARY = (datetime.date(2027, 2, 1), datetime.date(2027, 2, 28))
JANUARY = (datetime.date(2027, 1, 1), datetime.date(2027, 1, 31))
MARCH = (datetime.date(2027, 3, 1), datetime.date(2027, 3, 31))


@pytest.fixture
def panel_year(policy, questionnaire, worker_a, worker_b, panel_chair, panel_member, panel_member2):
    with at("2027-01-04"):
        meeting = meeting_create(
            actor=panel_chair,
            date=datetime.date(2027, 1, 25),
            chair=panel_chair,
            members=[panel_member, panel_member2],
        )
        people = {
            "p1": make_budgeted_person(actor=worker_a),
            "p2": make_budgeted_person(actor=worker_a, client_group="learning_disability"),
            "p3": make_budgeted_person(actor=worker_b),
            "p4": make_budgeted_person(actor=worker_a),
            "p5": make_budgeted_person(actor=worker_a),
        }
    with at("2027-01-20"):
        r1 = refer(people["p1"], worker_a, meeting, panel_chair)
    with at("2027-02-03"):
        decide(
            r1,
            panel_chair,
            "approved_with_conditions",
            conditions="Falls sensor fitted first",
            review_date=datetime.date(2027, 3, 15),
        )
    with at("2027-02-05"):
        r2 = refer(people["p2"], worker_a, meeting, panel_chair)
    with at("2027-02-10"):
        r3 = refer(people["p3"], worker_b, meeting, panel_chair)
    with at("2027-02-12"):
        r4 = refer(people["p4"], worker_a, meeting, panel_chair)
    with at("2027-02-14"):
        referral_withdraw(plan=r4.plan, reason="The budget changed", actor=worker_a)
    with at("2027-02-15"):
        decide(r2, panel_chair, "declined")
    with at("2027-02-20"):
        decide(
            r3,
            panel_chair,
            "approved_with_conditions",
            conditions="Weekly check-in call",
            review_date=datetime.date(2027, 5, 10),
        )
        r5 = refer(people["p5"], worker_a, meeting, panel_chair)
    with at("2027-03-05"):
        decide(
            r5,
            panel_chair,
            "approved_with_conditions",
            conditions="Key safe installed",
            review_date=datetime.date(2027, 3, 20),
        )
    return people


def _scope(period, team=None, client_group=None) -> ReportScope:
    return ReportScope(
        start=period[0],
        end=period[1],
        team_ids=None if team is None else (team.pk,),
        client_group=client_group,
    )


def _counts(scope) -> list[int]:
    return reports.referral_table(scope).values("referrals")


def test_referrals_in_the_period_by_team_and_client_group(panel_year, team_a, team_b):
    # Referred in February: R2–R5 (4); decided: R1, R2, R3 (3); withdrawn: R4; waiting on
    # 28 February: R5 (decided on 5 March).
    assert _counts(_scope(FEBRUARY)) == [4, 3, 1, 1]
    # North: R2, R4, R5 referred; R1, R2 decided; R4 withdrawn; R5 waiting.
    assert _counts(_scope(FEBRUARY, team_a)) == [3, 2, 1, 1]
    # North's older people: R4, R5 referred; R1 decided.
    assert _counts(_scope(FEBRUARY, team_a, "older_people")) == [2, 1, 1, 1]
    assert _counts(_scope(FEBRUARY, team_b)) == [1, 1, 0, 0]
    assert _counts(_scope(FEBRUARY, client_group="learning_disability")) == [1, 1, 0, 0]
    # January: R1 referred, and still waiting on the 31st.
    assert _counts(_scope(JANUARY)) == [1, 0, 0, 1]
    # March: nothing referred; R5 decided; nothing waiting at the end.
    assert _counts(_scope(MARCH)) == [0, 1, 0, 0]


def test_decisions_by_outcome_with_the_median_days(panel_year, team_a):
    table = reports.decision_table(_scope(FEBRUARY))
    # February: R1 (14 days) and R3 (10) approved with conditions: median 12; R2 declined
    # after 10; all three: 10, 10, 14 → 10.
    assert table.rows == [
        ("Approved", 0, None),
        ("Approved with conditions", 2, 12),
        ("Deferred: more information needed", 0, None),
        ("Declined", 1, 10),
        ("All decisions", 3, 10),
    ]
    north = reports.decision_table(_scope(FEBRUARY, team_a)).rows
    # North: R1 (14) and R2 (10): median 12.
    assert north[-1] == ("All decisions", 2, 12)
    # March: R5 alone, 13 days.
    assert reports.decision_table(_scope(MARCH)).rows[1] == ("Approved with conditions", 1, 13)


def test_a_median_between_two_whole_days_is_a_half(panel_year, team_a):
    # February and March for North: R1 (14), R2 (10), R5 (13): 13; North's awc: 14 and 13 →
    # 13.5.
    scope = _scope((FEBRUARY[0], MARCH[1]), team_a)
    assert reports.decision_table(scope).rows[1] == ("Approved with conditions", 2, 13.5)


def test_conditions_with_a_review_in_the_next_eight_weeks(panel_year, team_b):
    p1, p3 = panel_year["p1"], panel_year["p3"]
    # 28 Feb to 25 Apr: R1 (15 Mar). Not R3 (10 May, too late) nor R5 (decided in March).
    february = reports.reviews_due_table(_scope(FEBRUARY))
    assert february.rows == [
        (
            p1.reference,
            "North Locality Team",
            datetime.date(2027, 3, 15),
            "Falls sensor fitted first",
        )
    ]
    assert february.caption == "Conditions with a review due from 28 February 2027 to 25 April 2027"
    # 31 Mar to 26 May: R3 (10 May). R1 and R5 were due before.
    assert reports.reviews_due_table(_scope(MARCH)).rows == [
        (p3.reference, "South Locality Team", datetime.date(2027, 5, 10), "Weekly check-in call")
    ]
    assert reports.reviews_due_table(_scope(FEBRUARY, team_b)).rows == []


def test_the_section_makes_four_queries_however_many_referrals(
    panel_year, django_assert_num_queries
):
    with django_assert_num_queries(4):
        tables = reports.panel_tables(_scope(FEBRUARY))
    assert [t.slug for t in tables] == ["panel-referrals", "panel-decisions", "panel-reviews-due"]


def test_the_section_is_registered_fortieth():
    section = report_section("panel")
    assert (section.title, section.order) == ("Risk enablement panel", 40)
    assert section.tables is reports.panel_tables


def test_a_team_manager_sees_their_own_teams_panel_figures(client, panel_year, manager_a):
    with at("2027-03-10"):
        client.force_login(manager_a)
        page = client.get(
            reverse("allocations:reports"), {"start": "2027-02-01", "end": "2027-02-28"}
        ).content.decode()
    # North's February: R2, R4 and R5 referred.
    assert '<th scope="row">Referred in the period</th><td class="text-end">3</td>' in page
    assert panel_year["p1"].reference in page
