"""Which status changes each workflow allows, said once per workflow as a table.

Every record with a status (assessments, questionnaire versions, support plans, referrals,
policies, background jobs) names its legal moves in a `Workflow`; the one service that makes a
move calls `workflow.move(record, to)` before saving, and an illegal move raises the one named
error, `IllegalTransition`, whatever the workflow. It lives in the lowest app so that every app
above may use it (`panels → allocations → assessments`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import models


class IllegalTransition(Exception):
    """A state change the workflow does not allow (e.g. publishing a retired version)."""


@dataclass(frozen=True)
class Workflow:
    """`moves` maps each status to the statuses it may become; a status with no way out maps
    to an empty set. Every status of `status` must appear (checked when the table is made)."""

    noun: str  # with its article, as a sentence starts: "An assessment", "A support plan"
    status: type[models.TextChoices]
    moves: Mapping[str, frozenset[str] | set[str]]

    def __post_init__(self) -> None:
        moves = {str(current): frozenset(map(str, tos)) for current, tos in self.moves.items()}
        object.__setattr__(self, "moves", moves)
        known = set(self.status.values)
        missing = known - set(self.moves)
        unknown = (set(self.moves) | {to for tos in self.moves.values() for to in tos}) - known
        if missing or unknown:
            raise ValueError(
                f"{self.noun}'s workflow: no row for {sorted(missing)}, "
                f"unknown statuses {sorted(unknown)}."
            )

    def allows(self, current: str, to: str) -> bool:
        return to in self.moves[current]

    def check(self, current: str, to: str) -> None:
        """IllegalTransition unless `current` may become `to`."""
        if not self.allows(current, to):
            raise IllegalTransition(
                f"{self.noun} that is {self.status(current).label.lower()} cannot become "
                f"{self.status(to).label.lower()}."
            )

    def move(self, record: models.Model, to: str) -> None:
        """Check the move from the record's status and make it (the caller saves)."""
        self.check(record.status, to)
        record.status = to
