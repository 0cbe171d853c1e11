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
    # The error raised: IllegalTransition, or a workflow's own kind of it.
    error: type[IllegalTransition] = IllegalTransition

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
            raise self.error(
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
            raise self.error(f"{self.noun} cannot start {self.status(status).label.lower()}.")


class WorkflowModel(models.Model):
    """A model whose status follows its `WORKFLOW`, on every path that saves it (a service,
    the admin, a form, a script): `save()` refuses a move the table does not allow, comparing
    with the status stored in the database (one small query: an in-memory copy may be stale).
    `QuerySet.update()` skips `save()`; services never use it on these models, and PostgreSQL's
    own checks and triggers stand behind them."""

    WORKFLOW: Workflow

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        stored = None
        if self.pk is not None and not self._state.adding:
            rows = type(self)._base_manager.using(kwargs.get("using") or self._state.db)
            stored = rows.filter(pk=self.pk).values_list("status", flat=True).first()
        if stored is None:
            self.WORKFLOW.check_start(self.status)
        elif stored != self.status:
            self.WORKFLOW.check(stored, self.status)
        super().save(*args, **kwargs)
