"""The meeting's agenda and its minutes as PDFs (tagged, PDF/UA-1), made as letters are
(allocations.pdf_worker.html_to_pdf). Made on request from the records; nothing is stored."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from allocations.letters.rendering import council
from allocations.pdf_worker import html_to_pdf
from panels.models import PanelMeeting

AGENDA, MINUTES = "agenda", "minutes"
TITLES = {AGENDA: "Agenda", MINUTES: "Minutes"}


def meeting_document_html(meeting: PanelMeeting, kind: str) -> str:
    """The agenda (who sits, each referral with why it is at the panel and its weekly cost)
    or the minutes (attendance with apologies and substitutes, conflicts, and each decision
    with its reasons and conditions)."""
    attendance = {a.member_id: a for a in meeting.attendance.all()}
    referrals = list(
        meeting.referrals.select_related("plan__person__team", "decision__decided_by")
        .prefetch_related("conflicts__member")
        .order_by("referred_at", "id")
    )
    return render_to_string(
        "panels/documents/meeting.html",
        {
            "kind": kind,
            "title": f"{TITLES[kind]}: {meeting}",
            "meeting": meeting,
            "sitting": [
                (member, attendance.get(member.pk))
                for member in sorted(meeting.members.all(), key=lambda u: (u.last_name, u.username))
            ],
            "referrals": referrals,
            "council": council(),
            "made_at": timezone.localtime(),
        },
    )


def meeting_document_pdf(meeting: PanelMeeting, kind: str) -> bytes:
    return html_to_pdf(meeting_document_html(meeting, kind), str(settings.BASE_DIR))
