"""The panel's part of seed_demo: today's meeting shows a member's apologies and a substitute
in her place, and decides; next week's meeting has a referral waiting; seeding again adds
nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from panels.models import PanelAttendance, PanelDecision, PanelMeeting

pytestmark = pytest.mark.django_db


def test_the_demo_shows_a_meeting_with_apologies_and_a_substitute(capsys):
    from django.utils import timezone

    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    today = PanelMeeting.objects.get(date=timezone.localdate(), place__startswith="Committee")
    attendance = {a.member.username: (a.status, a.reason) for a in today.attendance.all()}
    assert attendance == {
        "panel.member": ("present", ""),
        "panel.member2": ("apologies", "On annual leave"),
        "panel.member3": (
            "substitute",
            "Fatima Begum sent apologies: a substitute keeps the panel quorate.",
        ),
    }
    decision = PanelDecision.objects.get(referral__meeting=today)
    # chair + Gareth Hughes + the substitute: three, the quorum; Fatima Begum is away.
    assert decision.present == ["panel.chair", "panel.member", "panel.member3"]
    assert PanelAttendance.objects.filter(status="substitute").count() == 1
    upcoming = PanelMeeting.objects.filter(date__gt=timezone.localdate(), cancelled_at=None)
    assert upcoming.filter(referrals__status="waiting").exists()
