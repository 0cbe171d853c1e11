"""The pipeline (issue 12): people by stage as at the end of the period, the oldest in each, and
the click-through list of one stage — against a small caseload worked by hand."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allocations.reports.pipeline import SECTION, STAGES, pipeline_tables
from allocations.reports.scope import ReportScope, report_scope_for_user
from allocations.services.budgets import budget_recalculate
from allocations.services.plans import plan_authorise, plan_return
from assessments.models import Assessment
from assessments.services.assessments import assessment_start
from assessments.services.history import save_as
from tests.allocations.reports.test_takeup import (
    agree,
    assessed,
    moment,
    on,
    planned,
    submitted,
)
from tests.factories import make_person, make_plan

pytestmark = pytest.mark.django_db

D = datetime.date
READ_ON = D(2026, 8, 1)
END = D(2026, 7, 15)
LABELS = [stage.label for stage in STAGES]


@pytest.fixture
def pipeline(policy, questionnaire, worker_a, worker_b, manager_a, manager_b):
    """Team A unless said. As at 15 July 2026:

    Q1  an assessment started 1 Jul, not submitted            → assessment in progress, 1 Jul
    Q2  an assessment submitted 15 Jun with no eligibility decision (as an import of older
        records can leave one)                                → awaiting eligibility, 15 Jun
    Q3  eligible 1 Jun                                        → indicative budget issued, 1 Jun
    Q3b eligible 20 May, its budget recalculated 1 Jul: counts from the first budget for that
        assessment                                            → indicative budget issued, 20 May
    Q9  (team B) eligible 20 Jun                              → indicative budget issued, 20 Jun
    Q4  eligible 1 May, plan started 10 Jun                   → plan in progress, 10 Jun
    Q4b eligible 2 May, plan started 5 Jun, submitted 12 Jun, returned 20 Jun
                                                              → plan in progress, 5 Jun
    Q5  eligible 3 May, plan submitted 5 Jul                  → awaiting authorisation, 5 Jul
    Q7b eligible 4 May, plan submitted 8 Jul, authorised 20 Jul (after the 15th)
                                                              → awaiting authorisation, 8 Jul
    Q6  eligible 5 May, plan 10% over the budget submitted 25 Jun → at panel, 25 Jun
    Q7  eligible 6 May, agreed 15 May; a reassessment started 10 Jul (agreed is further)
                                                              → agreed, 15 May
    Q8  found not eligible 7 May                              → no stage
    """
    q = {}
    with on(D(2026, 7, 1)):
        q["Q1"] = make_person(actor=worker_a, reference="Q-01")
        assessment_start(actor=worker_a, person=q["Q1"], supported_by="self")
    with on(D(2026, 6, 15)):
        q["Q2"] = make_person(actor=worker_a, reference="Q-02")
        draft = assessment_start(actor=worker_a, person=q["Q2"], supported_by="self")
        Assessment.WORKFLOW.move(draft, Assessment.Status.SUBMITTED)
        draft.submitted_at, draft.submitted_by = moment(D(2026, 6, 15)), worker_a
        save_as(draft, worker_a, reason="imported")
    q["Q3"] = assessed(worker_a, D(2026, 6, 1), reference="Q-03")
    q["Q3b"] = assessed(worker_a, D(2026, 5, 20), reference="Q-03B")
    with on(D(2026, 7, 1)):
        budget_recalculate(actor=manager_a, person=q["Q3b"], reason="Package cost corrected")
    q["Q9"] = assessed(worker_b, D(2026, 6, 20), reference="Q-09")
    q["Q4"] = assessed(worker_a, D(2026, 5, 1), reference="Q-04")
    planned(q["Q4"], worker_a, D(2026, 6, 10))
    q["Q4b"] = assessed(worker_a, D(2026, 5, 2), reference="Q-04B")
    plan = submitted(planned(q["Q4b"], worker_a, D(2026, 6, 5)), worker_a, D(2026, 6, 12))
    with on(D(2026, 6, 20)):
        plan_return(actor=manager_a, plan=plan, comments="Say who drives her.")
    q["Q5"] = assessed(worker_a, D(2026, 5, 3), reference="Q-05")
    submitted(planned(q["Q5"], worker_a, D(2026, 7, 5)), worker_a, D(2026, 7, 5))
    q["Q7b"] = assessed(worker_a, D(2026, 5, 4), reference="Q-07B")
    plan = submitted(planned(q["Q7b"], worker_a, D(2026, 7, 8)), worker_a, D(2026, 7, 8))
    with on(D(2026, 7, 20)):
        plan_authorise(actor=manager_a, plan=plan)
    q["Q6"] = assessed(worker_a, D(2026, 5, 5), reference="Q-06")
    with on(D(2026, 6, 25)):
        # £132.01 is more than 10% over the £120 indicative budget: the panel.
        plan = make_plan(q["Q6"], worker_a, weekly="132.01", difference_reason="More help")
    submitted(plan, worker_a, D(2026, 6, 25))
    q["Q7"] = assessed(worker_a, D(2026, 5, 6), reference="Q-07")
    agree(q["Q7"], worker_a, manager_a, D(2026, 5, 15))
    with on(D(2026, 7, 10)):
        assessment_start(actor=worker_a, person=q["Q7"], supported_by="self")
    q["Q8"] = assessed(worker_a, D(2026, 5, 7), eligible=False, reference="Q-08")
    return q


def read(scope):
    with time_machine.travel(moment(READ_ON), tick=False):
        return pipeline_tables(scope)


def test_people_by_stage_for_every_team(pipeline):
    by_stage, oldest = read(ReportScope(start=D(2026, 7, 1), end=END))
    assert (SECTION.slug, SECTION.order) == ("pipeline", 20)
    assert by_stage.slug == "pipeline-by-stage"
    assert [c.key for c in by_stage.columns] == ["stage", "people", "oldest_since", "oldest_days"]
    # Days to 15 July: from 1 Jul 14; 15 Jun 30; 20 May 56 (11 + 30 + 15); 5 Jun 40;
    # 5 Jul 10; 25 Jun 20; 15 May 61 (16 + 30 + 15).
    assert by_stage.rows == [
        ("Assessment in progress", 1, D(2026, 7, 1), 14),
        ("Awaiting eligibility", 1, D(2026, 6, 15), 30),
        ("Indicative budget issued", 3, D(2026, 5, 20), 56),
        ("Plan in progress", 2, D(2026, 6, 5), 40),
        ("Awaiting authorisation", 2, D(2026, 7, 5), 10),
        ("At panel", 1, D(2026, 6, 25), 20),
        ("Agreed", 1, D(2026, 5, 15), 61),
    ]
    assert oldest.slug == "pipeline-oldest"
    assert [c.key for c in oldest.columns] == ["stage", "reference", "team", "since", "days"]
    north, south = "North Locality Team", "South Locality Team"
    assert oldest.rows == [
        ("Assessment in progress", "Q-01", north, D(2026, 7, 1), 14),
        ("Awaiting eligibility", "Q-02", north, D(2026, 6, 15), 30),
        ("Indicative budget issued", "Q-03B", north, D(2026, 5, 20), 56),
        ("Indicative budget issued", "Q-03", north, D(2026, 6, 1), 44),
        ("Indicative budget issued", "Q-09", south, D(2026, 6, 20), 25),
        ("Plan in progress", "Q-04B", north, D(2026, 6, 5), 40),
        ("Plan in progress", "Q-04", north, D(2026, 6, 10), 35),
        ("Awaiting authorisation", "Q-05", north, D(2026, 7, 5), 10),
        ("Awaiting authorisation", "Q-07B", north, D(2026, 7, 8), 7),
        ("At panel", "Q-06", north, D(2026, 6, 25), 20),
        ("Agreed", "Q-07", north, D(2026, 5, 15), 61),
    ]
    assert any("Since:" in note for note in by_stage.notes)


def test_a_later_period_end_moves_people_on(pipeline):
    # To 31 July: Q7b was agreed on 20 July, so agreed 2 (oldest still Q7, 15 May: 77 days)
    # and awaiting authorisation 1 (Q5, 5 Jul: 26 days). Q1 has waited 30 days.
    by_stage, _ = read(ReportScope(start=D(2026, 7, 1), end=D(2026, 7, 31)))
    rows = {row[0]: row[1:] for row in by_stage.rows}
    assert rows["Agreed"] == (2, D(2026, 5, 15), 77)
    assert rows["Awaiting authorisation"] == (1, D(2026, 7, 5), 26)
    assert rows["Assessment in progress"] == (1, D(2026, 7, 1), 30)


def test_an_earlier_period_end_shows_the_pipeline_as_it_stood(pipeline):
    # To 15 June: Q4b's plan had been submitted (12 Jun) and not yet returned (20 Jun);
    # Q1, Q2, Q3 (1 Jun? yes: eligible 1 Jun), Q5, Q7b, Q6 as they were then.
    by_stage, _ = read(ReportScope(start=D(2026, 6, 1), end=D(2026, 6, 15)))
    rows = {row[0]: row[1] for row in by_stage.rows}
    # Assessment in progress: nobody (Q1 starts 1 Jul; Q2's draft was submitted on the 15th).
    # Awaiting eligibility: Q2. Indicative budget issued: Q3 (1 Jun), Q3b (20 May), Q5, Q7b,
    # Q6 (no plan yet) = 5. Plan in progress: Q4 (10 Jun). Awaiting authorisation: Q4b.
    # At panel: none. Agreed: Q7.
    assert [rows[label] for label in LABELS] == [0, 1, 5, 1, 1, 0, 1]


def test_filters_and_a_team_manager(pipeline, manager_a, team_b):
    south = read(ReportScope(start=D(2026, 7, 1), end=END, team_ids=(team_b.pk,)))[0]
    assert [row[1] for row in south.rows] == [0, 0, 1, 0, 0, 0, 0]  # Q9 alone
    assert south.rows[0] == ("Assessment in progress", 0, None, None)
    north = read(report_scope_for_user(manager_a, start=D(2026, 7, 1), end=END))[0]
    assert [row[1] for row in north.rows] == [1, 1, 2, 2, 2, 1, 1]
    ld = read(ReportScope(start=D(2026, 7, 1), end=END, client_group="learning_disability"))[0]
    assert [row[1] for row in ld.rows] == [0] * 7


def test_the_section_makes_one_query_whatever_the_caseload(
    pipeline, django_assert_num_queries, worker_a
):
    scope = ReportScope(start=D(2026, 7, 1), end=END)
    with django_assert_num_queries(1):
        read(scope)
    assessed(worker_a, D(2026, 6, 2))
    with django_assert_num_queries(1):
        by_stage, _ = read(scope)
    assert by_stage.rows[2][1] == 4


# --- the click-through list -------------------------------------------------------------------


def url(stage="indicative-budget-issued", **params):
    query = {"start": "2026-07-01", "end": END.isoformat(), **params}
    return reverse("allocations:report_pipeline_list", args=[stage]), query


def get(client, user, stage="indicative-budget-issued", **params):
    path, query = url(stage, **params)
    with time_machine.travel(moment(READ_ON), tick=False):
        client.force_login(user)
        return client.get(path, query)


def test_a_team_manager_lists_their_teams_people_oldest_first(client, pipeline, manager_a):
    response = get(client, manager_a)
    assert response.status_code == 200
    html = response.content.decode()
    # Q3b (20 May) before Q3 (1 Jun); Q9 is team B's.
    assert html.index("Q-03B") < html.index("Q-03<")
    assert "Q-09" not in html
    assert reverse("assessments:person_detail", args=[pipeline["Q3b"].pk]) in html
    assert "2 people" in html
    assert 'aria-label="Breadcrumb"' in html


def test_who_may_see_the_list(
    client, pipeline, worker_a, manager_a, senior_manager, auditor, team_b
):
    assert get(client, worker_a).status_code == 403
    assert get(client, manager_a, team=team_b.pk).status_code == 403
    response = get(client, senior_manager, team=team_b.pk)
    assert response.status_code == 200
    assert "Q-09" in response.content.decode() and "Q-03" not in response.content.decode()
    assert get(client, auditor).status_code == 200
    assert get(client, senior_manager, stage="nowhere").status_code == 404
    assert get(client, senior_manager, end="not-a-date").status_code == 400


def test_the_list_pages_with_its_filters(client, pipeline, senior_manager, monkeypatch):
    monkeypatch.setattr("allocations.views.report_pipeline.PEOPLE_PER_PAGE", 2)
    first = get(client, senior_manager).content.decode()
    assert "Q-03B" in first and "Q-03<" in first and "Q-09" not in first
    assert "Page 1 of 2" in first
    assert "start=2026-07-01&amp;end=2026-07-15&amp;page=2" in first
    second = get(client, senior_manager, page=2).content.decode()
    assert "Q-09" in second and "Q-03B" not in second


def test_the_list_makes_as_many_queries_whatever_the_caseload(
    client, pipeline, senior_manager, worker_a
):
    path, query = url()

    def count():
        with time_machine.travel(moment(READ_ON), tick=False):
            client.force_login(senior_manager)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(path, query).status_code == 200
        return len(queries)

    count()  # the first request fills process-wide caches (content types)
    before = count()
    for day in (2, 3, 4):
        assessed(worker_a, D(2026, 6, day))
    assert count() == before
