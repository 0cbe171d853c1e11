"""Who is e-mailed when the panel's work waits for someone (through
assessments.notifications.notify: no personal data, a link, after commit)."""

from __future__ import annotations

from django.urls import reverse

from assessments.models import User
from assessments.notifications import notify, permission_holders
from panels.models import PanelMeeting
from panels.permissions import MEETING_ADD

REFERRAL_ON_AGENDA = (
    "A referral on your panel's agenda",
    "A support plan referred to the risk enablement panel was put on the agenda of a meeting "
    "you sit on.",
)


def notify_referral_on_agenda(meeting: PanelMeeting, *, actor: User) -> list[User]:
    """The meeting's chair and everyone sitting on it (substitutes included)."""
    subject, reason = REFERRAL_ON_AGENDA
    return notify(
        [meeting.chair, *meeting.members.all()],
        subject=subject,
        link_path=reverse("panels:meeting_detail", args=[meeting.pk]),
        reason=reason,
        actor=actor,
    )


REFERRAL_AWAITS_MEETING = (
    "A referral is waiting for a panel meeting",
    "A support plan has been referred to the risk enablement panel and is waiting to be put on "
    "a meeting's agenda.",
)


def notify_referral_awaits_meeting(*, actor: User) -> list[User]:
    """The panel's chairs (who arrange meetings and put referrals on them)."""
    subject, reason = REFERRAL_AWAITS_MEETING
    return notify(
        permission_holders(MEETING_ADD),
        subject=subject,
        link_path=reverse("panels:meeting_list"),
        reason=reason,
        actor=actor,
    )
