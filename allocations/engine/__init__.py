"""The RAS engine: plain Python, no Django. See ../shared/spec/ras-calculation.md.

`calculate(policy, case)` turns one case into an indicative budget with every step shown.
`validate_policy` / `validate_case` refuse bad input (InvalidPolicy / InvalidCase, each problem
naming its field) and raise nothing else; TRANSITIONAL_RULES are the rules step 7 can apply.
"""

from allocations.engine.calculate import calculate, round2, validate_case, validate_policy
from allocations.engine.serialise import (
    case_from_dict,
    policy_from_dict,
    policy_to_dict,
    result_to_dict,
)
from allocations.engine.types import (
    NUMBER_LIMIT,
    STANDARD_CLIENT_GROUPS,
    TRANSITIONAL_RULES,
    Band,
    BandShare,
    Case,
    InvalidCase,
    InvalidPolicy,
    Policy,
    RasInputError,
    Result,
)

__all__ = [
    "NUMBER_LIMIT",
    "STANDARD_CLIENT_GROUPS",
    "TRANSITIONAL_RULES",
    "Band",
    "BandShare",
    "Case",
    "InvalidCase",
    "InvalidPolicy",
    "Policy",
    "RasInputError",
    "Result",
    "calculate",
    "case_from_dict",
    "policy_from_dict",
    "policy_to_dict",
    "result_to_dict",
    "round2",
    "validate_case",
    "validate_policy",
]
