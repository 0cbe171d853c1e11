from __future__ import annotations

from django import forms

from assessments.models import User
from assessments.roles import Role
from panels.models import PanelDecision


def panel_people():
    return (
        User.objects.filter(
            is_active=True, groups__name__in=[Role.PANEL_CHAIR.label, Role.PANEL_MEMBER.label]
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


class MeetingForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
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
    reasons = forms.CharField(label="Reasons", widget=forms.Textarea(attrs={"rows": 3}))
    conditions = forms.CharField(
        label="Conditions (when approved with conditions)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    review_date = forms.DateField(
        label="Review date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    information_needed = forms.CharField(
        label="Information needed (when deferred)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ConflictForm(forms.Form):
    reason = forms.CharField(label="Your conflict of interest", max_length=2000)
