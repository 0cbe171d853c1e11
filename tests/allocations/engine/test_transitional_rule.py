"""Step 7 of spec/ras-calculation.md: the policy's `transitional_rule`.

`existing_package` (the default): while needs have not increased the indicative amount is the
existing cost, even below the RAS figure. `higher_of`: the higher of the RAS figure and the
existing cost, basis "existing_package" only when the existing cost is strictly higher. Either
applies only when the policy protects existing packages, there is an existing cost and needs
have not increased. An unknown rule is a policy error naming `transitional_rule`.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

import allocations.engine
from allocations.engine import (
    TRANSITIONAL_RULES,
    Case,
    InvalidPolicy,
    calculate,
    policy_from_dict,
    policy_to_dict,
    result_to_dict,
    validate_policy,
)
from tests.allocations.engine.policies import SPEC_POLICY, SPEC_POLICY_DICT

D = Decimal

HIGHER_OF = replace(SPEC_POLICY, transitional_rule="higher_of")


# The spec's third row: older person, 75 points → ras 323.84; existing package, needs not
# increased.
def older_person(existing: str | None, needs_increased: bool = False) -> Case:
    return Case(
        ref="older-person-75",
        points=(D("75"),),
        client_group="older_people",
        existing_weekly_cost=None if existing is None else D(existing),
        needs_increased=needs_increased,
    )


def test_the_rules_are_exported_default_first():
    assert TRANSITIONAL_RULES == ("existing_package", "higher_of")
    assert allocations.engine.TRANSITIONAL_RULES is TRANSITIONAL_RULES
    assert "TRANSITIONAL_RULES" in allocations.engine.__all__


def test_the_default_rule_is_existing_package():
    assert SPEC_POLICY.transitional_rule == "existing_package"


def test_existing_package_is_the_spec_third_row_even_below_the_ras_figure():
    result = calculate(SPEC_POLICY, older_person("250.00"))

    assert (result.ras_weekly, result.indicative_weekly) == (D("323.84"), D("250.00"))
    assert result.basis == "existing_package"
    assert result.annual == D("13000.00")  # 250.00 × 52


def test_higher_of_keeps_the_ras_figure_when_it_is_higher():
    # existing 250.00 vs ras 323.84 → 323.84, basis ras; 323.84 × 52 = 16839.68.
    result = calculate(HIGHER_OF, older_person("250.00"))

    assert result_to_dict(result) == {
        "ref": "older-person-75",
        "raw_points": "75.00",
        "reduction_percent": "0.00",
        "adjusted_points": "75.00",
        "gross_weekly": "366.00",
        "contingency_weekly": "42.16",
        "ras_weekly": "323.84",
        "indicative_weekly": "323.84",
        "basis": "ras",
        "annual": "16839.68",
        "panel_required": False,
        "triggers": [],
    }


def test_higher_of_keeps_the_existing_cost_when_it_is_higher():
    # existing 610.00 vs ras 323.84 → 610.00, basis existing_package; 610 × 52 = 31720.00, and
    # 610.00 is at or above the £600 panel threshold.
    result = calculate(HIGHER_OF, older_person("610.00"))

    assert result.ras_weekly == D("323.84")
    assert (result.indicative_weekly, result.basis) == (D("610.00"), "existing_package")
    assert result.annual == D("31720.00")
    assert result.panel_required is True


def test_higher_of_on_a_tie_is_the_ras_figure():
    # "existing_package when the existing cost is the higher": strictly higher.
    result = calculate(HIGHER_OF, older_person("323.84"))

    assert (result.indicative_weekly, result.basis) == (D("323.84"), "ras")


def test_higher_of_a_penny_above_the_ras_figure_is_the_existing_cost():
    result = calculate(HIGHER_OF, older_person("323.85"))

    assert (result.indicative_weekly, result.basis) == (D("323.85"), "existing_package")
    assert result.annual == D("16840.20")  # 323.85 × 52


@pytest.mark.parametrize("rule", TRANSITIONAL_RULES)
@pytest.mark.parametrize(
    ("protect", "existing", "needs_increased"),
    [
        (False, "610.00", False),  # the policy does not protect existing packages
        (True, None, False),  # no existing package
        (True, "610.00", True),  # needs have increased
        (True, "250.00", True),
    ],
)
def test_neither_rule_applies_outside_step_7s_conditions(rule, protect, existing, needs_increased):
    policy = replace(SPEC_POLICY, protect_existing_packages=protect, transitional_rule=rule)

    result = calculate(policy, older_person(existing, needs_increased))

    assert (result.indicative_weekly, result.basis) == (D("323.84"), "ras")
    assert result.annual == D("16839.68")


def test_higher_of_against_the_floor():
    # ras = max(400.00, 323.84) = 400.00; an existing 350.00 is lower, so 400.00, basis ras.
    policy = replace(HIGHER_OF, minimum_weekly=D("400.00"))

    result = calculate(policy, older_person("350.00"))

    assert (result.ras_weekly, result.indicative_weekly, result.basis) == (
        D("400.00"),
        D("400.00"),
        "ras",
    )


@pytest.mark.parametrize("rule", ["", "higher-of", "HIGHER_OF", "existing", "lower_of", None, 1])
def test_an_unknown_rule_is_a_policy_error_naming_the_field(rule):
    policy = replace(SPEC_POLICY, transitional_rule=rule)

    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(policy)
    assert [name for name, _ in refused.value.errors] == ["transitional_rule"]
    assert str(refused.value) == (
        f"transitional_rule: must be existing_package or higher_of (got {rule!r})"
    )

    with pytest.raises(InvalidPolicy):
        calculate(policy, older_person("250.00"))


def test_an_unknown_rule_is_refused_even_when_nothing_is_protected():
    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(
            replace(SPEC_POLICY, protect_existing_packages=False, transitional_rule="lower_of")
        )
    assert [name for name, _ in refused.value.errors] == ["transitional_rule"]


# --- The dict readers ----------------------------------------------------------------------------

# The spec's policy as data, without a rule: a reader must default it.
POLICY_DICT = {k: v for k, v in SPEC_POLICY_DICT.items() if k != "transitional_rule"}


def test_policy_from_dict_without_a_rule_is_existing_package():
    assert policy_from_dict(POLICY_DICT).transitional_rule == "existing_package"


@pytest.mark.parametrize("rule", TRANSITIONAL_RULES)
def test_policy_from_dict_reads_the_rule(rule):
    policy = policy_from_dict({**POLICY_DICT, "transitional_rule": rule})

    assert policy.transitional_rule == rule
    validate_policy(policy)


@pytest.mark.parametrize("rule", ["lower_of", "", None, 1, True, ["higher_of"], {"rule": "x"}])
def test_policy_from_dict_refuses_an_unknown_or_non_string_rule(rule):
    with pytest.raises(InvalidPolicy) as refused:
        policy_from_dict({**POLICY_DICT, "transitional_rule": rule})

    assert [name for name, _ in refused.value.errors] == ["transitional_rule"]
    assert str(refused.value).startswith("transitional_rule: must be existing_package or higher_of")


@pytest.mark.parametrize("rule", TRANSITIONAL_RULES)
def test_policy_to_dict_writes_the_rule_and_reads_back_equal(rule):
    policy = replace(SPEC_POLICY, transitional_rule=rule)

    data = policy_to_dict(policy)

    assert data["transitional_rule"] == rule
    assert policy_from_dict(data) == policy
