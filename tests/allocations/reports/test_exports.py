"""Report exports: a table as CSV and as XLSX, whose text cells a spreadsheet shows and never
runs as formulas (=, +, -, @, tab, CR), whose numbers stay numbers, and whose suppressed and
marked cells read as the page shows them."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest

from allocations.reports.exports import safe_text, table_csv, tables_xlsx
from allocations.reports.tables import SUPPRESSED, Column, Kind, Marked, Table, percent

DANGEROUS = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def _table() -> Table:
    return Table(
        slug="people-by-team",
        caption="People by team",
        columns=(
            Column("team", "Team"),
            Column("people", "People", Kind.COUNT),
            Column("weekly", "Weekly", Kind.MONEY),
            Column("since", "Since", Kind.DATE),
        ),
        rows=[
            (DANGEROUS[0], 12, Decimal("1234.50"), datetime.date(2026, 5, 1)),
            ("North", SUPPRESSED, SUPPRESSED, None),
            ("South", Marked(40, "higher"), Decimal("-3.25"), None),
        ],
        notes=("=not a formula either",),
    )


@pytest.mark.parametrize("text", DANGEROUS)
def test_a_formula_start_is_written_as_text(text):
    assert safe_text(text) == "'" + text


def test_plain_text_is_left_alone():
    assert safe_text("North team") == "North team"


def test_csv_quotes_formulas_keeps_numbers_and_marks_suppressed_and_marked_cells():
    rows = list(csv.reader(io.StringIO(table_csv(_table(), scope_text="-1 May 2026"))))

    assert rows[0] == ["Team", "People", "Weekly", "Since", "Differs from the whole service"]
    assert rows[1] == ["'" + DANGEROUS[0], "12", "1234.50", "2026-05-01", ""]
    assert rows[2] == ["North", "[c]", "[c]", "", ""]
    # A negative number is a number, not a formula: it keeps its minus sign unquoted.
    assert rows[3] == ["South", "40", "-3.25", "", "People: higher"]
    assert rows[4] == []
    assert rows[5] == ["'-1 May 2026"]
    assert rows[6] == ["'=not a formula either"]
    assert rows[7][0].startswith("[c]: held back because fewer than 5 people")


def test_xlsx_has_a_sheet_per_table_with_strings_never_formulas_and_numbers_as_numbers():
    other = Table("second", "Second", (Column("a", "A"),), [("+SUM(1)",)])
    book = openpyxl.load_workbook(io.BytesIO(tables_xlsx([_table(), other], scope_text="All")))

    assert book.sheetnames == ["people-by-team", "second"]
    sheet = book["people-by-team"]
    cells = {c.coordinate: c for row in sheet.iter_rows() for c in row if c.value is not None}
    assert cells["A1"].value == "People by team"
    assert cells["A2"].value == "All"
    header_row = next(c.row for c in cells.values() if c.value == "Team")
    first = sheet[header_row + 1]
    assert first[0].value == DANGEROUS[0] and first[0].data_type == "s"
    assert first[1].value == 12 and first[1].data_type == "n"
    assert first[2].value == pytest.approx(1234.5) and first[2].data_type == "n"
    assert first[3].value == datetime.datetime(2026, 5, 1)
    assert [c.value for c in sheet[header_row + 2]][:3] == ["North", "[c]", "[c]"]
    assert sheet[header_row + 3][4].value == "People: higher"
    assert book["second"]["A5"].value == "+SUM(1)" and book["second"]["A5"].data_type == "s"
    # No cell anywhere is a formula.
    assert not [c for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_percent_rounds_to_a_tenth_and_has_no_share_of_nothing():
    assert percent(1, 3) == Decimal("33.3")
    assert percent(2, 3) == Decimal("66.7")
    # 1 ÷ 8 = 12.5%; 1 ÷ 16 = 6.25% → 6.3 (half up, not to even).
    assert percent(1, 16) == Decimal("6.3")
    assert percent(0, 0) is None
