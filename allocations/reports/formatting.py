"""A report cell as people read it, one way everywhere (the dashboard's tables; the pack may
use it too): money £1,234.56, a percentage 12.3%, a ratio 1.02, counts with thousands
separators, dates "1 May 2026"; "[c]" for a suppressed cell; a marked cell's direction in words.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils.html import format_html

from allocations.reports.tables import SUPPRESSED, Kind, Marked
from allocations.selectors.budgets import gbp

NO_FIGURE = "no figure"
NUMERIC_KINDS = {Kind.COUNT, Kind.MONEY, Kind.PERCENT, Kind.RATIO, Kind.DAYS}


def is_numeric(kind: str) -> bool:
    """Numbers are right-aligned."""
    return kind in NUMERIC_KINDS


def cell_text(value, kind: str) -> str:
    """A bare value (not SUPPRESSED, not Marked, not None) as text. Words in a column of
    numbers ("not set" where no budget is set) are shown as they are."""
    if isinstance(value, str):
        return value
    if kind == Kind.MONEY:
        return gbp(value)
    if kind == Kind.PERCENT:
        return f"{Decimal(value).quantize(Decimal('0.1'))}%"
    if kind == Kind.RATIO:
        return f"{Decimal(value).quantize(Decimal('0.01'))}"
    if kind in (Kind.COUNT, Kind.DAYS):
        if isinstance(value, int):
            return f"{value:,}"
        return f"{Decimal(value).quantize(Decimal('0.1')):,}"
    if isinstance(value, datetime.date):
        return f"{value:%-d %b %Y}"
    return str(value)


def cell_html(cell, kind: str):
    """A cell as safe HTML: "[c]" for SUPPRESSED (explained in the table's notes), a dash
    read as "no figure" for None, and a marked cell's value with its direction in words."""
    if cell is SUPPRESSED:
        return format_html('<abbr title="{}">[c]</abbr>', "held back: a small number")
    if cell is None:
        return format_html(
            '<span aria-hidden="true">–</span><span class="visually-hidden">{}</span>', NO_FIGURE
        )
    if isinstance(cell, Marked):
        arrow = "▲" if cell.direction == "higher" else "▼"
        return format_html(
            '<strong>{}</strong> <span class="report-mark"><span aria-hidden="true">{}</span> '
            '{}<span class="visually-hidden"> than the whole service</span></span>',
            cell_html(cell.value, kind),
            arrow,
            cell.direction,
        )
    return format_html("{}", cell_text(cell, kind))
