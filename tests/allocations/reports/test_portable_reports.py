"""Take-up and the pipeline without PostgreSQL (issue 12): `make run`'s SQLite file counts them
in Python (take_up_counts_portable, staged_portable). Run here on PostgreSQL, beside the SQL,
over a varied caseload: the two paths must give exactly the same rows for every period end,
team and client group — the SQL's figures being the ones worked by hand in test_takeup.py and
test_pipeline.py."""

from __future__ import annotations

import datetime

import pytest
import time_machine

from allocations.models import AgreedBudget
from allocations.reports.pipeline import (
    STAGES,
    StagePeople,
    pipeline_summary,
    pipeline_summary_portable,
    staged_portable,
)
from allocations.reports.scope import ReportScope
from allocations.reports.takeup import take_up_counts, take_up_counts_portable
from allocations.services.plans import agreed_budget_decide, plan_agree_by_panel
from assessments.models import Assessment, ClientGroup
from assessments.services.assessments import assessment_start, assessment_withdraw
from tests.allocations.reports import test_pipeline, test_takeup
from tests.allocations.reports.test_takeup import (
    PERIOD,
    agree,
    assessed,
    end_agreed,
    lower,
    moment,
    on,
    planned,
    submitted,
)
from tests.factories import make_person, make_plan

pytestmark = pytest.mark.django_db

D = datetime.date
READ_ON = D(2026, 8, 1)

# The hand-worked caseloads of the take-up and pipeline tests, as fixtures of this module too.
caseload = test_takeup.caseload
pipeline = test_pipeline.pipeline


@pytest.fixture
def varied(caseload, pipeline, worker_a, worker_b, manager_a, manager_b, panel_chair):
    """Both caseloads, and what neither has: lower budgets adopted and overtaken, a withdrawn
    draft, a reassessment that ends a plan's budget, a plan agreed by the panel."""
    m = assessed(worker_a, D(2026, 4, 10), client_group="mental_health")
    agree(m, worker_a, manager_a, D(2026, 4, 20), management="council_managed")
    waiting = lower(m, worker_a, manager_a, D(2026, 5, 10), "direct_payment")
    with on(D(2026, 6, 15)):
        agreed_budget_decide(actor=manager_a, agreed=waiting, decision="adopt", reason="Agreed")
    s = assessed(worker_b, D(2026, 4, 11), client_group="sensory_impairment")
    agree(s, worker_b, manager_b, D(2026, 4, 20), management="council_managed")
    lower(s, worker_b, manager_b, D(2026, 5, 25), "direct_payment")
    agree(s, worker_b, manager_b, D(2026, 6, 5), management="council_managed")
    with on(D(2026, 6, 1)):
        w = make_person(actor=worker_b, client_group="mental_health")
        draft = assessment_start(actor=worker_b, person=w, supported_by="self")
    with on(D(2026, 6, 20)):
        assessment_withdraw(actor=worker_b, assessment=draft, reason="Started by mistake")
    r = assessed(worker_a, D(2026, 5, 12), client_group="learning_disability")
    planned(r, worker_a, D(2026, 6, 2))
    assessed(worker_a, D(2026, 7, 2), eligible=False, person=r)
    p = assessed(worker_b, D(2026, 5, 14), client_group="physical_disability")
    with on(D(2026, 6, 3)):
        plan = make_plan(p, worker_b, weekly="150.00", difference_reason="More help")
    plan = submitted(plan, worker_b, D(2026, 6, 3))
    with on(D(2026, 7, 7)):
        plan_agree_by_panel(actor=panel_chair, plan=plan, review_date=D(2027, 1, 7))
    # A budget ended at midnight, the instant 30 June is counted at: still in force then.
    e = assessed(worker_a, D(2026, 4, 14), client_group="mental_health")
    end_agreed(agree(e, worker_a, manager_a, D(2026, 4, 21)), manager_a, D(2026, 7, 1), hour=0)
    # Every path the rules have: an adopted and an overtaken lower budget, a withdrawn draft.
    assert AgreedBudget.objects.filter(decided_at__isnull=False).exists()
    assert AgreedBudget.objects.filter(replaces__isnull=False, decided_at__isnull=True).exists()
    assert Assessment.objects.filter(withdrawn_at__isnull=False).exists()


def every_scope(team_a, team_b, start, end):
    """Every team, each team, and each client group, for one period."""
    yield ReportScope(start=start, end=end)
    for team in (team_a, team_b):
        yield ReportScope(start=start, end=end, team_ids=(team.pk,))
    for group in ClientGroup.values:
        yield ReportScope(start=start, end=end, client_group=group)


# Period ends from before anyone was assessed to after the last event: month ends (30 June's
# is the instant a budget ended), mid-months, and days either side of the caseloads' events
# (ends past 1 August are shown as at that day).
ENDS = [
    *(D(2026, 3, 31), D(2026, 4, 15), D(2026, 4, 30), D(2026, 5, 15), D(2026, 5, 31)),
    *(D(2026, 6, 9), D(2026, 6, 10), D(2026, 6, 15), D(2026, 6, 20), D(2026, 6, 30)),
    *(D(2026, 7, 8), D(2026, 7, 15), D(2026, 7, 20), D(2026, 7, 31), D(2026, 9, 30)),
]


def test_take_up_counts_the_same_without_postgresql(varied, team_a, team_b):
    counted = 0
    with time_machine.travel(moment(READ_ON), tick=False):
        for end in ENDS:
            for scope in every_scope(team_a, team_b, D(2026, 3, 15), end):
                expected = take_up_counts(scope)
                assert take_up_counts_portable(scope) == expected, scope
                counted += sum(agreed + direct for _, _, agreed, direct in expected)
    assert counted > 0  # the comparison covered figures, not only zeros


def test_take_up_portable_gives_the_hand_worked_figures(caseload):
    # As test_takeup.test_take_up_for_every_team worked them out.
    assert take_up_counts_portable(ReportScope(**PERIOD)) == [
        (D(2026, 5, 1), 5, 3, 3),
        (D(2026, 6, 1), 5, 3, 1),
        (D(2026, 7, 1), 4, 3, 1),
    ]


def test_the_pipeline_is_the_same_without_postgresql(varied, team_a, team_b):
    stages_seen = set()
    with time_machine.travel(moment(READ_ON), tick=False):
        for end in ENDS:
            for scope in every_scope(team_a, team_b, D(2026, 3, 15), end):
                summary = pipeline_summary(scope)
                assert pipeline_summary_portable(scope) == summary, scope
                portable = staged_portable(scope)
                for number, stage in enumerate(STAGES, start=1):
                    assert portable[number] == StagePeople(scope, stage)._all(), (scope, stage)
                stages_seen |= {slug for slug, (people, _) in summary[0].items() if people}
    assert stages_seen == {stage.slug for stage in STAGES}


def test_the_pipeline_portable_gives_the_hand_worked_stages(pipeline):
    # As test_pipeline.test_people_by_stage_for_every_team worked them out.
    with time_machine.travel(moment(READ_ON), tick=False):
        summary, as_at = pipeline_summary_portable(
            ReportScope(start=D(2026, 7, 1), end=D(2026, 7, 15))
        )
    assert as_at == D(2026, 7, 15)
    assert [summary[stage.slug][0] for stage in STAGES] == [1, 1, 3, 2, 2, 1, 1]
    assert [(r.reference, r.since, r.days) for r in summary["indicative-budget-issued"][1]] == [
        ("Q-03B", D(2026, 5, 20), 56),
        ("Q-03", D(2026, 6, 1), 44),
        ("Q-09", D(2026, 6, 20), 25),
    ]
