"""Optimistic locking, shared by the people and assessment services: the error for a save
based on an out-of-date copy (ConcurrentEdit) and the wording that names who saved in between
and when. (An illegal status change is `assessments.workflows.IllegalTransition`.)"""

from __future__ import annotations

from django.utils import timezone

from assessments.models import User


class ConcurrentEdit(Exception):
    """Someone else saved the record since this user loaded it. `message` says who and when."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def who_and_when(user: User | None, moment) -> dict[str, str]:
    """{"who": a name, "when": local time and date} for a conflict message."""
    who = (user.get_full_name() or user.username) if user is not None else "Someone"
    return {"who": who, "when": f"{timezone.localtime(moment):%H:%M:%S on %d %b %Y}"}
