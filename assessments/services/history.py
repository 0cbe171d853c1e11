"""Saving a record so its history row names who changed it, and why (django-simple-history
reads `_history_user` and `_change_reason` when the row is written)."""

from __future__ import annotations

from typing import TypeVar

from django.db import models

Record = TypeVar("Record", bound=models.Model)

# simple-history keeps 100 characters of a change reason.
REASON_LENGTH = 100


def save_as(record: Record, actor, *, reason: str = "") -> Record:
    """Save `record` with its history row naming `actor` (and `reason`, cut to what the
    history keeps); returns it."""
    record._history_user = actor
    if reason:
        record._change_reason = reason[:REASON_LENGTH]
    record.save()
    return record
