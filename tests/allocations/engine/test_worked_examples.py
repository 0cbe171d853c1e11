"""The spec's five worked examples (spec/ras-calculation.md), every column, through the engine's
dataclasses and through result_to_dict (the batch interface's 2-decimal strings)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from allocations.engine import Case, calculate, result_to_dict
from tests.allocations.engine.policies import SPEC_POLICY

D = Decimal


CASES = {
    "older-person": Case(
        ref="older-person",
        points=(D("10"), D("12"), D("18")),
        client_group="older_people",
    ),
    "learning-disability-carer": Case(
        ref="learning-disability-carer",
        points=(D("130"),),
        client_group="learning_disability",
        carer_assessed=True,
        carer_able_and_willing=True,
        informal_support="some",
        carer_impact="moderate",
    ),
    "existing-package": Case(
        ref="existing-package",
        points=(D("75"),),
        client_group="older_people",
        existing_weekly_cost=D("250.00"),
        needs_increased=False,
    ),
    "needs-increased": Case(
        ref="needs-increased",
        points=(D("75"),),
        client_group="older_people",
        existing_weekly_cost=D("250.00"),
        needs_increased=True,
        informal_support="most",
        carer_assessed=False,
    ),
    "physical-disability-triggers": Case(
        ref="physical-disability-triggers",
        points=(D("160"),),
        client_group="physical_disability",
        triggers=("nhs_chc", "access_to_work", "nhs_chc"),
    ),
}

# The spec's table, column for column:
# raw, reduction %, adjusted, gross, contingency, ras, indicative, basis, annual, panel, triggers.
EXPECTED = {
    "older-person": (
        "40",
        "0",
        "40.00",
        "195.20",
        "14.52",
        "180.68",
        "180.68",
        "ras",
        "9395.36",
        False,
        (),
    ),
    "learning-disability-carer": (
        "130",
        "5",
        "123.50",
        "662.95",
        "119.37",
        "543.58",
        "543.58",
        "ras",
        "28266.16",
        False,
        (),
    ),
    "existing-package": (
        "75",
        "0",
        "75.00",
        "366.00",
        "42.16",
        "323.84",
        "250.00",
        "existing_package",
        "13000.00",
        False,
        (),
    ),
    "needs-increased": (
        "75",
        "0",
        "75.00",
        "366.00",
        "42.16",
        "323.84",
        "323.84",
        "ras",
        "16839.68",
        False,
        (),
    ),
    "physical-disability-triggers": (
        "160",
        "0",
        "160.00",
        "780.80",
        "150.01",
        "630.79",
        "630.79",
        "ras",
        "32801.08",
        True,
        ("access_to_work", "nhs_chc"),
    ),
}

MONEY_COLUMNS = (
    "raw_points",
    "reduction_percent",
    "adjusted_points",
    "gross_weekly",
    "contingency_weekly",
    "ras_weekly",
    "indicative_weekly",
)


@pytest.mark.parametrize("ref", list(CASES))
def test_worked_example_dataclass(ref):
    result = calculate(SPEC_POLICY, CASES[ref])
    *numbers, basis, annual, panel, triggers = EXPECTED[ref]

    assert result.ref == ref
    for column, expected in zip(MONEY_COLUMNS, numbers, strict=True):
        assert getattr(result, column) == D(expected), column
    assert result.basis == basis
    assert result.annual == D(annual)
    assert result.panel_required is panel
    assert result.triggers == triggers


@pytest.mark.parametrize("ref", list(CASES))
def test_worked_example_as_batch_output(ref):
    (
        raw,
        reduction,
        adjusted,
        gross,
        contingency,
        ras,
        indicative,
        basis,
        annual,
        panel,
        triggers,
    ) = EXPECTED[ref]

    assert result_to_dict(calculate(SPEC_POLICY, CASES[ref])) == {
        "ref": ref,
        "raw_points": f"{D(raw):.2f}",
        "reduction_percent": f"{D(reduction):.2f}",
        "adjusted_points": adjusted,
        "gross_weekly": gross,
        "contingency_weekly": contingency,
        "ras_weekly": ras,
        "indicative_weekly": indicative,
        "basis": basis,
        "annual": annual,
        "panel_required": panel,
        "triggers": list(triggers),
    }


def test_batch_output_fields_are_in_the_spec_order():
    result = result_to_dict(calculate(SPEC_POLICY, CASES["older-person"]))

    assert list(result) == [
        "ref",
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
    ]


def test_second_row_by_hand_band_by_band():
    # The spec's working: 130 × (1 − 10 × 0.5 / 100) = 123.5; 123.5 × 4.88 × 1.10 = 662.948
    # → 662.95; contingency 5% × 100 + 10% × 200 + 26% × 362.95 = 119.367 → 119.37.
    result = calculate(SPEC_POLICY, CASES["learning-disability-carer"])

    assert result.adjusted_points == D("123.5")
    assert result.client_group_factor == D("1.10")
    assert [(s.lower, s.upper, s.rate) for s in result.contingency_by_band] == [
        (D("0"), D("100"), D("5")),
        (D("100"), D("300"), D("10")),
        (D("300"), None, D("26")),
    ]
    assert [s.amount_in_band for s in result.contingency_by_band] == [
        D("100"),
        D("200"),
        D("362.95"),
    ]
    assert [s.retained for s in result.contingency_by_band] == [D("5"), D("20"), D("94.367")]


def test_protected_case_still_shows_the_ras_figure_beside_it():
    # Step 7: "The RAS figure is still computed and shown beside it."
    result = calculate(SPEC_POLICY, CASES["existing-package"])

    assert (result.indicative_weekly, result.ras_weekly) == (D("250.00"), D("323.84"))
