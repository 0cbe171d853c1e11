"""Every number the engine takes is finite and sane: NaN, sNaN, Infinity, -Infinity and anything
of 10^9 or more in size are refused with a message naming the field, by validate_policy /
validate_case and by the dict readers alike, and never crash a comparison or a step
(decimal.InvalidOperation). Whatever the validators accept, calculate calculates.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal, InvalidOperation, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocations.engine import (
    NUMBER_LIMIT,
    Band,
    Case,
    InvalidCase,
    InvalidPolicy,
    Policy,
    RasInputError,
    calculate,
    case_from_dict,
    policy_from_dict,
    policy_to_dict,
    result_to_dict,
    round2,
    validate_case,
    validate_policy,
)
from tests.allocations.engine.policies import SPEC_POLICY, SPEC_POLICY_DICT

D = Decimal

# The spec's policy with two informal-support levels and two carer impacts.
POLICY = replace(
    SPEC_POLICY,
    informal_support_reductions={"none": D("0"), "some": D("10")},
    carer_impact_multipliers={"low": D("1"), "moderate": D("0.5")},
)

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


def policy_with(field: str, value: Decimal) -> Policy:
    """POLICY with one number (named as the error names it) replaced by value."""
    if field in {"price_per_point", "weeks_per_year", "minimum_weekly", "panel_threshold_weekly"}:
        return replace(POLICY, **{field: value})
    if field.startswith("contingency_bands["):
        index, attribute = int(field[18]), field.split(".")[1]
        bands = list(POLICY.contingency_bands)
        bands[index] = replace(bands[index], **{attribute: value})
        return replace(POLICY, contingency_bands=tuple(bands))
    mapping, key = field.split(".")
    return replace(POLICY, **{mapping: {**getattr(POLICY, mapping), key: value}})


def case_with(field: str, value: Decimal) -> Case:
    """CASE with one number (named as the error names it) replaced by value."""
    if field.startswith("points["):
        points = list(CASE.points)
        points[int(field[7])] = value
        return replace(CASE, points=tuple(points))
    return replace(CASE, **{field: value})


# Every number in a policy (the spec's table), as the error names it.
POLICY_NUMBERS = (
    "price_per_point",
    "weeks_per_year",
    "minimum_weekly",
    "panel_threshold_weekly",
    "client_group_factors.learning_disability",
    "informal_support_reductions.some",
    "carer_impact_multipliers.moderate",
    "contingency_bands[0].up_to",
    "contingency_bands[1].up_to",
    "contingency_bands[0].rate",
    "contingency_bands[2].rate",
)
CASE_NUMBERS = ("points[0]", "points[2]", "existing_weekly_cost")

NOT_FINITE = ("NaN", "-NaN", "sNaN", "-sNaN", "Infinity", "-Infinity")
TOO_LARGE = ("1E+309", "-1E+309", "1E+9", "1000000000.00", "-1000000000", "1E+999999")


def expected_message(text: str) -> str:
    return "must be a finite number" if text in NOT_FINITE else "is too large"


def assert_refused(error: RasInputError, field: str, message: str) -> None:
    """The field is refused with this message, and the text the user sees names it."""
    assert [m for name, m in error.errors if name == field and message in m], error.errors
    assert f"{field}: {message}" in str(error)


def test_the_base_policy_and_case_are_valid():
    # Every test below breaks exactly one number in these.
    validate_policy(POLICY)
    validate_case(POLICY, CASE)
    calculate(POLICY, CASE)


def test_the_message_for_an_infinite_factor_is_plain():
    policy = policy_with("client_group_factors.learning_disability", D("Infinity"))

    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(policy)

    assert str(refused.value) == (
        "client_group_factors.learning_disability: must be a finite number (got Infinity)"
    )


def test_the_message_for_a_huge_price_is_plain():
    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(replace(POLICY, price_per_point=D("1E+309")))

    assert str(refused.value) == (
        "price_per_point: is too large (got 1E+309; it must be less than 1,000,000,000 in size)"
    )


def test_a_very_long_number_is_shortened_in_the_message():
    with pytest.raises(InvalidCase) as refused:
        validate_case(POLICY, case_with("existing_weekly_cost", D(10**400)))

    assert str(refused.value) == (
        "existing_weekly_cost: is too large (got 1.000000E+400; "
        "it must be less than 1,000,000,000 in size)"
    )


@pytest.mark.parametrize("text", NOT_FINITE + TOO_LARGE)
@pytest.mark.parametrize("field", POLICY_NUMBERS)
def test_a_policy_number_that_is_not_finite_or_too_large_is_refused(field, text):
    policy = policy_with(field, D(text))

    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(policy)
    assert_refused(refused.value, field, expected_message(text))
    assert len(refused.value.errors) == 1  # reported once, and nothing else is upset by it

    with pytest.raises(InvalidPolicy) as refused:
        calculate(policy, CASE)
    assert_refused(refused.value, field, expected_message(text))


@pytest.mark.parametrize("text", NOT_FINITE + TOO_LARGE)
@pytest.mark.parametrize("field", CASE_NUMBERS)
def test_a_case_number_that_is_not_finite_or_too_large_is_refused(field, text):
    case = case_with(field, D(text))

    with pytest.raises(InvalidCase) as refused:
        validate_case(POLICY, case)
    assert_refused(refused.value, field, expected_message(text))
    assert len(refused.value.errors) == 1

    with pytest.raises(InvalidCase) as refused:
        calculate(POLICY, case)
    assert_refused(refused.value, field, expected_message(text))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_per_point", 4.88),
        ("weeks_per_year", "52"),
        ("minimum_weekly", None),
        ("panel_threshold_weekly", True),
        ("client_group_factors.learning_disability", float("nan")),
    ],
)
def test_a_policy_number_that_is_not_a_decimal_is_refused(field, value):
    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(policy_with(field, value))
    assert field in [name for name, _ in refused.value.errors]


def test_an_int_is_an_exact_number_and_accepted():
    policy = replace(POLICY, weeks_per_year=52, minimum_weekly=0)
    case = replace(CASE, points=(10, 12, 18))

    assert result_to_dict(calculate(policy, case)) == result_to_dict(calculate(POLICY, CASE))


def test_a_policy_with_several_bad_numbers_reports_each_once():
    policy = replace(
        POLICY,
        price_per_point=D("NaN"),
        weeks_per_year=D("-Infinity"),
        informal_support_reductions={"none": D("sNaN"), "some": D("101")},
        contingency_bands=(
            Band(up_to=D("Infinity"), rate=D("5")),
            Band(up_to=D("300"), rate=D("NaN")),
            Band(up_to=None, rate=D("26")),
        ),
    )

    with pytest.raises(InvalidPolicy) as refused:
        validate_policy(policy)

    assert [name for name, _ in refused.value.errors] == [
        "price_per_point",
        "weeks_per_year",
        "informal_support_reductions.none",
        "informal_support_reductions.some",
        "contingency_bands[0].up_to",
        "contingency_bands[1].rate",
    ]


@pytest.mark.parametrize(
    "up_to",
    ["999999999.99", "999999999.999999"],
)
def test_just_under_the_limit_is_accepted(up_to):
    assert D(up_to) < NUMBER_LIMIT
    validate_policy(
        replace(
            POLICY,
            price_per_point=D(up_to),
            minimum_weekly=D(up_to),
            panel_threshold_weekly=D(up_to),
            contingency_bands=(
                Band(D("100"), D("5")),
                Band(D(up_to), D("10")),
                Band(None, D("26")),
            ),
        )
    )
    validate_case(POLICY, replace(CASE, points=(D(up_to),), existing_weekly_cost=D(up_to)))


def test_the_largest_numbers_allowed_are_calculated_exactly():
    # Every number just under the limit, and many of the largest answers: far beyond any real
    # budget, but the validators accept it, so calculate must give the exact figures (the
    # default 28-digit context would refuse to round the gross to pennies).
    top = D("999999999.99")
    policy = replace(
        POLICY,
        price_per_point=top,
        weeks_per_year=top,
        client_group_factors={"learning_disability": top},
        contingency_bands=(Band(up_to=top, rate=D("99.99")), Band(up_to=None, rate=D("99.99"))),
        minimum_weekly=top,
        panel_threshold_weekly=top,
        protect_existing_packages=False,
    )
    case = replace(CASE, points=(top,) * 20, informal_support=None)

    result = calculate(policy, case)

    with localcontext() as context:
        context.prec = 200
        gross = round2(top * 20 * top * top)
        contingency = round2(D("0.9999") * gross)
        ras = gross - contingency
        annual = round2(ras * top)
    assert result.gross_weekly == gross
    assert result.contingency_weekly == contingency
    assert (result.ras_weekly, result.indicative_weekly) == (ras, ras)
    assert result.annual == annual
    assert result.panel_required is True
    shown = result_to_dict(result)
    assert shown["gross_weekly"] == str(gross)
    assert shown["annual"] == str(annual)


def test_the_steps_do_not_depend_on_the_callers_decimal_context():
    # The spec's second row: 123.5 × 4.88 × 1.10 = 662.948 → 662.95. A caller's 4-digit
    # context would make the product 663.0 and the figures wrong.
    case = replace(CASE, points=(D("130"),))
    expected = calculate(POLICY, case)
    assert expected.gross_weekly == D("662.95")

    with localcontext() as context:
        context.prec = 4
        assert D("123.5") * D("4.88") * D("1.10") == D("663.0")  # the control
        result = calculate(POLICY, case)

    assert result == expected


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (D("100000000000000000000000000.005"), D("100000000000000000000000000.01")),
        (D("123456789012345678901234567890.125"), D("123456789012345678901234567890.13")),
        (D("1E+40"), D("1" + "0" * 40 + ".00")),
    ],
)
def test_round2_works_for_numbers_too_long_for_the_default_context(value, rounded):
    # The default context would raise InvalidOperation quantizing any of these.
    with pytest.raises(InvalidOperation):
        value.quantize(D("0.01"))
    assert round2(value) == rounded


# --- The dict readers refuse the same numbers ----------------------------------------------------

BASE_POLICY_DICT = SPEC_POLICY_DICT

# Each way a bad number arrives: a string, or a value json.loads gives for a bare literal
# (parse_float=Decimal for 1e309; NaN and Infinity arrive as floats by default).
BAD_JSON_VALUES = [
    ("NaN", "must be a finite number (got NaN)"),
    ("sNaN", "must be a finite number (got sNaN)"),
    ("Infinity", "must be a finite number (got Infinity)"),
    ("-Infinity", "must be a finite number (got -Infinity)"),
    ("1e309", "is too large (got 1E+309;"),
    ("1000000000", "is too large (got 1000000000;"),
    (float("nan"), "must be a finite number (got NaN)"),
    (float("inf"), "must be a finite number (got Infinity)"),
    (float("-inf"), "must be a finite number (got -Infinity)"),
    (1e300, "is too large (got 1E+300;"),
    (10**400, "is too large (got 1.000000E+400;"),
]
BAD_JSON_VALUES += [
    (json.loads(literal, parse_float=Decimal), message)
    for literal, message in [
        ("1e309", "is too large (got 1E+309;"),
        ("-1e309", "is too large (got -1E+309;"),
        ("NaN", "must be a finite number (got NaN)"),
        ("Infinity", "must be a finite number (got Infinity)"),
    ]
]


def policy_dict_with(field: str, value) -> dict:
    data = json.loads(json.dumps(BASE_POLICY_DICT))
    if field.startswith("contingency_bands["):
        data["contingency_bands"][int(field[18])][field.split(".")[1]] = value
    elif "." in field:
        mapping, key = field.split(".")
        data[mapping][key] = value
    else:
        data[field] = value
    return data


@pytest.mark.parametrize(("value", "message"), BAD_JSON_VALUES)
@pytest.mark.parametrize(
    "field",
    [
        "price_per_point",
        "weeks_per_year",
        "minimum_weekly",
        "panel_threshold_weekly",
        "client_group_factors.learning_disability",
        "informal_support_reductions.some",
        "carer_impact_multipliers.moderate",
        "contingency_bands[0].up_to",
        "contingency_bands[0].rate",
        "contingency_bands[1].rate",
    ],
)
def test_policy_from_dict_refuses_a_number_that_is_not_finite_or_too_large(field, value, message):
    with pytest.raises(InvalidPolicy) as refused:
        policy_from_dict(policy_dict_with(field, value))

    assert_refused(refused.value, field, message)


@pytest.mark.parametrize(("value", "message"), BAD_JSON_VALUES)
@pytest.mark.parametrize("field", ["points", "points[1]", "existing_weekly_cost"])
def test_case_from_dict_refuses_a_number_that_is_not_finite_or_too_large(field, value, message):
    data = {"points": ["10", "12"], "client_group": "older_people"}
    if field == "points[1]":
        data["points"][1] = value
    else:
        data[field] = value

    with pytest.raises(InvalidCase) as refused:
        case_from_dict(data)

    assert_refused(refused.value, field, message)


@pytest.mark.parametrize("value", [[0, [1], 0], {"amount": "1"}, None, True])
def test_case_from_dict_refuses_a_value_that_is_not_a_number(value):
    with pytest.raises(InvalidCase) as refused:
        case_from_dict({"points": [value], "client_group": "older_people"})

    assert_refused(refused.value, "points[0]", "must be a number")


def test_a_number_too_large_even_to_read_is_refused():
    with pytest.raises(InvalidCase) as refused:
        case_from_dict({"points": ["1e99999999999999999999"], "client_group": "older_people"})

    assert_refused(refused.value, "points[0]", "must be a number")


# --- Properties ----------------------------------------------------------------------------------

# Any Decimal at all: NaN, sNaN, infinities, huge and tiny exponents, long coefficients.
any_decimal = st.decimals(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [D(text) for text in NOT_FINITE + TOO_LARGE]
)


def is_sane(value: Decimal) -> bool:
    return value.is_finite() and -NUMBER_LIMIT < value < NUMBER_LIMIT


@given(st.sampled_from(POLICY_NUMBERS), any_decimal)
def test_any_decimal_in_a_policy_is_refused_or_calculated(field, value):
    policy = policy_with(field, value)

    try:
        validate_policy(policy)
    except InvalidPolicy as refused:
        names = [name for name, _ in refused.errors]
        assert names == [field] or (
            # Moving one band's up_to can also upset the order of the band after it.
            field.endswith(".up_to") and set(names) <= {field, "contingency_bands[1].up_to"}
        )
        assert all(f"{name}: " in str(refused) for name in names)
    else:
        assert is_sane(value)
        result = calculate(policy, CASE)
        result_to_dict(result)
        assert policy_from_dict(policy_to_dict(policy)) == policy
    if not is_sane(value):
        with pytest.raises(InvalidPolicy):
            validate_policy(policy)


@given(st.sampled_from(CASE_NUMBERS), any_decimal)
def test_any_decimal_in_a_case_is_refused_or_calculated(field, value):
    case = case_with(field, value)

    try:
        result = calculate(POLICY, case)
    except InvalidCase as refused:
        assert [name for name, _ in refused.errors] == [field]
        assert f"{field}: " in str(refused)
        assert not is_sane(value) or value < 0
    else:
        assert is_sane(value) and value >= 0
        result_to_dict(result)


@given(any_decimal)
def test_the_dict_readers_and_the_validators_agree(value):
    # policy_from_dict refuses a number exactly when validate_policy would refuse it as a number
    # (sign and range rules are validate_policy's alone).
    text = str(value)
    try:
        policy = policy_from_dict({**BASE_POLICY_DICT, "price_per_point": text})
    except InvalidPolicy as refused:
        read_refused = [message for _, message in refused.errors]
    else:
        read_refused = []
        assert policy.price_per_point == value
    try:
        validate_policy(replace(POLICY, price_per_point=value))
    except InvalidPolicy as refused:
        checked_refused = [message for _, message in refused.errors]
    else:
        checked_refused = []
    if read_refused:
        assert read_refused == checked_refused
    else:
        assert all("must not be negative" in message for message in checked_refused)
