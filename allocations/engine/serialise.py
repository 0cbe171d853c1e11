"""JSON-shaped dicts ⇄ engine dataclasses, for the batch interface and stored breakdowns.

Decimals arrive as strings (or numbers, read without passing through float when the JSON is
parsed with parse_float=Decimal) and leave as strings with exactly 2 decimals.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from allocations.engine.calculate import number_problem, round2, transitional_rule_problem
from allocations.engine.types import (
    TRANSITIONAL_RULES,
    Band,
    Case,
    InvalidCase,
    InvalidPolicy,
    Policy,
    Result,
)


def _decimal(value: Any, name: str, errors: list[tuple[str, str]]) -> Decimal | None:
    """`value` as an engine number, or None after recording why it cannot be one.

    Accepts a decimal string (digits 0 to 9 only), an int, a Decimal, or a float (read through
    its shortest text, so 4.88 is 4.88). Refuses anything else, and NaN, sNaN, Infinity,
    -Infinity and numbers of NUMBER_LIMIT or more in size (such as 1e309), exactly as
    validate_policy / validate_case do.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        errors.append((name, f"must be a number (got {value!r})"))
        return None
    if isinstance(value, str) and ("_" in value or not value.isascii()):
        # Decimal() would read "١٢٣" as 123 and "1_0" as 10: numbers use the digits 0 to 9.
        errors.append((name, f"must be written with the digits 0 to 9 (got {value!r})"))
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        errors.append((name, f"must be a number (got {value!r})"))
        return None
    problem = number_problem(number)
    if problem is not None:
        errors.append((name, problem))
        return None
    return number


def _decimal_map(value: Any, name: str, errors) -> dict[str, Decimal]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append((name, "must be an object of name: number"))
        return {}
    result = {}
    for key, item in value.items():
        number = _decimal(item, f"{name}.{key}", errors)
        if number is not None:
            result[str(key)] = number
    return result


POLICY_FIELDS = (
    "price_per_point",
    "weeks_per_year",
    "client_group_factors",
    "informal_support_reductions",
    "carer_impact_multipliers",
    "contingency_bands",
    "minimum_weekly",
    "panel_threshold_weekly",
    "protect_existing_packages",
    "transitional_rule",
)


def policy_from_dict(data: Any) -> Policy:
    """Read a policy; InvalidPolicy names every missing or malformed field.

    Numbers are refused here as validate_policy would refuse them (not finite, or too large);
    the policy's other rules (negative prices, band order, ...) are left to validate_policy.
    "transitional_rule" may be absent (then "existing_package")."""
    errors: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise InvalidPolicy([("policy", "must be an object")])
    for required in ("price_per_point", "weeks_per_year", "contingency_bands"):
        if required not in data:
            errors.append((required, "is required"))
    price = (
        _decimal(data.get("price_per_point"), "price_per_point", errors)
        if "price_per_point" in data
        else None
    )
    weeks = (
        _decimal(data.get("weeks_per_year"), "weeks_per_year", errors)
        if "weeks_per_year" in data
        else None
    )
    bands = []
    raw_bands = data.get("contingency_bands", [])
    if not isinstance(raw_bands, list):
        errors.append(("contingency_bands", "must be a list of {up_to, rate}"))
        raw_bands = []
    for index, band in enumerate(raw_bands):
        name = f"contingency_bands[{index}]"
        if not isinstance(band, dict) or "rate" not in band or "up_to" not in band:
            errors.append((name, "must be an object with up_to and rate"))
            continue
        up_to = None if band["up_to"] is None else _decimal(band["up_to"], f"{name}.up_to", errors)
        rate = _decimal(band["rate"], f"{name}.rate", errors)
        if rate is not None:
            bands.append(Band(up_to=up_to, rate=rate))
    protect = data.get("protect_existing_packages", False)
    if not isinstance(protect, bool):
        errors.append(("protect_existing_packages", "must be true or false"))
    # Absent means the default rule; anything present must be a rule the engine knows.
    rule = data.get("transitional_rule", TRANSITIONAL_RULES[0])
    rule_problem = transitional_rule_problem(rule)
    if rule_problem is not None:
        errors.append(("transitional_rule", rule_problem))
    policy_kwargs = {
        "client_group_factors": _decimal_map(
            data.get("client_group_factors"), "client_group_factors", errors
        ),
        "informal_support_reductions": _decimal_map(
            data.get("informal_support_reductions"), "informal_support_reductions", errors
        ),
        "carer_impact_multipliers": _decimal_map(
            data.get("carer_impact_multipliers"), "carer_impact_multipliers", errors
        ),
        "minimum_weekly": _decimal(data.get("minimum_weekly", "0"), "minimum_weekly", errors),
        "panel_threshold_weekly": _decimal(
            data.get("panel_threshold_weekly", "0"), "panel_threshold_weekly", errors
        ),
    }
    if errors:
        raise InvalidPolicy(errors)
    return Policy(
        price_per_point=price,
        weeks_per_year=weeks,
        contingency_bands=tuple(bands),
        protect_existing_packages=protect,
        transitional_rule=rule,
        **policy_kwargs,
    )


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """The policy as JSON-ready data, decimals as strings exactly as held; policy_from_dict
    reads it back to an equal Policy."""
    return {
        "price_per_point": str(policy.price_per_point),
        "weeks_per_year": str(policy.weeks_per_year),
        "client_group_factors": {k: str(v) for k, v in policy.client_group_factors.items()},
        "informal_support_reductions": {
            k: str(v) for k, v in policy.informal_support_reductions.items()
        },
        "carer_impact_multipliers": {k: str(v) for k, v in policy.carer_impact_multipliers.items()},
        "contingency_bands": [
            {"up_to": None if b.up_to is None else str(b.up_to), "rate": str(b.rate)}
            for b in policy.contingency_bands
        ],
        "minimum_weekly": str(policy.minimum_weekly),
        "panel_threshold_weekly": str(policy.panel_threshold_weekly),
        "protect_existing_packages": policy.protect_existing_packages,
        "transitional_rule": policy.transitional_rule,
    }


