"""Bad input gets a message beside its field, never a 500, and nothing is saved (issue 14):
money and counts in the digits 0 to 9 only, dates in a sensible window (held by the database
too), and typed texts with a length."""

from __future__ import annotations

import datetime
import inspect
import json

import pytest
from django import forms
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

import allocations.forms
import allocations.reports.filters
import assessments.forms
import panels.forms
from allocations.engine import InvalidPolicy, policy_from_dict
from allocations.forms import CalibrationRunForm, ReportSettingsForm
from allocations.models import PlanLine, RasPolicy, SupportPlan
from assessments.models import (
    DATE_OF_BIRTH_FUTURE_MESSAGE,
    DATE_OF_BIRTH_TOO_OLD_MESSAGE,
    Person,
)
from panels.forms import PanelDecisionForm
from panels.models import PanelDecision, PanelMeeting
from panels.services import meeting_create
from ras_site.forms import (
    ASCII_DIGITS_MESSAGE,
    EARLIEST_DATE,
    AsciiDigitsMixin,
    DayMonthYearField,
    validate_sensible_date,
    years_after,
)
from tests.allocations.engine.policies import SPEC_POLICY_DICT
from tests.factories import POLICY_FORM, date_parts, form_data, make_plan, make_policy, person_data

pytestmark = pytest.mark.django_db

ARABIC_123 = "١٢٣"  # Arabic-Indic digits, which int() and Decimal() read as 123
FULLWIDTH_52 = "５２"


def _today() -> datetime.date:
    return timezone.localdate()


def _policy_post(client, **changes):
    data = {
        **POLICY_FORM,
        **date_parts("effective_from", _today() + datetime.timedelta(days=30)),
        **changes,
    }
    return client.post(reverse("allocations:policy_create"), data)


def _out_of_range() -> str:
    latest = years_after(_today(), 5)
    return f"Enter a date from 1 January 2000 to {latest.day} {latest:%B %Y}."


# --- Money and counts: the digits 0 to 9 only -------------------------------------------------


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("weeks_per_year", ARABIC_123),
        ("weeks_per_year", FULLWIDTH_52),
        ("weeks_per_year", "5_2"),
        ("price_per_point_gbp", "٤.٨٨"),
        ("minimum_weekly_gbp", "०"),  # Devanagari zero
        ("review_interval_months", "١٢"),
    ],
)
def test_a_policy_number_in_other_digits_is_refused_beside_its_field(
    client, ras_admin, field, typed
):
    client.force_login(ras_admin)
    response = _policy_post(client, **{field: typed})
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [ASCII_DIGITS_MESSAGE]
    assert ASCII_DIGITS_MESSAGE in response.text
    assert not RasPolicy.objects.exists()


def test_weeks_per_year_in_ascii_digits_is_saved(client, ras_admin):
    client.force_login(ras_admin)
    response = _policy_post(client, weeks_per_year="52")
    assert response.status_code == 302
    assert str(RasPolicy.objects.get().weeks_per_year) == "52.00"


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("informal_support_reductions", "none: 0\nsome: ١٠\nsubstantial: 20\nmost: 30"),
        ("carer_impact_multipliers", "low: 1\nmoderate: 0.5\nhigh: 0_0"),
        ("contingency_bands", "١٠٠: 5\n300: 10\nabove: 26"),
    ],
)
def test_a_policy_list_in_other_digits_names_the_line(client, ras_admin, field, typed):
    client.force_login(ras_admin)
    response = _policy_post(client, **{field: typed})
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert len(errors) == 1 and errors[0].startswith("Line ")
    assert errors[0].endswith(ASCII_DIGITS_MESSAGE)
    assert not RasPolicy.objects.exists()


