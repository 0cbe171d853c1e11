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

from tests.allocations.engine.policies import SPEC_POLICY_DICT

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_DATABASE = "postgres://nobody@127.0.0.1:1/none"

SPEC_POLICY = SPEC_POLICY_DICT

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


# --- Numbers that are not finite or too large ----------------------------------------------------

# How a bad number can arrive in the file: a bare JSON literal (Python's json reads NaN,
# Infinity and -Infinity; 1e309 is beyond any float) or a string. "BAD" is replaced by the text.
BAD_NUMBERS = [
    ("NaN", "must be a finite number (got NaN)"),
    ("Infinity", "must be a finite number (got Infinity)"),
    ("-Infinity", "must be a finite number (got -Infinity)"),
    ("1e309", "is too large (got 1E+309;"),
    ('"NaN"', "must be a finite number (got NaN)"),
    ('"Infinity"', "must be a finite number (got Infinity)"),
    ('"-Infinity"', "must be a finite number (got -Infinity)"),
    ('"1e309"', "is too large (got 1E+309;"),
]
POLICY_NUMBER_FIELDS = [
    "client_group_factors.learning_disability",
    "price_per_point",
    "contingency_bands[1].rate",
    "contingency_bands[0].up_to",
]


def with_bad(data: dict, literal: str) -> str:
    """data as JSON text, the string "BAD" replaced by the literal (bare or quoted)."""
    return json.dumps(data).replace('"BAD"', literal)


def policy_with_bad(field: str) -> dict:
    policy = json.loads(json.dumps(SPEC_POLICY))
    if field.startswith("contingency_bands["):
        policy["contingency_bands"][int(field[18])][field.split(".")[1]] = "BAD"
    elif "." in field:
        mapping, key = field.split(".")
        policy[mapping][key] = "BAD"
    else:
        policy[field] = "BAD"
    return policy


@pytest.mark.parametrize(
    ("field", "literal", "message"),
    [
        (POLICY_NUMBER_FIELDS[index % len(POLICY_NUMBER_FIELDS)], literal, message)
        for index, (literal, message) in enumerate(BAD_NUMBERS)
    ],
)
def test_a_policy_number_that_is_not_finite_or_too_large_exits_2_naming_it(
    tmp_path, field, literal, message
):
    text = with_bad(
        {"policy": policy_with_bad(field), "cases": [spec_case("older-person")]}, literal
    )

    completed = ras_calculate(tmp_path, text)

    assert completed.returncode == 2, completed.stderr
    assert f"Invalid policy: {field}: {message}" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


def test_a_case_number_that_is_not_finite_or_too_large_fails_that_case_only(tmp_path):
    fields = ["points[0]", "points", "existing_weekly_cost", "points[1]"]
    bad_cases = []
    for index, (literal, _message) in enumerate(BAD_NUMBERS):
        field = fields[index % len(fields)]
        case = {"ref": f"bad-{index}", "points": ["10", "12"], "client_group": "older_people"}
        if field.startswith("points["):
            case["points"][int(field[7])] = "BAD"
        else:
            case[field] = "BAD"
        bad_cases.append(json.dumps(case).replace('"BAD"', literal))
    good = [json.dumps(spec_case(ref)) for ref in ("older-person", "existing-package")]
    text = (
        '{"policy": '
        + json.dumps(SPEC_POLICY)
        + ', "cases": ['
        + ", ".join([good[0], *bad_cases, good[1]])
        + "]}"
    )

    completed = ras_calculate(tmp_path, text)

    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    results = json.loads(completed.stdout)["results"]
    assert results[0] == spec_result("older-person")
    assert results[-1] == spec_result("existing-package")
    for index, (literal, message) in enumerate(BAD_NUMBERS):
        field = fields[index % len(fields)]
        assert results[index + 1] == {
            "ref": f"bad-{index}",
            "error": results[index + 1]["error"],
        }, literal
        assert f"{field}: {message}" in results[index + 1]["error"], literal
    assert f"{len(BAD_NUMBERS)} of {len(BAD_NUMBERS) + 2}" in completed.stderr


