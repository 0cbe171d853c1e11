from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.validators import MinValueValidator

from allocations.letters.kinds import letter_kind_choices
from allocations.models import PlanLine, RasPolicy, ReportSettings, SupportPlan
from allocations.services.calibration import MAX_SENSITIVITY_PRICES, TOO_MANY_PRICES
from allocations.services.plans import PLAN_LINE_FIELDS, PLAN_SETTINGS_FIELDS
from allocations.services.policies import POLICY_FIELDS
from assessments.models import Person, SupportedBy, Team, User
from assessments.selectors.people import team_allowed
from ras_site.forms import (
    ASCII_DIGITS_MESSAGE,
    AsciiDecimalField,
    DayMonthYearField,
    ascii_digits_formfield,
    validate_sensible_date,
)

_HELP_MAP = "One per line, as name: number."
# Numbers typed into the policy's lists: finite and of a sane size (the engine refuses the same).
_TOO_LARGE = Decimal("1E9")


def _number(text: str, line: int, what: str) -> Decimal:
    """A finite decimal below a billion, or a ValidationError naming the line."""
    if "_" in text or not text.isascii():  # Decimal() reads "١٢٣" as 123, "1_0" as 10
        raise forms.ValidationError(f"Line {line}: {ASCII_DIGITS_MESSAGE}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise forms.ValidationError(f"Line {line}: {text!r} is not a number.") from None
    if not value.is_finite():
        raise forms.ValidationError(f"Line {line}: {what} must be a finite number, not {text!r}.")
    if abs(value) >= _TOO_LARGE:
        raise forms.ValidationError(f"Line {line}: {what} {text!r} is too large.")
    return value


def _format_map(mapping: dict) -> str:
    return "\n".join(f"{k}: {v}" for k, v in (mapping or {}).items())


def _parse_map(text: str) -> dict[str, str]:
    result = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise forms.ValidationError(f"Line {number}: write it as name: number.")
        _number(value.strip(), number, name.strip())
        result[name.strip()] = value.strip()
    return result


def _format_bands(bands: list) -> str:
    return "\n".join(
        f"{'above' if b['up_to'] is None else b['up_to']}: {b['rate']}" for b in bands or []
    )


def _parse_bands(text: str) -> list[dict]:
    bands = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        upper, sep, rate = line.partition(":")
        if not sep:
            raise forms.ValidationError(f"Line {number}: write it as up-to amount: rate.")
        upper = upper.strip().lower()
        if upper != "above":
            try:
                Decimal(upper)
            except InvalidOperation:
                raise forms.ValidationError(
                    f"Line {number}: use numbers, and 'above' for the last."
                ) from None
            _number(upper, number, "the upper limit")
        _number(rate.strip(), number, "the rate")
        bands.append({"up_to": None if upper == "above" else upper, "rate": rate.strip()})
    return bands


class PolicyForm(forms.ModelForm):
    client_group_factors = forms.CharField(
        label="Market cost factor by client group",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_HELP_MAP + " A group not listed has factor 1, e.g. learning_disability: 1.10",
        max_length=2000,
    )
    informal_support_reductions = forms.CharField(
        label="Points removed for informal support (%)",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_HELP_MAP + " Levels: none, some, substantial, most.",
        max_length=2000,
    )
    carer_impact_multipliers = forms.CharField(
        label="Share of that reduction applied, by impact on the carer",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_HELP_MAP + " Impacts: low, moderate, high (between 0 and 1).",
        max_length=2000,
    )
    contingency_bands = forms.CharField(
        label="Contingency bands",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One band per line, as 'up to £: rate %', the last as 'above: rate'. Each "
        "rate applies only to the part of the weekly amount inside its band.",
        max_length=2000,
    )

    class Meta:
        model = RasPolicy
        fields = POLICY_FIELDS
        formfield_callback = ascii_digits_formfield
        field_classes = {"effective_from": DayMonthYearField}
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "transitional_rule": forms.RadioSelect,
        }
        help_texts = {
            "effective_from": "The day it takes effect: on or after the day it is approved (a "
            "policy cannot take effect in the past; re-pricing moves existing budgets).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if not self.is_bound:
            self.initial["client_group_factors"] = _format_map(instance.client_group_factors)
            self.initial["informal_support_reductions"] = _format_map(
                instance.informal_support_reductions
            )
            self.initial["carer_impact_multipliers"] = _format_map(
                instance.carer_impact_multipliers
            )
            self.initial["contingency_bands"] = _format_bands(instance.contingency_bands)
        # Left empty, a version reviews agreed budgets at the default interval (12 months).
        self.fields["review_interval_months"].required = False
        self.fields["effective_from"].validators.append(validate_sensible_date)

    def clean_review_interval_months(self):
        months = self.cleaned_data["review_interval_months"]
        return (
            months
            if months is not None
            else RasPolicy._meta.get_field("review_interval_months").default
        )

    def clean_client_group_factors(self):
        return _parse_map(self.cleaned_data["client_group_factors"])

    def clean_informal_support_reductions(self):
        return _parse_map(self.cleaned_data["informal_support_reductions"])

    def clean_carer_impact_multipliers(self):
        return _parse_map(self.cleaned_data["carer_impact_multipliers"])

    def clean_contingency_bands(self):
        return _parse_bands(self.cleaned_data["contingency_bands"])


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class ReviewStartForm(forms.Form):
    """Starting a review (issue 13): why now, and who supports the person at the
    reassessment it starts."""

    reason = forms.CharField(
        label="Why is the review starting?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    supported_by = forms.ChoiceField(
        label="Who supports the person at the reassessment",
        choices=SupportedBy.choices,
        initial=SupportedBy.SOCIAL_WORKER,
    )


class ReviewDecideForm(forms.Form):
    """A review's outcome and its reasons (issue 13)."""

    outcome = forms.ChoiceField(
        label="Outcome",
        choices=[
            ("no_change", "No change: the agreed budget stays until the next review"),
            ("reassess", "Reassess: the reassessment goes on to a new plan"),
            ("close", "Close: the agreed budget ends"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reasons", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class LowerFigureDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[
            ("keep", "Keep the current figure"),
            ("adopt", "Adopt the lower figure"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason for the decision", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


# --- Support plans -----------------------------------------------------------------------------


_PLAN_MONEY = (
    "direct_payment_weekly_gbp",
    "council_managed_weekly_gbp",
    "isf_weekly_gbp",
    "contribution_weekly_gbp",
)


class PlanSettingsForm(forms.ModelForm):
    class Meta:
        model = SupportPlan
        fields = PLAN_SETTINGS_FIELDS
        formfield_callback = ascii_digits_formfield
        field_classes = {"review_date": DayMonthYearField}
        widgets = {
            "management": forms.RadioSelect,
            "difference_reason": forms.Textarea(attrs={"rows": 2}),
            "risk_reasons": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "direct_payment_weekly_gbp": "Only for a mix: the amounts must add up to the plan's "
            "weekly cost.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Refused beside the field, not as the database constraint's name at the top.
        for name in _PLAN_MONEY:
            self.fields[name].validators.append(MinValueValidator(Decimal(0)))
            self.fields[name].widget.attrs["min"] = "0"
        self.fields["review_date"].validators.append(validate_sensible_date)


class PlanLineForm(forms.ModelForm):
    meets_outcomes = forms.MultipleChoiceField(
        label="Eligible needs this line meets",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    meets_sections = forms.MultipleChoiceField(
        label="Areas of the assessment it meets",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = PlanLine
        formfield_callback = ascii_digits_formfield
        fields = PLAN_LINE_FIELDS
        help_texts = {
            "unit": "What the quantity counts, e.g. hour, visit, session or night (the plan "
            "then reads “14 hours × £16.50”)."
        }

    def __init__(self, *args, needs: list[tuple[str, str]], sections=(), **kwargs):
        """A new line, or (instance=) a line to change, its current values shown."""
        super().__init__(*args, prefix="line", **kwargs)
        self.fields["meets_outcomes"].choices = needs
        self.fields["meets_sections"].choices = list(sections)


class NamedInformalSupportForm(forms.Form):
    outcome = forms.ChoiceField(label="Eligible need it meets")
    who = forms.CharField(label="Who gives it (name and relationship)", max_length=120)
    what = forms.CharField(label="What they do", max_length=300)

    def __init__(self, *args, needs: list[tuple[str, str]], **kwargs):
        super().__init__(*args, prefix="informal", **kwargs)
        self.fields["outcome"].choices = needs


class CommentsForm(forms.Form):
    comments = forms.CharField(
        label="What needs to change", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class LetterBatchForm(forms.Form):
    # Choices come from the letter-kind registry (allocations.letters.kinds), filled in __init__.
    kind = forms.ChoiceField(label="Letter", choices=[], initial="indicative")
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="Every team I can see"
    )
    since = DayMonthYearField(
        label="Only those calculated, agreed or decided on or after (optional)",
        required=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = letter_kind_choices()
        # The team rule (team_allowed) says which teams are offered. No team means every team,
        # which the rule allows (team None) only to whole-service roles.
        allowed = [pk for pk in Team.objects.values_list("pk", flat=True) if team_allowed(user, pk)]
        self.fields["team"].queryset = Team.objects.filter(pk__in=allowed)
        if not team_allowed(user, None):
            self.fields["team"].empty_label = None


# --- Calibration (issue 11) ---------------------------------------------------------------

# The fitting methods as people read them (allocations/calibration/fitting.py names them).
CALIBRATION_METHODS = [
    ("all", "Every method"),
    ("ratio", "Ratio of totals (total cost ÷ total points)"),
    ("origin", "Least squares through the origin"),
    ("intercept", "Least squares with an intercept"),
    ("median", "Median of per-case ratios"),
    ("weights", "Section weights (non-negative, cross-validated)"),
]


class SampleUploadForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name of the sample")
    file = forms.FileField(
        label="Sample file (CSV or XLSX)",
        help_text="Header row: reference, client_group, points, weekly_cost; optionally "
        "age_band, team and one points_<section code> column per section.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )


class CaseloadSampleForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name of the sample")


class CalibrationRunForm(forms.Form):
    method = forms.ChoiceField(choices=CALIBRATION_METHODS, initial="all")
    policy = forms.ModelChoiceField(
        queryset=RasPolicy.objects.all(),
        required=False,
        empty_label="None: the fitted price alone",
        label="As this policy would pay (optional)",
        help_text="Its contingency bands, factors, minimum and transitional rule.",
    )
    budget = AsciiDecimalField(
        label="Weekly budget to solve the price for (£, optional)",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text="The sample's weekly budget or, when scaling to the live caseload, the whole "
        "caseload's. Uses the chosen policy, or the policy in force.",
    )
    transitional = forms.BooleanField(
        label="Apply the policy's transitional rule",
        required=False,
        help_text="Count each case's current cost as its existing package, so the chosen "
        "policy (or, for the budget, the policy in force) pays as its transitional rule says.",
    )
    scale = forms.BooleanField(
        label="Scale to the live caseload",
        required=False,
        help_text="Weight each case to the caseload's count of people with a current "
        "indicative budget in its client group, so the budget is compared with the projected "
        "whole-caseload spend rather than the sample's.",
    )
    sensitivity_from = AsciiDecimalField(
        label="Sensitivity: from £ a point (optional)",
        required=False,
        min_value=Decimal("0"),
        max_digits=7,
        decimal_places=2,
    )
    sensitivity_to = AsciiDecimalField(
        label="Sensitivity: to £ a point",
        required=False,
        min_value=Decimal("0"),
        max_digits=7,
        decimal_places=2,
    )
    sensitivity_step = AsciiDecimalField(
        label="Sensitivity: in steps of £",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=7,
        decimal_places=2,
        help_text="A table of spend at each of these prices under the chosen policy (or the "
        "policy in force), with or without a budget.",
    )

    def clean(self):
        data = super().clean()
        bounds = [data.get(f"sensitivity_{k}") for k in ("from", "to", "step")]
        if all(b is None for b in bounds):
            data["sensitivity_prices"] = None
        elif any(b is None for b in bounds):
            raise forms.ValidationError(SENSITIVITY_RANGE_INCOMPLETE)
        else:
            low, high, step = bounds
            if high <= low:
                raise forms.ValidationError(SENSITIVITY_RANGE_BACKWARDS)
            # Refused before the list is built (a tiny step over a wide range would be huge),
            # with the service's own limit and words.
            if (high - low) / step >= MAX_SENSITIVITY_PRICES:
                raise forms.ValidationError(TOO_MANY_PRICES)
            data["sensitivity_prices"] = sensitivity_prices(low, high, step)
        return data


SENSITIVITY_RANGE_INCOMPLETE = "Give the sensitivity's lowest and highest price and its step."
SENSITIVITY_RANGE_BACKWARDS = "The sensitivity's highest price must be above its lowest."


def sensitivity_prices(low: Decimal, high: Decimal, step: Decimal) -> list[Decimal]:
    """low, low + step, … up to high (high itself included when a step lands on it)."""
    prices, price = [], low
    while price <= high:
        prices.append(price)
        price += step
    return prices


# --- Report settings (issue 12) ---------------------------------------------------------------


class ReportSettingsForm(forms.ModelForm):
    """The targets the reports measure against, and why they are changing."""

    reason = forms.CharField(
        label="Why are you changing them?",
        max_length=100,
        help_text="Kept in the history with your name.",
    )

    class Meta:
        model = ReportSettings
        fields = ["take_up_target_percent", "annual_budget_gbp"]
        formfield_callback = ascii_digits_formfield


class AccessLogFilterForm(forms.Form):
    """The access log's filters (allocations.views.records): all optional."""

    PERSON_UNKNOWN = "No person has this council reference."
    DATES_REVERSED = "The last day is before the first day."

    who = forms.ModelChoiceField(
        label="Who opened the record",
        queryset=None,
        required=False,
        empty_label="Anyone",
    )
    person = forms.CharField(label="Person's council reference", max_length=20, required=False)
    start = DayMonthYearField(label="From", required=False, accept_iso=True)
    end = DayMonthYearField(label="To", required=False, accept_iso=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["who"].queryset = User.objects.order_by("last_name", "first_name", "username")
        self.fields["who"].label_from_instance = lambda u: (
            f"{u.get_full_name()} ({u.username})" if u.get_full_name() else u.username
        )

    def clean_person(self):
        reference = self.cleaned_data["person"].strip()
        if not reference:
            return None
        person = Person.objects.filter(reference__iexact=reference).first()
        if person is None:
            raise forms.ValidationError(self.PERSON_UNKNOWN)
        return person

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", self.DATES_REVERSED)
        return cleaned