def test_a_weekly_cost_in_other_digits_is_refused(client, worker_a, team_a):
    client.force_login(worker_a)
    data = form_data(person_data(team_a, existing_weekly_cost_gbp=ARABIC_123))
    response = client.post(reverse("assessments:person_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["existing_weekly_cost_gbp"] == [ASCII_DIGITS_MESSAGE]
    assert not Person.objects.exists()


def test_a_plan_line_and_plan_settings_in_other_digits_are_refused(
    client, submitted_a, person_a, worker_a
):
    plan = make_plan(person_a, worker_a, weekly="100.00")
    client.force_login(worker_a)
    line = {
        "line-category": "home_care",
        "line-description": "Evening call",
        "line-quantity": "٣",
        "line-unit": "hour",
        "line-unit_cost_gbp": "١٢.٥٠",
        "line-frequency": "week",
    }
    response = client.post(reverse("allocations:plan_line_add", args=[plan.pk]), line)
    assert response.status_code == 200
    errors = response.context["line_form"].errors
    assert errors["quantity"] == errors["unit_cost_gbp"] == [ASCII_DIGITS_MESSAGE]
    assert PlanLine.objects.filter(plan=plan).count() == 1  # make_plan's line only
    response = client.post(
        reverse("allocations:plan_settings", args=[plan.pk]),
        {"management": "direct_payment", "contribution_weekly_gbp": "٥"},
    )
    assert response.status_code == 200
    assert response.context["settings_form"].errors["contribution_weekly_gbp"] == [
        ASCII_DIGITS_MESSAGE
    ]
    plan.refresh_from_db()
    assert plan.contribution_weekly_gbp == 0


def test_calibration_and_report_settings_numbers_take_ascii_digits_only(db):
    run = CalibrationRunForm(data={"method": "all", "budget": "١٠٠٠"})
    assert run.errors["budget"] == [ASCII_DIGITS_MESSAGE]
    settings = ReportSettingsForm(
        data={"take_up_target_percent": "٥٠", "annual_budget_gbp": "1000", "reason": "New year"}
    )
    assert settings.errors["take_up_target_percent"] == [ASCII_DIGITS_MESSAGE]


def test_a_date_typed_in_other_digits_is_refused():
    field = DayMonthYearField()
    with pytest.raises(forms.ValidationError) as refused:
        field.clean(["١", "3", "2027"])
    assert refused.value.messages == [ASCII_DIGITS_MESSAGE]
    assert field.clean(["1", "3", "2027"]) == datetime.date(2027, 3, 1)


def _form_classes():
    for module in (assessments.forms, allocations.forms, panels.forms, allocations.reports.filters):
        for form in vars(module).values():
            if (
                inspect.isclass(form)
                and issubclass(form, forms.BaseForm)
                and form.__module__ == module.__name__
            ):
                yield form


def test_every_declared_number_field_takes_ascii_digits_only():
    """A guard for the next form: every integer or decimal field the forms declare (or their
    ModelForms generate) refuses other digits."""
    checked = []
    for form in _form_classes():
        for name, field in form.base_fields.items():
            if isinstance(field, forms.IntegerField):  # DecimalField is one too
                assert isinstance(field, AsciiDigitsMixin), f"{form.__name__}.{name}"
                checked.append(f"{form.__name__}.{name}")
    assert "PolicyForm.weeks_per_year" in checked
    assert "PersonForm.existing_weekly_cost_gbp" in checked
    assert "PlanLineForm.quantity" in checked


def test_the_batch_interface_refuses_other_digits(tmp_path):
    policy = {**SPEC_POLICY_DICT, "weeks_per_year": ARABIC_123}
    with pytest.raises(InvalidPolicy) as refused:
        policy_from_dict(policy)
    assert "weeks_per_year" in str(refused.value)
    assert "digits 0 to 9" in str(refused.value)
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"policy": policy, "cases": []}, ensure_ascii=False))
    with pytest.raises(CommandError) as failed:
        call_command("ras_calculate", str(path))
    assert failed.value.returncode == 2
    assert "weeks_per_year" in str(failed.value)


# --- Dates in a sensible window -----------------------------------------------------------------


@pytest.mark.parametrize("year", ["9999", "2205", "1999"])
def test_a_policy_in_force_date_far_off_is_refused(client, ras_admin, year):
    client.force_login(ras_admin)
    response = _policy_post(client, effective_from_year=year)
    assert response.status_code == 200
    assert response.context["form"].errors["effective_from"] == [_out_of_range()]
    assert not RasPolicy.objects.exists()


