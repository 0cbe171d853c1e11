"""Money (issue 12). Not built yet: its tables come with issue 12's Money work."""

from __future__ import annotations

from allocations.reports.scope import ReportScope
from allocations.reports.tables import ReportSection, Table


def money_tables(scope: ReportScope) -> list[Table]:
    return []


SECTION = ReportSection(slug="money", title="Money", order=30, tables=money_tables)
