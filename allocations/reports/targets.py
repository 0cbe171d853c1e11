"""The targets reports measure against (ReportSettings): read here, changed only through
allocations.services.report_settings."""

from __future__ import annotations

from allocations.models import ReportSettings


def report_targets() -> ReportSettings:
    """The report settings in force: the stored row, or (before a RAS administrator has set
    anything) the defaults, unsaved: a 30% take-up target and no budget set. One query."""
    return ReportSettings.objects.filter(pk=ReportSettings.SINGLETON_PK).first() or (
        ReportSettings(pk=ReportSettings.SINGLETON_PK)
    )
