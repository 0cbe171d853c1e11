"""The plans part of seed_demo (allocations.demo.seed_mixed_plan): a plan managed three ways
with a contribution, agreed, whose statement letter gives the direct payment net of it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from allocations.demo import MIXED_PLAN_REASON
from allocations.models import Letter, SupportPlan
from allocations.selectors.plans import plan_history
from tests.allocations.test_letters import text_of

pytestmark = pytest.mark.django_db


def test_the_demo_has_an_agreed_mixed_plan_with_a_contribution_and_its_statement():
    call_command("seed_demo", quiet_logins=True)
    call_command("seed_demo", quiet_logins=True)  # once only

    plan = SupportPlan.objects.get(difference_reason=MIXED_PLAN_REASON)
    assert plan.status == SupportPlan.Status.AGREED and plan.management == "mixed"
    agreed = plan.agreed
    assert agreed.direct_payment_weekly_gbp and agreed.council_managed_weekly_gbp
    assert agreed.isf_weekly_gbp and agreed.contribution_weekly_gbp == Decimal("35.50")
    assert "Changed line" in {entry.action for entry in plan_history(plan)}
    letter = Letter.objects.get(person=plan.person, kind="statement")
    net = agreed.direct_payment_weekly_gbp - agreed.contribution_weekly_gbp
    assert letter.figures["direct_payment_net_weekly_gbp"] == str(net)
    assert f"Direct payment we pay to you £{net} a week" in text_of(letter.read_pdf())