def test_numbers_too_large_even_to_read_fail_their_case_not_the_run(tmp_path):
    # A JSON number with an exponent no Decimal can hold, and an integer longer than Python
    # reads as an int (4300 digits): each its case's error, naming the field.
    text = with_bad(
        {
            "policy": SPEC_POLICY,
            "cases": [
                {"ref": "huge-exponent", "points": ["BAD"], "client_group": "older_people"},
                {
                    "ref": "long-integer",
                    "points": "10",
                    "client_group": "older_people",
                    "existing_weekly_cost": "LONG",
                },
                spec_case("older-person"),
            ],
        },
        "1e99999999999999999999",
    ).replace('"LONG"', "9" * 5000)

    completed = ras_calculate(tmp_path, text)

    assert completed.returncode == 1, completed.stderr
    results = json.loads(completed.stdout)["results"]
    assert results[0]["ref"] == "huge-exponent"
    assert results[0]["error"].startswith("points[0]: must be a number")
    assert results[1]["ref"] == "long-integer"
    assert results[1]["error"].startswith("existing_weekly_cost: is too large (got 1.000000E+5000;")
    assert results[2] == spec_result("older-person")


def test_a_ref_given_as_a_number_goes_back_as_valid_json(tmp_path):
    text = (
        '{"policy": '
        + json.dumps(SPEC_POLICY)
        + ', "cases": ['
        + '{"ref": 1.5, "points": ["10", "12", "18"], "client_group": "older_people"},'
        + '{"ref": NaN, "points": ["10", "12", "18"], "client_group": "older_people"},'
        + '{"ref": 7, "points": ["10", "12", "18"], "client_group": "older_people"}'
        + "]}"
    )

    completed = ras_calculate(tmp_path, text)

    assert completed.returncode == 0, completed.stderr
    assert "NaN," not in completed.stdout  # not JSON's invalid bare NaN

    def strict(constant):
        raise ValueError(f"invalid JSON constant {constant}")

    results = json.loads(completed.stdout, parse_constant=strict)["results"]
    assert [r["ref"] for r in results] == ["1.5", "NaN", 7]
    assert results[2] == {**spec_result("older-person"), "ref": 7}


# --- The transitional rule (step 7) --------------------------------------------------------------


def test_higher_of_gives_the_higher_of_the_ras_figure_and_the_existing_cost(tmp_path):
    policy = {**SPEC_POLICY, "transitional_rule": "higher_of"}
    cases = [
        spec_case("existing-package"),  # existing 250.00 < ras 323.84
        {
            **spec_case("existing-package"),
            "ref": "existing-higher",
            "existing_weekly_cost": "610.00",
        },
        spec_case("needs-increased"),
        spec_case("older-person"),
    ]

    completed = ras_calculate(tmp_path, {"policy": policy, "cases": cases})

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["results"] == [
        {
            **spec_result("existing-package"),
            "indicative_weekly": "323.84",
            "basis": "ras",
            "annual": "16839.68",
        },
        {
            **spec_result("existing-package"),
            "ref": "existing-higher",
            "indicative_weekly": "610.00",
            "basis": "existing_package",
            "annual": "31720.00",
            "panel_required": True,
        },
        spec_result("needs-increased"),
        spec_result("older-person"),
    ]


def test_an_explicit_existing_package_rule_gives_the_spec_table(tmp_path):
    policy = {**SPEC_POLICY, "transitional_rule": "existing_package"}

    completed = ras_calculate(
        tmp_path, {"policy": policy, "cases": [spec_case(ref) for ref in SPEC_CASES]}
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"results": [spec_result(ref) for ref in SPEC_CASES]}


@pytest.mark.parametrize("rule", ["lower_of", None, 2])
def test_an_unknown_transitional_rule_exits_2_naming_the_field(tmp_path, rule):
    policy = {**SPEC_POLICY, "transitional_rule": rule}

    completed = ras_calculate(tmp_path, {"policy": policy, "cases": [spec_case("older-person")]})

    assert completed.returncode == 2
    assert (
        f"Invalid policy: transitional_rule: must be existing_package or higher_of (got {rule!r})"
        in completed.stderr
    )
    assert completed.stdout == ""
