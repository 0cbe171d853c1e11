"""Tables as CSV and XLSX, safe against spreadsheet formula injection. In CSV a text cell that a
spreadsheet would run as a formula (starting =, +, -, @, a tab or a carriage return) is written
with a leading apostrophe, so it reads as the text it is; in XLSX every text cell is stored as
a string, never a formula. Numbers and dates stay numbers and dates."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

from allocations.reports.tables import SUPPRESSED, SUPPRESSED_NOTE, Marked, Table

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """`text` as a spreadsheet will show it, never run it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(cell):
    """A cell's value for a spreadsheet: numbers and dates as themselves, anything else as
    text (made safe by the writer)."""
    if isinstance(cell, Marked):
        return _cell(cell.value)
    if cell is None:
        return ""
    if cell is SUPPRESSED:
        return str(SUPPRESSED)
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, int | Decimal | datetime.date):
        return cell
    return str(cell)


def _header(table: Table) -> list[str]:
    header = [c.label for c in table.columns]
    if table.has_marks:
        header.append("Differs from the whole service")
    return header


def _row(table: Table, row: tuple) -> list:
    out = [_cell(cell) for cell in row]
    if table.has_marks:
        marks = [
            f"{column.label}: {cell.direction}"
            for column, cell in zip(table.columns, row, strict=True)
            if isinstance(cell, Marked)
        ]
        out.append("; ".join(marks))
    return out


def _notes(table: Table) -> list[str]:
    notes = list(table.notes)
    if table.has_suppressed:
        notes.append(SUPPRESSED_NOTE)
    return notes


def _csv_safe(values: list) -> list:
    return [safe_text(v) if isinstance(v, str) else v for v in values]


def table_csv(table: Table, *, scope_text: str = "") -> str:
    """The table as CSV: a header row, its rows; then a blank line and its notes, if any."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_csv_safe(_header(table)))
    for row in table.rows:
        writer.writerow(_csv_safe(_row(table, row)))
    notes = _notes(table)
    if scope_text or notes:
        writer.writerow([])
        for line in ([scope_text] if scope_text else []) + notes:
            writer.writerow(_csv_safe([line]))
    return out.getvalue()


def tables_xlsx(tables: list[Table], *, scope_text: str = "") -> bytes:
    """The tables as one workbook, a sheet per table (named from its slug), each with its
    caption, the scope, the header, the rows and the notes."""
    from openpyxl import Workbook  # here: openpyxl loads for a download, not at start-up

    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(title=table.slug[:31])
        _append(sheet, [table.caption], bold=True)
        if scope_text:
            _append(sheet, [scope_text])
        _append(sheet, [""])
        _append(sheet, _header(table), bold=True)
        for row in table.rows:
            _append(sheet, _row(table, row))
        notes = _notes(table)
        if notes:
            _append(sheet, [""])
            for note in notes:
                _append(sheet, [note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _append(sheet, values: list, *, bold: bool = False) -> None:
    """A row. Each text cell is stored as a string: given "=…", openpyxl would write a formula."""
    from openpyxl.styles import Font

    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet["A1"].value is not None else 1
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column)
        if isinstance(value, str):
            cell._value, cell.data_type = value, "s"
        else:
            cell.value = value
        if bold:
            cell.font = Font(bold=True)
