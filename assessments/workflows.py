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
    # The statuses a new record may start in (None: any).
    starts: frozenset[str] | set[str] | None = None

    def __post_init__(self) -> None:
        moves = {str(current): frozenset(map(str, tos)) for current, tos in self.moves.items()}
        object.__setattr__(self, "moves", moves)
        if self.starts is not None:
            object.__setattr__(self, "starts", frozenset(map(str, self.starts)))
        known = set(self.status.values)
        missing = known - set(self.moves)
        named = set(self.moves) | set(self.starts or ()) | self._targets()
        unknown = named - known
        if missing or unknown:
            raise ValueError(
                f"{self.noun}'s workflow: no row for {sorted(missing)}, "
                f"unknown statuses {sorted(unknown)}."
            )

    def _targets(self) -> set[str]:
        return {to for tos in self.moves.values() for to in tos}

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

    def check_start(self, status: str) -> None:
        """IllegalTransition unless a new record may start in `status`."""
        if self.starts is not None and status not in self.starts:
            raise IllegalTransition(
                f"{self.noun} cannot start {self.status(status).label.lower()}."
            )


class WorkflowModel(models.Model):
    """A model whose status follows its `WORKFLOW`, on every path that saves it (a service,
    the admin, a form): `save()` refuses a move the table does not allow, comparing with the
    status the row had when it was read (no extra query). `QuerySet.update()` skips `save()`;
    services never use it on these models, and PostgreSQL's own checks stand behind them."""

    WORKFLOW: Workflow

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        stored = getattr(self, "_stored_status", None)
        if self._state.adding or self.pk is None:
            self.WORKFLOW.check_start(self.status)
        elif stored is not None and stored != self.status:
            self.WORKFLOW.check(stored, self.status)
        super().save(*args, **kwargs)
        self._stored_status = self.status

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._stored_status = self.__dict__.get("status")

    @classmethod
    def from_db(cls, db, field_names, values):
        record = super().from_db(db, field_names, values)
        record._stored_status = record.__dict__.get("status")
        return record
