"""The one shape every report returns, and the registry of report sections.

A report section (take-up, pipeline, money, panel, fairness) turns a ReportScope into Tables.
The dashboard renders them, the exports write them (CSV, XLSX), the PDF pack prints them, and
charts draw from them: one set of figures, however it is shown.

Allocations registers its own sections; panels registers the panel's in its AppConfig.ready,
so allocations never imports panels (HOUSE STYLE §2b).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, connections

from allocations.reports.scope import ReportScope


class Kind:
    """How a column's values read: the renderers format each kind one way everywhere."""

    TEXT = "text"
    COUNT = "count"  # a whole number of people or things
    MONEY = "money"  # Decimal pounds, shown £1,234.56
    PERCENT = "percent"  # Decimal percentage points, 0–100, shown 12.3%
    RATIO = "ratio"  # Decimal, e.g. agreed ÷ indicative, shown 1.02
    DATE = "date"
    DAYS = "days"  # a number of days


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = Kind.TEXT


class _Suppressed:
    """A cell held back so that nobody in a small group can be picked out (fewer than
    SMALL_NUMBER people, or a cell that would let such a one be worked out)."""

    def __str__(self) -> str:
        return "[c]"

    def __repr__(self) -> str:
        return "SUPPRESSED"


SUPPRESSED = _Suppressed()
SMALL_NUMBER = 5
SUPPRESSED_NOTE = (
    "[c]: held back because fewer than 5 people are counted, or because the figure would let "
    "such a small group be worked out."
)


@dataclass(frozen=True)
class Marked:
    """A value that differs markedly from the whole service's (`direction` is "higher" or
    "lower"). Shown with its direction in words, not only in colour."""

    value: Any
    direction: str

    def __str__(self) -> str:
        return str(self.value)


@dataclass
class Table:
    """One table of a report. `slug` is unique on the dashboard and names its export files;
    cells are str, int, Decimal, date, None (nothing to show), SUPPRESSED or Marked."""

    slug: str
    caption: str
    columns: tuple[Column, ...]
    rows: list[tuple] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    # A list of individual people (their references): for managers on the dashboard and in
    # its exports, never printed in the pack members read.
    names_people: bool = False

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def values(self, key: str) -> list:
        """One column's cells, top to bottom (for charts and tests)."""
        i = [c.key for c in self.columns].index(key)
        return [row[i] for row in self.rows]

    @property
    def has_marks(self) -> bool:
        return any(isinstance(cell, Marked) for row in self.rows for cell in row)

    @property
    def has_suppressed(self) -> bool:
        return any(cell is SUPPRESSED for row in self.rows for cell in row)


def plain(cell) -> Any:
    """A cell's bare value: a Marked cell's value; None for nothing or a suppressed cell."""
    if isinstance(cell, Marked):
        return cell.value
    if cell is SUPPRESSED:
        return None
    return cell


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """part ÷ whole as a percentage to 1 decimal place, halves up (None when whole is 0)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class ReportSection:
    """A part of the dashboard and of the PDF pack: a heading, and the tables it reads from a
    scope. `order` places it (take-up 10, pipeline 20, money 30, panel 40, fairness 50)."""

    slug: str
    title: str
    order: int
    tables: Callable[[ReportScope], list[Table]]


_sections: dict[str, ReportSection] = {}


def register_report_section(section: ReportSection) -> ReportSection:
    _sections[section.slug] = section
    return section


def report_sections() -> list[ReportSection]:
    return sorted(_sections.values(), key=lambda s: s.order)


def report_section(slug: str) -> ReportSection | None:
    return _sections.get(slug)


# Sections read at once, each on its own connection (two cores answer the dashboard in about
# half the time of one after another: benchmarks/reports_50k.py).
SECTION_THREADS = 3


def _tables_on_own_connection(section: ReportSection, scope: ReportScope) -> list[Table]:
    try:
        return section.tables(scope)
    finally:
        connections.close_all()  # this thread's connection, opened for this section


def report_tables(scope: ReportScope) -> list[tuple[ReportSection, list[Table]]]:
    """Every registered section with its tables for `scope`, in order. On PostgreSQL, outside
    a transaction, the sections are read in parallel threads, each on its own connection (a
    report is a set of reads; each section is consistent in itself). Inside a transaction
    (a test, or a caller that has written something the other connections cannot see yet) and
    on SQLite they are read one after another on this connection."""
    sections = report_sections()
    if connection.vendor != "postgresql" or connection.in_atomic_block or len(sections) < 2:
        return [(section, section.tables(scope)) for section in sections]
    with ThreadPoolExecutor(max_workers=SECTION_THREADS) as pool:
        tables = list(pool.map(lambda s: _tables_on_own_connection(s, scope), sections))
    return list(zip(sections, tables, strict=True))
