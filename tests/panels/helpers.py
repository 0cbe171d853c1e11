"""Shorthand for the panel's tests."""

from __future__ import annotations

from panels.services import panel_decide


def decide(referral, actor, outcome="approved", **kwargs):
    kwargs.setdefault("reasons", "Meets needs safely.")
    return panel_decide(actor=actor, referral=referral, outcome=outcome, **kwargs)


def at(day: str, hour: int = 10):
    """Travel to `day` ("2027-02-05") at `hour` in the council's time zone (time_machine)."""
    import datetime
    import zoneinfo

    import time_machine

    when = datetime.datetime.fromisoformat(day).replace(
        hour=hour, tzinfo=zoneinfo.ZoneInfo("Europe/London")
    )
    return time_machine.travel(when, tick=False)


def refer(person, worker, meeting, chair):
    """person's plan, well over their indicative budget, submitted (so referred to the panel)
    and put on `meeting`'s agenda; returns the referral."""
    from allocations.services.plans import plan_submit
    from panels.services import referral_schedule
    from tests.factories import make_plan

    plan = make_plan(person, worker, weekly="140.00", difference_reason="More hours")
    plan = plan_submit(actor=worker, plan=plan)
    return referral_schedule(actor=chair, referral=plan.referrals.get(), meeting=meeting)


def held_meeting(chair, members, place="Room 1, County Hall"):
    """A meeting under way: arranged yesterday for midnight today (a meeting cannot be
    arranged in the past, nor decide before it starts), so the chair can decide now."""
    import datetime

    import time_machine
    from django.utils import timezone

    from panels.services import meeting_create

    today = timezone.localdate()
    with time_machine.travel(timezone.now() - datetime.timedelta(days=1), tick=False):
        return meeting_create(
            actor=chair,
            date=today,
            time=datetime.time(0, 0),
            place=place,
            chair=chair,
            members=members,
        )
