"""Calibration's services (issue 11): loading samples (refused whole, CSV and XLSX), the
live caseload's sample with points by section, runs kept with who/when/on what, adopting a
fitted price as a draft a second person approves, and who may do each."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from allocations.calibration.samples import SampleInvalid
from allocations.models import CalibrationCase, CalibrationRun, CalibrationSample, RasPolicy
from allocations.services.calibration import (
    NOT_CALIBRATOR,
    calibration_adopt_price,
    calibration_run,
    sample_from_caseload,
    sample_load,
)
from allocations.services.policies import FOUR_EYES, policy_approve

# Hand working for the ratio of totals: costs 100 + 200 + 330 = 630; points 10 + 20 + 30 = 60;
# 630 ÷ 60 = £10.50 a point.
GOOD_CSV = (
    b"reference,client_group,points,weekly_cost,team,points_s1,points_s2\n"
    b"R1,older_people,10,100.00,North,4,6\n"
    b"R2,older_people,20,200.00,North,10,10\n"
    b"R3,learning_disability,30,330.00,South,12,18\n"
)
# Row 3's points are not a number and row 4's cost is negative: the whole file is refused.
BAD_CSV = (
    b"reference,client_group,points,weekly_cost\n"
    b"R1,older_people,10,100.00\n"
    b"R2,older_people,ten,200.00\n"
    b"R3,older_people,30,-5\n"
)


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def sample(ras_admin):
    return sample_load(actor=ras_admin, name="Desk sample", data=GOOD_CSV, filename="desk.csv")


@pytest.mark.django_db
def test_a_csv_sample_is_kept_with_its_cases_and_who_loaded_it(sample, ras_admin):
    assert sample.source == CalibrationSample.Source.FILE
    assert (sample.row_count, sample.filename) == (3, "desk.csv")
    cases = list(sample.cases.order_by("row"))
    assert [(c.reference, c.points, c.weekly_cost_gbp, c.team) for c in cases] == [
        ("R1", Decimal("10.00"), Decimal("100.00"), "North"),
        ("R2", Decimal("20.00"), Decimal("200.00"), "North"),
        ("R3", Decimal("30.00"), Decimal("330.00"), "South"),
    ]
    assert cases[0].section_points == {"s1": "4", "s2": "6"}
    assert sample.history.get().history_user == ras_admin


@pytest.mark.django_db
def test_a_csv_with_bad_rows_is_refused_whole_naming_each_row_and_field(ras_admin):
    with pytest.raises(SampleInvalid) as refused:
        sample_load(actor=ras_admin, name="Bad", data=BAD_CSV, filename="bad.csv")

    assert {(row, field) for row, field, _ in refused.value.errors} == {
        (3, "points"),
        (4, "weekly_cost"),
    }
    assert not CalibrationSample.objects.exists()
    assert not CalibrationCase.objects.exists()


@pytest.mark.django_db
def test_an_xlsx_sample_loads_and_a_bad_one_is_refused_whole(ras_admin):
    header = ["reference", "client_group", "points", "weekly_cost"]
    good = xlsx([header, ["X1", "older_people", 12, 150.5], ["X2", "older_people", 8, 80]])
    bad = xlsx([header, ["X1", "older_people", 12, 150.5], ["X2", "martians", 8, 80]])

    with pytest.raises(SampleInvalid) as refused:
        sample_load(actor=ras_admin, name="Bad", data=bad, filename="bad.xlsx")
    assert [(row, field) for row, field, _ in refused.value.errors] == [(3, "client_group")]
    assert not CalibrationSample.objects.exists()

    loaded = sample_load(actor=ras_admin, name="Good", data=good, filename="good.xlsx")
    assert loaded.row_count == 2
    assert loaded.cases.get(reference="X1").weekly_cost_gbp == Decimal("150.50")


@pytest.mark.django_db
def test_the_caseload_sample_takes_points_by_section_from_the_answers(
    submitted_a, person_a, senior_manager
):
    # person_a: 4 answers of 2 points, two questions in each of sections s1 and s2, and a
    # current package of £120 a week.
    sample = sample_from_caseload(actor=senior_manager, name="Caseload")

    assert sample.source == CalibrationSample.Source.CASELOAD
    case = sample.cases.get()
    assert case.reference == person_a.reference
    assert (case.points, case.weekly_cost_gbp) == (Decimal("8.00"), Decimal("120.00"))
    assert {k: Decimal(v) for k, v in case.section_points.items()} == {
        "s1": Decimal("4"),
        "s2": Decimal("4"),
    }
    assert case.team == person_a.team.name


@pytest.mark.django_db
def test_the_caseload_sample_leaves_out_people_without_a_current_package_cost(
    submitted_a, person_a, ras_admin
):
    type(person_a).objects.filter(pk=person_a.pk).update(existing_weekly_cost_gbp=None)
    with pytest.raises(Exception, match="no one"):
        sample_from_caseload(actor=ras_admin, name="Empty")
    assert not CalibrationSample.objects.exists()


@pytest.mark.django_db
def test_a_run_keeps_the_report_with_who_when_and_on_what(sample, ras_admin, policy):
    run = calibration_run(actor=ras_admin, sample=sample, method="ratio", policy=policy)

    run = CalibrationRun.objects.get(pk=run.pk)
    assert (run.sample, run.method, run.policy, run.created_by) == (
        sample,
        "ratio",
        policy,
        ras_admin,
    )
    report = run.results["methods"]["ratio"]
    assert Decimal(report["fit"]["price_per_point"]) == Decimal("10.5")
    assert report["overall"]["n"] == 3
    assert set(report["by_group"]) == {"older_people", "learning_disability"}
    assert run.history.get().history_user == ras_admin


@pytest.mark.django_db
def test_a_run_of_every_method_includes_the_section_weights(senior_manager):
    # Six cases, enough for five cross-validation folds.
    rows = b"".join(
        f"W{n},older_people,{n * 10},{n * 100}.00,{n * 4},{n * 6}\n".encode() for n in range(1, 7)
    )
    data = b"reference,client_group,points,weekly_cost,points_s1,points_s2\n" + rows
    sample = sample_load(actor=senior_manager, name="Six", data=data, filename="six.csv")

    run = calibration_run(actor=senior_manager, sample=sample, method="all")

    assert set(run.results["methods"]) == {"ratio", "origin", "intercept", "median"}
    assert set(run.results["weights"]["weights"]) == {"s1", "s2"}
    assert run.results["unfitted"] == {}


@pytest.mark.django_db
def test_the_weights_name_sections_as_the_published_questionnaire_titles_them(
    senior_manager, questionnaire
):
    rows = b"".join(
        f"W{n},older_people,{n * 10},{n * 100}.00,{n * 4},{n * 6}\n".encode() for n in range(1, 7)
    )
    data = b"reference,client_group,points,weekly_cost,points_s1,points_s2\n" + rows
    sample = sample_load(actor=senior_manager, name="Six", data=data, filename="six.csv")

    run = calibration_run(actor=senior_manager, sample=sample, method="weights")

    weights = run.results["weights"]
    assert weights["section_titles"] == {"s1": "Section 1", "s2": "Section 2"}
    assert [f.split(" is worth")[0] for f in weights["findings"][:2]] == [
        "Section 'Section 1' (s1)",
        "Section 'Section 2' (s2)",
    ]


@pytest.mark.django_db
def test_a_sample_that_cannot_be_fitted_one_way_says_so(sample, ras_admin):
    # Three cases cannot be split into five folds: every method still reports, and says why
    # the weights are missing; asked for alone, the weights are refused.
    run = calibration_run(actor=ras_admin, sample=sample, method="all")
    assert run.results["weights"] is None
    assert "5 folds" in run.results["unfitted"]["weights"]

    with pytest.raises(ValidationError, match="5 folds"):
        calibration_run(actor=ras_admin, sample=sample, method="weights")
    assert CalibrationRun.objects.count() == 1


@pytest.mark.django_db
def test_adopting_a_price_makes_a_draft_that_a_second_person_must_approve(
    sample, ras_admin, senior_manager, policy
):
    run = calibration_run(actor=ras_admin, sample=sample, method="ratio", policy=policy)

    draft = calibration_adopt_price(actor=ras_admin, run=run, method="ratio")

    assert draft.status == RasPolicy.Status.DRAFT
    assert draft.price_per_point_gbp == Decimal("10.50")
    assert draft.contingency_bands == policy.contingency_bands
    assert draft.created_by == ras_admin
    with pytest.raises(PermissionDenied, match=FOUR_EYES):
        policy_approve(actor=ras_admin, policy=draft)
    assert policy_approve(actor=senior_manager, policy=draft).is_approved


@pytest.mark.django_db
def test_a_senior_manager_adopts_and_a_ras_administrator_approves(
    sample, ras_admin, senior_manager, policy
):
    run = calibration_run(actor=senior_manager, sample=sample, method="ratio")

    draft = calibration_adopt_price(actor=senior_manager, run=run, method="ratio")

    assert draft.is_draft and draft.created_by == senior_manager
    assert policy_approve(actor=ras_admin, policy=draft).approved_by == ras_admin


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["auditor", "worker_a", "manager_a", "panel_chair"])
def test_only_ras_administrators_and_senior_managers_calibrate(who, request, sample, ras_admin):
    user = request.getfixturevalue(who)
    run = calibration_run(actor=ras_admin, sample=sample, method="ratio")

    with pytest.raises(PermissionDenied, match=NOT_CALIBRATOR):
        sample_load(actor=user, name="X", data=GOOD_CSV, filename="x.csv")
    with pytest.raises(PermissionDenied, match=NOT_CALIBRATOR):
        sample_from_caseload(actor=user, name="X")
    with pytest.raises(PermissionDenied, match=NOT_CALIBRATOR):
        calibration_run(actor=user, sample=sample, method="ratio")
    with pytest.raises(PermissionDenied, match=NOT_CALIBRATOR):
        calibration_adopt_price(actor=user, run=run, method="ratio")
    assert CalibrationSample.objects.count() == 1
    assert CalibrationRun.objects.count() == 1


@pytest.mark.django_db
def test_a_run_with_a_budget_solves_the_price_and_it_can_be_adopted(sample, ras_admin, policy):
    run = calibration_run(
        actor=ras_admin, sample=sample, method="ratio", policy=policy, budget=Decimal("500.00")
    )

    solved = run.results["affordability"]
    price = Decimal(solved["price_per_point"])
    assert Decimal(solved["total_weekly"]) <= Decimal("500.00")
    assert [Decimal(row["price"]) for row in solved["sensitivity"]].count(price) == 1
    assert run.budget_weekly_gbp == Decimal("500.00")
    draft = calibration_adopt_price(actor=ras_admin, run=run, method="affordability")
    assert draft.price_per_point_gbp == price


@pytest.mark.django_db
def test_an_impossible_budget_is_refused_with_the_nearest_totals(sample, ras_admin, policy):
    run = calibration_run(
        actor=ras_admin, sample=sample, method="ratio", policy=policy, budget=Decimal("10000000")
    )

    assert "No price per point meets" in run.results["affordability"]["error"]
    assert "highest_total" in run.results["affordability"]
    with pytest.raises(ValidationError):
        calibration_adopt_price(actor=ras_admin, run=run, method="affordability")


@pytest.mark.django_db
def test_a_budget_with_no_policy_in_force_or_chosen_says_so(sample, ras_admin):
    from allocations.services.calibration import NO_POLICY_TO_SOLVE

    run = calibration_run(actor=ras_admin, sample=sample, method="ratio", budget=Decimal("500"))

    assert run.results["affordability"] == {"error": NO_POLICY_TO_SOLVE}
