"""Fake report sections for the dashboard's tests: registered for one test, then gone."""

from __future__ import annotations

from decimal import Decimal

import pytest

from allocations.reports import tables as registry
from allocations.reports.tables import (
    SUPPRESSED,
    Column,
    Kind,
    Marked,
    ReportSection,
    Table,
)
from assessments.models import Person


def people_table(scope) -> Table:
    """One query: the people in scope, counted; then a row of every kind of cell."""
    people = Person.objects.filter(scope.people()).count()
    return Table(
        slug="fake-people",
        caption="People in scope (a test table)",
        columns=(
            Column("group", "Group"),
            Column("people", "People", Kind.COUNT),
            Column("weekly", "Weekly", Kind.MONEY),
            Column("share", "Share", Kind.PERCENT),
            Column("ratio", "Ratio", Kind.RATIO),
        ),
        rows=[
            ("Everyone", people, Decimal("1234.5"), Decimal("12.34"), Decimal("1.015")),
            ("A small group", SUPPRESSED, None, Marked(Decimal("40.0"), "higher"), SUPPRESSED),
            ('=HYPERLINK("x")', 1234567, Decimal("0"), Decimal("0"), Decimal("1")),
        ],
        notes=("Counted as at the end of the period.",),
    )


@pytest.fixture
def fake_section(monkeypatch):
    """A section (order 5, before every real one) whose one table queries the people."""
    section = ReportSection("fake", "A fake section", 5, lambda scope: [people_table(scope)])
    monkeypatch.setitem(registry._sections, "fake", section)
    return section


@pytest.fixture
def only_sections(monkeypatch):
    """Replace every registered section with the ones given: only_sections({slug: tables})."""

    def install(tables_by_slug: dict) -> None:
        sections = {
            slug: ReportSection(slug, slug.title(), order, lambda scope, t=tables: list(t))
            for order, (slug, tables) in enumerate(tables_by_slug.items())
        }
        monkeypatch.setattr(registry, "_sections", sections)

    return install
