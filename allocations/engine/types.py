"""The engine's inputs and outputs: frozen dataclasses holding Decimals.

Constructing a Policy or a Case checks nothing; `validate_policy` / `validate_case` (and so
`calculate`) refuse bad values, naming each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

# Client groups every policy knows; a policy may add others by giving them a factor.
STANDARD_CLIENT_GROUPS = frozenset(
    {
        "older_people",
        "physical_disability",
        "learning_disability",
        "mental_health",
        "sensory_impairment",
    }
)

# The rules step 7 of the spec can apply to an existing package, the default first.
TRANSITIONAL_RULES = ("existing_package", "higher_of")

# Every number the engine takes must be smaller than this in size (a sanity limit: weekly money,
# points, factors and rates are all far below it).
NUMBER_LIMIT = Decimal("1000000000")


class RasInputError(ValueError):
    """Bad input. `errors` is a list of (field, message); the message names the field."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors))


class InvalidPolicy(RasInputError):
    """The policy cannot be used; nothing is calculated under it."""


class InvalidCase(RasInputError):
    """The case cannot be calculated under the policy."""


def _frozen(mapping: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Band:
    """A contingency band: `rate` percent of the part of the gross amount up to `up_to`
    (None for the last, unbounded band)."""

    up_to: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class Policy:
    """One version of the council's RAS settings (spec "Inputs").

    Every number is a finite Decimal, not negative and less than NUMBER_LIMIT; percentages are
    0–100, carer multipliers 0–1, band rates under 100, band `up_to` strictly increasing with
    only the last band unbounded (None); `transitional_rule` is one of TRANSITIONAL_RULES.
    validate_policy checks all of this. The three mappings are frozen on construction."""

    price_per_point: Decimal
    weeks_per_year: Decimal
    client_group_factors: Mapping[str, Decimal]
    informal_support_reductions: Mapping[str, Decimal]
    carer_impact_multipliers: Mapping[str, Decimal]
    contingency_bands: tuple[Band, ...]
    minimum_weekly: Decimal = Decimal("0")
    panel_threshold_weekly: Decimal = Decimal("0")
    protect_existing_packages: bool = False
    transitional_rule: str = TRANSITIONAL_RULES[0]

    def __post_init__(self) -> None:
        for name in (
            "client_group_factors",
            "informal_support_reductions",
            "carer_impact_multipliers",
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "contingency_bands", tuple(self.contingency_bands))

    @property
    def client_groups(self) -> frozenset[str]:
        return STANDARD_CLIENT_GROUPS | frozenset(self.client_group_factors)

    def factor_for(self, client_group: str) -> Decimal:
        return self.client_group_factors.get(client_group, Decimal("1"))


@dataclass(frozen=True)
class Case:
    """What one assessment established (spec "Inputs").

    Each of `points` and `existing_weekly_cost` (when given) is a finite Decimal, not negative
    and less than NUMBER_LIMIT; the client group and levels must be ones the policy knows.
    validate_case checks all of this against a policy."""

    points: tuple[Decimal, ...]
    client_group: str
    ref: str | None = None
    informal_support: str | None = None
    carer_assessed: bool = False
    carer_able_and_willing: bool = False
    carer_impact: str | None = None
    existing_weekly_cost: Decimal | None = None
    needs_increased: bool = False
    triggers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "triggers", tuple(self.triggers))


@dataclass(frozen=True)
class BandShare:
    """How much of the gross amount fell in one contingency band, and what was retained."""

    lower: Decimal
    upper: Decimal | None
    rate: Decimal
    amount_in_band: Decimal
    retained: Decimal  # exact; the total is rounded once


@dataclass(frozen=True)
class Result:
    ref: str | None
    raw_points: Decimal
    reduction_percent: Decimal
    reduction_applied_because: str
    adjusted_points: Decimal  # exact
    price_per_point: Decimal
    client_group: str
    client_group_factor: Decimal
    gross_weekly: Decimal
    contingency_by_band: tuple[BandShare, ...]
    contingency_weekly: Decimal
    minimum_weekly: Decimal
    ras_weekly: Decimal
    indicative_weekly: Decimal
    basis: str  # "ras" or "existing_package" (step 7)
    weeks_per_year: Decimal
    annual: Decimal
    panel_threshold_weekly: Decimal
    panel_required: bool
    triggers: tuple[str, ...] = field(default=())
