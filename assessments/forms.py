from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms

from assessments.models import (
    CarerImpact,
    InformalSupport,
    Outcome,
    Person,
    SupportedBy,
    Team,
)
from assessments.selectors.people import team_allowed
from assessments.services.people import PERSON_FIELDS
from assessments.services.questionnaires import questionnaire_limit, readable_size
from ras_site.forms import (
    AsciiIntegerField,
    DayMonthYearField,
    DayMonthYearWidget,
    ascii_digits_formfield,
)


class PersonForm(forms.ModelForm):
    """The person's details. The team is fixed to the worker's own team unless their role
    covers the whole service.

    Editing carries the record's lock_version (hidden), so a save based on an older copy is
    refused by person_update rather than overwriting a colleague's change."""

    lock_version = AsciiIntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Person
        fields = PERSON_FIELDS
        formfield_callback = ascii_digits_formfield  # the weekly cost: digits 0 to 9 only
        widgets = {
            "date_of_birth": DayMonthYearWidget(autocomplete="bday"),
        }
        field_classes = {"date_of_birth": DayMonthYearField}
        help_texts = {
            "reference": "The council's unique reference for this person, e.g. ASC-004217.",
            "sex": "Optional. Used only to check that budgets are fair.",
            "ethnicity": "Optional. Used only to check that budgets are fair.",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        team_field = self.fields["team"]
        allowed = [pk for pk in Team.objects.values_list("pk", flat=True) if team_allowed(user, pk)]
        team_field.queryset = Team.objects.filter(pk__in=allowed)
        if allowed == [user.team_id]:  # only their own team: nothing to choose
            team_field.initial = user.team_id
            team_field.empty_label = None
        self.fields["existing_weekly_cost_gbp"].widget.attrs.update({"min": "0", "step": "0.01"})
        self.fields["title"].choices = [("", "No title"), *self.fields["title"].choices[1:]]
        self.fields["sex"].choices = [("", "Not recorded"), *self.fields["sex"].choices[1:]]
        self.fields["ethnicity"].choices = [
            ("", "Not recorded"),
            *self.fields["ethnicity"].choices[1:],
        ]
        if self.instance.pk is None:
            del self.fields["lock_version"]  # a new record has no earlier copy to conflict with
        else:
            self.fields["lock_version"].initial = self.instance.lock_version
        self.helper = FormHelper()
        self.helper.render_hidden_fields = True  # lock_version, which the layout does not name
        self.helper.layout = Layout(
            Fieldset(
                "Who they are",
                "reference",
                "title",
                "given_name",
                "family_name",
                "preferred_name",
                "date_of_birth",
            ),
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

    def show_conflict(self, latest: Person) -> list[tuple[str, str]]:
        """After a refused save: keep what the user typed, take `latest`'s lock_version (so
        saving again is a deliberate choice), and return (label, latest saved value) for each
        field where the saved record differs from what was typed."""
        data = self.data.copy()
        data["lock_version"] = latest.lock_version
        self.data = data
        differences = []
        for name in PERSON_FIELDS:
            saved, typed = getattr(latest, name), self.cleaned_data.get(name)
            if saved == typed or (saved in (None, "") and typed in (None, "")):
                continue
            display = getattr(latest, f"get_{name}_display", None)
            shown = display() if display else saved
            if isinstance(saved, bool):
                shown = "Yes" if saved else "No"
            differences.append((self.fields[name].label, "" if shown is None else str(shown)))
        return differences

    def clean_postcode(self):
        compact = "".join(self.cleaned_data["postcode"].upper().split())
        return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


class PersonSearchForm(forms.Form):
    q = forms.CharField(
        label="Search by name, reference or date of birth",
        required=False,
        max_length=100,
    )


# --- Assessments -----------------------------------------------------------------------------

YES_NO = [("yes", "Yes"), ("no", "No")]


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


class StartAssessmentForm(forms.Form):
    supported_by = forms.ChoiceField(
        label="Who is supporting the person with this assessment?",
        choices=SupportedBy.choices,
        widget=forms.RadioSelect,
    )


class SectionForm(forms.Form):
    """One questionnaire section: a radio group and an optional evidence note per question.

    Fields are named q_<id> and evidence_<id>; the template renders each question as a
    fieldset whose legend is the question."""

    lock_version = AsciiIntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, questions, answers, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            answer = answers.get(question.pk)
            self.fields[f"q_{question.pk}"] = forms.TypedChoiceField(
                label=question.text,
                help_text=question.help_text,
                choices=[(o.pk, o.label) for o in question.options.all()],
                coerce=int,
                required=False,
                empty_value=None,
                widget=forms.RadioSelect,
                initial=answer.option_id if answer else None,
            )
            self.fields[f"evidence_{question.pk}"] = forms.CharField(
                label="Evidence note (optional)",
                required=False,
                max_length=4000,
                widget=forms.Textarea(attrs={"rows": 2}),
                initial=answer.evidence if answer else "",
            )

    def answers(self) -> dict[int, tuple[int | None, str]]:
        return {
            q.pk: (self.cleaned_data[f"q_{q.pk}"], self.cleaned_data[f"evidence_{q.pk}"])
            for q in self.questions
        }

    def rows(self):
        """(question, radio field, evidence field) for the template."""
        return [(q, self[f"q_{q.pk}"], self[f"evidence_{q.pk}"]) for q in self.questions]

    def add_question_errors(self, error_dict: dict[str, str]) -> None:
        by_code = {q.code: q for q in self.questions}
        for code, message in error_dict.items():
            question = by_code.get(code)
            self.add_error(f"evidence_{question.pk}" if question else None, message)


class InformalSupportStepForm(forms.Form):
    lock_version = AsciiIntegerField(widget=forms.HiddenInput)
    informal_support = forms.ChoiceField(
        label="How much of the support the person needs do family, friends or neighbours "
        "give, unpaid?",
        choices=InformalSupport.choices,
        widget=forms.RadioSelect,
    )
    carer_assessed = forms.TypedChoiceField(
        label="Has the carer's own situation been assessed (a carer's assessment)?",
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    carer_able_and_willing = forms.TypedChoiceField(
        label="Is the carer able and willing to go on giving this support?",
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    carer_impact = forms.ChoiceField(
        label="What impact does caring have on the carer?",
        choices=CarerImpact.choices,
        required=False,
        widget=forms.RadioSelect,
    )

    @classmethod
    def initial_for(cls, assessment) -> dict:
        return {
            "lock_version": assessment.lock_version,
            "informal_support": assessment.informal_support or None,
            "carer_assessed": _yes_no(assessment.carer_assessed),
            "carer_able_and_willing": _yes_no(assessment.carer_able_and_willing),
            "carer_impact": assessment.carer_impact or None,
        }


class EligibilityForm(forms.Form):
    lock_version = AsciiIntegerField(widget=forms.HiddenInput)
    impairment_or_illness = forms.TypedChoiceField(
        label="Do the person's needs arise from a physical or mental impairment or illness?",
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    significant_impact = forms.TypedChoiceField(
        label="As a result of being unable to achieve these outcomes, is there, or is there "
        "likely to be, a significant impact on the person's wellbeing?",
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    reasons = forms.CharField(
        label="Reasons for the decision",
        help_text="Explain the decision in plain English: the person will be told it.",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=8000,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for outcome in Outcome:
            self.fields[f"outcome_{outcome.value}"] = forms.MultipleChoiceField(
                label=outcome.label,
                choices=OUTCOME_MEANINGS,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )

    @classmethod
    def initial_for(cls, assessment, determination) -> dict:
        initial = {"lock_version": assessment.lock_version}
        if determination is not None:
            initial["impairment_or_illness"] = _yes_no(determination.impairment_or_illness)
            initial["significant_impact"] = _yes_no(determination.significant_impact)
            initial["reasons"] = determination.reasons
            for finding in determination.findings.all():
                initial[f"outcome_{finding.outcome}"] = [
                    m for m, _ in OUTCOME_MEANINGS if getattr(finding, m)
                ]
        return initial

    def outcome_fields(self):
        return [self[f"outcome_{o.value}"] for o in Outcome]

    def determination(self) -> dict:
        """The answers as `eligibility_record` takes them."""
        data = self.cleaned_data
        return {
            "lock_version": data["lock_version"],
            "impairment_or_illness": data["impairment_or_illness"],
            "significant_impact": data["significant_impact"],
            "unable": self.unable(),
            "reasons": data["reasons"],
        }

    def unable(self) -> dict[str, set[str]]:
        return {
            o.value: set(self.cleaned_data[f"outcome_{o.value}"])
            for o in Outcome
            if self.cleaned_data[f"outcome_{o.value}"]
        }


OUTCOME_MEANINGS = [
    ("needs_assistance", "Unable to achieve it without help"),
    ("pain_or_distress", "Can achieve it alone, but with significant pain, distress or anxiety"),
    ("endangers", "Can achieve it alone, but it endangers their or others' health or safety"),
    ("significantly_longer", "Can achieve it alone, but it takes significantly longer"),
]


class SubmitForm(forms.Form):
    lock_version = AsciiIntegerField(widget=forms.HiddenInput)


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="Why is this assessment being withdrawn?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class RetireQuestionnaireForm(forms.Form):
    """Sent only by the confirmation page's button: a bare POST does not retire."""

    confirm = forms.BooleanField(widget=forms.HiddenInput, initial=True)


class QuestionnaireImportForm(forms.Form):
    file = forms.FileField(
        label="Questionnaire file (JSON)",
        help_text="A file exported from this product (format open-ras-questionnaire/1), "
        "at most {size}.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        size = readable_size(questionnaire_limit("QUESTIONNAIRE_IMPORT_MAX_BYTES"))
        self.fields["file"].help_text = self.fields["file"].help_text.format(size=size)


def add_service_errors(form: forms.Form, error) -> None:
    """Put a service's ValidationError beside the fields it names (others at the top)."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error)


class EmailSettingsForm(forms.Form):
    """A user's own e-mail settings (accounts/e-mail/)."""

    email_notifications = forms.BooleanField(
        required=False,
        label="E-mail me when something waits for me",
        help_text=(
            "For example a plan to authorise, a referral on your panel's agenda, a decision on "
            "a plan you wrote, or reviews coming due. The e-mail says only what kind of thing "
            "waits, with a link; never who it is about."
        ),
    )
