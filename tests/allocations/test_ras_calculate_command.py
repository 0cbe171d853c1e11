"""`python manage.py ras_calculate INPUT.json [-o OUTPUT.json]`, the batch interface of
spec/ras-calculation.md, run as a real process.

Every run points DATABASE_URL at a PostgreSQL that is not there: with a policy in the file the
command must not need a database. (The "no policy in the file → policy in force" path is tested
elsewhere.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_DATABASE = "postgres://nobody@127.0.0.1:1/none"

SPEC_POLICY = {
    "price_per_point": "4.88",
    "weeks_per_year": "52",
    "client_group_factors": {"learning_disability": "1.10"},
    "informal_support_reductions": {"none": "0", "some": "10", "substantial": "20", "most": "30"},
    "carer_impact_multipliers": {"low": "1", "moderate": "0.5", "high": "0"},
    "contingency_bands": [
        {"up_to": "100", "rate": "5"},
        {"up_to": "300", "rate": "10"},
        {"up_to": None, "rate": "26"},
    ],
    "minimum_weekly": "0",
    "panel_threshold_weekly": "600",
    "protect_existing_packages": True,
}

# The spec's worked examples: the cases, and the row of the table each must give.
SPEC_CASES = {
    "older-person": {"points": ["10", "12", "18"], "client_group": "older_people"},
    "learning-disability-carer": {
        "points": ["130"],
        "client_group": "learning_disability",
        "carer_assessed": True,
        "carer_able_and_willing": True,
        "informal_support": "some",
        "carer_impact": "moderate",
    },
    "existing-package": {
        "points": "75",
        "client_group": "older_people",
        "existing_weekly_cost": "250.00",
        "needs_increased": False,
    },
    "needs-increased": {
        "points": "75",
        "client_group": "older_people",
        "existing_weekly_cost": "250.00",
        "needs_increased": True,
        "informal_support": "most",
        "carer_assessed": False,
    },
    "physical-disability-triggers": {
        "points": ["160"],
        "client_group": "physical_disability",
        "triggers": ["nhs_chc", "access_to_work", "nhs_chc"],
    },
}

COLUMNS = (
    "raw_points",
    "reduction_percent",
    "adjusted_points",
    "gross_weekly",
    "contingency_weekly",
    "ras_weekly",
    "indicative_weekly",
    "basis",
    "annual",
    "panel_required",
    "triggers",
)
SPEC_TABLE = {
    "older-person": (
        *("40.00", "0.00", "40.00", "195.20", "14.52", "180.68", "180.68"),
        *("ras", "9395.36", False, []),
    ),
    "learning-disability-carer": (
        *("130.00", "5.00", "123.50", "662.95", "119.37", "543.58", "543.58"),
        *("ras", "28266.16", False, []),
    ),
    "existing-package": (
        *("75.00", "0.00", "75.00", "366.00", "42.16", "323.84", "250.00"),
        *("existing_package", "13000.00", False, []),
    ),
    "needs-increased": (
        *("75.00", "0.00", "75.00", "366.00", "42.16", "323.84", "323.84"),
        *("ras", "16839.68", False, []),
    ),
    "physical-disability-triggers": (
        *("160.00", "0.00", "160.00", "780.80", "150.01", "630.79", "630.79"),
        *("ras", "32801.08", True, ["access_to_work", "nhs_chc"]),
    ),
}


def spec_case(ref: str) -> dict:
    return {"ref": ref, **SPEC_CASES[ref]}


def spec_result(ref: str) -> dict:
    return {"ref": ref, **dict(zip(COLUMNS, SPEC_TABLE[ref], strict=True))}


def ras_calculate(tmp_path: Path, data, *args: str) -> subprocess.CompletedProcess:
    """Write data (an object, or raw text) to INPUT.json and run the command on it."""
    source = tmp_path / "input.json"
    source.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return manage("ras_calculate", str(source), *args)


def manage(*args: str) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("DJANGO_")
    }
    env["DATABASE_URL"] = UNREACHABLE_DATABASE
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_database_really_is_unreachable():
    # The control: any command that did touch the database would fail in this environment.
    completed = manage("showmigrations", "allocations")

    assert completed.returncode != 0
    assert "OperationalError" in completed.stderr


def test_the_worked_examples_give_the_spec_output(tmp_path):
    # Not in the table's order, to show the results keep the input's order.
    refs = [
        "physical-disability-triggers",
        "older-person",
        "needs-increased",
        "learning-disability-carer",
        "existing-package",
    ]

    completed = ras_calculate(
        tmp_path, {"policy": SPEC_POLICY, "cases": [spec_case(ref) for ref in refs]}
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"results": [spec_result(ref) for ref in refs]}
    assert completed.stderr == ""


def test_output_option_writes_the_file(tmp_path):
    target = tmp_path / "out" / "results.json"
    target.parent.mkdir()

    completed = ras_calculate(
        tmp_path,
        {"policy": SPEC_POLICY, "cases": [spec_case(ref) for ref in SPEC_CASES]},
        "-o",
        str(target),
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8")) == {
        "results": [spec_result(ref) for ref in SPEC_CASES]
    }


def test_a_case_that_fails_validation_gets_an_error_and_the_others_are_calculated(tmp_path):
    cases = [
        spec_case("older-person"),
        {"ref": "negative", "points": ["10", "-1"], "client_group": "older_people"},
        {"ref": "unknown-group", "points": ["5"], "client_group": "martians"},
        spec_case("physical-disability-triggers"),
    ]

    completed = ras_calculate(tmp_path, {"policy": SPEC_POLICY, "cases": cases})

    assert completed.returncode == 1
    results = json.loads(completed.stdout)["results"]
    assert [r["ref"] for r in results] == [
        "older-person",
        "negative",
        "unknown-group",
        "physical-disability-triggers",
    ]
    assert results[0] == spec_result("older-person")
    assert results[3] == spec_result("physical-disability-triggers")
    # A failed case carries its ref and the error, and no figures at all.
    assert set(results[1]) == {"ref", "error"}
    assert "points[1]" in results[1]["error"]
    assert set(results[2]) == {"ref", "error"}
    assert "client_group" in results[2]["error"]
    assert "2 of 4" in completed.stderr


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price_per_point": "-4.88"}, "price_per_point"),
        ({"weeks_per_year": "0"}, "weeks_per_year"),
        (
            {
                "contingency_bands": [
                    {"up_to": "100", "rate": "5"},
                    {"up_to": "300", "rate": "10"},
                    {"up_to": "500", "rate": "26"},
                ]
            },
            "contingency_bands[2].up_to",
        ),
        (
            {"contingency_bands": [{"up_to": "100", "rate": "5"}, {"up_to": None, "rate": "100"}]},
            "contingency_bands[1].rate",
        ),
    ],
)
def test_an_invalid_policy_exits_2_naming_the_field(tmp_path, change, field):
    completed = ras_calculate(
        tmp_path,
        {"policy": {**SPEC_POLICY, **change}, "cases": [spec_case("older-person")]},
    )

    assert completed.returncode == 2
    assert "Invalid policy" in completed.stderr
    assert field in completed.stderr
    assert completed.stdout == ""  # no case is calculated under an invalid policy


def test_invalid_json_exits_2(tmp_path):
    completed = ras_calculate(tmp_path, '{"policy": {"price_per_point": 4.88,, "cases": []')

    assert completed.returncode == 2
    assert "is not valid JSON" in completed.stderr
    assert completed.stdout == ""


def test_a_file_that_is_not_a_batch_exits_2(tmp_path):
    completed = ras_calculate(tmp_path, {"policy": SPEC_POLICY, "cases": "older-person"})

    assert completed.returncode == 2
    assert "cases" in completed.stderr


def test_a_missing_input_file_exits_2(tmp_path):
    completed = manage("ras_calculate", str(tmp_path / "nowhere.json"))

    assert completed.returncode == 2
    assert "Cannot read" in completed.stderr


def test_json_numbers_are_read_without_float_error(tmp_path):
    # The spec's policy written with JSON numbers instead of strings, plus mental_health 1.05.
    policy = {
        "price_per_point": 4.88,
        "weeks_per_year": 52,
        "client_group_factors": {"learning_disability": 1.10, "mental_health": 1.05},
        "informal_support_reductions": {"none": 0, "some": 10, "substantial": 20, "most": 30},
        "carer_impact_multipliers": {"low": 1, "moderate": 0.5, "high": 0},
        "contingency_bands": [
            {"up_to": 100, "rate": 5},
            {"up_to": 300, "rate": 10},
            {"up_to": None, "rate": 26},
        ],
        "minimum_weekly": 0,
        "panel_threshold_weekly": 600,
        "protect_existing_packages": True,
    }
    # Three answers, 1 + 2 + 0.75 = 3.75 points, mental health:
    # 3.75 × 4.88 × 1.05 = 19.215 exactly → 19.22. In floats the product is 19.2149999… → 19.21.
    assert Decimal(3.75 * 4.88 * 1.05).quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal("19.21")
    # Contingency 5% × 19.22 = 0.961 → 0.96; ras 19.22 − 0.96 = 18.26; × 52 = 949.52.
    float_trap = {"ref": "float-trap", "points": [1, 2, 0.75], "client_group": "mental_health"}
    # A weighted answer: 7.5 × 4.88 = 36.60; 5% = 1.83; ras 34.77; × 52 = 1808.04.
    weighted = {"ref": "weighted", "points": 7.5, "client_group": "older_people"}
    # More digits than a float holds: read exactly, 250.0049999999999999 is shown 250.00 (as a
    # float it would become 250.005 and be shown 250.01). Annual: × 52 = 13000.2599…9948
    # → 13000.26.
    assert str(float("250.0049999999999999")) == "250.005"
    long_number = {
        "ref": "long-number",
        "points": 75,
        "client_group": "older_people",
        "existing_weekly_cost": "LONG-NUMBER",
    }
    spec_with_numbers = [
        {"ref": "older-person", "points": [10, 12, 18], "client_group": "older_people"},
        {**spec_case("learning-disability-carer"), "points": 130},
        {**spec_case("existing-package"), "points": 75, "existing_weekly_cost": 250.00},
        {**spec_case("physical-disability-triggers"), "points": [160]},
    ]

    completed = ras_calculate(
        tmp_path,
        json.dumps(
            {"policy": policy, "cases": [float_trap, weighted, long_number, *spec_with_numbers]}
        ).replace('"LONG-NUMBER"', "250.0049999999999999"),  # a bare JSON number, every digit
    )

    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)["results"]
    assert results[0] == {
        "ref": "float-trap",
        "raw_points": "3.75",
        "reduction_percent": "0.00",
        "adjusted_points": "3.75",
        "gross_weekly": "19.22",
        "contingency_weekly": "0.96",
        "ras_weekly": "18.26",
        "indicative_weekly": "18.26",
        "basis": "ras",
        "annual": "949.52",
        "panel_required": False,
        "triggers": [],
    }
    assert results[1] == {
        "ref": "weighted",
        "raw_points": "7.50",
        "reduction_percent": "0.00",
        "adjusted_points": "7.50",
        "gross_weekly": "36.60",
        "contingency_weekly": "1.83",
        "ras_weekly": "34.77",
        "indicative_weekly": "34.77",
        "basis": "ras",
        "annual": "1808.04",
        "panel_required": False,
        "triggers": [],
    }
    assert results[2] == {
        **spec_result("existing-package"),
        "ref": "long-number",
        "indicative_weekly": "250.00",
        "annual": "13000.26",
    }
    assert results[3:] == [
        spec_result(ref)
        for ref in (
            "older-person",
            "learning-disability-carer",
            "existing-package",
            "physical-disability-triggers",
        )
    ]
