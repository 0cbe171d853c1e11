"""Pipeline (issue 12). Not built yet: its tables come with issue 12's Pipeline work."""

from __future__ import annotations

from allocations.reports.scope import ReportScope
from allocations.reports.tables import ReportSection, Table


def pipeline_tables(scope: ReportScope) -> list[Table]:
    return []


SECTION = ReportSection(slug="pipeline", title="Pipeline", order=20, tables=pipeline_tables)
