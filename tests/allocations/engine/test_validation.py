"""Validation (spec/ras-calculation.md): each problem is refused with a message naming its field,
every problem is reported at once, and nothing is partly calculated."""

from __future__ import annotations

import importlib
from dataclasses import replace
from decimal import Decimal

import pytest

from allocations.engine import (
    Band,
    Case,
    InvalidCase,
    InvalidPolicy,
    RasInputError,
    calculate,
    case_from_dict,
    policy_from_dict,
    validate_case,
    validate_policy,
)
from tests.allocations.engine.policies import SPEC_POLICY

D = Decimal

calculate_module = importlib.import_module("allocations.engine.calculate")

POLICY = SPEC_POLICY

CASE = Case(
    ref="c1",
    points=(D("10"), D("12"), D("18")),
    client_group="learning_disability",
    informal_support="some",
    carer_assessed=True,
    carer_able_and_willing=True,
    carer_impact="moderate",
    existing_weekly_cost=D("250.00"),
)


def fields(error: RasInputError) -> list[str]:
    return [name for name, _ in error.errors]


def assert_refused(error: RasInputError, field: str) -> None:
    """The field is among the problems and the message the user sees names it."""
    assert field in fields(error)
    assert f"{field}: " in str(error)


def test_the_base_policy_and_case_are_valid():
    # Every test below breaks exactly one thing in these.
    validate_policy(POLICY)
    validate_case(POLICY, CASE)
    assert calculate(POLICY, CASE).ref == "c1"


def bands(*pairs):
    return tuple(Band(up_to=None if u is None else D(u), rate=D(r)) for u, r in pairs)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price_per_point": D("-0.01")}, "price_per_point"),
        ({"weeks_per_year": D("0")}, "weeks_per_year"),
        ({"weeks_per_year": D("-52")}, "weeks_per_year"),
        ({"minimum_weekly": D("-1")}, "minimum_weekly"),
        ({"panel_threshold_weekly": D("-1")}, "panel_threshold_weekly"),
        (
            {"client_group_factors": {"learning_disability": D("-0.10")}},
            "client_group_factors.learning_disability",
        ),
        (
            {"informal_support_reductions": {"some": D("-10")}},
            "informal_support_reductions.some",
        ),
        ({"carer_impact_multipliers": {"low": D("-1")}}, "carer_impact_multipliers.low"),
        # A negative rate.
        (
            {"contingency_bands": bands(("100", "-5"), ("300", "10"), (None, "26"))},
            "contingency_bands[0].rate",
        ),
        # A rate of 100 or more.
        (
            {"contingency_bands": bands(("100", "5"), ("300", "10"), (None, "100"))},
            "contingency_bands[2].rate",
        ),
        (
            {"contingency_bands": bands(("100", "5"), ("300", "100.01"), (None, "26"))},
            "contingency_bands[1].rate",
        ),
        # up_to not strictly increasing: equal, then decreasing.
        (
            {"contingency_bands": bands(("100", "5"), ("100", "10"), (None, "26"))},
            "contingency_bands[1].up_to",
        ),
        (
            {"contingency_bands": bands(("300", "5"), ("100", "10"), (None, "26"))},
            "contingency_bands[1].up_to",
        ),
        # The last band bounded.
        (
            {"contingency_bands": bands(("100", "5"), ("300", "10"), ("500", "26"))},
            "contingency_bands[2].up_to",
        ),
        # An unbounded band that is not last.
        (
            {"contingency_bands": bands((None, "5"), ("300", "10"), (None, "26"))},
            "contingency_bands[0].up_to",
        ),
        ({"contingency_bands": ()}, "contingency_bands"),
    ],
)
def test_invalid_policy_is_refused_naming_the_field(change, field):
    policy = replace(POLICY, **change)

    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(policy)
    assert_refused(refused.value, field)

    with pytest.raises(InvalidPolicy) as refused:
        calculate(policy, CASE)  # calculate checks the policy itself unless told it was checked
    assert_refused(refused.value, field)


@pytest.mark.parametrize(
    "good_bands",
    [
        bands((None, "0")),
        bands((None, "99.99")),
        bands(("0.01", "5"), ("0.02", "10"), (None, "26")),
    ],
)
def test_edge_of_valid_bands_is_accepted(good_bands):
    validate_policy(replace(POLICY, contingency_bands=good_bands))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"points": (D("10"), D("-1"))}, "points[1]"),
        ({"points": (D("-0.5"),)}, "points[0]"),
        ({"client_group": "martians"}, "client_group"),
        ({"informal_support": "lots"}, "informal_support"),
        # A level the policy does not know is refused even when no reduction would apply.
        ({"informal_support": "lots", "carer_assessed": False}, "informal_support"),
        ({"carer_impact": "extreme"}, "carer_impact"),
        ({"existing_weekly_cost": D("-0.01")}, "existing_weekly_cost"),
    ],
)
def test_invalid_case_is_refused_naming_the_field(change, field):
    case = replace(CASE, **change)

    with pytest.raises(InvalidCase) as refused:
        validate_case(POLICY, case)
    assert_refused(refused.value, field)

    with pytest.raises(InvalidCase) as refused:
        calculate(POLICY, case)
    assert_refused(refused.value, field)


