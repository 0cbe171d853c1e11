"""Who is e-mailed when the panel's work waits for someone (through
assessments.notifications.notify: no personal data, a link, after commit)."""

from __future__ import annotations

from django.urls import reverse

from assessments.models import User
from assessments.notifications import notify
from panels.models import PanelMeeting

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
