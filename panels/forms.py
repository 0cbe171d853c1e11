from __future__ import annotations

from django import forms

from assessments.models import User
from assessments.roles import Role
from panels.models import DEFAULT_MEETING_TIME, PanelAttendance, PanelDecision, PanelMeeting
from ras_site.forms import AsciiIntegerField, DayMonthYearField, validate_sensible_date


def panel_people():
    return (
        User.objects.filter(
            is_active=True, groups__name__in=[Role.PANEL_CHAIR.label, Role.PANEL_MEMBER.label]
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


class MeetingForm(forms.Form):
    date = DayMonthYearField(label="Date", validators=[validate_sensible_date])
    time = forms.TimeField(
        initial=DEFAULT_MEETING_TIME, widget=forms.TimeInput(attrs={"type": "time"})
    )
    place = forms.CharField(max_length=200, help_text="Room and building, or a video link.")
    chair = forms.ModelChoiceField(queryset=User.objects.none())
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = panel_people()
        self.fields["chair"].queryset = people.filter(groups__name=Role.PANEL_CHAIR.label)
        self.fields["members"].queryset = people


class PanelDecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Decision", choices=PanelDecision.Outcome.choices, widget=forms.RadioSelect
    )
    reasons = forms.CharField(
        label="Reasons", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    conditions = forms.CharField(
        label="Conditions (when approved with conditions)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    review_date = DayMonthYearField(
        label="Review date", required=False, validators=[validate_sensible_date]
    )
    information_needed = forms.CharField(
        label="Information needed (when deferred)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ConflictForm(forms.Form):
    reason = forms.CharField(label="Your conflict of interest", max_length=2000)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=2000)


class AttendanceForm(forms.Form):
    member = AsciiIntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label="Attendance",
        choices=[
            (PanelAttendance.Status.PRESENT, "Present"),
            (PanelAttendance.Status.APOLOGIES, "Apologies"),
        ],
    )
    reason = forms.CharField(label="Note", max_length=2000, required=False)


class SubstituteForm(forms.Form):
    member = forms.ModelChoiceField(label="Substitute member", queryset=User.objects.none())
    reason = forms.CharField(
        label="Why a substitute is needed",
        max_length=2000,
        help_text="For example: a member's conflict of interest left the panel below quorum.",
    )

    def __init__(self, *args, meeting: PanelMeeting, **kwargs):
        super().__init__(*args, **kwargs)
        sitting = [meeting.chair_id, *[m.pk for m in meeting.members.all()]]
        self.fields["member"].queryset = panel_people().exclude(pk__in=sitting)


class MoveForm(forms.Form):
    meeting = forms.ModelChoiceField(
        label="Move to the meeting", queryset=PanelMeeting.objects.none()
    )
    reason = forms.CharField(label="Why it is moved", max_length=2000)

    def __init__(self, *args, meetings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = meetings
        self.fields["meeting"].label_from_instance = lambda m: (
            f"{m.date:%d %b %Y}, {m.time:%H:%M}" + (f", {m.place}" if m.place else "")
        )
