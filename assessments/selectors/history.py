"""Audit history made readable: the django-simple-history rows of any audited object as
entries (who, when, what changed), newest first. Other apps use `object_history` too."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime.datetime
    who: str
    action: str
    changes: tuple[FieldChange, ...]


_ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}


def _display(record, field_name: str) -> str:
    field = record.instance_type._meta.get_field(field_name)
    value = getattr(record, field.attname)
    if value in (None, ""):
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        return str(getattr(record, field_name))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        # A list (triggers, routing reasons) reads as one: "dfg, telecare", not "['dfg', …]".
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


# Bookkeeping fields that every save touches: not worth listing as changes.
_HISTORY_SKIP = {"updated_at", "created_at", "lock_version", "updated_by"}


def history_entries(records, model, *, skip=frozenset()) -> list[HistoryEntry]:
    """History rows of one object (oldest first) → entries, newest first, each with the
    fields that changed."""
    skip = set(skip) | _HISTORY_SKIP
    entries: list[HistoryEntry] = []
    previous = None
    for record in records:
        changes: list[FieldChange] = []
        if previous is not None:
            delta = record.diff_against(previous, excluded_fields=skip)
            for change in delta.changes:
                field = model._meta.get_field(change.field)
                changes.append(
                    FieldChange(
                        field=str(field.verbose_name).capitalize(),
                        old=_display(previous, change.field),
                        new=_display(record, change.field),
                    )
                )
        user = record.history_user
        if previous is not None and record.history_type == "~" and not changes:
            # A save that changed only bookkeeping fields: nothing a reader would see changed.
            previous = record
            continue
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=(user.get_full_name() or user.username) if user else "System",
                action=_ACTIONS.get(record.history_type, record.history_type),
                changes=tuple(changes),
            )
        )
        previous = record
    entries.reverse()
    return entries


def object_history(instance, *, skip=frozenset()) -> list[HistoryEntry]:
    """Every change to any audited object (a budget, a policy, a plan), newest first."""
    records = instance.history.select_related("history_user").order_by("history_date", "history_id")
    return history_entries(records, type(instance), skip=skip)