def _bool(data: dict, name: str, errors) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        errors.append((name, "must be true or false"))
        return False
    return value


def case_from_dict(data: Any) -> Case:
    """Read one case; InvalidCase names every missing or malformed field."""
    errors: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise InvalidCase([("case", "must be an object")])
    raw_points = data.get("points")
    if isinstance(raw_points, list):
        points = [_decimal(p, f"points[{i}]", errors) for i, p in enumerate(raw_points)]
    elif raw_points is None:
        errors.append(("points", "is required (a list of answer points, or a total)"))
        points = []
    else:
        points = [_decimal(raw_points, "points", errors)]
    if not isinstance(data.get("client_group"), str) or not data.get("client_group"):
        errors.append(("client_group", "is required"))
    existing = data.get("existing_weekly_cost")
    existing = None if existing is None else _decimal(existing, "existing_weekly_cost", errors)
    triggers = data.get("triggers", [])
    if not isinstance(triggers, list) or not all(isinstance(t, str) for t in triggers):
        errors.append(("triggers", "must be a list of trigger codes"))
        triggers = []
    for name in ("informal_support", "carer_impact"):
        if data.get(name) is not None and not isinstance(data.get(name), str):
            errors.append((name, "must be a level name"))
    flags = {
        name: _bool(data, name, errors)
        for name in ("carer_assessed", "carer_able_and_willing", "needs_increased")
    }
    if errors:
        raise InvalidCase(errors)
    ref = data.get("ref")
    return Case(
        ref=None if ref is None else str(ref),
        points=tuple(points),
        client_group=data["client_group"],
        informal_support=data.get("informal_support") or None,
        carer_impact=data.get("carer_impact") or None,
        existing_weekly_cost=existing,
        triggers=tuple(triggers),
        **flags,
    )


def _two(value: Decimal) -> str:
    return str(round2(value))


def result_to_dict(result: Result) -> dict[str, Any]:
    """The batch interface's output fields, in the spec's order, 2-decimal strings."""
    return {
        "ref": result.ref,
        "raw_points": _two(result.raw_points),
        "reduction_percent": _two(result.reduction_percent),
        "adjusted_points": _two(result.adjusted_points),
        "gross_weekly": _two(result.gross_weekly),
        "contingency_weekly": _two(result.contingency_weekly),
        "ras_weekly": _two(result.ras_weekly),
        "indicative_weekly": _two(result.indicative_weekly),
        "basis": result.basis,
        "annual": _two(result.annual),
        "panel_required": result.panel_required,
        "triggers": list(result.triggers),
    }
