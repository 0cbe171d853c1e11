"""Indicative budgets: on submission, explained, versioned, and never silently reduced."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from allocations.decisions import ADOPT, KEEP
from allocations.models import IndicativeBudget
from allocations.services.budgets import budget_decide, budget_recalculate
from assessments.services.assessments import assessment_start, assessment_submit
from assessments.services.people import person_update
from tests.factories import complete_assessment

pytestmark = pytest.mark.django_db
Status = IndicativeBudget.Status


def test_submitting_an_eligible_assessment_stores_the_budget_and_its_breakdown(submitted_a, policy):
    budget = IndicativeBudget.objects.get()
    assert (budget.status, budget.policy, budget.assessment) == (
        Status.CURRENT,
        policy,
        submitted_a,
    )
    # 4 answers × 2 points = 8; 8 × 4.88 = 39.04; contingency 5% = 1.952 → 1.95; RAS 37.09.
    assert budget.raw_points == Decimal("8")
    assert budget.gross_weekly_gbp == Decimal("39.04")
    assert budget.contingency_weekly_gbp == Decimal("1.95")
    assert budget.ras_weekly_gbp == Decimal("37.09")
    # person_a has a £120.00 package and needs not increased: protected.
    assert (budget.indicative_weekly_gbp, budget.basis) == (Decimal("120.00"), "existing_package")
    assert budget.annual_gbp == Decimal("6240.00")
    assert [s["points"] for s in budget.breakdown["points_by_section"]] == ["4.00", "4.00"]
    assert budget.breakdown["policy"]["price_per_point"] == "4.88"
    assert budget.history.get().history_user == submitted_a.submitted_by


def test_no_budget_when_not_eligible(draft_a, worker_a, policy):
    ready = complete_assessment(draft_a, worker_a, eligible=False)
    assessment_submit(actor=worker_a, assessment=ready, lock_version=ready.lock_version)
    assert not IndicativeBudget.objects.exists()


def test_no_policy_in_force_leaves_the_submission_standing(draft_a, worker_a):
    ready = complete_assessment(draft_a, worker_a)
    submitted = assessment_submit(actor=worker_a, assessment=ready, lock_version=ready.lock_version)
    assert submitted.status == "submitted"
    assert not IndicativeBudget.objects.exists()


def test_recalculating_makes_a_new_version_and_keeps_the_old(submitted_a, person_a, manager_a):
    first = IndicativeBudget.objects.get()
    person_update(
        actor=manager_a, person=person_a, data={"existing_weekly_cost_gbp": Decimal("150")}
    )
    second = budget_recalculate(actor=manager_a, person=person_a, reason="Package cost rose")
    first.refresh_from_db()
    assert (first.status, second.status) == (Status.SUPERSEDED, Status.CURRENT)
    assert second.replaces == first and second.reason == "Package cost rose"
    assert second.indicative_weekly_gbp == Decimal("150.00")
    assert first.indicative_weekly_gbp == Decimal("120.00")  # never overwritten
    assert first.history.latest().history_user == manager_a


def test_a_lower_figure_with_needs_not_reduced_waits_for_a_manager(
    submitted_a, person_a, manager_a, worker_a
):
    current = IndicativeBudget.objects.get()
    # The package cost is corrected down: same points, less money.
    person_update(actor=worker_a, person=person_a, data={"existing_weekly_cost_gbp": Decimal("90")})
    lower = budget_recalculate(actor=manager_a, person=person_a, reason="Cost corrected")
    current.refresh_from_db()
    assert lower.status == Status.AWAITING_DECISION
    assert current.status == Status.CURRENT  # the figure is not lowered
    with pytest.raises(PermissionDenied):
        budget_decide(actor=worker_a, budget=lower, decision=ADOPT, reason="x")
    budget_decide(actor=manager_a, budget=lower, decision=KEEP, reason="Invoice disputed")
    lower.refresh_from_db()
    current.refresh_from_db()
    assert (lower.status, current.status) == (Status.NOT_ADOPTED, Status.CURRENT)
    assert (lower.decided_by, lower.decision_reason) == (manager_a, "Invoice disputed")


def test_a_manager_can_adopt_the_lower_figure(submitted_a, person_a, manager_a, worker_a):
    current = IndicativeBudget.objects.get()
    person_update(actor=worker_a, person=person_a, data={"existing_weekly_cost_gbp": Decimal("90")})
    lower = budget_recalculate(actor=manager_a, person=person_a, reason="Cost corrected")
    budget_decide(actor=manager_a, budget=lower, decision=ADOPT, reason="Confirmed with provider")
    lower.refresh_from_db()
    current.refresh_from_db()
    assert (lower.status, current.status) == (Status.CURRENT, Status.SUPERSEDED)


def test_a_reassessment_with_fewer_points_may_lower_the_figure(submitted_a, person_a, worker_a):
    from tests.factories import answer_everything

    person_update(actor=worker_a, person=person_a, data={"existing_weekly_cost_gbp": None})
    again = assessment_start(actor=worker_a, person=person_a, supported_by="self")
    again = complete_assessment(again, worker_a)
    again = answer_everything(again, worker_a, option_index=0)  # needs have reduced: 0 points
    assessment_submit(actor=worker_a, assessment=again, lock_version=again.lock_version)
    newest = IndicativeBudget.objects.order_by("-id").first()
    assert newest.status == Status.CURRENT
    assert newest.raw_points == 0


# --- pages -----------------------------------------------------------------------------------


def test_person_page_explains_the_figure_and_lists_triggers(client, draft_a, worker_a, policy):
    from tests.factories import answer_everything

    ready = complete_assessment(draft_a, worker_a)
    ready = answer_everything(ready, worker_a, option_index=2)  # 5 points each, flags dfg
    assessment_submit(actor=worker_a, assessment=ready, lock_version=ready.lock_version)
    client.force_login(worker_a)
    page = client.get(reverse("assessments:person_detail", args=[draft_a.person_id])).text
    assert "How this figure was worked out" in page
    assert "Section 1 5.00" not in page and "Section 1 10.00; Section 2 10.00" in page
    assert "20.00 points × £4.88 a point" in page
    assert "5% of the £97.60 between £0.00 and £100.00" in page
    assert "Disabled Facilities Grant" in page and "Adapt." in page
    assert 'id="indicative-weekly">£120.00<' in page


def test_budget_pages_permission_matrix(
    client, submitted_a, worker_a, worker_b, manager_a, auditor
):
    budget = IndicativeBudget.objects.get()
    detail = reverse("allocations:budget_detail", args=[budget.pk])
    decide = reverse("allocations:budget_decide", args=[budget.pk])
    recalc = reverse("allocations:budget_recalculate", args=[budget.person_id])
    assert client.get(detail).status_code == 302  # anonymous
    client.force_login(worker_b)
    assert client.get(detail).status_code == 404
    assert client.post(recalc, {"reason": "x"}).status_code == 404
    client.force_login(auditor)
    assert client.get(detail).status_code == 200
    assert client.post(recalc, {"reason": "x"}).status_code == 403
    assert client.get(reverse("allocations:decisions")).status_code == 403
    client.force_login(worker_a)
    assert client.post(recalc, {"reason": "x"}).status_code == 403
    client.force_login(manager_a)
    assert client.post(recalc, {"reason": "Check"}).status_code == 302
    assert IndicativeBudget.objects.count() == 2
    assert client.post(decide, {"decision": "adopt", "reason": "x"}).status_code == 302


def test_manager_decides_in_the_browser(client, submitted_a, person_a, manager_a, worker_a):
    person_update(actor=worker_a, person=person_a, data={"existing_weekly_cost_gbp": Decimal("90")})
    lower = budget_recalculate(actor=manager_a, person=person_a, reason="Cost corrected")
    client.force_login(worker_a)
    page = client.get(reverse("assessments:person_detail", args=[person_a.pk])).text
    assert "A lower figure of £90.00 a week" in page
    client.force_login(manager_a)
    listing = client.get(reverse("allocations:decisions")).text
    assert person_a.reference in listing
    client.post(
        reverse("allocations:budget_decide", args=[lower.pk]),
        {"decision": "adopt", "reason": "Confirmed"},
    )
    lower.refresh_from_db()
    assert lower.status == Status.CURRENT


def test_auditors_read_the_history_of_assessments_budgets_and_policies(
    client, submitted_a, auditor, policy
):
    client.force_login(auditor)
    summary = client.get(reverse("assessments:assessment_summary", args=[submitted_a.pk])).text
    assert "Answered</strong> by Worker.A" in summary
    assert "Status: In progress → Submitted" in summary
    budget = IndicativeBudget.objects.get()
    detail = client.get(reverse("allocations:budget_detail", args=[budget.pk])).text
    assert "Created</strong> by Worker.A" in detail
    policy_page = client.get(reverse("allocations:policy_detail", args=[policy.pk])).text
    assert "Status: Draft → Approved" in policy_page
    assert "Created</strong> by Ras.Admin" in policy_page


# --- every write checks the team rule as well as the role --------------------------------------


def test_another_teams_manager_may_neither_recalculate_nor_decide(
    submitted_a, person_a, manager_a, manager_b, worker_a
):
    from assessments.services.people import TEAM_NOT_ALLOWED

    with pytest.raises(PermissionDenied, match=TEAM_NOT_ALLOWED):
        budget_recalculate(actor=manager_b, person=person_a, reason="Package cost rose")
    assert IndicativeBudget.objects.count() == 1
    person_update(actor=worker_a, person=person_a, data={"existing_weekly_cost_gbp": Decimal("90")})
    lower = budget_recalculate(actor=manager_a, person=person_a, reason="Cost corrected")
    with pytest.raises(PermissionDenied, match=TEAM_NOT_ALLOWED):
        budget_decide(actor=manager_b, budget=lower, decision=ADOPT, reason="x")
    lower.refresh_from_db()
    assert (lower.status, lower.decided_by) == (Status.AWAITING_DECISION, None)


def test_a_budget_is_calculated_or_ended_only_for_the_actors_team(
    submitted_a, person_a, worker_b, policy
):
    from allocations.services.budgets import budget_end_not_eligible, budget_for_assessment
    from assessments.services.people import TEAM_NOT_ALLOWED

    with pytest.raises(PermissionDenied, match=TEAM_NOT_ALLOWED):
        budget_for_assessment(
            actor=worker_b,
            assessment=submitted_a,
            on_date=submitted_a.assessment_date,
            reason="x",
        )
    with pytest.raises(PermissionDenied, match=TEAM_NOT_ALLOWED):
        budget_end_not_eligible(actor=worker_b, assessment=submitted_a)
    assert list(IndicativeBudget.objects.values_list("status", flat=True)) == [Status.CURRENT]
