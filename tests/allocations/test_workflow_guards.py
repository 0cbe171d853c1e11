"""Each workflow's table holds on every path that saves the record (the admin, a form, a
script calling save()), not only in the services that make the moves."""

from __future__ import annotations

import pytest

from allocations.models import IndicativeBudget, RasPolicy, SupportPlan
from assessments.workflows import IllegalTransition
from tests.factories import make_plan

pytestmark = pytest.mark.django_db


def test_an_agreed_plan_cannot_be_reopened_by_saving_it(submitted_a, person_a, worker_a, manager_a):
    from allocations.services.plans import plan_authorise, plan_submit

    plan = make_plan(person_a, worker_a, weekly="120")
    plan_authorise(actor=manager_a, plan=plan_submit(actor=worker_a, plan=plan))
    plan = SupportPlan.objects.get(pk=plan.pk)
    plan.status = SupportPlan.Status.DRAFT
    with pytest.raises(IllegalTransition, match="A support plan that is agreed cannot become"):
        plan.save()
    assert SupportPlan.objects.get(pk=plan.pk).status == SupportPlan.Status.AGREED


def test_a_draft_plan_cannot_skip_the_decision(submitted_a, person_a, worker_a):
    plan = make_plan(person_a, worker_a, weekly="120")
    plan.status = SupportPlan.Status.AGREED
    with pytest.raises(IllegalTransition, match="being written cannot become agreed"):
        plan.save()
    plan.refresh_from_db()
    assert plan.status == SupportPlan.Status.DRAFT


def test_a_new_plan_or_policy_starts_as_a_draft(submitted_a, person_a, worker_a, policy):
    budget = IndicativeBudget.objects.get(person=person_a)
    with pytest.raises(IllegalTransition, match="A support plan cannot start agreed"):
        SupportPlan.objects.create(
            person=person_a,
            indicative_budget=budget,
            status=SupportPlan.Status.AGREED,
            created_by=worker_a,
            updated_by=worker_a,
        )
    copy = RasPolicy.objects.get(pk=policy.pk)
    copy.pk, copy.status = None, RasPolicy.Status.APPROVED
    with pytest.raises(IllegalTransition, match="A policy cannot start approved"):
        copy.save()


def test_a_superseded_budget_cannot_be_made_current_again_by_saving_it(submitted_a, manager_a):
    from allocations.services.budgets import budget_recalculate

    first = IndicativeBudget.objects.get(person=submitted_a.person)
    budget_recalculate(actor=manager_a, person=submitted_a.person, reason="Checked again")
    first.refresh_from_db()
    assert first.status == IndicativeBudget.Status.SUPERSEDED
    first.status = IndicativeBudget.Status.CURRENT
    with pytest.raises(IllegalTransition, match="An indicative budget that is superseded"):
        first.save()
