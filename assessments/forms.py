from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms

from assessments.models import Person, Team
from assessments.services import PERSON_FIELDS


class PersonForm(forms.ModelForm):
    """The person's details. The team is fixed to the worker's own team unless their role
    covers the whole service."""

    class Meta:
        model = Person
        fields = PERSON_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            "reference": "The council's unique reference for this person, e.g. ASC-004217.",
            "sex": "Optional. Used only to check that budgets are fair.",
            "ethnicity": "Optional. Used only to check that budgets are fair.",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        team_field = self.fields["team"]
        if not user.has_perm("assessments.view_all_people"):
            team_field.queryset = Team.objects.filter(pk=user.team_id)
            team_field.initial = user.team_id
            team_field.empty_label = None
        self.fields["existing_weekly_cost_gbp"].widget.attrs.update({"min": "0", "step": "0.01"})
        self.fields["sex"].choices = [("", "Not recorded"), *self.fields["sex"].choices[1:]]
        self.fields["ethnicity"].choices = [
            ("", "Not recorded"),
            *self.fields["ethnicity"].choices[1:],
        ]
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Fieldset("Who they are", "reference", "given_name", "family_name", "date_of_birth"),
            Fieldset(
                "Their support",
                "client_group",
                "team",
                "existing_weekly_cost_gbp",
                "needs_increased",
            ),
            Fieldset("Address for letters", "address_line_1", "address_line_2", "town", "postcode"),
            Fieldset("Equality monitoring (optional)", "sex", "ethnicity"),
            Submit("save", "Save"),
        )

    def clean_reference(self):
        return self.cleaned_data["reference"].strip().upper()

    def clean_postcode(self):
        compact = "".join(self.cleaned_data["postcode"].upper().split())
        return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


class PersonSearchForm(forms.Form):
    q = forms.CharField(
        label="Search by name, reference or date of birth",
        required=False,
        max_length=100,
    )
