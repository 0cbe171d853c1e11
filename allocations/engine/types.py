"""The engine's inputs and outputs: frozen dataclasses holding Decimals."""

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


class RasInputError(ValueError):
    """Bad input. `errors` is a list of (field, message); the message names the field."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors))


class InvalidPolicy(RasInputError):
    pass


class InvalidCase(RasInputError):
    pass


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
    price_per_point: Decimal
    weeks_per_year: Decimal
    client_group_factors: Mapping[str, Decimal]
    informal_support_reductions: Mapping[str, Decimal]
    carer_impact_multipliers: Mapping[str, Decimal]
    contingency_bands: tuple[Band, ...]
    minimum_weekly: Decimal = Decimal("0")
    panel_threshold_weekly: Decimal = Decimal("0")
    protect_existing_packages: bool = False

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
    basis: str  # "ras" or "existing_package"
    weeks_per_year: Decimal
    annual: Decimal
    panel_threshold_weekly: Decimal
    panel_required: bool
    triggers: tuple[str, ...] = field(default=())
