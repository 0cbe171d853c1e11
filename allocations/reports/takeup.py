"""Take-up (issue 12). Not built yet: its tables come with issue 12's Take-up work."""

from __future__ import annotations

from allocations.reports.scope import ReportScope
from allocations.reports.tables import ReportSection, Table


def takeup_tables(scope: ReportScope) -> list[Table]:
    return []


SECTION = ReportSection(slug="take-up", title="Take-up", order=10, tables=takeup_tables)