@pytest.mark.parametrize(
    "date", [datetime.date(9999, 12, 31), datetime.date(1999, 12, 31), datetime.date(2100, 1, 1)]
)
def test_a_meeting_date_far_off_is_refused(client, panel_chair, panel_member, date):
    client.force_login(panel_chair)
    data = {
        **date_parts("date", date),
        "time": "10:00",
        "place": "Room 1",
        "chair": panel_chair.pk,
        "members": [panel_member.pk],
    }
    response = client.post(reverse("panels:meeting_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["date"] == [_out_of_range()]
    assert not PanelMeeting.objects.exists()


def test_a_plan_review_date_far_off_is_refused(client, submitted_a, person_a, worker_a):
    plan = make_plan(person_a, worker_a, weekly="100.00")
    client.force_login(worker_a)
    data = {"management": "direct_payment", **date_parts("review_date", "9999-01-01")}
    response = client.post(reverse("allocations:plan_settings", args=[plan.pk]), data)
    assert response.status_code == 200
    assert response.context["settings_form"].errors["review_date"] == [_out_of_range()]
    plan.refresh_from_db()
    assert plan.review_date is None


def test_a_panel_review_date_far_off_is_refused():
    form = PanelDecisionForm(
        data={
            "outcome": "approved",
            "reasons": "Safe.",
            **date_parts("review_date", datetime.date(999, 1, 1)),
        }
    )
    assert form.errors["review_date"] == ["Year must include 4 numbers."]
    form = PanelDecisionForm(
        data={
            "outcome": "approved",
            "reasons": "Safe.",
            **date_parts("review_date", datetime.date(2101, 1, 1)),
        }
    )
    assert form.errors["review_date"] == [_out_of_range()]


def test_the_window_runs_from_2000_to_five_years_ahead():
    latest = years_after(_today(), 5)
    validate_sensible_date(EARLIEST_DATE)
    validate_sensible_date(latest)
    for date in (EARLIEST_DATE - datetime.timedelta(days=1), latest + datetime.timedelta(days=1)):
        with pytest.raises(forms.ValidationError):
            validate_sensible_date(date)
    assert years_after(datetime.date(2028, 2, 29), 5) == datetime.date(2033, 2, 28)


@pytest.mark.parametrize(
    ("born", "message"),
    [
        (datetime.date(1899, 12, 31), DATE_OF_BIRTH_TOO_OLD_MESSAGE),
        (datetime.date(2999, 1, 1), DATE_OF_BIRTH_FUTURE_MESSAGE),
    ],
)
def test_a_date_of_birth_out_of_range_is_refused(client, worker_a, team_a, born, message):
    client.force_login(worker_a)
    data = form_data(person_data(team_a, date_of_birth=born))
    response = client.post(reverse("assessments:person_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["date_of_birth"] == [message]
    assert not Person.objects.exists()


def _refused_by_the_database(queryset, **values) -> None:
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        queryset.update(**values)
    assert "sensible" in str(refused.value)


def test_the_database_refuses_dates_out_of_range(
    person_a, worker_a, submitted_a, ras_admin, panel_chair, panel_member
):
    people = Person.objects.filter(pk=person_a.pk)
    _refused_by_the_database(people, date_of_birth=datetime.date(1899, 12, 31))
    _refused_by_the_database(people, date_of_birth=datetime.date(9999, 1, 1))

    draft = make_policy(ras_admin, name="Draft")
    policies = RasPolicy.objects.filter(pk=draft.pk)
    _refused_by_the_database(policies, effective_from=datetime.date(1, 1, 1))
    _refused_by_the_database(policies, effective_from=datetime.date(9999, 12, 31))

    plan = make_plan(person_a, worker_a, weekly="100.00")
    plans = SupportPlan.objects.filter(pk=plan.pk)
    _refused_by_the_database(plans, review_date=datetime.date(9999, 1, 1))
    _refused_by_the_database(plans, review_date=datetime.date(1999, 12, 31))
    plans.update(review_date=datetime.date(2030, 1, 1))  # within the window: stored

    meeting = meeting_create(
        actor=panel_chair,
        date=_today() + datetime.timedelta(days=7),
        chair=panel_chair,
        members=[panel_member],
    )
    meetings = PanelMeeting.objects.filter(pk=meeting.pk)
    _refused_by_the_database(meetings, date=datetime.date(1, 1, 1))
    _refused_by_the_database(meetings, date=datetime.date(2100, 1, 1))


def test_the_database_names_every_date_constraint():
    from allocations.models import AgreedBudget, Review

    names = {
        model: {c.name for c in model._meta.constraints}
        for model in (Person, RasPolicy, SupportPlan, AgreedBudget, Review, PanelMeeting)
    }
    names[PanelDecision] = {c.name for c in PanelDecision._meta.constraints}
    assert "person_date_of_birth_sensible" in names[Person]
    assert "policy_effective_from_sensible" in names[RasPolicy]
    assert "plan_review_date_sensible" in names[SupportPlan]
    assert "agreed_review_date_sensible" in names[AgreedBudget]
    assert "review_next_review_date_sensible" in names[Review]
    assert "meeting_date_sensible" in names[PanelMeeting]
    assert "panel_decision_review_date_sensible" in names[PanelDecision]


# --- Texts have lengths -----------------------------------------------------------------------


def test_long_policy_notes_and_lists_are_refused(client, ras_admin):
    client.force_login(ras_admin)
    response = _policy_post(
        client, notes="n" * 5001, client_group_factors="learning_disability: 1.10\n" * 100
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "at most 5000 characters" in errors["notes"][0]
    assert "at most 2000 characters" in errors["client_group_factors"][0]
    assert not RasPolicy.objects.exists()


def test_long_plan_reasons_are_refused(client, submitted_a, person_a, worker_a):
    plan = make_plan(person_a, worker_a, weekly="100.00")
    client.force_login(worker_a)
    data = {"management": "direct_payment", "difference_reason": "d" * 4001, "risk_reasons": "r"}
    response = client.post(reverse("allocations:plan_settings", args=[plan.pk]), data)
    assert response.status_code == 200
    assert (
        "at most 4000 characters"
        in response.context["settings_form"].errors["difference_reason"][0]
    )
    plan.refresh_from_db()
    assert plan.risk_reasons == ""


def test_long_panel_decision_texts_are_refused():
    form = PanelDecisionForm(
        data={
            "outcome": "approved_with_conditions",
            "reasons": "r" * 4001,
            "conditions": "c" * 2001,
            "information_needed": "i" * 2001,
        }
    )
    assert set(form.errors) == {"reasons", "conditions", "information_needed"}
    assert form.fields["reasons"].widget.attrs["maxlength"] == "4000"


# --- The README's role table --------------------------------------------------------------------


def _readme_roles() -> dict[str, str]:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("| role | username |") :].split("\n\n", 1)[0]
    rows = [line.split("|")[1:4] for line in table.splitlines()[2:]]
    described: dict[str, str] = {}
    for role, _, does in rows:  # a role's first row ("as above" follows for a second login)
        described.setdefault(role.strip().split(" (")[0], does.strip())
    return described


def test_the_readme_calls_read_only_only_the_roles_that_change_nothing():
    from assessments.roles import Role, role_permissions

    described = _readme_roles()
    permissions = role_permissions()
    assert set(described) == {role.label for role in Role}
    for role in Role:
        changes = sorted(p for p in permissions[role] if ".view_" not in p)
        read_only = "read only" in described[role.label]
        assert read_only == (not changes), f"{role.label}: {changes}"


@pytest.mark.parametrize(
    ("reason", "message_name"),
    [("r" * 2001, "WITHDRAW_REASON_TOO_LONG"), ("Sent in error\x00", "WITHDRAW_REASON_NUL")],
)
def test_a_letter_withdrawal_reason_too_long_or_with_a_nul_gets_a_message(
    client, submitted_a, person_a, worker_a, manager_a, reason, message_name
):
    from django.utils.html import escape

    from allocations.models import Letter
    from allocations.services import letters
    from allocations.services.letters import letter_issue

    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    client.force_login(manager_a)
    url = reverse("allocations:letter_withdraw", args=[letter.pk])
    response = client.post(url, {"reason": reason}, follow=True)
    assert response.status_code == 200
    assert escape(getattr(letters, message_name)) in response.text
    assert Letter.objects.get(pk=letter.pk).withdrawn_at is None
