"""The members' pack, "Personal budgets: performance and sustainability" (issue 12): what it
says for a ReportScope, and the tagged PDF it is printed as.

The pack is built from the section registry (allocations.reports.tables.report_sections), so
every section's tables — take-up, pipeline, money, the panel's, fairness — appear in it as
their owners register them, in the dashboard's order. Before them: the scope in words, the
policy in force on the period's last day with its price per point, and the accuracy of the
latest calibration run, if there is one.

The PDF is made by the letters' machinery (allocations.pdf_worker.html_to_pdf: WeasyPrint,
one FontConfiguration per process, PDF/UA-1 so it is tagged), with the pack's own small print
stylesheet, not Bootstrap (tables are WeasyPrint's slowest part: STACK-NOTES).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from allocations.calibration.fitting import METHOD_NAMES
from allocations.letters.rendering import council
from allocations.models import CalibrationRun, RasPolicy
from allocations.pdf_worker import html_to_pdf
from allocations.reports.formatting import cell_text, is_numeric
from allocations.reports.scope import ReportScope
from allocations.reports.tables import (
    SUPPRESSED,
    SUPPRESSED_NOTE,
    Marked,
    Table,
    report_tables,
)
from allocations.selectors.policies import policy_in_force_on

PACK_TITLE = "Personal budgets: performance and sustainability"
TEMPLATE = "allocations/report_packs/pack.html"
NOTHING = "—"
MARKED_NOTE = (
    "“higher” or “lower” after a figure: it differs markedly from the whole service's "
    "(see the notes above for how much)."
)
NO_FIGURES = "No figures in this section for this scope."
LEFT_OUT = (
    "Left out of this pack because they name individual people (they are on the reports "
    "dashboard, for managers): {captions}."
)
# The pack prints at most this many rows of a table: enough for every month of the longest
# period the filters allow (5 years) and every group of the fairness tables, while a list that
# grows with the caseload (the panel's reviews due, say: 300 rows at 50,000 people) stays a
# page or two and the pack renders in a bounded time. The whole table is on the dashboard.
PACK_ROW_LIMIT = 65
CUT_SHORT = (
    "The first {shown} of {total} rows are shown: the whole table is on the reports "
    "dashboard and in its CSV and XLSX exports."
)
NO_POLICY = "No approved policy was in force on {date}."
NO_CALIBRATION = "No calibration has been run yet."


def format_cell(cell, kind: str) -> str:
    """A cell as the pack prints it: a value as the dashboard shows it (cell_text: £1,234.56,
    12.3%, 1.02, 1,234, 1 May 2026); "[c]" for a suppressed cell, "—" for nothing to show; a
    Marked cell with its direction in words."""
    if isinstance(cell, Marked):
        return f"{format_cell(cell.value, kind)} ({cell.direction})"
    if cell is SUPPRESSED:
        return str(SUPPRESSED)
    if cell is None or cell == "":
        return NOTHING
    return cell_text(cell, kind)


@dataclass(frozen=True)
class PackColumn:
    label: str
    numeric: bool


@dataclass(frozen=True)
class PackCell:
    text: str
    numeric: bool

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class PackTable:
    """A Table as the pack prints it: every cell already in words. The first column heads its
    row (a month, a stage, a group)."""

    slug: str
    caption: str
    columns: tuple[PackColumn, ...]
    rows: tuple[tuple[PackCell, ...], ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class PackSection:
    slug: str
    title: str
    tables: tuple[PackTable, ...]
    # Which of the section's lists of individual people were left out of the pack, in words.
    left_out_note: str = ""


@dataclass(frozen=True)
class PackPolicy:
    name: str
    price_per_point_gbp: Decimal
    effective_from: datetime.date


@dataclass(frozen=True)
class PackFit:
    """One method's fit in a calibration run: its price per point and how close the
    allocations at that price came to current cost (R² None when it cannot be worked out)."""

    method: str
    price_per_point: Decimal
    n: int
    r2: Decimal | None
    within_20_percent: Decimal


@dataclass(frozen=True)
class PackCalibration:
    sample_name: str
    run_on: datetime.date
    fits: tuple[PackFit, ...]


@dataclass(frozen=True)
class PackContent:
    title: str
    scope: ReportScope
    scope_text: str
    issued_on: datetime.date
    issued_by: str
    policy: PackPolicy | None
    calibration: PackCalibration | None
    sections: tuple[PackSection, ...]


def pack_table(table: Table) -> PackTable:
    columns = tuple(PackColumn(c.label, is_numeric(c.kind)) for c in table.columns)
    rows = table.rows[:PACK_ROW_LIMIT]
    notes = list(table.notes)
    if len(table.rows) > PACK_ROW_LIMIT:
        notes.append(CUT_SHORT.format(shown=PACK_ROW_LIMIT, total=len(table.rows)))
    if table.has_suppressed:
        notes.append(SUPPRESSED_NOTE)
    if table.has_marks:
        notes.append(MARKED_NOTE)
    return PackTable(
        slug=table.slug,
        caption=table.caption,
        columns=columns,
        rows=tuple(
            tuple(
                PackCell(format_cell(cell, c.kind), column.numeric)
                for cell, c, column in zip(row, table.columns, columns, strict=True)
            )
            for row in rows
        ),
        notes=tuple(notes),
    )


def _policy(on: datetime.date) -> PackPolicy | None:
    policy: RasPolicy | None = policy_in_force_on(on)
    if policy is None:
        return None
    return PackPolicy(policy.name, policy.price_per_point_gbp, policy.effective_from)


def _calibration() -> PackCalibration | None:
    """The latest calibration run that fitted a price (a run of section weights alone has no
    accuracy to show): a row per method, from its stored report (allocations.services.
    calibration keeps each method's `fit` and `overall` statistics; Decimals as strings,
    within ±20% as a share 0..1)."""
    run = (
        CalibrationRun.objects.select_related("sample")
        .exclude(results__methods={})
        .filter(results__has_key="methods")
        .order_by("-created_at", "-id")
        .first()
    )
    if run is None:
        return None
    fits = []
    for method, report in run.results["methods"].items():
        overall = report.get("overall") or {}
        r2 = overall.get("r2")
        fits.append(
            PackFit(
                method=METHOD_NAMES.get(method, method),
                price_per_point=Decimal(report["fit"]["price_per_point"]),
                n=int(overall.get("n", 0)),
                r2=None if r2 is None else Decimal(r2),
                within_20_percent=(Decimal(overall.get("within_20", 0)) * 100).quantize(
                    Decimal("0.1")
                ),
            )
        )
    return PackCalibration(
        sample_name=run.sample.name,
        run_on=timezone.localtime(run.created_at).date(),
        fits=tuple(fits),
    )


def pack_content(
    scope: ReportScope, *, issued_on: datetime.date, issued_by: str = ""
) -> PackContent:
    """Everything the pack says for `scope`. Each registered section reads the scope itself
    (a constant number of queries each); the policy and the calibration take one query each."""
    sections = []
    for section, tables in report_tables(scope):
        left_out = [t.caption for t in tables if t.names_people]
        sections.append(
            PackSection(
                slug=section.slug,
                title=section.title,
                tables=tuple(pack_table(t) for t in tables if not t.names_people),
                left_out_note=LEFT_OUT.format(captions="; ".join(left_out)) if left_out else "",
            )
        )
    return PackContent(
        title=PACK_TITLE,
        scope=scope,
        scope_text=scope.describe(),
        issued_on=issued_on,
        issued_by=issued_by,
        policy=_policy(scope.end),
        calibration=_calibration(),
        sections=tuple(sections),
    )


def pack_html(content: PackContent) -> str:
    return render_to_string(
        TEMPLATE,
        {
            "pack": content,
            "council": council(),
            "no_figures": NO_FIGURES,
            "no_policy": NO_POLICY.format(date=f"{content.scope.end:%-d %B %Y}"),
            "no_calibration": NO_CALIBRATION,
        },
    )


def pack_pdf(content: PackContent) -> bytes:
    """The pack as a tagged, accessible PDF (PDF/UA-1), as letters are made."""
    return html_to_pdf(pack_html(content), str(settings.BASE_DIR))
