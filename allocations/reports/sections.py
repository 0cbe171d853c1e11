"""Allocations' report sections, registered in AllocationsConfig.ready (panels registers the
panel's section in its own)."""

from __future__ import annotations

from allocations.reports import fairness, money, pipeline, takeup
from allocations.reports.tables import register_report_section


def register_sections() -> None:
    for module in (takeup, pipeline, money, fairness):
        register_report_section(module.SECTION)