def test_every_policy_problem_is_reported_at_once():
    policy = replace(
        POLICY,
        price_per_point=D("-1"),
        weeks_per_year=D("0"),
        client_group_factors={"mental_health": D("-2")},
        contingency_bands=bands(("100", "5"), ("50", "100"), ("500", "26")),
    )

    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(policy)

    assert set(fields(refused.value)) == {
        "price_per_point",
        "weeks_per_year",
        "client_group_factors.mental_health",
        "contingency_bands[1].rate",
        "contingency_bands[1].up_to",
        "contingency_bands[2].up_to",
    }
    for field in fields(refused.value):
        assert f"{field}: " in str(refused.value)


def test_every_case_problem_is_reported_at_once():
    case = replace(
        CASE,
        points=(D("-1"), D("5"), D("-2")),
        client_group="martians",
        informal_support="lots",
        carer_impact="extreme",
        existing_weekly_cost=D("-5"),
    )

    with pytest.raises(InvalidCase) as refused:
        calculate(POLICY, case)

    assert set(fields(refused.value)) == {
        "points[0]",
        "points[2]",
        "client_group",
        "informal_support",
        "carer_impact",
        "existing_weekly_cost",
    }


def test_missing_carer_impact_when_the_reduction_would_apply():
    with pytest.raises(InvalidCase) as refused:
        calculate(POLICY, replace(CASE, carer_impact=None))
    assert_refused(refused.value, "carer_impact")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"price_per_point": "-4.88"}, "price_per_point"),
        ({"price_per_point": "four pounds"}, "price_per_point"),
        ({"price_per_point": "NaN"}, "price_per_point"),
        ({"weeks_per_year": 0}, "weeks_per_year"),
        ({"client_group_factors": {"older_people": "-1"}}, "client_group_factors.older_people"),
        (
            {"contingency_bands": [{"up_to": "100", "rate": "5"}, {"up_to": "200", "rate": "5"}]},
            "contingency_bands[1].up_to",
        ),
        ({"contingency_bands": [{"up_to": None, "rate": "100"}]}, "contingency_bands[0].rate"),
        ({"contingency_bands": [{"rate": "5"}]}, "contingency_bands[0]"),
        ({"protect_existing_packages": "yes"}, "protect_existing_packages"),
    ],
)
def test_invalid_policy_dict_is_refused_naming_the_field(data, field):
    policy = {
        "price_per_point": "4.88",
        "weeks_per_year": "52",
        "contingency_bands": [{"up_to": None, "rate": "10"}],
    }
    policy.update(data)

    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(policy_from_dict(policy))
    assert_refused(refused.value, field)


@pytest.mark.parametrize("missing", ["price_per_point", "weeks_per_year", "contingency_bands"])
def test_policy_dict_missing_a_required_field(missing):
    policy = {
        "price_per_point": "4.88",
        "weeks_per_year": "52",
        "contingency_bands": [{"up_to": None, "rate": "10"}],
    }
    del policy[missing]

    with pytest.raises(InvalidPolicy) as refused:
        policy_from_dict(policy)
    assert_refused(refused.value, missing)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"points": "-5"}, "points"),  # a negative total
        ({"points": ["5", "-5"]}, "points[1]"),
        ({"points": ["5", "x"]}, "points[1]"),
        ({"points": None}, "points"),
        ({"client_group": None}, "client_group"),
        ({"client_group": "martians"}, "client_group"),
        ({"carer_assessed": "yes"}, "carer_assessed"),
        ({"existing_weekly_cost": "-1"}, "existing_weekly_cost"),
        ({"triggers": "nhs_chc"}, "triggers"),
    ],
)
def test_invalid_case_dict_is_refused_naming_the_field(data, field):
    case = {"points": ["10"], "client_group": "older_people"}
    case.update(data)

    with pytest.raises(InvalidCase) as refused:
        calculate(POLICY, case_from_dict(case))
    error = refused.value
    assert any(name == field or name.startswith(f"{field}[") for name in fields(error))
    assert field in str(error)


# --- Nothing is partly calculated ----------------------------------------------------------------


@pytest.fixture
def rounding_calls(monkeypatch):
    """Record every round2 the calculation makes (gross, contingency and annual are rounded)."""
    calls = []
    real_round2 = calculate_module.round2

    def spy(value):
        calls.append(value)
        return real_round2(value)

    monkeypatch.setattr(calculate_module, "round2", spy)
    return calls


def test_a_valid_case_is_calculated_through_round2(rounding_calls):
    # The control for the two tests below: the spy does see a calculation.
    calculate(POLICY, CASE)
    assert rounding_calls


def test_an_invalid_case_raises_before_any_step(rounding_calls):
    # One bad answer among good ones: no result on the good ones alone.
    with pytest.raises(InvalidCase):
        calculate(POLICY, replace(CASE, points=(D("10"), D("-1"), D("18"))))
    assert rounding_calls == []


def test_an_invalid_policy_raises_before_any_step(rounding_calls):
    with pytest.raises(InvalidPolicy):
        calculate(replace(POLICY, weeks_per_year=D("0")), CASE)
    assert rounding_calls == []
