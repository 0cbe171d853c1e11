"""Changing the targets the reports measure against (ReportSettings, one row): only a RAS
administrator, always with a reason, kept in the row's history with who and why."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from allocations.models import ReportSettings
from allocations.permissions import REPORT_SETTINGS_CHANGE
from assessments.models import User
from assessments.services.history import save_as

NOT_SETTINGS_EDITOR = "Only a RAS administrator can change the report settings."
REASON_REQUIRED = "Say why the settings are changing."
REPORT_SETTINGS_FIELDS = ("take_up_target_percent", "annual_budget_gbp")


@transaction.atomic
def report_settings_update(*, actor: User, data: dict[str, Any], reason: str) -> ReportSettings:
    """Set the take-up target (%) and the annual budget (£, or None) from `data` (both keys),
    with the reason kept in the history. PermissionDenied unless the actor holds
    REPORT_SETTINGS_CHANGE; ValidationError (by field) for a missing reason or a value out of
    range — nothing is saved then. Locks the one row (made by the first change)."""
    if not actor.has_perm(REPORT_SETTINGS_CHANGE):
        raise PermissionDenied(NOT_SETTINGS_EDITOR)
    if not reason.strip():
        raise ValidationError({"reason": REASON_REQUIRED})
    # The row is made by its first change, so its first history row names who and why.
    settings = ReportSettings.objects.select_for_update().filter(
        pk=ReportSettings.SINGLETON_PK
    ).first() or ReportSettings(pk=ReportSettings.SINGLETON_PK)
    for field in REPORT_SETTINGS_FIELDS:
        value = data[field]
        setattr(settings, field, None if value is None else Decimal(value))
    settings.updated_at, settings.updated_by = timezone.now(), actor
    settings.full_clean()
    return save_as(settings, actor, reason=reason.strip())
