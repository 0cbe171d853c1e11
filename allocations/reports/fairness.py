"""Fairness (issue 12). Not built yet: its tables come with issue 12's Fairness work."""

from __future__ import annotations

from allocations.reports.scope import ReportScope
from allocations.reports.tables import ReportSection, Table


def fairness_tables(scope: ReportScope) -> list[Table]:
    return []


SECTION = ReportSection(slug="fairness", title="Fairness", order=50, tables=fairness_tables)
