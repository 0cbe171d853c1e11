"""The panel's shared cast: a meeting (chair and two members) and person_a's plan, over the
indicative budget by more than the tolerance, referred and on that meeting's agenda."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from allocations.models import SupportPlan
from allocations.services.plans import plan_submit
from panels.services import meeting_create, referral_schedule
from tests.factories import make_plan
from tests.panels.helpers import held_meeting


@pytest.fixture
def meeting(panel_chair, panel_member, panel_member2):
    """A meeting under way today (tests.panels.helpers.held_meeting)."""
    return held_meeting(panel_chair, [panel_member, panel_member2])


@pytest.fixture
def next_meeting(panel_chair, panel_member, panel_member2):
    """A meeting in three days' time."""
    return meeting_create(
        actor=panel_chair,
        date=timezone.localdate() + datetime.timedelta(days=3),
        place="Room 2, County Hall",
        chair=panel_chair,
        members=[panel_member, panel_member2],
    )


@pytest.fixture
def referral(submitted_a, person_a, worker_a, meeting, panel_chair):
    """person_a's plan, 10% over the indicative budget and then some: at the panel."""
    plan = make_plan(person_a, worker_a, weekly="140.00", difference_reason="More hours")
    plan = plan_submit(actor=worker_a, plan=plan)
    assert plan.status == SupportPlan.Status.AT_PANEL
    return referral_schedule(actor=panel_chair, referral=plan.referrals.get(), meeting=meeting)
