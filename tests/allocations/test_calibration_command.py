"""`manage.py ras_calibrate` (issue 11): the figures the run page shows, prices and statistics
to 4 decimal places, client groups by their labels in the text and by their codes in --json,
the chosen method's price under "price_per_point", the caseload's budget with --scale, and a
bad file refused with a row-numbered report and exit status 1."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.allocations.test_calibration_scaled import TWO_CSV
from tests.allocations.test_calibration_services import BAD_CSV, GOOD_CSV, xlsx


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ras_calibrate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def desk(tmp_path):
    path = tmp_path / "desk.csv"
    path.write_bytes(GOOD_CSV)
    return str(path)


def test_the_ratio_of_totals_and_its_statistics_by_hand(desk):
    # 630 ÷ 60 = £10.50 a point: allocations 105, 210, 315 against 100, 200, 330.
    # R² = 1 − (5² + 10² + 15²) ÷ (110² + 10² + 120²) = 1 − 350 ÷ 26600 = 0.98684… → 0.9868.
    # MAPE = (5/100 + 10/200 + 15/330) ÷ 3 = (0.05 + 0.05 + 0.04545…) ÷ 3 = 0.04848… → 0.0485.
    out, _ = _run(desk)

    assert "Price per point: £10.5000" in out
    lines = out.splitlines()
    overall = next(line for line in lines if line.startswith("All cases")).split()
    assert overall[2:8] == ["3", "10.5000", "0.9868", "0.9972", "0.0485", "1.0000"]
    # By client group, as a person reads them: R3 alone at 330 ÷ 30 = £11.00, 15.00 less.
    learning = next(line for line in lines if line.startswith("Learning disability")).split()
    assert learning[2:4] == ["1", "11.0000"] and learning[-1] == "-15.0000"
    assert "older_people" not in out


def test_json_puts_the_chosen_methods_price_under_price_per_point_with_codes(desk):
    # Least squares with an intercept: mean points 20, mean cost 210;
    # Sxy = (−10)(−110) + 0 + (10)(120) = 2300; Sxx = 100 + 0 + 100 = 200;
    # slope 2300 ÷ 200 = 11.5; intercept 210 − 11.5 × 20 = −20.
    out, _ = _run(desk, "--method", "intercept", "--json")
    report = json.loads(out)

    assert report["price_per_point"] == "11.5000"
    assert report["intercept"] == "-20.0000"
    assert set(report["report"]["by_group"]) == {"older_people", "learning_disability"}


def test_an_xlsx_sample_fits_too(tmp_path):
    path = tmp_path / "desk.xlsx"
    header = ["reference", "client_group", "points", "weekly_cost"]
    path.write_bytes(xlsx([header, ["X1", "older_people", 10, 60], ["X2", "older_people", 20, 90]]))
    # Through the origin: (10 × 60 + 20 × 90) ÷ (10² + 20²) = 2400 ÷ 500 = 4.80.
    out, _ = _run(str(path), "--method", "origin", "--json")
    assert json.loads(out)["price_per_point"] == "4.8000"


def test_a_bad_file_exits_1_with_a_row_numbered_report(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD_CSV)
    err = io.StringIO()
    with pytest.raises(SystemExit) as stopped:
        call_command("ras_calibrate", str(path), stdout=io.StringIO(), stderr=err)

    assert stopped.value.code == 1
    assert "Row 3, points: is not a number ('ten')" in err.getvalue()
    assert "Row 4, weekly_cost: must not be negative" in err.getvalue()


def test_a_method_the_sample_cannot_fit_is_refused(desk):
    with pytest.raises(CommandError, match="5 folds") as refused:
        _run(desk, "--method", "weights")
    assert refused.value.returncode == 1


@pytest.mark.django_db
def test_the_budget_for_the_whole_caseload_with_scale(tmp_path, caseload, policy):
    # As tests/allocations/test_calibration_scaled.py works by hand: £3.00 a point spends the
    # caseload's £119.70 a week; at £3.00 the caseload's projected year is £6224.40.
    path = tmp_path / "two.csv"
    path.write_bytes(TWO_CSV)
    args = (str(path), "--policy", str(policy.pk), "--budget", "119.70", "--scale")

    report = json.loads(_run(*args, "--json")[0])
    solved = report["affordability"]
    assert (solved["scaled"], solved["price_per_point"], solved["total_weekly"]) == (
        True,
        "3.00",
        "119.70",
    )
    assert solved["sensitivity"][2]["projected_annual"] == "6224.40"
    assert report["scale_up"]["weights"] == {"learning_disability": "1", "older_people": "2"}

    text = _run(*args)[0]
    assert "£3.0000 a point gives the caseload's projected total of £119.70 a week" in text
    assert "Older people: 1 in the sample, 2 in the caseload, weight 2.0000" in text


@pytest.mark.django_db
def test_an_unknown_policy_is_exit_2(desk):
    with pytest.raises(CommandError, match="no RAS policy with id 999") as refused:
        _run(desk, "--policy", "999")
    assert refused.value.returncode == 2


def test_a_budget_that_is_not_money_is_exit_2(desk):
    with pytest.raises(CommandError, match="--budget") as refused:
        _run(desk, "--budget", "lots")
    assert refused.value.returncode == 2


@pytest.mark.django_db
def test_transitional_applies_the_policys_rule(desk, policy):
    # The spec policy's "existing_package" rule pays each case its current cost: nobody less.
    report = json.loads(_run(desk, "--policy", str(policy.pk), "--transitional", "--json")[0])
    assert report["transitional"] is True
    assert (report["report"]["overall"]["fewer"], report["report"]["overall"]["more"]) == (0, 0)
    plain = json.loads(_run(desk, "--policy", str(policy.pk), "--json")[0])
    assert plain["report"]["overall"]["fewer"] > 0


def test_weights_print_beside_one_price_cross_validated(tmp_path):
    from tests.allocations.test_calibration_adopt import WEIGHTED_CSV

    path = tmp_path / "weighted.csv"
    path.write_bytes(WEIGHTED_CSV)
    out, _ = _run(str(path), "--method", "weights")
    report = json.loads(_run(str(path), "--method", "weights", "--json")[0])

    # As worked by hand in tests/allocations/calibration/test_weights.py.
    assert "s1: £12.0000" in out and "s2: £6.0000" in out
    assert "R² in sample 0.9067, out of sample 0.8193" in out
    assert "'s1' is worth £12.00 a point against £9.00 overall" in out
    assert report["price_per_point"] is None
    assert report["weights"]["weights"] == {"s1": "12.0000", "s2": "6.0000"}


@pytest.mark.django_db
def test_sensitivity_over_the_prices_chosen(tmp_path, policy):
    # As worked in tests/allocations/test_calibration_scaled.py: 72.96, 91.20 and 109.44.
    path = tmp_path / "two.csv"
    path.write_bytes(TWO_CSV)
    args = (str(path), "--policy", str(policy.pk), "--sensitivity", "2.40", "3.60", "0.60")

    rows = json.loads(_run(*args, "--json")[0])["sensitivity"]["rows"]
    assert [(r["price"], r["total_weekly"]) for r in rows] == [
        ("2.40", "72.96"),
        ("3.00", "91.20"),
        ("3.60", "109.44"),
    ]
    text = _run(*args)[0]
    assert "Sensitivity under Spec example" in text
    assert text.splitlines()[-2].split()[:2] == ["3.0000", "91.20"]


def test_a_backwards_sensitivity_range_is_exit_2(desk):
    with pytest.raises(CommandError, match="FROM below TO") as refused:
        _run(desk, "--sensitivity", "5", "4", "0.5")
    assert refused.value.returncode == 2
